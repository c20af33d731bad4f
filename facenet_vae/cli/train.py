"""Train a facenet DFC-VAE (TF2 / Keras 3 port of facenet's src/generative/train_vae.py).

Offline, on the built-in synthetic faces, with the pixel loss:
    python train_vae.py --reconstruction_loss_type=PLAIN --max_nrof_steps=2000
On aligned faces with facenet's perceptual loss (VGG19 ImageNet weights from Keras' cache):
    python train_vae.py --data_dir=~/datasets/casia_mtcnnpy_182 --perceptual_model=vgg19
Again, with the settings of an earlier run:
    python train_vae.py --flagfile=RUN/flags.txt --run_name=again
Continue a run with its own settings (flags given here override them):
    python train_vae.py --resume=RUN --max_nrof_steps=100000
"""
import logging as python_logging
import os
import sys
import warnings

from absl import flags, logging

from facenet_vae import settings
from facenet_vae.atomic_files import expand, is_remote, join, read_text
from facenet_vae.cli.console import EXIT_OK, EXIT_USAGE, fail, import_tensorflow, quiet_tensorflow, run_tool
from facenet_vae.data.errors import DataError
from facenet_vae.training.config import TrainConfig
from facenet_vae.training.path_checks import check_paths

FLAGS = flags.FLAGS
SHOWS_TENSORFLOW_LOG = 3   # --verbose level from which TensorFlow's own start-up and info lines are shown


def _tool():
    return os.path.basename(sys.argv[0]) or "train_vae.py"


def parse_config(argv):
    """Return the checked ``TrainConfig`` of the command line; a bad flag or value exits with one line, EXIT_USAGE.

    Runs before TensorFlow is imported, so a mistyped flag fails at once.
    """
    if "vae_def" not in FLAGS:
        settings.define_flags(TrainConfig, FLAGS, "facenet_vae.cli.train")
    source = ""
    try:
        rest = FLAGS(argv)
        if FLAGS.resume and not is_remote(FLAGS.resume) and not os.path.isdir(expand(FLAGS.resume)):
            raise flags.Error(f"--resume={FLAGS.resume}: no such run folder")
        if FLAGS.resume:
            source = f" (settings: {_run_flags_path(FLAGS.resume)}, then the command line)"
            rest = _parse_with_run_flags(FLAGS.resume, argv)
        if len(rest) > 1:
            raise flags.Error(f"unexpected arguments: {' '.join(rest[1:])}")
        return settings.from_flags(TrainConfig, FLAGS).validate()
    except flags.Error as error:
        sys.exit(fail(_tool(), error, EXIT_USAGE))
    except ValueError as error:
        sys.exit(fail(_tool(), f"{error}{source}", EXIT_USAGE))


def _run_flags_path(run_dir):
    return join(expand(run_dir), settings.RUN_FLAGS_FILE)


def _run_flag_lines(run_dir):
    """Return the ``--name=value`` lines of the run folder's ``flags.txt``, the settings a resume keeps.

    A resumed run trains on with the settings it was started with; the command line, parsed after
    them, overrides any of them. Without ``flags.txt`` (older run folders) only the command line's
    settings apply; lines naming settings this version lacks are left out. Both are warned about. The
    distribution settings (``--strategy``, ``--cpu_replicas``) are never taken from the run.
    """
    path = _run_flags_path(run_dir)
    try:
        text = read_text(path)
    except FileNotFoundError:   # run folders of versions before flags.txt
        print(f"{_tool()}: warning: {path} does not exist: resuming with the command line's settings only",
              file=sys.stderr)
        return []
    except (OSError, UnicodeDecodeError) as error:
        raise flags.Error(f"--resume={run_dir}: cannot read the run's settings {path} ({error})") from error
    # Runs from before --facenet_objective resolved unset objective weights as facenet's; keep that.
    kept = [] if "facenet_objective" in text else ["--facenet_objective"]
    for line in (line.strip() for line in text.splitlines()):
        name = _flag_name(line) if line.startswith("--") else None
        if name is not None and name not in FLAGS:   # a setting an older version had: kept out, and said so
            print(f"{_tool()}: warning: {path}: ignoring {line}, which this version does not know", file=sys.stderr)
        elif name is not None and name not in _WHERE_IT_RUNS:
            kept.append(line)
    return kept


# The distribution settings describe the machines of a run, not the run: a resume may move it, e.g.
# a multi-worker run's chief checkpoint onto one device. They come from the command line only.
_WHERE_IT_RUNS = frozenset(field.name for field, _ in settings.settings_of(TrainConfig)
                           if field.metadata["group"] == "distribution")


def _flag_name(line):
    name = line[2:].split("=", 1)[0]
    return name[2:] if name not in FLAGS and name.startswith("no") and "=" not in line else name


def _parse_with_run_flags(run_dir, argv):
    """Parse the resumed run's ``flags.txt`` and then ``argv`` (which wins); returns absl's leftover arguments."""
    run_lines = _run_flag_lines(run_dir)
    FLAGS.unparse_flags()
    try:
        FLAGS([argv[0], *run_lines])
    except flags.Error as error:
        raise flags.Error(f"--resume={run_dir}: the run's {settings.RUN_FLAGS_FILE}: {error}") from error
    FLAGS.unparse_flags()
    return FLAGS([argv[0], *run_lines, *argv[1:]])


class _OneLine(python_logging.Formatter):
    # facenet_vae's messages and absl's warnings only: TensorFlow logs its own INFO lines through absl.
    """``tool: message`` for information, ``tool: warning: message`` above it, on one line."""

    def format(self, record):
        level = "" if record.levelno < python_logging.WARNING else f"{record.levelname.lower()}: "
        return f"{_tool()}: {level}{' '.join(record.getMessage().split())}"


def _one_line_warnings(message, category, filename, lineno, file=None, line=None):
    print(f"{_tool()}: warning: {' '.join(str(message).split())}", file=sys.stderr)


def configure_console(verbose):
    """Set up the console for a run: TensorFlow quiet below ``SHOWS_TENSORFLOW_LOG``, one line per message."""
    quiet_tensorflow(verbose >= SHOWS_TENSORFLOW_LOG)
    handler = python_logging.StreamHandler(sys.stderr)
    handler.setFormatter(_OneLine())
    for name, level in (("facenet_vae", python_logging.INFO if verbose else python_logging.WARNING),
                        ("absl", python_logging.INFO if verbose >= SHOWS_TENSORFLOW_LOG else python_logging.WARNING)):
        logger = python_logging.getLogger(name)
        logger.handlers[:] = [handler]
        logger.setLevel(level)
        logger.propagate = False
    logging.set_verbosity(logging.INFO if verbose >= SHOWS_TENSORFLOW_LOG else logging.WARNING)
    warnings.showwarning = _one_line_warnings
    if verbose < SHOWS_TENSORFLOW_LOG:
        python_logging.getLogger("tensorflow").setLevel(python_logging.ERROR)


def path_problem(config):
    """Return the first wrong path of the run (data folder, attribute files, feature weights), before anything loads."""
    try:
        check_paths(config)
    except (DataError, OSError) as error:
        return error
    return None


def _training_console(tool, verbose):
    configure_console(verbose)
    import_tensorflow(verbose >= SHOWS_TENSORFLOW_LOG)


def run_training(config):
    """Train the configured run and print its folder; returns EXIT_OK."""
    from facenet_vae.training.run import train  # noqa: PLC0415 (loads TensorFlow, after the flags are checked)
    print(f"Finished: {train(config)}")
    return EXIT_OK


def main(argv=None):
    """Console entry point (``facenet-vae-train``, ``python train_vae.py``); returns the exit status."""
    return run_tool(_tool(), argv, parse_config, run_training, check=path_problem, console=_training_console)
