// CairnSQLite is being written.
