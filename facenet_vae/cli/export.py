"""facenet-vae-export: write a trained model as a SavedModel, ONNX files or a LiteRT decoder.

usage: facenet-vae-export MODEL OUT_DIR [--format=saved_model|onnx|litert] [--batch_size=N] [--verbose]
       (or: python -m facenet_vae.export MODEL OUT_DIR ...)

MODEL is a training run folder (its final model.keras, else its latest checkpoint) or a .keras file.
saved_model: OUT_DIR is the SavedModel (signatures encode, encode_uint8, decode, reconstruct,
reconstruct_uint8, serving_default); onnx: OUT_DIR/decoder.onnx and OUT_DIR/encoder.onnx (needs
the export extra: pip install "facenet-vae[export]"); litert: OUT_DIR/decoder.tflite for
--batch_size latents per call.
"""
import dataclasses
import os
import sys
from typing import NamedTuple

from absl import flags

from facenet_vae.cli.console import EXIT_OK, EXIT_USAGE, fail, parse_command_line, run_tool
from facenet_vae.export import FORMATS
from facenet_vae.settings import check_choices, define_flags, from_flags, setting

TOOL = "facenet-vae-export"
USAGE = f"usage: {TOOL} MODEL OUT_DIR [--format={'|'.join(FORMATS)}] [--batch_size=N] [--verbose]"


@dataclasses.dataclass
class ExportConfig:
    """The flags of ``facenet-vae-export`` (MODEL and OUT_DIR are positional)."""
    format: str = setting("saved_model", "What to write.", choices=FORMATS, group="output")
    batch_size: int = setting(1, "litert only: the latents per call, fixed in the file.", group="output", minimum=1)
    verbose: bool = setting(False, "Show TensorFlow's start-up and SavedModel logging.", group="run")


class ExportRequest(NamedTuple):
    """What one command line asks for: the model, the output folder and the flags."""
    model: str
    out_dir: str
    config: ExportConfig

    @property
    def verbose(self):
        """Return ``--verbose``."""
        return self.config.verbose


def _parse(argv):
    """Return the ``ExportRequest`` of ``argv``; a bad command line: one line, then SystemExit."""
    flag_values = flags.FlagValues()
    define_flags(ExportConfig, flag_values, module_name=__name__)
    positional = parse_command_line(TOOL, argv, flag_values, __doc__)
    if len(positional) != 2:
        raise SystemExit(fail(TOOL, f"expected MODEL and OUT_DIR, got {len(positional)} argument(s). {USAGE}",
                              EXIT_USAGE))
    try:
        config = check_choices(from_flags(ExportConfig, flag_values))
    except ValueError as error:
        raise SystemExit(fail(TOOL, error, EXIT_USAGE)) from None
    return ExportRequest(positional[0], positional[1], config)


def missing_model(request):
    """Return a one-line problem when MODEL does not exist (said before TensorFlow loads)."""
    if not os.path.exists(os.path.expanduser(request.model)):
        return f"model {request.model!r} does not exist (expected a training run folder or a .keras file)"
    return None


def export(request):
    """Export the model in the requested format and print the files written; returns the exit status."""
    # Imported only now, on purpose: they load TensorFlow, which the argument check must not wait for.
    from facenet_vae.export.formats import export_model  # noqa: PLC0415
    from facenet_vae.generation.loading import load_vae  # noqa: PLC0415
    vae = load_vae(request.model)
    if vae.keras_model is None:
        return fail(TOOL, f"{request.model} is already a SavedModel; export a run folder or .keras file instead")
    print(vae.source)
    paths = export_model(vae.keras_model, request.out_dir, request.config.format, request.config.batch_size)
    for path in paths.values():
        print(f"wrote {path}")
    return EXIT_OK


def main(argv=None):
    """Console entry point: export MODEL to OUT_DIR; returns the exit status (console.EXIT_*)."""
    return run_tool(TOOL, argv, _parse, export, check=missing_model)


if __name__ == "__main__":
    sys.exit(main())
