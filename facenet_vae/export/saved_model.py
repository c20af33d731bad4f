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
``assets.extra/model_config.json`` is the model's ``get_config()`` (vae_def, latent_var_size, framing).

Command line: ``facenet-vae-export MODEL OUT_DIR`` (or ``python -m facenet_vae.export``); other
formats: ``facenet_vae.export.onnx`` and ``facenet_vae.export.litert``.
"""
import json
import os
import shutil

import keras
import tensorflow as tf
from absl import logging


# Written beside the SavedModel ("assets.extra" is the conventional place for files TF-Serving and
# tf.saved_model.load ignore); load_vae reads it back.
SAVED_MODEL_CONFIG = os.path.join("assets.extra", "model_config.json")


def is_saved_model_dir(path):
    """Return True when ``path`` is a folder holding a ``saved_model.pb``."""
    return os.path.isfile(os.path.join(path, "saved_model.pb"))


def _endpoints(model):
    def encode(images):
        mean, log_variance = model.encode_pixels(images)
        return {"mean": mean, "log_variance": log_variance}

    def decode(latent):
        return {"images": model.decode_to_pixels(latent)}

    def reconstruct(images):
        return decode(model.encode_pixels(images)[0])

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
    config = model.get_config()
    # The signatures frame photos with the converter's framing (the legacy resize for a model that records
    # none), so the SavedModel records it either way.
    config["framing"] = model.converter.framing.to_dict()
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
