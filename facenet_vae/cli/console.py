"""What every command-line tool shares: quiet TensorFlow start-up, one line per error, the same exit codes.

Import this before TensorFlow: ``quiet_tensorflow`` only works if it runs first.
"""
import os
import sys

EXIT_OK = 0
EXIT_FAILED = 1   # the run could not do its job (bad file, missing weights, ...)
EXIT_USAGE = 2    # the command line is wrong (unknown flag, bad value)


def quiet_tensorflow(verbose=False):
    """Silence TensorFlow's C++ start-up and info logging unless ``verbose``; call before TensorFlow loads."""
    if not verbose:
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


def fail(tool, message, code=EXIT_FAILED):
    """Print ``<tool>: error: <message>`` as one line on stderr and return ``code`` (for ``sys.exit``)."""
    print(f"{tool}: error: {' '.join(str(message).split())}", file=sys.stderr)
    return code
