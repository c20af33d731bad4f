"""Writing a trained ``DfcVae`` for other runtimes: a SavedModel, ONNX (decoder + encoder) or LiteRT (decoder).

    saved_model.py  export_saved_model: signatures encode / encode_uint8 / decode / reconstruct(_uint8)
    onnx.py         export_onnx: decoder.onnx and encoder.onnx (needs the ``export`` extra)
    litert.py       export_litert: decoder.tflite, builtin ops only (needs the ``export`` extra)
    formats.py      export_model: one of FORMATS by name

Command line: ``facenet-vae-export MODEL OUT_DIR [--format=saved_model|onnx|litert]`` or
``python -m facenet_vae.export ...``. The names below are imported on first use (PEP 562), so the
command line checks its arguments before TensorFlow (or tf2onnx) loads.
"""
from facenet_vae.lazy import lazy_names

FORMATS = ("saved_model", "onnx", "litert")

_MODULE_OF = {"export_saved_model": "saved_model", "export_onnx": "onnx", "export_litert": "litert",
              "export_model": "formats"}

__all__ = ["FORMATS", *sorted(_MODULE_OF)]
__getattr__, __dir__ = lazy_names(__name__, {name: f"facenet_vae.export.{module}" for name, module in _MODULE_OF.items()})
