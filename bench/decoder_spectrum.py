"""Where in the decoder a periodic pattern appears: a spectral peak followed block by block.

    python bench/decoder_spectrum.py --models=OLD.keras,checkpoints/celeba64/model.keras

For each model, the held-out faces' latent means are decoded one block at a time. Every block
output that holds the frequency ``--cycles`` (cycles per face; at most half its side) gets its peak
ratio there: the mean power spectrum (over images and channels) at that frequency over the mean of
the frequencies ``RING`` bins around it, wrapping past the Nyquist frequency. 1 is no peak; the
photos' own ratio is printed as the reference. The default (14, 13) is where the shipped model's
faint grid sits (docs/training.md, "Deeper FaceNet layers"): the copy of the faces' broad shape
that nearest-neighbour upsampling from 16x16 to 32x32 makes 16 cycles away.
"""
import os
import pathlib
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402
from absl import app, flags  # noqa: E402

from shared_data import require, shared_path  # noqa: E402

RING = 3   # compared with the frequencies 3 bins away (Chebyshev distance), which a 64-pixel face resolves

FLAGS = flags.FLAGS


def _define_flags():
    # Defined when run, not on import: the tests import this module beside others that define --seed.
    flags.DEFINE_list("models", None, "Model files or run folders to compare.")
    flags.DEFINE_list("cycles", ["14", "13"], "The frequency to follow, vertical,horizontal cycles per face.")
    flags.DEFINE_integer("num_faces", 200, "Held-out faces (partitions 1 and 2 of the CelebA subset).")
    flags.DEFINE_integer("seed", 0, "Which held-out faces.")


def mean_power_spectrum(maps):
    """Return the mean over images and channels of each map's orthonormal 2-D power spectrum, (H, W).

    ``maps``: (N, H, W, C) or (N, H, W); each map's mean is removed first.
    """
    maps = np.asarray(maps, np.float64)
    if maps.ndim == 3:
        maps = maps[..., None]
    if maps.ndim != 4 or len(maps) == 0:
        raise ValueError(f"expected maps of shape (N, H, W[, C]) with N > 0, got {np.shape(maps)}")
    maps = maps - maps.mean(axis=(1, 2), keepdims=True)
    return np.mean(np.abs(np.fft.fft2(maps, axes=(1, 2), norm="ortho")) ** 2, axis=(0, 3))


def fits(cycles, shape):
    """Whether a map of ``shape`` (H, W, ...) has the frequency ``cycles`` (at most its Nyquist frequency)."""
    return abs(cycles[0]) <= shape[0] // 2 and abs(cycles[1]) <= shape[1] // 2


def peak_ratio(power, cycles, ring=RING):
    """Return ``power`` at ``cycles`` (vertical, horizontal; negative wraps) over its ring ``ring`` bins away.

    The spectrum is periodic, so a ring that passes the Nyquist frequency wraps around.
    """
    rows, columns = power.shape
    if not fits(cycles, (rows, columns)):
        raise ValueError(f"{cycles} cycles do not fit a {rows}x{columns} spectrum (at most half its size)")
    ring_values = [power[(cycles[0] + dy) % rows, (cycles[1] + dx) % columns]
                   for dy in range(-ring, ring + 1) for dx in range(-ring, ring + 1) if max(abs(dy), abs(dx)) == ring]
    return float(power[cycles[0] % rows, cycles[1] % columns] / np.mean(ring_values))


def decoder_peak_ratios(keras_model, latents, cycles, ring=RING):
    """Return ``[(block name, output shape, peak ratio)]`` for each decoder block whose output has ``cycles``."""
    import keras

    decoder = keras_model.decoder
    net = keras.ops.reshape(decoder.fc(np.asarray(latents, np.float32)), (-1,) + decoder.input_grid)
    rows = []
    for block in decoder.blocks:
        net = block(net) if isinstance(block, keras.layers.UpSampling2D) else block(net, training=False)
        maps = np.asarray(net)
        if fits(cycles, maps.shape[1:]):
            rows.append((block.name, tuple(maps.shape[1:]), peak_ratio(mean_power_spectrum(maps), cycles, ring)))
    return rows


def main(argv):
    del argv
    if not FLAGS.models:
        raise SystemExit("error: --models names no model")
    from facenet_vae.generation.loading import load_vae

    faces_file = shared_path("data", "celeba_subset.npz")
    require(faces_file)
    cycles = tuple(int(c) for c in FLAGS.cycles)
    with np.load(faces_file) as data:
        held_out = np.flatnonzero(data["celeba_partition"] > 0)
        pick = np.sort(np.random.default_rng(FLAGS.seed).choice(held_out, FLAGS.num_faces, replace=False))
        faces = data["images"][pick]
    columns, table = [], {}
    for path in FLAGS.models:
        vae = load_vae(path)
        if vae.keras_model is None:
            raise SystemExit(f"error: {path} is not a Keras model (a .keras file or run folder is needed)")
        means, _ = vae.encode_pixels(faces, batch_size=100)
        columns.append(path)
        for name, shape, ratio in decoder_peak_ratios(vae.keras_model, means, cycles):
            table.setdefault((name, shape), {})[path] = ratio
        images = vae.decode_to_pixels(means.astype(np.float32), batch_size=100)
        table.setdefault(("the image, grey", images.shape[1:3]), {})[path] = peak_ratio(
            mean_power_spectrum(images.mean(axis=-1)), cycles)
    print(f"peak ratio at {cycles} cycles per face, {FLAGS.num_faces} held-out faces; photos: "
          f"{peak_ratio(mean_power_spectrum(faces.mean(axis=-1)), cycles):.2f}")
    print("| block (output) | " + " | ".join(columns) + " |")
    print("|---" * (len(columns) + 1) + "|")
    for (name, shape), ratios in table.items():
        print(f"| {name} {shape} | " + " | ".join(f"{ratios[c]:.2f}" if c in ratios else "" for c in columns) + " |")


if __name__ == "__main__":
    _define_flags()
    app.run(main)
