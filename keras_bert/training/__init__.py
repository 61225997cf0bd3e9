"""Pretraining machinery: strategies, optimizers and schedules, callbacks, checkpoints, fit driver.

TensorFlow-only code lives here. Import the submodules directly, e.g.
`from keras_bert.training.pretrain import pretrain`.
"""
