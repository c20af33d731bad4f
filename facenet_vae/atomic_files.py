"""Atomic file writes: a crash never leaves a half-written file under the final name (local disks);
remote paths (``gs://``...) go through tf.io.gfile, for reads too. TensorFlow loads only for those."""
import contextlib
import os
import posixpath
import tempfile


@contextlib.contextmanager
def atomic_path(path, suffix=""):
    """Yield a temporary path beside ``path``; on success it replaces ``path``, on error it is removed.

    ``suffix`` keeps the extension libraries look at (``.keras``, ``.h5``). The rename is atomic
    because the temporary file lives in the same folder.
    """
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=f".{os.path.basename(path)}.tmp-", suffix=suffix)
    os.close(fd)
    try:
        yield tmp
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def save_keras_model(model, path):
    """Save a Keras ``model`` as a ``.keras`` file at ``path`` atomically; returns ``path``."""
    # Keras only writes paths ending in .keras, so the temporary name keeps that suffix.
    with atomic_path(path, suffix=".keras") as tmp:
        model.save(tmp)
    return path


def atomic_write(path, data):
    """Write ``data`` (bytes or str) to ``path`` atomically and fsync it; returns ``path``."""
    mode = "wb" if isinstance(data, bytes) else "w"
    with atomic_path(path) as tmp:
        with open(tmp, mode, **({} if mode == "wb" else {"encoding": "utf-8", "newline": "\n"})) as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
    return path


def is_remote(path):
    """Return True for a path with a URL scheme (``gs://``, ``s3://``...), written through tf.io.gfile only."""
    return "://" in str(path)


def join(folder, *names):
    """Join path parts, with ``/`` for remote folders."""
    return posixpath.join(folder, *names) if is_remote(folder) else os.path.join(folder, *names)


def expand(path):
    """Return ``path`` with ``~`` expanded (remote paths unchanged)."""
    return str(path) if is_remote(path) else os.path.expanduser(str(path))


def write_file(path, data):
    """Write ``data`` (bytes or str) to ``path``: atomically on local disks, through tf.io.gfile elsewhere."""
    if not is_remote(path):
        return atomic_write(path, data)
    import tensorflow as tf  # noqa: PLC0415  (only remote paths need it; this module stays light)
    with tf.io.gfile.GFile(path, "wb" if isinstance(data, bytes) else "w") as handle:
        handle.write(data)
    return path


def read_text(path):
    """Return the text of ``path``: a local file, or a remote one through tf.io.gfile."""
    if not is_remote(path):
        with open(path, encoding="utf-8") as handle:
            return handle.read()
    import tensorflow as tf  # noqa: PLC0415
    with tf.io.gfile.GFile(path, "r") as handle:
        return handle.read()
