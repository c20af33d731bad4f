"""bench/quality.py's objectives: each names settings train_vae.py accepts, and builds the loss it describes."""
import pathlib
import sys

import pytest

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent.parent / "bench"))

from quality_objectives import OBJECTIVES  # noqa: E402

from facenet_vae.training.config import TrainConfig  # noqa: E402


@pytest.mark.parametrize("name", sorted(OBJECTIVES))
def test_every_objective_is_a_valid_training_configuration(name):
    config = TrainConfig(dataset="npz", data_dir="faces.npz", **OBJECTIVES[name].our_settings()).validate()
    assert config.reconstruction_loss_type in ("PLAIN", "PERCEPTUAL")


def test_the_deep_candidate_weighs_the_shipped_models_last_stage():
    config = TrainConfig(dataset="npz", data_dir="faces.npz", **OBJECTIVES["dfc_deep"].our_settings()).validate()
    weights = config.feature_weights()
    assert weights["Block35_5"] == weights["Mixed_6a"] == 10.0 and weights["embedding"] == 1e5
    assert config.perceptual_weights == "imagenet" and config.perceptual_model == "facenet"
