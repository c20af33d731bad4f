"""Pretrained weights of the feature networks: Keras' ImageNet VGG files and Keras facenet conversions.

``imagenet_weights_path`` finds (or downloads into Keras' cache) the VGG notop files; when Keras
cannot download VGG16's, it falls back to the registry's ``vgg16-imagenet`` (torchvision's ImageNet
VGG16, which needs torch preprocessing: ``vgg_preprocessing`` tells which a file needs).
``load_vgg_weights`` and ``load_facenet_weights`` fill a built network and name the file and layer
when something does not fit.
"""
import os

import h5py
import keras
import numpy as np

from facenet_vae.pretrained import vgg16_imagenet
from facenet_vae.pretrained.fetch import PretrainedChecksumError, PretrainedUnavailable, fetch

VGG_APPLICATIONS = {"vgg16": "VGG16", "vgg19": "VGG19"}
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


# Registry entry used for vgg16 "imagenet" weights when Keras cannot download its own.
TORCHVISION_VGG16 = "vgg16-imagenet"


class FeatureWeightsUnavailable(RuntimeError):
    """The pretrained weights of a feature network can be neither found locally nor downloaded."""


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

    For vgg16, when Keras has no cached file and cannot download it, returns the registry's
    torchvision VGG16 instead (``fetch("vgg16-imagenet")``; it needs ``vgg_preprocessing``'s "torch").

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
        fallback, note = _torchvision_fallback(network)
        if fallback:
            return fallback
        raise FeatureWeightsUnavailable(
            f"ImageNet weights for {network} are not available: Keras looks for {file_name} in its cache "
            f"folder {cache_dir} (set by KERAS_HOME) and could not download it from {origin} ({error}).{note} "
            f"Fix: pass --perceptual_weights=/path/to/{file_name} (or any Keras weights file for "
            f"keras.applications.{VGG_APPLICATIONS[network]}(include_top=False)), or put {file_name} "
            f"into {cache_dir}.") from error


def _torchvision_fallback(network):
    """Return (path of the registry's torchvision VGG16, "") for vgg16, else (None, why not, as a sentence)."""
    if network != "vgg16":
        return None, ""
    try:
        return fetch(TORCHVISION_VGG16), ""
    except (PretrainedUnavailable, PretrainedChecksumError, OSError) as error:
        return None, f" The torchvision fallback {TORCHVISION_VGG16} is not available either: {error}."


def vgg_preprocessing(path):
    """Return the input preprocessing the VGG weights at ``path`` were trained with: "torch" or "caffe".

    "torch" for torchvision's file (``vgg16-imagenet``, a pickle), "caffe" for Keras weights files.
    """
    return vgg16_imagenet.TORCH_PREPROCESSING if vgg16_imagenet.is_torchvision_vgg16_file(path) else "caffe"


def load_vgg_weights(model, network, path, needed):
    """Load a notop weights file into the full VGG ``model``; ``needed``: layers that must be in it.

    ``path`` may also be torchvision's VGG16 (the ``vgg16-imagenet`` pickle; vgg16 only).

    Raises ValueError naming the file when it is unreadable, of another layout or lacks a layer.
    """
    expected = f"keras.applications.{VGG_APPLICATIONS[network]}(include_top=False)"
    if vgg_preprocessing(path) == vgg16_imagenet.TORCH_PREPROCESSING:
        if network != "vgg16":
            raise ValueError(f"Weights file {path} holds torchvision's VGG16, not {expected}")
        vgg16_imagenet.load_torchvision_weights(model, path)
        return
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



# -- facenet stem ------------------------------------------------------------------------------
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
