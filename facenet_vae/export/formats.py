"""Export a built ``DfcVae`` in one of ``FORMATS`` by name."""
from facenet_vae.export import FORMATS
from facenet_vae.export.litert import export_litert
from facenet_vae.export.saved_model import export_saved_model


# Modules of the optional ``export`` extra that writing a format needs (LiteRT is written by TensorFlow itself).
EXTRA_MODULES = ("tf2onnx", "onnx")


class ExportExtraMissing(RuntimeError):
    """The format needs the optional ``export`` extra, which is not installed."""


def export_model(model, out_dir, export_format="saved_model", batch_size=1):
    """Export a built ``DfcVae`` to ``out_dir`` in ``export_format`` (one of ``FORMATS``); returns the paths written.

    ``saved_model``: the SavedModel folder (``export.saved_model``); ``onnx``: ``decoder.onnx`` and
    ``encoder.onnx`` (``export.onnx``); ``litert``: ``decoder.tflite`` for ``batch_size`` latents at a
    time (``export.litert``).
    """
    if export_format not in FORMATS:
        raise ValueError(f"unknown export format {export_format!r}; choose one of {', '.join(FORMATS)}")
    if export_format == "saved_model":
        return {"saved_model": export_saved_model(model, out_dir)}
    if export_format == "litert":
        return export_litert(model, out_dir, batch_size)
    # Imported here on purpose: ONNX needs the optional `export` extra.
    try:
        from facenet_vae.export.onnx import export_onnx  # noqa: PLC0415
    except ModuleNotFoundError as error:
        if str(error.name).split(".")[0] not in EXTRA_MODULES:
            raise
        raise ExportExtraMissing(f"--format=onnx needs the export extra (no module {error.name}): "
                                 "pip install 'facenet-vae[export]'") from error
    return export_onnx(model, out_dir)
