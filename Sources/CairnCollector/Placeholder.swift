// CairnCollector is being written.
