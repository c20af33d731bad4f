"""Export a ``DfcVae``'s decoder and encoder to ONNX (for onnxruntime, including onnxruntime-web's wasm backend).

==============  ================================================  ===============================================
file            input                                             outputs
==============  ================================================  ===============================================
decoder.onnx    ``latent`` float32 (N, L)                          ``images`` uint8 (N, S, S, 3), 0..255;
                                                                  ``normalized`` float32 (N, S, S, 3), the
                                                                  decoder's output before un-normalising
encoder.onnx    ``images`` float32 (N, S, S, 3), pixels 0..255     ``mean``, ``log_variance`` float32 (N, L)
                (uint8 pixels cast to float32 give the same codes)
==============  ================================================  ===============================================

N is free, S is the model's image size (no resizing inside: give faces at model size), L its
latent size. Both run batch norm in inference (moving statistics) and normalise with facenet's
CelebA mean/stddev inside, exactly as the SavedModel's ``decode``/``encode`` signatures do.
The graphs use standard ONNX ops only (Conv, MatMul, LeakyRelu, Reshape, Tile, Round, Cast, ...),
at opset ``OPSET``. Each file's metadata records ``vae_def``, ``latent_var_size`` and ``image_size``.
"""
import os

import tensorflow as tf
import tf2onnx

from facenet_vae.atomic_files import atomic_write
from facenet_vae.model.normalization import normalized_to_pixels, pixels_to_normalized

OPSET = 17


def decoder_function(model):
    """Return a ``tf.function`` of ``latent`` -> ``{"images": uint8 pixels, "normalized": float32}``."""
    @tf.function(input_signature=[tf.TensorSpec((None, model.latent_var_size), tf.float32, name="latent")])
    def decode(latent):
        normalized = model.decode(latent, training=False)
        return {"images": normalized_to_pixels(normalized, tf.uint8), "normalized": normalized}
    return decode


def encoder_function(model):
    """Return a ``tf.function`` of float32 ``images`` (0..255, model size) -> ``{"mean", "log_variance"}``."""
    size = model.image_size

    @tf.function(input_signature=[tf.TensorSpec((None, size, size, 3), tf.float32, name="images")])
    def encode(images):
        mean, log_variance = model.encode(pixels_to_normalized(images), training=False)
        return {"mean": mean, "log_variance": log_variance}
    return encode


def _to_onnx(function, model):
    proto, _ = tf2onnx.convert.from_function(function, input_signature=function.input_signature, opset=OPSET)
    for value in [*proto.graph.input, *proto.graph.output]:
        value.type.tensor_type.shape.dim[0].dim_param = "batch"  # tf2onnx names it unk__NNN
    for key, value in (("vae_def", model.vae_def), ("latent_var_size", model.latent_var_size),
                       ("image_size", model.image_size)):
        entry = proto.metadata_props.add()
        entry.key, entry.value = key, str(value)
    return proto


def export_onnx(model, out_dir):
    """Write ``model`` (a built ``DfcVae``) as ``out_dir/decoder.onnx`` and ``out_dir/encoder.onnx``.

    Returns ``{"decoder": path, "encoder": path}``. Each file is written atomically (an existing
    one is replaced); ``out_dir`` is created if needed. See the module docstring for the I/O.
    """
    out_dir = os.path.normpath(os.path.expanduser(os.fspath(out_dir)))
    os.makedirs(out_dir, exist_ok=True)
    paths = {"decoder": os.path.join(out_dir, "decoder.onnx"), "encoder": os.path.join(out_dir, "encoder.onnx")}
    atomic_write(paths["decoder"], _to_onnx(decoder_function(model), model).SerializeToString())
    atomic_write(paths["encoder"], _to_onnx(encoder_function(model), model).SerializeToString())
    return paths
