"""Export a ``DfcVae`` as a self-contained SavedModel that needs only TensorFlow to run.

Signatures (all batch sizes; images any height/width, framed inside as the model's training faces
were (the model's recorded crop and resize; images at the model's size pass through), and
normalised inside with facenet's CelebA mean/stddev):

==================  =======================================  ==========================================
signature           input                                    outputs
==================  =======================================  ==========================================
encode              ``images`` float32 (N,H,W,3), 0..255     ``mean``, ``log_variance`` float32 (N,L)
encode_uint8        ``images`` uint8 (N,H,W,3)               ``mean``, ``log_variance`` float32 (N,L)
decode              ``latent`` float32 (N,L)                 ``images`` uint8 (N,S,S,3)
reconstruct         ``images`` float32 (N,H,W,3), 0..255     ``images`` uint8: decoded from the mean
reconstruct_uint8   ``images`` uint8 (N,H,W,3)               ``images`` uint8
serving_default     same as ``reconstruct``
==================  =======================================  ==========================================

A signature has one input dtype, so float and uint8 pixels get a signature each.
``assets.extra/model_config.json`` records vae_def, latent_var_size, image_size and the framing.

CLI: ``python -m facenet_vae.export RUN_FOLDER_OR_MODEL_KERAS OUT_DIR [--format=saved_model|onnx|litert]``
(``onnx``: see ``export_onnx``; ``litert``: see ``export_litert``, with ``--batch_size``).
"""
import json
import os
import shutil

import keras
import tensorflow as tf
from absl import logging

from facenet_vae.inference import decode_model_latent, encode_model_pixels, model_framing

# Written beside the SavedModel ("assets.extra" is the conventional place for files TF-Serving and
# tf.saved_model.load ignore); load_vae reads it back.
SAVED_MODEL_CONFIG = os.path.join("assets.extra", "model_config.json")


def is_saved_model_dir(path):
    """Return True when ``path`` is a folder holding a ``saved_model.pb``."""
    return os.path.isfile(os.path.join(path, "saved_model.pb"))


def _endpoints(model):
    def encode(images):
        mean, log_variance = encode_model_pixels(model, images)
        return {"mean": mean, "log_variance": log_variance}

    def decode(latent):
        return {"images": decode_model_latent(model, latent)}

    def reconstruct(images):
        return decode(encode_model_pixels(model, images)[0])

    images_f = tf.TensorSpec((None, None, None, 3), tf.float32, name="images")
    images_u = tf.TensorSpec((None, None, None, 3), tf.uint8, name="images")
    latent = tf.TensorSpec((None, model.latent_var_size), tf.float32, name="latent")
    return [("serving_default", reconstruct, images_f), ("encode", encode, images_f),
            ("encode_uint8", encode, images_u), ("decode", decode, latent),
            ("reconstruct", reconstruct, images_f), ("reconstruct_uint8", reconstruct, images_u)]


def _write_archive(model, path):
    # No archive.track(model): add_endpoint already saves every variable the endpoints read (the
    # underlying tf.Variables, as `_all_variables`). track() would add the model's Keras variables
    # as a second list of separate trackables, each serialised again: 14.2M values for a 7.08M model.
    # track() is only needed for lookup tables, which this model has none of.
    archive = keras.export.ExportArchive()
    for name, fn, spec in _endpoints(model):
        archive.add_endpoint(name, fn, input_signature=[spec])
    archive.write_out(path, verbose=False)
    os.makedirs(os.path.join(path, os.path.dirname(SAVED_MODEL_CONFIG)), exist_ok=True)
    config = {"vae_def": model.vae_def, "latent_var_size": int(model.latent_var_size),
              "image_size": int(model.image_size), "format": "facenet_vae SavedModel v1",
              "framing": model_framing(model).to_dict()}
    with open(os.path.join(path, SAVED_MODEL_CONFIG), "w", encoding="utf-8") as handle:
        json.dump(config, handle, indent=2)


def export_saved_model(model, out_dir):
    """Write ``model`` (a built ``DfcVae``) as a SavedModel in ``out_dir`` atomically; returns ``out_dir``.

    The model is written to ``<out_dir>.tmp-<pid>`` and renamed into place. An existing SavedModel
    at ``out_dir`` is replaced (kept until the new one is in place); an existing folder that is
    not a SavedModel and not empty is refused, so no unrelated files get deleted.
    """
    out_dir = os.path.normpath(os.path.expanduser(os.fspath(out_dir)))
    if os.path.exists(out_dir):
        if not os.path.isdir(out_dir):
            raise ValueError(f"cannot export to {out_dir}: it exists and is not a folder")
        if os.listdir(out_dir) and not is_saved_model_dir(out_dir):
            raise ValueError(f"cannot export to {out_dir}: it is a non-empty folder that is not a SavedModel")
    parent = os.path.dirname(os.path.abspath(out_dir))
    os.makedirs(parent, exist_ok=True)
    tmp = f"{out_dir}.tmp-{os.getpid()}"
    old = f"{out_dir}.old-{os.getpid()}"
    for leftover in (tmp, old):
        if os.path.exists(leftover):
            shutil.rmtree(leftover)
    try:
        _write_archive(model, tmp)
        if os.path.exists(out_dir):
            os.rename(out_dir, old)
        try:
            os.rename(tmp, out_dir)
        except BaseException:
            if os.path.exists(old) and not os.path.exists(out_dir):
                os.rename(old, out_dir)
            raise
    finally:
        if os.path.exists(tmp):
            shutil.rmtree(tmp, ignore_errors=True)
    if os.path.exists(old):
        shutil.rmtree(old, ignore_errors=True)
    logging.info("exported SavedModel (signatures: %s) to %s",
                 ", ".join(name for name, _, _ in _endpoints(model)), out_dir)
    return out_dir


FORMATS = ("saved_model", "onnx", "litert")
USAGE = ("usage: python -m facenet_vae.export RUN_FOLDER_OR_MODEL_KERAS OUT_DIR "
         "[--format=saved_model|onnx|litert] [--batch_size=N (litert)]")


def parse_args(argv):
    """Return ``(source, out_dir, format, batch_size)`` from ``argv`` (program name first).

    Raises ``SystemExit`` with one line naming the problem for a wrong argument.
    """
    positional, options = [], {"format": "saved_model", "batch_size": "1"}
    args = list(argv[1:])
    while args:
        arg = args.pop(0)
        if not arg.startswith("--"):
            positional.append(arg)
            continue
        name, has_value, value = arg[2:].partition("=")
        if name not in options:
            raise SystemExit(f"error: unknown option {arg!r}\n{USAGE}")
        if not has_value:
            if not args:
                raise SystemExit(f"error: option --{name} needs a value\n{USAGE}")
            value = args.pop(0)
        options[name] = value
    if len(positional) != 2:
        raise SystemExit(USAGE)
    if options["format"] not in FORMATS:
        raise SystemExit(f"error: unknown --format {options['format']!r}; choose one of {', '.join(FORMATS)}")
    if not options["batch_size"].isdigit() or int(options["batch_size"]) < 1:
        raise SystemExit(f"error: --batch_size must be a positive integer, got {options['batch_size']!r}")
    return positional[0], positional[1], options["format"], int(options["batch_size"])


def export_model(model, out_dir, export_format="saved_model", batch_size=1):
    """Export a built ``DfcVae`` to ``out_dir`` in ``export_format`` (one of ``FORMATS``); returns the paths written.

    ``saved_model``: the SavedModel folder (see this module's docstring); ``onnx``:
    ``decoder.onnx`` and ``encoder.onnx`` (``export_onnx``); ``litert``: ``decoder.tflite`` for
    ``batch_size`` latents at a time (``export_litert``).
    """
    if export_format == "saved_model":
        return {"saved_model": export_saved_model(model, out_dir)}
    # Imported here: they need the optional `export` extra (tf2onnx, onnx), and training imports
    # this module for export_saved_model.
    try:
        if export_format == "onnx":
            from facenet_vae.export_onnx import export_onnx
            return export_onnx(model, out_dir)
        if export_format == "litert":
            from facenet_vae.export_litert import export_litert
            return export_litert(model, out_dir, batch_size)
    except ImportError as error:
        raise RuntimeError(f"--format={export_format} needs the export extra ({error}): "
                           "pip install -e '.[export]'") from error
    raise ValueError(f"unknown export format {export_format!r}; choose one of {', '.join(FORMATS)}")


def main(argv):
    """CLI entry point: export the model at ``argv[1]`` to ``argv[2]`` in ``--format``; returns 0.

    A missing or unreadable model, an unknown format or a bad argument ends with one line naming
    the problem (``SystemExit``), not a traceback.
    """
    from facenet_vae.generation.loading import load_vae
    if any(arg in ("-h", "--help") for arg in argv[1:]):
        print(USAGE)
        return 0
    source, out_dir, export_format, batch_size = parse_args(argv)
    try:
        vae = load_vae(source)
    except (OSError, ValueError) as error:
        raise SystemExit(f"error: {error}") from None
    if vae.keras_model is None:
        raise SystemExit(f"{source} is already a SavedModel; export a run folder or .keras file instead")
    print(vae.source)
    try:
        paths = export_model(vae.keras_model, out_dir, export_format, batch_size)
    except (OSError, ValueError, RuntimeError) as error:
        raise SystemExit(f"error: {error}") from None
    for path in paths.values():
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    from absl import app, flags

    def _own_arguments(argv):
        # parse_args reads the arguments (absl would refuse --format); absl's flags keep their defaults.
        flags.FLAGS(argv[:1])
        return argv

    app.run(main, flags_parser=_own_arguments)
