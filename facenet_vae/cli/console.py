"""What every command-line tool shares: quiet TensorFlow start-up, one line per error, the same exit codes.

Import this before TensorFlow: ``quiet_tensorflow`` only works if it runs first. A tool parses its
own ``absl.flags.FlagValues`` with ``parse_command_line`` (flags are checked before TensorFlow
loads), then calls ``quiet_tensorflow(verbose)`` and ``import_tensorflow(verbose)``.
"""
import logging
import os
import sys
import tempfile

from absl import flags

from facenet_vae.settings import define_flags, from_flags, grouped_help

EXIT_OK = 0
EXIT_FAILED = 1   # the run could not do its job (bad file, missing weights, ...)
EXIT_USAGE = 2    # the command line is wrong (unknown flag, bad value)

HELP_ARGUMENTS = ("-h", "--help", "--helpshort", "--helpfull", "-?")


def quiet_tensorflow(verbose=False):
    """Silence TensorFlow's C++ start-up and info logging unless ``verbose``; call before TensorFlow loads.

    Also raises the Python ``tensorflow`` logger to ERROR (SavedModel "Assets written",
    signature-serialisation and sharding notices). Imports nothing heavy.
    """
    if not verbose:
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
        logging.getLogger("tensorflow").setLevel(logging.ERROR)


def import_tensorflow(verbose=False):
    """Import TensorFlow and find its devices, hiding the C++ start-up lines unless ``verbose``; returns the module.

    TensorFlow 2.21 prints its oneDNN, CUDA-stub and cuInit lines before its log level applies,
    so ``TF_CPP_MIN_LOG_LEVEL`` cannot hide them; they are written to a temporary file instead,
    and replayed on stderr if the import fails.
    """
    if verbose or "tensorflow" in sys.modules:
        import tensorflow as tf  # noqa: PLC0415  (loaded on purpose after the flags were checked)
        return tf
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile() as captured:
        os.dup2(captured.fileno(), 2)
        try:
            import tensorflow as tf  # noqa: PLC0415
            tf.config.list_physical_devices()
        except BaseException:
            os.dup2(saved, 2)
            captured.seek(0)
            sys.stderr.write(captured.read().decode(errors="replace"))
            raise
        finally:
            os.dup2(saved, 2)
            os.close(saved)
    return tf


def log_to_stderr(tool, verbose=False):
    """Send absl log records to stderr as ``<tool>: warning: <message>`` lines (INFO ones too if ``verbose``)."""
    logger = logging.getLogger("absl")
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(_ToolFormatter(tool))
    logger.handlers = [handler]
    logger.propagate = False
    logger.setLevel(logging.INFO if verbose else logging.WARNING)


class _ToolFormatter(logging.Formatter):
    def __init__(self, tool):
        super().__init__()
        self.tool = tool

    def format(self, record):
        return f"{self.tool}: {record.levelname.lower()}: {' '.join(record.getMessage().split())}"


def fail(tool, message, code=EXIT_FAILED):
    """Print ``<tool>: error: <message>`` as one line on stderr and return ``code`` (for ``sys.exit``)."""
    print(f"{tool}: error: {' '.join(str(message).split())}", file=sys.stderr)
    return code


def parse_command_line(tool, argv, flag_values, doc):
    """Parse ``argv`` (program name first) into ``flag_values``; return the positional arguments.

    ``--help`` prints ``doc`` and the flags by group (``settings.grouped_help``) and exits with
    EXIT_OK; an unknown flag or a bad value prints one ``<tool>: error:`` line and exits with
    EXIT_USAGE. TensorFlow is not loaded.
    """
    if any(arg in HELP_ARGUMENTS for arg in argv[1:]):
        try:
            print(grouped_help(flag_values, doc), end="", flush=True)
        except BrokenPipeError:  # `--help | head`: the reader has seen enough
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        raise SystemExit(EXIT_OK)
    try:
        positional = flag_values(list(argv))[1:]
    except flags.Error as error:
        raise SystemExit(fail(tool, error, EXIT_USAGE)) from None
    if not flags.FLAGS.is_parsed():
        flags.FLAGS.mark_as_parsed()  # absl logging otherwise warns "Logging before flag parsing"
    return positional


def parse_settings(tool, argv, config_class, doc, module_name, check):
    """Return ``check(config)`` for the ``config_class`` settings given in ``argv`` (no positional arguments).

    The flags are generated from ``config_class`` (``settings.define_flags``) and parsed with
    ``parse_command_line``; a positional argument or a ``ValueError`` from ``check`` prints one
    ``<tool>: error:`` line and raises SystemExit(EXIT_USAGE). TensorFlow is not loaded.
    """
    flag_values = flags.FlagValues()
    define_flags(config_class, flag_values, module_name=module_name)
    positional = parse_command_line(tool, argv, flag_values, doc)
    if positional:
        raise SystemExit(fail(tool, f"unexpected arguments: {' '.join(positional)} (every setting is a --flag)",
                              EXIT_USAGE))
    try:
        return check(from_flags(config_class, flag_values))
    except ValueError as error:
        raise SystemExit(fail(tool, error, EXIT_USAGE)) from None


def standard_console(tool, verbose):
    """The console every tool but training uses: TensorFlow quiet and absl warnings as ``<tool>:`` lines."""
    quiet_tensorflow(verbose)
    log_to_stderr(tool, verbose)
    import_tensorflow(verbose)


def run_tool(tool, argv, parse, work, *, check=None, console=standard_console):
    """Run one command-line tool and return its exit status; the shape every ``main`` here shares.

    1. ``parse(argv)`` reads the command line before TensorFlow loads (a ``SystemExit`` it raises,
       after ``--help`` or one error line, gives the status);
    2. ``check(settings)`` may return a problem with a path, said in one line before anything heavy loads;
    3. ``console(tool, verbose)`` sets up logging and loads TensorFlow;
    4. ``work(settings)`` does the job and returns the status. An ``OSError``, ``ValueError`` or
       ``RuntimeError`` it raises (bad data, missing weights, ...) becomes one ``<tool>: error:`` line
       and EXIT_FAILED.
    """
    try:
        settings = parse(sys.argv if argv is None else argv)
    except SystemExit as stop:
        return stop.code
    problem = check(settings) if check else None
    if problem:
        return fail(tool, problem, EXIT_FAILED)
    console(tool, getattr(settings, "verbose", False))
    try:
        return work(settings)
    except (OSError, ValueError, RuntimeError) as error:
        return fail(tool, error, EXIT_FAILED)
