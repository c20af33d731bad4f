"""facenet's Inception-ResNet-v1 trained on MS-Celeb-1M, rebuilt in Keras 3 from ``facenet_keras.h5``.

The file (registry entry ``facenet-msceleb``) is a Keras 2.1.2 conversion of facenet model
20170512-110547. ``build_facenet_msceleb`` rebuilds its graph with the file's layer names, with a
registered ``ScaleSum`` layer in place of the ``*_ScaleSum`` Lambdas (``a + scale * b``), and loads
every weight by layer name. The output ``embedding`` is the 128-D ``Bottleneck_BatchNorm`` output,
L2-normalised as facenet does. ``load_facenet_msceleb`` returns a ``FacenetEmbedder`` whose
``embed`` takes uint8 faces of any size: resized to 160 and prewhitened per image, as facenet feeds it.
"""
import h5py
import keras
import numpy as np
import tensorflow as tf
from keras import layers

INPUT_SIZE = 160
EMBEDDING_SIZE = 128
_BN = dict(axis=3, momentum=0.995, epsilon=0.001, scale=False)
# (block kind, count, residual scale); Block8's last unit has scale 1 and no ReLU, as in facenet.
_REPEATS = (("Block35", 5, 0.17), ("Block17", 10, 0.1), ("Block8", 6, 0.2))


@keras.saving.register_keras_serializable(package="facenet_vae")
class ScaleSum(layers.Layer):
    """The residual sum of Inception-ResNet: ``inputs[0] + scale * inputs[1]``."""

    def __init__(self, scale, **kwargs):
        super().__init__(**kwargs)
        self.scale = float(scale)

    def call(self, inputs):
        shortcut, residual = inputs
        return shortcut + self.scale * residual

    def compute_output_shape(self, input_shape):
        return input_shape[0]

    def get_config(self):
        return {**super().get_config(), "scale": self.scale}


def _conv(x, filters, kernel, name, strides=1, padding="same", activation=True):
    """Conv (no bias) + batch norm (no gamma) + ReLU, named like the Keras facenet conversion."""
    x = layers.Conv2D(filters, kernel, strides=strides, padding=padding, use_bias=False, name=name)(x)
    x = layers.BatchNormalization(name=f"{name}_BatchNorm", **_BN)(x)
    return layers.Activation("relu", name=f"{name}_Activation")(x) if activation else x


def _residual(x, kind, index, scale, last=False):
    """One Block35 / Block17 / Block8 unit: branches, 1x1 projection (with bias), scaled sum, ReLU."""
    p = f"{kind}_{index}"
    if kind == "Block35":
        branches = [_conv(x, 32, 1, f"{p}_Branch_0_Conv2d_1x1"),
                    _conv(_conv(x, 32, 1, f"{p}_Branch_1_Conv2d_0a_1x1"), 32, 3, f"{p}_Branch_1_Conv2d_0b_3x3"),
                    _conv(_conv(_conv(x, 32, 1, f"{p}_Branch_2_Conv2d_0a_1x1"), 32, 3,
                                f"{p}_Branch_2_Conv2d_0b_3x3"), 32, 3, f"{p}_Branch_2_Conv2d_0c_3x3")]
    else:
        width, (k_a, k_b) = (128, ((1, 7), (7, 1))) if kind == "Block17" else (192, ((1, 3), (3, 1)))
        names = ("0b_1x7", "0c_7x1") if kind == "Block17" else ("0b_1x3", "0c_3x1")
        branch_1 = _conv(x, width, 1, f"{p}_Branch_1_Conv2d_0a_1x1")
        branch_1 = _conv(branch_1, width, k_a, f"{p}_Branch_1_Conv2d_{names[0]}")
        branch_1 = _conv(branch_1, width, k_b, f"{p}_Branch_1_Conv2d_{names[1]}")
        branches = [_conv(x, width, 1, f"{p}_Branch_0_Conv2d_1x1"), branch_1]
    mixed = layers.Concatenate(axis=3, name=f"{p}_Concatenate")(branches)
    up = layers.Conv2D(x.shape[-1], 1, padding="same", use_bias=True, name=f"{p}_Conv2d_1x1")(mixed)
    x = ScaleSum(1.0 if last else scale, name=f"{p}_ScaleSum")([x, up])
    return x if last else layers.Activation("relu", name=f"{p}_Activation")(x)


def _reduction_a(x):
    b0 = _conv(x, 384, 3, "Mixed_6a_Branch_0_Conv2d_1a_3x3", strides=2, padding="valid")
    b1 = _conv(_conv(x, 192, 1, "Mixed_6a_Branch_1_Conv2d_0a_1x1"), 192, 3, "Mixed_6a_Branch_1_Conv2d_0b_3x3")
    b1 = _conv(b1, 256, 3, "Mixed_6a_Branch_1_Conv2d_1a_3x3", strides=2, padding="valid")
    b2 = layers.MaxPooling2D(3, strides=2, padding="valid", name="Mixed_6a_Branch_2_MaxPool_1a_3x3")(x)
    return layers.Concatenate(axis=3, name="Mixed_6a")([b0, b1, b2])


def _reduction_b(x):
    b0 = _conv(_conv(x, 256, 1, "Mixed_7a_Branch_0_Conv2d_0a_1x1"), 384, 3, "Mixed_7a_Branch_0_Conv2d_1a_3x3",
               strides=2, padding="valid")
    b1 = _conv(_conv(x, 256, 1, "Mixed_7a_Branch_1_Conv2d_0a_1x1"), 256, 3, "Mixed_7a_Branch_1_Conv2d_1a_3x3",
               strides=2, padding="valid")
    b2 = _conv(_conv(x, 256, 1, "Mixed_7a_Branch_2_Conv2d_0a_1x1"), 256, 3, "Mixed_7a_Branch_2_Conv2d_0b_3x3")
    b2 = _conv(b2, 256, 3, "Mixed_7a_Branch_2_Conv2d_1a_3x3", strides=2, padding="valid")
    b3 = layers.MaxPooling2D(3, strides=2, padding="valid", name="Mixed_7a_Branch_3_MaxPool_1a_3x3")(x)
    return layers.Concatenate(axis=3, name="Mixed_7a")([b0, b1, b2, b3])


def build_facenet_msceleb(weights_path=None, input_size=INPUT_SIZE):
    """Return the Keras 3 functional Inception-ResNet-v1 of ``facenet_keras.h5`` (output: L2-normalised 128-D).

    ``weights_path``: a ``facenet_keras.h5`` (every weight is loaded by layer name, see
    ``load_h5_weights``), or None for initial weights. ``input_size``: the input side (None: any
    side of at least 75 px; facenet uses 160).
    """
    inputs = keras.Input((input_size, input_size, 3), name="input_1")
    x = _conv(inputs, 32, 3, "Conv2d_1a_3x3", strides=2, padding="valid")
    x = _conv(x, 32, 3, "Conv2d_2a_3x3", padding="valid")
    x = _conv(x, 64, 3, "Conv2d_2b_3x3")
    x = layers.MaxPooling2D(3, strides=2, padding="valid", name="MaxPool_3a_3x3")(x)
    x = _conv(x, 80, 1, "Conv2d_3b_1x1", padding="valid")
    x = _conv(x, 192, 3, "Conv2d_4a_3x3", padding="valid")
    x = _conv(x, 256, 3, "Conv2d_4b_3x3", strides=2, padding="valid")
    for kind, count, scale in _REPEATS:
        for index in range(1, count + 1):
            x = _residual(x, kind, index, scale, last=(kind == "Block8" and index == count))
        x = {"Block35": _reduction_a, "Block17": _reduction_b}.get(kind, lambda y: y)(x)
    x = layers.GlobalAveragePooling2D(name="AvgPool")(x)
    x = layers.Dropout(0.2, name="Dropout")(x)
    x = layers.Dense(EMBEDDING_SIZE, use_bias=False, name="Bottleneck")(x)
    x = layers.BatchNormalization(name="Bottleneck_BatchNorm", **{**_BN, "axis": -1})(x)
    outputs = layers.UnitNormalization(axis=-1, name="embedding")(x)
    model = keras.Model(inputs, outputs, name="facenet_msceleb")
    if weights_path is not None:
        load_h5_weights(model, weights_path)
    return model


def load_h5_weights(model, path, require_all=True):
    """Assign ``model``'s weights from a Keras 2 HDF5 file by layer name; return the names of the loaded layers.

    Every weighted layer of ``model`` must be in the file with matching shapes, and (``require_all``)
    every weighted layer of the file must be in ``model``; otherwise ValueError naming the file.
    """
    with h5py.File(path, "r") as handle:
        root = handle["model_weights"] if "model_weights" in handle else handle
        in_file = {name: _layer_arrays(root[name]) for name in root.keys()}
    in_file = {name: arrays for name, arrays in in_file.items() if arrays}
    loaded = []
    for layer in model.layers:
        if not layer.weights:
            continue
        if layer.name not in in_file:
            raise ValueError(f"{path}: facenet weights file lacks layer {layer.name!r}")
        arrays = in_file[layer.name]
        for variable in layer.weights:
            key = variable.path.rsplit("/", 1)[-1]
            if key not in arrays or tuple(arrays[key].shape) != tuple(variable.shape):
                found = {k: tuple(v.shape) for k, v in arrays.items()}
                raise ValueError(f"{path}: layer {layer.name!r} has {found}, the model needs {key} "
                                 f"{tuple(variable.shape)}")
            variable.assign(arrays[key])
        loaded.append(layer.name)
    unused = sorted(set(in_file) - set(loaded))
    if require_all and unused:
        raise ValueError(f"{path}: {len(unused)} weighted layers of the file are not in the model, e.g. {unused[:3]}")
    return loaded


def _layer_arrays(group):
    """Return ``{weight name without ':0': array}`` of one layer group of a Keras HDF5 file."""
    arrays = {}
    group.visititems(lambda name, obj: arrays.__setitem__(name.rsplit("/", 1)[-1].split(":")[0], obj[()])
                     if isinstance(obj, h5py.Dataset) else None)
    return arrays


def prewhiten(images):
    """facenet's per-image standardisation: ``(x - mean) / max(std, 1/sqrt(x.size))`` (float32 NHWC)."""
    images = np.asarray(images, dtype=np.float32)
    axes = tuple(range(1, images.ndim))
    mean = images.mean(axis=axes, keepdims=True)
    std = images.std(axis=axes, keepdims=True)
    size = np.prod(images.shape[1:])
    return (images - mean) / np.maximum(std, 1.0 / np.sqrt(size))


class FacenetEmbedder:
    """Embeds uint8 RGB faces with facenet-msceleb: ``embed(images) -> float32 (N, 128)``, unit norm."""

    def __init__(self, model):
        self.model = model
        self.input_size = model.input_shape[1] or INPUT_SIZE

    def embed(self, images_uint8, batch_size=64):
        """Return the L2-normalised 128-D embeddings of uint8 faces ``(N, H, W, 3)`` of any size."""
        images = np.asarray(images_uint8)
        if images.ndim != 4 or images.shape[-1] != 3:
            raise ValueError(f"facenet-msceleb embeds (N, H, W, 3) RGB faces, got shape {images.shape}")
        out = []
        for start in range(0, len(images), batch_size):
            batch = tf.convert_to_tensor(images[start:start + batch_size], tf.float32)
            if tuple(batch.shape[1:3]) != (self.input_size, self.input_size):
                batch = tf.image.resize(batch, (self.input_size, self.input_size), method="bilinear")
            out.append(np.asarray(self.model(prewhiten(batch.numpy()), training=False), np.float32))
        return np.concatenate(out) if out else np.zeros((0, EMBEDDING_SIZE), np.float32)


def load_facenet_msceleb(weights_path=None, progress=True):
    """Return a ``FacenetEmbedder`` over the registry's facenet-msceleb (fetched on first use)."""
    if weights_path is None:
        from facenet_vae.pretrained.fetch import fetch
        weights_path = fetch("facenet-msceleb", progress=progress)
    return FacenetEmbedder(build_facenet_msceleb(weights_path))
