"""Fine-tuning drivers, one module per task: `classify`, `ner`, `qa` (TensorFlow imported there)."""
