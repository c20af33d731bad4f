"""Export a ``DfcVae``'s decoder to LiteRT (TensorFlow Lite) with builtin ops only.

``decoder.tflite``: input ``latent`` float32 (B, L); outputs ``images`` uint8 (B, S, S, 3) and
``normalized`` float32 (B, S, S, 3) (the decoder's output before un-normalising), as in
``decoder.onnx``. B is fixed at export (``batch_size``, default 1); every tensor has a static
shape. Weights are constants inside the file.

Why a plain conversion of ``decode`` needed Select TF ops (``Conv2D`` on ``tensor<?x?x?x?>``)
-------------------------------------------------------------------------------------------
Two things together, neither of them the model's numerics:

1. ``UpSampling2D(interpolation="nearest")`` is Keras' ``ops.repeat``, i.e. ``tf.repeat``:
   expand_dims, Tile, then a Reshape whose target shape is computed at run time from
   ``tf.shape(x)``. With the ``(None, L)`` input signature that shape tensor is not a constant,
   and the converter's MLIR shape inference cannot see through it: after the first upsampling
   the activations are ``?x?x8x?`` and after the second ``?x?x?x?``. (TensorFlow's Python-side
   shape refiner does evaluate such partial shapes, so the graph looks fully shaped in Keras.)
2. The kernels are resource variables. In the converter they reach ``Conv2D`` as variable reads
   rather than constants, and TFLite's ``Conv2D`` legalization (which must transpose a
   non-constant filter to OHWI) fails on an input of unknown shape, so ``Conv2D`` stays a TF op.

Batch norm is not involved: the inference-mode ``FusedBatchNormV3`` lowers to builtin MUL/ADD
(folded into the convolution once weights are constants), and the decoder's reshape to the
4x4x256 grid keeps its shape. Fixing either cause alone lets the conversion pass; this module
fixes both: the weights are frozen into constants (``convert_variables_to_constants_v2``; without
that a fixed-batch conversion keeps them as uninitialised VAR_HANDLE resources and decodes NaN),
and the batch is fixed so every reshape folds to a constant and every tensor has a static shape.
The model, its layers and its checkpoint layout are unchanged.
"""
import os

import tensorflow as tf
# The public converter API has no way to freeze a TF2 function's variables; tf2onnx and the TFLite
# converter itself use this helper.
from tensorflow.python.framework.convert_to_constants import convert_variables_to_constants_v2

from facenet_vae.atomic_files import atomic_write
from facenet_vae.model.normalization import normalized_to_pixels


def frozen_decoder_function(model, batch_size=1):
    """Return the decoder as a concrete function with static shapes and its weights as constants.

    Input ``latent`` float32 (``batch_size``, L); outputs ``{"images": uint8, "normalized": float32}``.
    """
    if not isinstance(batch_size, int) or batch_size < 1:
        raise ValueError(f"batch_size must be a positive integer, got {batch_size!r}")

    @tf.function(input_signature=[tf.TensorSpec((batch_size, model.latent_var_size), tf.float32, name="latent")])
    def decode(latent):
        normalized = model.decode(latent, training=False)
        return {"images": normalized_to_pixels(normalized, tf.uint8), "normalized": normalized}

    frozen = convert_variables_to_constants_v2(decode.get_concrete_function())

    # Freezing drops the output names (they become output_0, output_1); give them back.
    @tf.function(input_signature=decode.input_signature)
    def named(latent):
        images, normalized = frozen(latent)
        return {"images": images, "normalized": normalized}

    return named.get_concrete_function()


def decoder_tflite_bytes(model, batch_size=1):
    """Return the decoder as a LiteRT flatbuffer (bytes) built from ``TFLITE_BUILTINS`` ops only."""
    converter = tf.lite.TFLiteConverter.from_concrete_functions(
        [frozen_decoder_function(model, batch_size)], tf.Module())  # a trackable object makes it a named signature
    converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS]
    return converter.convert()


def export_litert(model, out_dir, batch_size=1):
    """Write ``model``'s decoder (a built ``DfcVae``) as ``out_dir/decoder.tflite``; returns ``{"decoder": path}``.

    The file is written atomically; ``out_dir`` is created if needed. See the module docstring.
    """
    out_dir = os.path.normpath(os.path.expanduser(os.fspath(out_dir)))
    path = os.path.join(out_dir, "decoder.tflite")
    atomic_write(path, decoder_tflite_bytes(model, batch_size))
    return {"decoder": path}
