"""Errors and warnings raised by the data loaders."""


class DataError(ValueError):
    """Bad or missing input data: the message names the file (and line) at fault and how to fix it."""


class DataWarning(UserWarning):
    """Data problems that were worked around (skipped files, missing images), reported once per load."""
