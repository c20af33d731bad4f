"""Generate faces with a trained facenet DFC-VAE (facenet's calculate_attribute_vectors.py and
modify_attribute.py, plus sampling, reconstruction, interpolation, data augmentation and the
TensorBoard projector).

--model is a training run folder (latest checkpoint), a model.keras file or an exported SavedModel
(default: the shipped CelebA model). Output goes to --output_dir (default <run folder>/generated,
else ./generated).

    generate.py --mode=sample --model=RUN
    generate.py --mode=reconstruct --model=RUN --data_dir=FACES
    generate.py --mode=interpolate --model=RUN --image_a=a.png --image_b=b.png --interpolation=both
    generate.py --mode=attributes --model=RUN --data_dir=img_align_celeba --attributes_file=list_attr_celeba.txt
    generate.py --mode=attributes --model=RUN --dataset=synthetic     (or --dataset=celeb_a --data_dir=TFDS)
    generate.py --mode=list_attributes --model=RUN      (names in RUN/generated/attribute_vectors.h5)
    generate.py --mode=modify --model=RUN --attribute=Smiling --k_min=-2 --k_max=2 --k_steps=5
    generate.py --mode=augment --model=RUN --data_dir=FACE_TREE --num_images=20
    generate.py --mode=projector --model=RUN --images=FACES --attributes_file=list_attr_celeba.txt \\
        --output_dir=LOGS      (then: tensorboard --logdir=LOGS, "Projector")
"""
import logging as python_logging
import os
import sys
import warnings

from absl import app, flags, logging

from facenet_vae import settings
from facenet_vae.cli.console import EXIT_FAILED, EXIT_OK, EXIT_USAGE, fail, quiet_tensorflow
from facenet_vae.generation.options import GenerateOptions, OptionError

FLAGS = flags.FLAGS
MAX_LISTED_FILES = 20


def _tool():
    return os.path.basename(sys.argv[0]) or "generate.py"


def parse_options(argv):
    """Return the checked ``GenerateOptions`` of the command line; a bad flag or value exits with one line,
    EXIT_USAGE. Runs before TensorFlow is imported, so a mistyped flag fails at once."""
    if "mode" not in FLAGS:
        app.define_help_flags()  # --help, --helpfull (settings.define_flags may put a grouped --help over them)
        settings.define_flags(GenerateOptions, FLAGS, __name__)
    try:
        rest = FLAGS(argv)
        if len(rest) > 1:
            raise flags.Error(f"unexpected arguments: {' '.join(rest[1:])}")
        return settings.check_choices(settings.from_flags(GenerateOptions, FLAGS))
    except (flags.Error, ValueError) as error:
        sys.exit(fail(_tool(), error, EXIT_USAGE))


def _one_line_warnings(message, category, filename, lineno, file=None, line=None):
    print(f"{_tool()}: warning: {' '.join(str(message).split())}", file=sys.stderr)


class _OneLine(python_logging.Formatter):
    """``tool: message`` for information, ``tool: warning: message`` above it, on one line."""

    def format(self, record):
        level = "" if record.levelno < python_logging.WARNING else f"{record.levelname.lower()}: "
        return f"{_tool()}: {level}{' '.join(record.getMessage().split())}"


def configure_console(verbose):
    """One line per warning (Python warnings and absl log records); information lines only when ``verbose``."""
    quiet_tensorflow(verbose)
    handler = python_logging.StreamHandler(sys.stderr)
    handler.setFormatter(_OneLine())
    absl_logger = python_logging.getLogger("absl")
    absl_logger.handlers[:] = [handler]
    absl_logger.propagate = False
    logging.set_verbosity(logging.INFO if verbose else logging.WARNING)
    warnings.showwarning = _one_line_warnings


def run_options(options):
    """Run ``options`` and print the files written; returns the exit status (one error line on failure)."""
    # Imported here, after the flags are checked: these modules load TensorFlow.
    from facenet_vae.data.errors import DataError
    from facenet_vae.generation.runner import run
    try:
        written = run(options)
    except OptionError as error:
        return fail(_tool(), error, EXIT_USAGE)
    except (DataError, ValueError, FileNotFoundError) as error:
        return fail(_tool(), error, EXIT_FAILED)
    for path in written[:MAX_LISTED_FILES]:
        print(f"wrote {path}")
    if len(written) > MAX_LISTED_FILES:
        print(f"... and {len(written) - MAX_LISTED_FILES} more files")
    return EXIT_OK


def main(argv=None):
    """Console entry point (``facenet-vae-generate``, ``python generate.py``); returns the exit status."""
    options = parse_options(sys.argv if argv is None else argv)
    configure_console(options.verbose)
    return run_options(options)


if __name__ == "__main__":
    sys.exit(main())
