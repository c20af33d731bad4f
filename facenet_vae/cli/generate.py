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
import functools
import os
import sys
import warnings

from facenet_vae.cli.console import EXIT_FAILED, EXIT_OK, EXIT_USAGE, fail, parse_settings, run_tool, standard_console
from facenet_vae.generation.options import GenerateOptions, OptionError
from facenet_vae.settings import check_choices

MAX_LISTED_FILES = 20


def tool_name(argv):
    """Return the name errors are prefixed with: the program as called (``generate.py``, ``facenet-vae-generate``)."""
    return os.path.basename(argv[0]) if argv and argv[0] else "generate.py"


def parse_options(argv):
    """Return the checked ``GenerateOptions`` of ``argv``; raises SystemExit after one line for a bad command line.

    Runs before TensorFlow is imported, so a mistyped flag fails at once; ``--help`` lists the flags by group.
    """
    return parse_settings(tool_name(argv), argv, GenerateOptions, __doc__, __name__, check_choices)


def _one_line_warning(tool, message, category, filename, lineno, file=None, line=None):
    print(f"{tool}: warning: {' '.join(str(message).split())}", file=sys.stderr)


def run_options(options, tool="generate.py"):
    """Run ``options`` and print the files written; returns the exit status (one error line on failure)."""
    # Imported only now, on purpose: these modules load TensorFlow, which the flag check must not wait for.
    from facenet_vae.data.errors import DataError  # noqa: PLC0415
    from facenet_vae.generation.runner import run  # noqa: PLC0415
    try:
        written = run(options)
    except OptionError as error:
        return fail(tool, error, EXIT_USAGE)
    except (DataError, ValueError, FileNotFoundError) as error:
        return fail(tool, error, EXIT_FAILED)
    for path in written[:MAX_LISTED_FILES]:
        print(f"wrote {path}")
    if len(written) > MAX_LISTED_FILES:
        print(f"... and {len(written) - MAX_LISTED_FILES} more files")
    return EXIT_OK


def _generate_console(tool, verbose):
    standard_console(tool, verbose)
    warnings.showwarning = functools.partial(_one_line_warning, tool)


def main(argv=None):
    """Console entry point (``facenet-vae-generate``, ``python generate.py``); returns the exit status."""
    tool = tool_name(sys.argv if argv is None else argv)
    return run_tool(tool, argv, parse_options, functools.partial(run_options, tool=tool), console=_generate_console)


if __name__ == "__main__":
    sys.exit(main())
