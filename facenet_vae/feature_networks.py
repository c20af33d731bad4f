"""Frozen pretrained networks whose activations define the DFC-VAE feature (perceptual) loss.

``build_feature_extractor`` returns a ``FeatureExtractor``: a frozen Keras model that takes images
in facenet's normalised space (see ``normalization``) and returns ``{layer name: feature map}``.

* ``vgg19`` / ``vgg16``: ``keras.applications`` VGG without its top, truncated after the deepest
  requested layer. Inputs are un-normalised to 0..255 RGB and given Caffe preprocessing (BGR minus
  the ImageNet mean), as ``keras.applications.vgg19.preprocess_input`` does.
* ``facenet``: the stem of Inception-ResNet-v1 (``Conv2d_1a_3x3``, ``Conv2d_2a_3x3``,
  ``Conv2d_2b_3x3``), facenet ``train_vae.py``'s default ``--loss_features``, with weights read by
  layer name from a Keras ``facenet_keras.h5`` conversion. As in ``train_vae.py``, the normalised
  images are fed as they are, resized to ``input_image_size``.
"""
import os

import h5py
import keras
import numpy as np
import tensorflow as tf
from absl import logging

from facenet_vae.normalization import IMG_MEAN, IMG_STDDEV

FEATURE_NETWORKS = ("vgg19", "vgg16", "facenet")

# relu1_1, relu2_1, relu3_1 of the DFC-VAE paper (Hou et al. 2016), and its deeper variant.
VGG_LAYER_PRESETS = {
    "vgg123": ("block1_conv1", "block2_conv1", "block3_conv1"),
    "vgg345": ("block3_conv1", "block4_conv1", "block5_conv1"),
}

FACENET_STEM_LAYERS = ("Conv2d_1a_3x3", "Conv2d_2a_3x3", "Conv2d_2b_3x3")

# Caffe-mode ImageNet mean in BGR order, as keras.applications.imagenet_utils uses.
IMAGENET_BGR_MEAN = np.array([103.939, 116.779, 123.68], dtype=np.float32)

RANDOM_WEIGHTS_WARNING = "perceptual_weights=random: feature loss uses RANDOM weights, for tests only"

# (filters, strides, padding) of the Inception-ResNet-v1 stem in the Keras facenet conversion.
_FACENET_STEM_SPECS = {
    "Conv2d_1a_3x3": (32, 2, "valid"),
    "Conv2d_2a_3x3": (32, 1, "valid"),
    "Conv2d_2b_3x3": (64, 1, "same"),
}
_FACENET_BN_MOMENTUM = 0.995
_FACENET_BN_EPSILON = 0.001

_VGG_CONVS_PER_BLOCK = {"vgg16": (2, 2, 3, 3, 3), "vgg19": (2, 2, 4, 4, 4)}
_VGG_APPLICATIONS = {"vgg16": "VGG16", "vgg19": "VGG19"}
# (file name in the Keras cache, origin, md5) exactly as keras.applications.vgg16/vgg19 use them.
_VGG_IMAGENET_NOTOP = {
    "vgg16": ("vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5",
              "https://storage.googleapis.com/tensorflow/keras-applications/vgg16/"
              "vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5",
              "6d6bbae143d832006294945121d1f1fc"),
    "vgg19": ("vgg19_weights_tf_dim_ordering_tf_kernels_notop.h5",
              "https://storage.googleapis.com/tensorflow/keras-applications/vgg19/"
              "vgg19_weights_tf_dim_ordering_tf_kernels_notop.h5",
              "253f8cb515780f3b799900260a226db6"),
}


class FeatureWeightsUnavailable(RuntimeError):
    """The pretrained weights of a feature network can be neither found locally nor downloaded."""


# -- layer names -------------------------------------------------------------------------------
def _check_network(network):
    if network not in FEATURE_NETWORKS:
        raise ValueError(f"Unknown feature network {network!r}; choose one of {list(FEATURE_NETWORKS)}")


def valid_layer_names(network):
    """Return the feature layer names ``network`` offers, in network order (list[str])."""
    _check_network(network)
    if network == "facenet":
        return list(FACENET_STEM_LAYERS)
    names = []
    for block, convs in enumerate(_VGG_CONVS_PER_BLOCK[network], start=1):
        names += [f"block{block}_conv{i}" for i in range(1, convs + 1)]
        names.append(f"block{block}_pool")
    return names


def resolve_layer_names(network, layers=None):
    """Return the list of layer names that ``layers`` selects in ``network``.

    ``layers`` is None (the network's default: ``vgg123`` for VGG, the three stem layers for
    facenet), a preset name from ``VGG_LAYER_PRESETS`` (VGG only), a comma-separated string or a
    list of layer names. Raises ValueError, listing the valid choices, for unknown names.
    """
    _check_network(network)
    valid = valid_layer_names(network)
    if layers is None:
        layers = list(FACENET_STEM_LAYERS) if network == "facenet" else "vgg123"
    if isinstance(layers, str):
        if layers in VGG_LAYER_PRESETS:
            if network == "facenet":
                raise ValueError(f"Layer preset {layers!r} is for VGG networks; facenet layers are "
                                 f"{valid}")
            return list(VGG_LAYER_PRESETS[layers])
        layers = layers.split(",")
    names = [str(name).strip() for name in layers]
    names = [name for name in names if name]
    if not names:
        raise ValueError(f"No feature layers given for {network}; choose from {valid}"
                         + (f" or a preset {list(VGG_LAYER_PRESETS)}" if network != "facenet" else ""))
    unknown = [name for name in names if name not in valid]
    if unknown:
        presets = f", or a preset {list(VGG_LAYER_PRESETS)}" if network != "facenet" else ""
        raise ValueError(f"Unknown {network} feature layer(s) {unknown}; valid layers are {valid}{presets}")
    duplicates = sorted({name for name in names if names.count(name) > 1})
    if duplicates:
        raise ValueError(f"Feature layer(s) {duplicates} given more than once")
    return names


# -- the extractor -----------------------------------------------------------------------------
class FeatureExtractor(keras.Model):
    """A frozen feature network: ``call(normalised images)`` returns ``{layer name: float32 features}``.

    ``network`` is a functional model whose outputs are the features of ``layer_names`` in order.
    Nothing here is trainable and batch norm always runs in inference mode.
    """

    def __init__(self, network, network_name, layer_names, input_image_size=None, **kwargs):
        # float32 so that Keras does not cast (mixed-precision) inputs to float16 before the
        # un-normalisation; the inner network's layers still compute in the global policy.
        kwargs.setdefault("dtype", "float32")
        super().__init__(**kwargs)
        self.network = network
        self.network_name = network_name
        self.layer_names = list(layer_names)
        self.input_image_size = input_image_size
        self.trainable = False

    def preprocess(self, images):
        """Return the float32 network input for normalised images (NHWC)."""
        images = tf.cast(images, tf.float32)
        if self.network_name == "facenet":
            size = self.input_image_size
            if size is not None and tuple(images.shape[1:3]) != (size, size):
                # train_vae.py's tf.image.resize_images: TF1 bilinear, no half-pixel centres.
                images = tf.raw_ops.ResizeBilinear(images=images, size=(size, size), align_corners=False,
                                                   half_pixel_centers=False)
            return images
        # Un-normalise without clipping (normalized_to_pixels clips), so gradients always flow.
        pixels = images * IMG_STDDEV + IMG_MEAN
        return pixels[..., ::-1] - IMAGENET_BGR_MEAN

    def call(self, images, training=False):
        outputs = self.network(self.preprocess(images), training=False)
        if not isinstance(outputs, (list, tuple)):
            outputs = [outputs]
        return {name: tf.cast(value, tf.float32) for name, value in zip(self.layer_names, outputs)}


def build_feature_extractor(network="vgg19", layers=None, weights="imagenet", input_image_size=160,
                            image_size=64):
    """Return a frozen ``FeatureExtractor`` for ``network``, truncated after its deepest requested layer.

    ``layers``: see ``resolve_layer_names`` (None = the network's default).
    ``weights``: ``"imagenet"`` (VGG only; Keras' cache/download, else ``FeatureWeightsUnavailable``),
    a path to a weights file (VGG: a Keras notop weights file, ``.weights.h5`` or legacy ``.h5``;
    facenet: a ``facenet_keras.h5``-layout HDF5 file), or ``"random"`` (tests and benchmarks only).
    ``input_image_size``: facenet only, the side its input is resized to (None: no resize).
    ``image_size``: the side of the VGG input (the VAE's image size; None: any size).
    """
    names = resolve_layer_names(network, layers)
    weights = _check_weights_argument(network, weights)
    if network == "facenet":
        model = _build_facenet_stem(names, weights, input_image_size)
        return FeatureExtractor(model, network, names, input_image_size=input_image_size,
                                name="feature_extractor_facenet")
    model = _build_vgg(network, names, weights, image_size)
    return FeatureExtractor(model, network, names, name=f"feature_extractor_{network}")


def _check_weights_argument(network, weights):
    if weights is None or (isinstance(weights, str) and weights == "random"):
        logging.warning(RANDOM_WEIGHTS_WARNING)
        return "random"
    weights = os.fspath(weights)
    if weights == "imagenet":
        if network == "facenet":
            raise ValueError("facenet has no 'imagenet' weights: pass perceptual_weights=/path/to/"
                             "facenet_keras.h5 (a Keras facenet conversion) or 'random'")
        return weights
    path = os.path.abspath(os.path.expanduser(weights))
    if not os.path.isfile(path):
        raise FileNotFoundError(f"Feature network weights file {path} (perceptual_weights={weights!r}) "
                                "does not exist")
    return path


# -- VGG ---------------------------------------------------------------------------------------
def keras_cache_dir():
    """Return the absolute folder where ``keras.utils.get_file`` caches application weights.

    Resolved at call time as Keras does at import and in ``get_file``: ``$KERAS_HOME`` (else
    ``~/.keras``), or ``/tmp/.keras`` when that is not writable, plus ``models``.
    """
    base = os.environ.get("KERAS_HOME")
    if not base:
        home = os.path.expanduser("~")
        base = os.path.join(home if os.access(home, os.W_OK) else "/tmp", ".keras")
    base = os.path.expanduser(base)
    try:
        # Keras creates its home folder at import; a KERAS_HOME set later would not exist yet.
        os.makedirs(base, exist_ok=True)
    except OSError:
        pass
    if not os.access(base, os.W_OK):
        base = os.path.join("/tmp", ".keras")
    return os.path.abspath(os.path.join(base, "models"))


def _download(file_name, origin, md5, cache_dir):
    """Return the path of ``file_name`` fetched into ``cache_dir`` (its parent is Keras' home)."""
    return keras.utils.get_file(file_name, origin, cache_subdir=os.path.basename(cache_dir),
                                file_hash=md5, cache_dir=os.path.dirname(cache_dir))


def imagenet_weights_path(network):
    """Return the local path of Keras' ImageNet notop weights for ``network``, downloading if needed.

    Raises ``FeatureWeightsUnavailable`` (naming the file, the cache folder and the
    ``--perceptual_weights`` fix) when it is not cached and cannot be downloaded.
    """
    file_name, origin, md5 = _VGG_IMAGENET_NOTOP[network]
    cache_dir = keras_cache_dir()
    cached = os.path.join(cache_dir, file_name)
    if os.path.isfile(cached):
        return cached
    try:
        return _download(file_name, origin, md5, cache_dir)
    except Exception as error:
        raise FeatureWeightsUnavailable(
            f"ImageNet weights for {network} are not available: Keras looks for {file_name} in its cache "
            f"folder {cache_dir} (set by KERAS_HOME) and could not download it from {origin} ({error}). "
            f"Fix: pass --perceptual_weights=/path/to/{file_name} (or any Keras weights file for "
            f"keras.applications.{_VGG_APPLICATIONS[network]}(include_top=False)), or put {file_name} "
            f"into {cache_dir}.") from error


def _load_vgg_weights(model, network, path, needed):
    """Load a notop weights file into the full VGG ``model``; ``needed``: layers that must be in it."""
    expected = f"keras.applications.{_VGG_APPLICATIONS[network]}(include_top=False)"
    try:
        with h5py.File(path, "r") as f:
            legacy = "layer_names" in f.attrs or "model_weights" in f
            keras3 = "layers" in f and path.endswith(".weights.h5")
            if legacy:
                group = f if "layer_names" in f.attrs else f["model_weights"]
                in_file = {name.decode() if isinstance(name, bytes) else str(name)
                           for name in group.attrs.get("layer_names", [])}
    except OSError as error:
        raise ValueError(f"Weights file {path} is not a readable HDF5 file: {error}") from error
    if legacy:
        missing = [name for name in needed if name not in in_file]
        if missing:
            raise ValueError(f"Weights file {path} has no layer(s) {missing} of {expected}")
        if not path.endswith((".h5", ".hdf5")):
            raise ValueError(f"Legacy Keras weights file {path} must end in .h5 or .hdf5 to be loaded")
    elif not keras3:
        raise ValueError(f"Weights file {path} is neither a Keras 3 '.weights.h5' file nor a legacy Keras "
                         f"'.h5' weights file for {expected}")
    try:
        # Legacy files go by layer name, so notop files with extra or missing deeper layers load too.
        if legacy:
            model.load_weights(path, by_name=True)
        else:
            model.load_weights(path)
    except Exception as error:
        raise ValueError(f"Could not load {expected} weights from {path}: {error}") from error


def _build_vgg(network, names, weights, image_size):
    application = getattr(keras.applications, _VGG_APPLICATIONS[network])
    full = application(include_top=False, weights=None, input_shape=(image_size, image_size, 3))
    outputs = [full.get_layer(name).output for name in names]
    # A functional model over the sub-graph up to these outputs holds no deeper layers.
    truncated = keras.Model(full.input, outputs, name=f"{network}_to_{_deepest(network, names)}")
    needed = [layer.name for layer in truncated.layers if layer.weights]
    if weights == "imagenet":
        _load_vgg_weights(full, network, imagenet_weights_path(network), needed)
    elif weights != "random":
        _load_vgg_weights(full, network, weights, needed)
    truncated.trainable = False
    return truncated


def _deepest(network, names):
    order = valid_layer_names(network)
    return max(names, key=order.index)


# -- facenet stem ------------------------------------------------------------------------------
def _build_facenet_stem(names, weights, input_image_size):
    order = list(FACENET_STEM_LAYERS)
    depth = max(order.index(name) for name in names) + 1
    size = input_image_size
    inputs = keras.Input((size, size, 3), name="facenet_input")
    x = inputs
    ends = {}
    for layer_name in order[:depth]:
        filters, strides, padding = _FACENET_STEM_SPECS[layer_name]
        x = keras.layers.Conv2D(filters, 3, strides=strides, padding=padding, use_bias=False,
                                name=layer_name)(x)
        x = keras.layers.BatchNormalization(axis=3, momentum=_FACENET_BN_MOMENTUM,
                                            epsilon=_FACENET_BN_EPSILON, scale=False,
                                            name=f"{layer_name}_BatchNorm")(x)
        x = keras.layers.Activation("relu", name=f"{layer_name}_Activation")(x)
        ends[layer_name] = x
    model = keras.Model(inputs, [ends[name] for name in names], name=f"facenet_stem_to_{order[depth - 1]}")
    if weights != "random":
        load_facenet_weights(model, weights)
    model.trainable = False
    return model


def _read_h5_layer(root, layer_name, path):
    if layer_name not in root:
        raise ValueError(f"Layer {layer_name!r} is missing from facenet weights file {path}")
    arrays = {}

    def collect(name, obj):
        if isinstance(obj, h5py.Dataset):
            arrays[name.rsplit("/", 1)[-1].split(":")[0]] = np.asarray(obj)

    root[layer_name].visititems(collect)
    return arrays


def load_facenet_weights(model, path):
    """Fill every Conv2D/BatchNormalization layer of ``model`` by name from ``path``; returns ``model``.

    ``path`` is HDF5 in the Keras ``facenet_keras.h5`` layout (``model_weights/<layer>/<layer>/kernel:0``,
    BN ``beta:0``, ``moving_mean:0``, ``moving_variance:0``), with or without the ``model_weights``
    group. Raises ValueError naming the layer and file when one is missing or has the wrong shape.
    """
    with h5py.File(path, "r") as f:
        root = f["model_weights"] if "model_weights" in f else f
        for layer in model.layers:
            if isinstance(layer, keras.layers.Conv2D):
                keys = ["kernel"] + (["bias"] if layer.use_bias else [])
            elif isinstance(layer, keras.layers.BatchNormalization):
                keys = (["gamma"] if layer.scale else []) + (["beta"] if layer.center else [])
                keys += ["moving_mean", "moving_variance"]
            else:
                continue
            arrays = _read_h5_layer(root, layer.name, path)
            missing = [key for key in keys if key not in arrays]
            if missing:
                raise ValueError(f"Layer {layer.name!r} in facenet weights file {path} lacks {missing}")
            values = [arrays[key] for key in keys]
            expected = [tuple(w.shape) for w in layer.weights]
            if [v.shape for v in values] != expected:
                raise ValueError(f"Layer {layer.name!r} in {path} has shapes {[v.shape for v in values]}, "
                                 f"expected {expected}")
            layer.set_weights(values)
    return model
