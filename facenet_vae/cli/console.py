"""What every command-line tool shares: quiet TensorFlow start-up, one line per error, the same exit codes.

Import this before TensorFlow: ``quiet_tensorflow`` only works if it runs first.
"""
import contextlib
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


@contextlib.contextmanager
def native_stderr_silenced(silenced=True):
    """Send file descriptor 2 to /dev/null inside the block (when ``silenced``), then restore it.

    TensorFlow's C++ runtime prints start-up lines (oneDNN, CUDA drivers) through absl's C++ log
    before it reads ``TF_CPP_MIN_LOG_LEVEL``; wrap the import of TensorFlow in this to keep them
    off the console. Python-level errors raised inside still reach the console afterwards.
    """
    if not silenced:
        yield
        return
    sys.stderr.flush()
    saved = os.dup(2)
    try:
        with open(os.devnull, "w") as devnull:
            os.dup2(devnull.fileno(), 2)
        yield
    finally:
        sys.stderr.flush()
        os.dup2(saved, 2)
        os.close(saved)
