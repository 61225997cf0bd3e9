"""Serving export: servable modules, signatures, TF Serving layout, dev server and client.

Installed as `keras_bert.export` (see `package_dir` in setup.py). Never imports training code.
"""
