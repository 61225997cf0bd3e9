"""Outputs of exported SavedModels as JSON-ready lists (the runner scripts' shared formatting)."""


def decoded(value):
    """Nested lists of bytes -> the same nesting of UTF-8 strings."""
    return value.decode("utf-8") if isinstance(value, bytes) else [decoded(v) for v in value]


def listed(values: dict) -> dict:
    """name -> numpy array  =>  name -> nested lists (strings decoded)."""
    return {
        name: decoded(value.tolist()) if value.dtype == object else value.tolist()
        for name, value in values.items()
    }
