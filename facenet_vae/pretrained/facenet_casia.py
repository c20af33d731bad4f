"""facenet's released model 20180408-102900 (Inception-ResNet-v1, CASIA-WebFace, 512-D) as a frozen graph.

The file (registry entry ``facenet-casia``) is facenet's model frozen for OpenCV: batch norm is
folded into the convolutions, there is no ``phase_train`` placeholder, the input is ``input:0``
(NHWC 160x160 RGB, prewhitened) and the output ``embeddings:0`` (L2-normalised 512-D). Freezing
constant-folded the batch size 1 into the input's shape and into two Reshape shapes (the flatten
before the bottleneck and the reshape after its batch norm); ``load_graph_def`` sets them to -1 so
that the graph runs batches. ``load_facenet_casia`` returns a ``FacenetCasiaEmbedder``.
"""
import numpy as np
import tensorflow as tf

from facenet_vae.pretrained.facenet_msceleb import prewhiten

INPUT_SIZE = 160
EMBEDDING_SIZE = 512
INPUT_TENSOR = "input:0"
OUTPUT_TENSOR = "embeddings:0"
# Reshape shape constants frozen with batch 1: node name -> (value in the file, batch-free value).
# 1792 is the channel count of the last Inception-ResNet block, pooled to 1x1 at 160x160 input.
BATCH_ONE_RESHAPES = {
    "InceptionResnetV1/Logits/Flatten/flatten/Reshape/shape/_1__cf__3": ([1, -1], [-1, 1792]),
    "InceptionResnetV1/Bottleneck/BatchNorm/Shape/_0__cf__2": ([1, EMBEDDING_SIZE], [-1, EMBEDDING_SIZE]),
}


def load_graph_def(path):
    """Read the frozen GraphDef at ``path`` and return it with its batch size unfolded (see module doc).

    Raises ValueError naming the file when it is not a GraphDef or lacks a node this fix expects.
    """
    graph_def = tf.compat.v1.GraphDef()
    try:
        with open(path, "rb") as handle:
            graph_def.ParseFromString(handle.read())
    except Exception as error:  # protobuf raises its own DecodeError
        raise ValueError(f"{path}: not a TensorFlow GraphDef ({error})") from error
    nodes = {node.name: node for node in graph_def.node}
    missing = [name for name in ("input", "embeddings", *BATCH_ONE_RESHAPES) if name not in nodes]
    if missing:
        raise ValueError(f"{path}: not facenet's 20180408-102900 graph, it lacks node(s) {missing}")
    for name, (frozen, batch_free) in BATCH_ONE_RESHAPES.items():
        value = tf.make_ndarray(nodes[name].attr["value"].tensor)
        if value.tolist() != frozen:
            raise ValueError(f"{path}: Reshape shape {name} is {value.tolist()}, expected {frozen}")
        nodes[name].attr["value"].tensor.CopyFrom(tf.make_tensor_proto(np.array(batch_free, np.int32)))
    shape = nodes["input"].attr["shape"].shape
    if [dim.size for dim in shape.dim] != [1, INPUT_SIZE, INPUT_SIZE, 3]:
        raise ValueError(f"{path}: input placeholder has shape {[dim.size for dim in shape.dim]}, "
                         f"expected [1, {INPUT_SIZE}, {INPUT_SIZE}, 3]")
    shape.dim[0].size = -1
    return graph_def


def import_graph(graph_def):
    """Return a concrete TF2 function ``f(prewhitened float32 (N,160,160,3)) -> (N,512)`` over ``graph_def``."""
    wrapped = tf.compat.v1.wrap_function(lambda: tf.compat.v1.import_graph_def(graph_def, name=""), [])
    graph = wrapped.graph
    return wrapped.prune(graph.get_tensor_by_name(INPUT_TENSOR), graph.get_tensor_by_name(OUTPUT_TENSOR))


class FacenetCasiaEmbedder:
    """Embeds uint8 RGB faces with facenet-casia: ``embed(images) -> float32 (N, 512)``, unit norm."""

    def __init__(self, function):
        self.function = function

    def embed(self, images_uint8, batch_size=64):
        """Return the L2-normalised 512-D embeddings of uint8 faces ``(N, H, W, 3)`` of any size.

        Each face is resized to 160x160 (bilinear) and prewhitened per image, as facenet feeds it.
        """
        images = np.asarray(images_uint8)
        if images.ndim != 4 or images.shape[-1] != 3:
            raise ValueError(f"facenet-casia embeds (N, H, W, 3) RGB faces, got shape {images.shape}")
        out = []
        for start in range(0, len(images), batch_size):
            batch = tf.convert_to_tensor(images[start:start + batch_size], tf.float32)
            if tuple(batch.shape[1:3]) != (INPUT_SIZE, INPUT_SIZE):
                batch = tf.image.resize(batch, (INPUT_SIZE, INPUT_SIZE), method="bilinear")
            embeddings = self.function(tf.constant(prewhiten(batch.numpy()), tf.float32))
            out.append(np.asarray(embeddings, np.float32))
        return np.concatenate(out) if out else np.zeros((0, EMBEDDING_SIZE), np.float32)


def load_facenet_casia(path=None, progress=True):
    """Return a ``FacenetCasiaEmbedder`` over ``path`` (default: the registry's facenet-casia, fetched on first use)."""
    if path is None:
        from facenet_vae.pretrained.fetch import fetch
        path = fetch("facenet-casia", progress=progress)
    return FacenetCasiaEmbedder(import_graph(load_graph_def(path)))
