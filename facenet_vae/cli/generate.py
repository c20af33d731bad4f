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
import os
import sys
import warnings

from absl import app, flags

from facenet_vae import settings
from facenet_vae.cli.console import EXIT_FAILED, EXIT_OK, EXIT_USAGE, fail, quiet_tensorflow
from facenet_vae.generation.options import GenerateOptions, OptionError

FLAGS = flags.FLAGS
MAX_LISTED_FILES = 20


def _tool():
    return os.path.basename(sys.argv[0]) or "generate.py"


def parse_flags(argv):
    """Parse the command line; a bad flag or value prints one line and exits with EXIT_USAGE (no TensorFlow yet)."""
    try:
        rest = FLAGS(argv)
        if len(rest) > 1:
            raise flags.Error(f"unexpected arguments: {' '.join(rest[1:])}")
        settings.check_choices(settings.from_flags(GenerateOptions))
    except (flags.Error, ValueError) as error:
        sys.exit(fail(_tool(), error, EXIT_USAGE))
    return rest


def _one_line_warnings(message, category, filename, lineno, file=None, line=None):
    print(f"{_tool()}: warning: {' '.join(str(message).split())}", file=sys.stderr)


def run_options(options):
    """Run ``options`` and print the files written; returns the exit status (one error line on failure)."""
    quiet_tensorflow(options.verbose)
    # Imported here, after the flags are checked: these modules load TensorFlow.
    from facenet_vae.data.errors import DataError
    from facenet_vae.generation.runner import run
    warnings.showwarning = _one_line_warnings
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


def _main(argv):
    del argv  # checked by parse_flags
    return run_options(settings.from_flags(GenerateOptions))


def main():
    """Console entry point (``facenet-vae-generate``, ``python generate.py``)."""
    if "verbose" not in FLAGS:
        settings.define_flags(GenerateOptions)
    app.run(_main, flags_parser=parse_flags)


if __name__ == "__main__":
    main()
