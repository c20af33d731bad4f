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

from absl import flags

from facenet_vae.cli.console import (EXIT_FAILED, EXIT_OK, EXIT_USAGE, fail, import_tensorflow, log_to_stderr,
                                     parse_command_line, quiet_tensorflow)
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


def _parse(argv):
    """Return ``(model, out_dir, ExportConfig)`` of ``argv``; a bad command line: one line, then SystemExit."""
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
    return positional[0], positional[1], config


def main(argv=None):
    """Console entry point: export MODEL to OUT_DIR; returns the exit status (console.EXIT_*)."""
    argv = sys.argv if argv is None else argv
    try:
        source, out_dir, config = _parse(argv)
    except SystemExit as stop:
        return stop.code
    if not os.path.exists(os.path.expanduser(source)):  # said before TensorFlow loads
        return fail(TOOL, f"model {source!r} does not exist (expected a training run folder or a .keras file)")
    quiet_tensorflow(config.verbose)
    log_to_stderr(TOOL, config.verbose)
    import_tensorflow(config.verbose)
    # Imported only now, on purpose: they load TensorFlow, which the argument check above must not wait for.
    from facenet_vae.export.formats import export_model  # noqa: PLC0415
    from facenet_vae.generation.loading import load_vae  # noqa: PLC0415
    try:
        vae = load_vae(source)
        if vae.keras_model is None:
            return fail(TOOL, f"{source} is already a SavedModel; export a run folder or .keras file instead")
        print(vae.source)
        paths = export_model(vae.keras_model, out_dir, config.format, config.batch_size)
    except (OSError, ValueError, RuntimeError) as error:
        return fail(TOOL, error, EXIT_FAILED)
    for path in paths.values():
        print(f"wrote {path}")
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
