"""--deterministic: the same seed and flags give the same weights (hence losses) on the same machine."""
import pathlib
import subprocess
import sys

import keras

import facenet_vae  # noqa: F401  (registers DfcVae for load_model)
import numpy as np

ROOT = pathlib.Path(__file__).resolve().parents[1]


def _train(base, seed):
    result = subprocess.run(
        [sys.executable, "train_vae.py", "--deterministic", f"--seed={seed}", "--vae_def=dfc_vae",
         "--latent_var_size=8", "--reconstruction_loss_type=PLAIN", "--batch_size=8", "--num_synthetic=64",
         "--max_nrof_steps=3", "--save_every_n_steps=3", "--verbose=0", "--noexport_saved_model",
         f"--models_base_dir={base}", "--run_name=run"],
        cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    return keras.models.load_model(str(base / "run" / "model.keras")).get_weights()


def test_same_seed_same_weights_other_seed_other_weights(tmp_path):
    first = _train(tmp_path / "a", 5)
    second = _train(tmp_path / "b", 5)
    other = _train(tmp_path / "c", 6)
    for a, b in zip(first, second):
        np.testing.assert_array_equal(a, b)
    assert any(not np.array_equal(a, c) for a, c in zip(first, other))
