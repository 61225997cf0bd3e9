"""Development model server speaking TF Serving's gRPC and REST protocols.

Production uses stock TF Serving (`tensorflow/serving`); the same export directory works there unchanged.
This server exists because `tensorflow_model_server` cannot be installed on every development machine.
"""
