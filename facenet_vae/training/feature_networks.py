"""Frozen pretrained networks whose activations define the DFC-VAE feature (perceptual) loss.

``build_feature_extractor`` returns a ``FeatureExtractor``: a frozen Keras model that takes images
in facenet's normalised space (see ``normalization``) and returns ``{layer name: feature map}``.

* ``vgg19`` / ``vgg16``: ``keras.applications`` VGG without its top, truncated after the deepest
  requested layer. Inputs are un-normalised to 0..255 RGB and given the preprocessing the weights
  were trained with: Caffe's (BGR minus the ImageNet mean, as ``keras.applications.vgg19.
  preprocess_input`` does) for Keras weights files, torch's (RGB/255 standardised by the ImageNet
  mean and std) for torchvision's VGG16 (``vgg16-imagenet``, used when Keras cannot download its own).
* ``facenet``: Inception-ResNet-v1 of the registry's ``facenet-msceleb`` (``facenet_keras.h5``,
  fetched on first use; see ``facenet_vae.pretrained``), or a local file in its layout. Its stem
  (``Conv2d_1a_3x3``, ``Conv2d_2a_3x3``, ``Conv2d_2b_3x3``) is facenet ``train_vae.py``'s default
  ``--loss_features``; deeper units (``Conv2d_4b_3x3``, ``Block35_<i>``, ``Mixed_6a``, ``Block17_<i>``,
  ``Mixed_7a``, ``Block8_<i>``: the unit's ReLU output) and ``embedding`` may be named too. The
  ``embedding`` feature is the L2-normalised 128-D embedding divided by sqrt(2), so that the
  objective's squared error of it is ``1 - cosine`` per image. As in ``train_vae.py``, the
  normalised images are fed as they are (``facenet_input="normalized"``: not prewhitened), resized
  to ``crop_size``; ``"fixed_standardization"`` feeds ``(pixels - 127.5) / 128`` instead.
"""
import os

import keras
import numpy as np
import tensorflow as tf
from absl import logging

from facenet_vae.model.definitions import DEFAULT_CROP_SIZE
from facenet_vae.model.normalization import IMG_MEAN, IMG_STDDEV
from facenet_vae.training.choices import (FACENET_BN_DECAY, FACENET_BN_EPSILON, FACENET_EMBEDDING,  # noqa: F401
                                          FACENET_INPUTS,
                                          FACENET_LAYERS, FACENET_STEM_LAYERS, FACENET_STEM_SPECS,
                                          FEATURE_NETWORKS)
from facenet_vae.training.feature_layers import (VGG_LAYER_PRESETS, resolve_layer_names,  # noqa: F401
                                                 valid_layer_names)
from facenet_vae.pretrained.vgg16_imagenet import TORCH_PREPROCESSING, torch_preprocess
from facenet_vae.training.feature_weights import (VGG_APPLICATIONS, FeatureWeightsUnavailable,  # noqa: F401
                                                  imagenet_weights_path, keras_cache_dir, load_facenet_weights,
                                                  load_vgg_weights, vgg_preprocessing)

# Caffe-mode ImageNet mean in BGR order, as keras.applications.imagenet_utils uses.
IMAGENET_BGR_MEAN = np.array([103.939, 116.779, 123.68], dtype=np.float32)

RANDOM_WEIGHTS_WARNING = "perceptual_weights=random: feature loss uses RANDOM weights, for tests only"


# -- the extractor -----------------------------------------------------------------------------
class FeatureExtractor(keras.Model):
    """A frozen feature network: ``call(normalised images)`` returns ``{layer name: float32 features}``.

    ``network`` is a functional model whose outputs are the features of ``layer_names`` in order.
    ``preprocessing`` (VGG only): "caffe" or "torch", what the VGG weights were trained on.
    ``facenet_input`` (facenet only): one of ``FACENET_INPUTS`` (see the module doc).
    Nothing here is trainable and batch norm always runs in inference mode.
    """

    def __init__(self, network, network_name, layer_names, crop_size=None, preprocessing="caffe",
                 facenet_input="normalized", **kwargs):
        # float32 so that Keras does not cast (mixed-precision) inputs to float16 before the
        # un-normalisation; the inner network's layers still compute in the global policy.
        kwargs.setdefault("dtype", "float32")
        super().__init__(**kwargs)
        self.network = network
        self.network_name = network_name
        self.layer_names = list(layer_names)
        self.crop_size = crop_size
        self.preprocessing = preprocessing
        if facenet_input not in FACENET_INPUTS:
            raise ValueError(f"Unknown facenet_input {facenet_input!r}; choose one of {FACENET_INPUTS}")
        self.facenet_input = facenet_input
        self.trainable = False

    def preprocess(self, images):
        """Return the float32 network input for normalised images (NHWC)."""
        images = tf.cast(images, tf.float32)
        if self.network_name == "facenet":
            if self.facenet_input == "fixed_standardization":
                images = (images * IMG_STDDEV + IMG_MEAN - 127.5) / 128.0
            side = self.crop_size
            if side is not None and tuple(images.shape[1:3]) != (side, side):
                # train_vae.py's tf.image.resize_images: TF1 bilinear, no half-pixel centres.
                images = tf.raw_ops.ResizeBilinear(images=images, size=(side, side), align_corners=False,
                                                   half_pixel_centers=False)
            return images
        # Un-normalise without clipping (normalized_to_pixels clips), so gradients always flow.
        pixels = images * IMG_STDDEV + IMG_MEAN
        if self.preprocessing == TORCH_PREPROCESSING:
            return torch_preprocess(pixels)
        return pixels[..., ::-1] - IMAGENET_BGR_MEAN

    def call(self, images, training=False):
        outputs = self.network(self.preprocess(images), training=False)
        if not isinstance(outputs, (list, tuple)):
            outputs = [outputs]
        return {name: tf.cast(value, tf.float32) for name, value in zip(self.layer_names, outputs)}


def build_feature_extractor(network="vgg19", layers=None, weights="imagenet", crop_size=DEFAULT_CROP_SIZE,
                            image_size=64, facenet_input="normalized"):
    """Return a frozen ``FeatureExtractor`` for ``network``, truncated after its deepest requested layer.

    ``layers``: see ``resolve_layer_names`` (None = the network's default).
    ``weights``: ``"imagenet"`` (VGG: Keras' cache/download, for vgg16 then the registry's torchvision
    ``vgg16-imagenet``, else ``FeatureWeightsUnavailable``; facenet: the registry's
    ``facenet-msceleb``, fetched on first use, else ``PretrainedUnavailable``),
    a path to a weights file (VGG: a Keras notop weights file, ``.weights.h5`` or legacy ``.h5``, or
    for vgg16 torchvision's ``vgg16.ckpt``;
    facenet: a ``facenet_keras.h5``-layout HDF5 file, which for layers past the stem must hold the
    whole network), or ``"random"`` (tests and benchmarks only).
    ``crop_size``: facenet only, the side its input is resized to (None: no resize).
    ``image_size``: the side of the VGG input (the VAE's image size; None: any size).
    ``facenet_input``: facenet only, what it is fed (one of ``FACENET_INPUTS``; see the module doc).
    """
    names = resolve_layer_names(network, layers)
    weights = _check_weights_argument(network, weights)
    if network == "facenet":
        if set(names) <= set(FACENET_STEM_LAYERS):
            model = _build_facenet_stem(names, weights, crop_size)
        else:
            model = _build_facenet_deep(names, weights, crop_size)
        return FeatureExtractor(model, network, names, crop_size=crop_size, facenet_input=facenet_input,
                                name="feature_extractor_facenet")
    model, preprocessing = _build_vgg(network, names, weights, image_size)
    return FeatureExtractor(model, network, names, preprocessing=preprocessing,
                            name=f"feature_extractor_{network}")


def _check_weights_argument(network, weights):
    if weights is None or (isinstance(weights, str) and weights == "random"):
        logging.warning(RANDOM_WEIGHTS_WARNING)
        return "random"
    weights = os.fspath(weights)
    if weights == "imagenet":
        if network == "facenet":
            from facenet_vae.pretrained.fetch import fetch  # noqa: PLC0415 (only facenet runs fetch it)
            return fetch("facenet-msceleb")
        return weights
    path = os.path.abspath(os.path.expanduser(weights))
    if not os.path.isfile(path):
        raise FileNotFoundError(f"Feature network weights file {path} (perceptual_weights={weights!r}) "
                                "does not exist")
    return path


# -- VGG ---------------------------------------------------------------------------------------
def _build_vgg(network, names, weights, image_size):
    application = getattr(keras.applications, VGG_APPLICATIONS[network])
    full = application(include_top=False, weights=None, input_shape=(image_size, image_size, 3))
    outputs = [full.get_layer(name).output for name in names]
    # A functional model over the sub-graph up to these outputs holds no deeper layers.
    truncated = keras.Model(full.input, outputs, name=f"{network}_to_{_deepest(network, names)}")
    needed = [layer.name for layer in truncated.layers if layer.weights]
    path = imagenet_weights_path(network) if weights == "imagenet" else weights
    preprocessing = "caffe"
    if path != "random":
        load_vgg_weights(full, network, path, needed)
        preprocessing = vgg_preprocessing(path)
    truncated.trainable = False
    return truncated, preprocessing


def _deepest(network, names):
    order = valid_layer_names(network)
    return max(names, key=order.index)


# -- facenet stem ------------------------------------------------------------------------------
def _build_facenet_stem(names, weights, crop_size):
    order = list(FACENET_STEM_LAYERS)
    depth = max(order.index(name) for name in names) + 1
    inputs = keras.Input((crop_size, crop_size, 3), name="facenet_input")
    x = inputs
    ends = {}
    for layer_name in order[:depth]:
        filters, strides, padding = FACENET_STEM_SPECS[layer_name]
        x = keras.layers.Conv2D(filters, 3, strides=strides, padding=padding, use_bias=False,
                                name=layer_name)(x)
        x = keras.layers.BatchNormalization(axis=3, momentum=FACENET_BN_DECAY,
                                            epsilon=FACENET_BN_EPSILON, scale=False,
                                            name=f"{layer_name}_BatchNorm")(x)
        x = keras.layers.Activation("relu", name=f"{layer_name}_Activation")(x)
        ends[layer_name] = x
    model = keras.Model(inputs, [ends[name] for name in names], name=f"facenet_stem_to_{order[depth - 1]}")
    if weights != "random":
        load_facenet_weights(model, weights)
    model.trainable = False
    return model


def _facenet_output_layer(name):
    """The facenet-msceleb layer whose output is the feature ``name`` (a unit's ReLU; Block8_6 has none)."""
    if name in ("Mixed_6a", "Mixed_7a", FACENET_EMBEDDING):
        return name
    return "Block8_6_ScaleSum" if name == "Block8_6" else f"{name}_Activation"


def _build_facenet_deep(names, weights, crop_size):
    """facenet-msceleb truncated after the deepest of ``names``, with every weight of ``weights`` loaded."""
    from facenet_vae.pretrained.facenet_msceleb import build_facenet_msceleb, load_h5_weights  # noqa: PLC0415
    full = build_facenet_msceleb(None, input_size=crop_size)
    if weights != "random":
        load_h5_weights(full, weights)
    outputs = [full.get_layer(_facenet_output_layer(name)).output for name in names]
    if FACENET_EMBEDDING in names:
        index = names.index(FACENET_EMBEDDING)
        # |a/sqrt2 - b/sqrt2|^2 = 1 - cos(a, b) for unit vectors a, b.
        outputs[index] = keras.layers.Rescaling(float(1.0 / np.sqrt(2.0)), name="embedding_over_sqrt2")(
            outputs[index])
    deepest = max(names, key=list(FACENET_LAYERS).index)
    model = keras.Model(full.input, outputs, name=f"facenet_msceleb_to_{deepest}")
    model.trainable = False
    return model
