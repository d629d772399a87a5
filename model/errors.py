"""Errors the core library raises; the service and the CLI translate them at their boundary."""


class SangkienError(Exception):
    """Base class: the message always says what is wrong and how to fix it."""


class DataError(SangkienError):
    """A data file (taxonomy, records, pairs, export) does not have the expected shape."""


class NotFittedError(SangkienError):
    """An estimator was used before ``fit`` (or before loading a fitted artifact)."""


class InvalidTextError(SangkienError, ValueError):
    """A text gives the model nothing to work with (empty, no words)."""
