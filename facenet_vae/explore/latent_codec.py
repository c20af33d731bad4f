"""Latent vectors in URLs: base64url of little-endian float32, checked for length and finite values.

The page keeps the current face's latent in its address (``#z=...``) in this form, and the
server's ``/api/decode?z=...`` reads it; the same text always gives the same float32 vector.
"""
import base64
import binascii

import numpy as np

MAX_ABS_VALUE = 1e4  # far outside any prior draw or edit; larger values are refused as garbage


class LatentError(ValueError):
    """A latent that is not base64url float32, has the wrong length, or holds NaN, infinity or huge values."""


def latent_to_text(latent):
    """Return the base64url text (no padding) of a float32 vector."""
    data = np.asarray(latent, "<f4").reshape(-1).tobytes()
    return base64.urlsafe_b64encode(data).decode("ascii").rstrip("=")


def latent_from_text(text, latent_var_size):
    """Return the float32 (latent_var_size,) vector of ``text``; LatentError saying what is wrong otherwise."""
    text = (text or "").strip()
    if not text:
        raise LatentError("no latent given (expected z=<base64url float32>)")
    try:
        data = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError) as error:
        raise LatentError(f"the latent is not base64url text ({error})") from None
    if len(data) != 4 * latent_var_size:
        raise LatentError(f"the latent holds {len(data) / 4:g} float32 values, but this model's latent has "
                          f"{latent_var_size}")
    latent = np.frombuffer(data, "<f4").astype(np.float32)
    if not np.all(np.isfinite(latent)):
        raise LatentError(f"the latent holds {int(np.sum(~np.isfinite(latent)))} NaN or infinite values")
    if np.max(np.abs(latent)) > MAX_ABS_VALUE:
        raise LatentError(f"the latent holds values beyond +-{MAX_ABS_VALUE:g}")
    return latent
