"""Latent-space arithmetic of the generation modes: interpolation paths, attribute edits and k sweeps.

Plain numpy (no TensorFlow), so ``generation.options`` can name INTERPOLATIONS before TensorFlow loads.
"""
import numpy as np

INTERPOLATIONS = ("linear", "spherical", "both")


def linear_interpolation(z_a, z_b, num_steps):
    """Return float32 (num_steps, L): ``(1 - t) z_a + t z_b`` for t evenly from 0 to 1 (both ends included)."""
    z_a, z_b = np.asarray(z_a, np.float32), np.asarray(z_b, np.float32)
    t = np.linspace(0.0, 1.0, num_steps, dtype=np.float32)[:, None]
    return (1.0 - t) * z_a[None] + t * z_b[None]


def spherical_interpolation(z_a, z_b, num_steps):
    """Return float32 (num_steps, L) interpolated along the great circle (slerp) from z_a to z_b.

    Falls back to linear interpolation when the two vectors are (nearly) parallel or zero.
    """
    z_a, z_b = np.asarray(z_a, np.float64), np.asarray(z_b, np.float64)
    norm_a, norm_b = np.linalg.norm(z_a), np.linalg.norm(z_b)
    if norm_a == 0 or norm_b == 0:
        return linear_interpolation(z_a, z_b, num_steps)
    omega = np.arccos(np.clip(np.dot(z_a / norm_a, z_b / norm_b), -1.0, 1.0))
    if np.sin(omega) < 1e-6:
        return linear_interpolation(z_a, z_b, num_steps)
    t = np.linspace(0.0, 1.0, num_steps)[:, None]
    result = (np.sin((1.0 - t) * omega) * z_a[None] + np.sin(t * omega) * z_b[None]) / np.sin(omega)
    return result.astype(np.float32)


INTERPOLATION_FUNCTIONS = {"linear": linear_interpolation, "spherical": spherical_interpolation}


def interpolation_kinds(interpolation):
    """Return the strip kinds an ``--interpolation`` value asks for (``both``: linear then spherical)."""
    if interpolation not in INTERPOLATIONS:
        raise ValueError(f"--interpolation must be one of {', '.join(INTERPOLATIONS)}, got {interpolation!r}")
    return ("linear", "spherical") if interpolation == "both" else (interpolation,)


def modify_latents(latents, vector, ks):
    """Return float32 (len(latents), len(ks), L): ``latents[i] + ks[j] * vector`` (negative k removes)."""
    latents = np.asarray(latents, np.float32)
    vector = np.asarray(vector, np.float32).reshape(-1)
    ks = np.asarray(ks, np.float32).reshape(-1)
    if latents.ndim != 2 or latents.shape[1] != vector.shape[0]:
        raise ValueError(f"latents {latents.shape} and vector {vector.shape} do not match")
    return latents[:, None, :] + ks[None, :, None] * vector[None, None, :]


def _check_steps(k_steps):
    if k_steps is None or int(k_steps) < 1:
        raise ValueError(f"--k_steps must be at least 1, got {k_steps}")
    return int(k_steps)


def k_sweep(k_min=0.0, k_max=5.0, k_steps=11):
    """Return the k values of ``--mode=modify``: ``k_steps`` evenly from ``k_min`` to ``k_max``, both ends included.

    When the range spans 0 but no step lands on it, k = 0 (the unedited face) is added, so the
    sweep then has ``k_steps + 1`` values. ``k_min=-2, k_max=2, k_steps=5`` gives -2, -1, 0, 1, 2.
    """
    k_steps = _check_steps(k_steps)
    ks = np.linspace(k_min, k_max, k_steps, dtype=np.float64)
    low, high = min(k_min, k_max), max(k_min, k_max)
    if low < 0 < high and not np.any(np.isclose(ks, 0.0, atol=1e-9)):
        ks = np.sort(np.append(ks, 0.0))
        ks = ks[::-1] if k_min > k_max else ks
    ks[np.isclose(ks, 0.0, atol=1e-9)] = 0.0  # an exact 0, not 1e-17
    return ks.astype(np.float32)


def facenet_sweep(k_min=0.0, k_max=5.0, k_steps=10):
    """Return facenet's k values ``k_min + (k_max - k_min) * i / k_steps`` for i < k_steps (k_max excluded).

    With ``0, 5, 10`` this is facenet's ``modify_attribute.py`` sweep ``5.0 * i / 10`` (0, 0.5, ..., 4.5).
    """
    k_steps = _check_steps(k_steps)
    return (k_min + (k_max - k_min) * np.arange(k_steps) / k_steps).astype(np.float32)
