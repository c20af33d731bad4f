"""--feature_jitter: the face and its reconstruction move together before the feature network sees them, so a
pattern at a strided layer's pitch, invisible on a fixed grid, is seen from some shifts."""
import numpy as np
import pytest
import tensorflow as tf

from facenet_vae.training.config import TrainConfig
from facenet_vae.training.objective import Objective

JITTER = 2
STRIDE = 4


class EveryFourthPixel:
    """A stand-in feature network with one layer that samples the face on a stride-4 grid."""
    layer_names = ["sampled"]

    def __call__(self, images):
        return {"sampled": images[:, ::STRIDE, ::STRIDE, :]}


def _faces_and_grid():
    """Plain grey faces, and the same faces with a bright line on every row 2 (mod 4): between the samples."""
    faces = np.full((2, 16, 16, 3), 0.25, np.float32)
    with_grid = faces.copy()
    with_grid[:, 2::STRIDE] += 1.0
    return tf.constant(faces), tf.constant(with_grid)


def _terms(objective, faces, reconstruction, shift=None):
    latent = tf.zeros((2, 4))
    terms = objective.terms(faces, reconstruction, latent, latent,
                            feature_shift=None if shift is None else tf.constant(shift, tf.int32))
    return {name: float(value) for name, value in terms.items()}


def test_a_pattern_between_the_samples_costs_nothing_unshifted_and_is_seen_shifted():
    faces, with_grid = _faces_and_grid()
    objective = Objective(beta=1.0, pixel_weight=0.0, reduction="mean", feature_network=EveryFourthPixel(),
                          feature_jitter=JITTER)
    assert _terms(objective, faces, with_grid)["sampled_loss"] == 0.0            # no shift given
    assert _terms(objective, faces, with_grid, [JITTER, JITTER])["sampled_loss"] == 0.0   # the zero shift
    # Two rows up, the lines land on the sampled rows: 16 samples of 3 channels, each off by 1.
    assert _terms(objective, faces, with_grid, [0, JITTER])["sampled_loss"] == pytest.approx(48.0)
    # Sideways shifts leave rows where they were.
    assert _terms(objective, faces, with_grid, [JITTER, 0])["sampled_loss"] == 0.0


def test_the_shift_moves_both_images_and_leaves_the_pixel_term_alone():
    faces, with_grid = _faces_and_grid()
    plain = Objective(beta=1.0, pixel_weight=1.0, reduction="mean", feature_network=EveryFourthPixel())
    jittered = Objective(beta=1.0, pixel_weight=1.0, reduction="mean", feature_network=EveryFourthPixel(),
                         feature_jitter=JITTER)
    # A face compared with itself stays a perfect match from any shift: both images moved alike.
    for shift in ([0, 0], [4, 4], [1, 3]):
        assert _terms(jittered, with_grid, with_grid, shift)["sampled_loss"] == 0.0
    shifted, unshifted = _terms(jittered, faces, with_grid, [0, 1]), _terms(plain, faces, with_grid)
    assert shifted["pixel_loss"] == unshifted["pixel_loss"] > 0
    assert "shifted by up to 2 px" in jittered.describe() and "shifted" not in plain.describe()


def test_the_trainer_draws_a_shift_per_step_from_its_seed():
    from facenet_vae.training.step import VaeTrainer

    class Steps:
        iterations = tf.Variable(0, dtype=tf.int64)

    objective = Objective(beta=1.0, feature_network=EveryFourthPixel(), feature_jitter=JITTER)
    trainer = VaeTrainer(vae=None, objective=objective, sampling_seed=7)
    trainer.optimizer = Steps()
    shifts = []
    for step in range(40):
        Steps.iterations.assign(step)
        shifts.append(tuple(trainer._feature_shift().numpy()))
    assert all(0 <= value <= 2 * JITTER for shift in shifts for value in shift)
    assert len(set(shifts)) > 10   # 25 possible windows
    Steps.iterations.assign(3)
    assert tuple(trainer._feature_shift().numpy()) == shifts[3]   # a function of (seed, step): resumable
    assert VaeTrainer(vae=None, objective=Objective(), sampling_seed=7)._feature_shift() is None


@pytest.mark.parametrize("settings, message", [
    (dict(reconstruction_loss_type="PLAIN"), "--feature_jitter needs --reconstruction_loss_type=PERCEPTUAL"),
    (dict(reconstruction_loss_type="PERCEPTUAL", perceptual_model="facenet", feature_target="crop",
          dataset="folder"), "--feature_jitter shifts model-size faces"),
])
def test_feature_jitter_is_refused_where_it_cannot_apply(settings, message):
    config = TrainConfig(data_dir="faces", feature_jitter=2, **{"dataset": "npz", **settings})
    with pytest.raises(ValueError, match=message):
        config.validate()
    with pytest.raises(ValueError, match="feature_jitter must be 0 or more"):
        Objective(feature_jitter=-1)
