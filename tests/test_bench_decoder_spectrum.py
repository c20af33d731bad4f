"""bench/decoder_spectrum.py: the peak ratio finds a periodic pattern, and nearest-neighbour upsampling makes one."""
import pathlib
import sys

import keras
import numpy as np
import pytest

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent.parent / "bench"))

from decoder_spectrum import decoder_peak_ratios, fits, mean_power_spectrum, peak_ratio  # noqa: E402

from facenet_vae.model import build_vae  # noqa: E402


def _wave(size, cycles, count=1, phase=0.0):
    rows, columns = np.meshgrid(np.arange(size), np.arange(size), indexing="ij")
    wave = np.cos(2 * np.pi * (cycles[0] * rows + cycles[1] * columns) / size + phase)
    return np.repeat(wave[None], count, axis=0)


def test_a_pattern_stands_out_of_noise_at_its_frequency_and_its_mirror_only():
    noise = np.random.default_rng(0).normal(size=(200, 64, 64))
    patterned = noise + 0.5 * _wave(64, (14, 13), 200)
    assert 0.8 < peak_ratio(mean_power_spectrum(noise), (14, 13)) < 1.25
    with_pattern = mean_power_spectrum(patterned)
    assert peak_ratio(with_pattern, (14, 13)) > 5
    assert peak_ratio(with_pattern, (-14, -13)) == pytest.approx(peak_ratio(with_pattern, (14, 13)))
    assert peak_ratio(with_pattern, (14, -13)) < 1.25


def test_channels_are_averaged_and_each_maps_mean_is_ignored():
    one_channel = _wave(32, (5, 7), 3)[..., None]
    shifted = np.concatenate([one_channel + 100.0, one_channel * 2 - 7.0], axis=-1)
    np.testing.assert_allclose(mean_power_spectrum(shifted),
                               (mean_power_spectrum(one_channel) * (1 + 4)) / 2, atol=1e-9)


def test_frequencies_beyond_a_maps_nyquist_are_refused():
    assert fits((14, 13), (32, 32, 8)) and not fits((17, 13), (32, 32, 8))
    with pytest.raises(ValueError, match="do not fit a 16x16 spectrum"):
        peak_ratio(np.ones((16, 16)), (14, 13))


def test_nearest_neighbour_upsampling_copies_a_broad_shape_16_cycles_away():
    # The mechanism of the shipped model's grid: a (2, 3)-cycle shape on a 16x16 map comes back at
    # (16 - 2, 16 - 3) = (14, 13) cycles once each value is repeated twice.
    noise = np.random.default_rng(2).normal(scale=0.01, size=(4, 32, 32, 1))
    shape = (_wave(16, (2, 3), 4, phase=0.3)[..., None] + noise[:, :16, :16]).astype("float32")
    upsampled = np.asarray(keras.layers.UpSampling2D(2, interpolation="nearest")(shape))
    assert peak_ratio(mean_power_spectrum(upsampled), (14, 13)) > 100
    # The same shape drawn at 32x32 directly has nothing there.
    assert peak_ratio(mean_power_spectrum(_wave(32, (2, 3), 4, phase=0.3)[..., None] + noise), (14, 13)) < 2


def test_a_decoder_is_followed_block_by_block_from_the_first_map_with_the_frequency():
    vae = build_vae("dfc_vae", latent_var_size=8)
    latents = np.random.default_rng(1).normal(size=(6, 8)).astype("float32")
    rows = decoder_peak_ratios(vae, latents, (14, 13))
    names = [name for name, _, _ in rows]
    assert names == [block.name for block in vae.decoder.blocks][-len(names):]
    assert names[0] == "Upsample_3" and rows[0][1] == (32, 32, 64)
    assert rows[-1][1] == (64, 64, 3)
    assert all(np.isfinite(ratio) and ratio > 0 for _, _, ratio in rows)
