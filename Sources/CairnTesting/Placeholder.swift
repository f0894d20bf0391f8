// CairnTesting is being written.
