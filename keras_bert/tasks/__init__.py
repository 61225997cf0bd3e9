"""Tasks, one folder each (`classification`, `token_classification`, `question_answering`,
`fill_mask`, `embedding`, `pretraining`): see `registry`. Importing this package imports nothing."""
