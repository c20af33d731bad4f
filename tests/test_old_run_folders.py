"""Run folders and .keras files written before model/ and training/ were regrouped still load and resume."""
import io
import os
import pathlib
import subprocess
import sys
import tarfile

import keras
import numpy as np
import pytest

from facenet_vae.model import DfcVae  # registers the model classes for keras.models.load_model
from facenet_vae.training import run_folder

ROOT = pathlib.Path(__file__).resolve().parents[1]
BEFORE_THE_MOVE = "9b9ece8"   # the last commit with facenet_vae/model.py and facenet_vae/training.py
TINY = ["--vae_def=dfc_vae", "--latent_var_size=8", "--reconstruction_loss_type=PLAIN", "--batch_size=8",
        "--num_synthetic=64", "--noexport_saved_model", "--verbose=0"]


@pytest.fixture(scope="module")
def old_code(tmp_path_factory):
    """The package as it was before the move, unpacked from git (skipped where the history is absent)."""
    archive = subprocess.run(["git", "-C", str(ROOT), "archive", BEFORE_THE_MOVE], capture_output=True)
    if archive.returncode != 0:
        pytest.skip(f"git history with {BEFORE_THE_MOVE} is not available")
    folder = tmp_path_factory.mktemp("old_code")
    with tarfile.open(fileobj=io.BytesIO(archive.stdout)) as tar:
        tar.extractall(folder, filter="data")
    return folder


def _python(code_dir, args, cwd):
    env = dict(os.environ, PYTHONPATH=str(code_dir))
    return subprocess.run([sys.executable, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=300)


def test_a_run_folder_of_the_old_code_loads_and_resumes(old_code, tmp_path):
    base = tmp_path / "runs"
    old = _python(old_code, ["train_vae.py", *TINY, f"--models_base_dir={base}", "--run_name=old",
                             "--max_nrof_steps=2", "--save_every_n_steps=1"], cwd=old_code)
    assert old.returncode == 0, old.stderr[-3000:]
    run_dir = base / "old"

    restored, prefix = run_folder.load_model_from_run(str(run_dir))
    assert prefix.endswith("ckpt-2")
    saved = keras.models.load_model(run_dir / "model.keras")
    assert isinstance(saved, DfcVae)
    for a, b in zip(restored.get_weights(), saved.get_weights()):
        np.testing.assert_array_equal(a, b)

    resumed = _python(ROOT, ["train_vae.py", *TINY, f"--resume={run_dir}", "--max_nrof_steps=4",
                             "--save_every_n_steps=2"], cwd=ROOT)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    _, prefix = run_folder.load_model_from_run(str(run_dir))
    assert prefix.endswith("ckpt-4")


def test_a_keras_file_of_an_unbuilt_model_is_refused_not_random(old_code, tmp_path):
    path = tmp_path / "unbuilt.keras"
    code = f"from facenet_vae.model import DfcVae; DfcVae('dfc_vae', 8).save({str(path)!r})"
    written = _python(old_code, ["-c", code], cwd=old_code)
    assert written.returncode == 0, written.stderr[-3000:]
    with pytest.raises(ValueError, match="could not be loaded"):
        keras.models.load_model(path)
    # Models now build on construction, so whatever is saved holds its weights.
    model = DfcVae("dfc_vae", 8)
    model.save(tmp_path / "new.keras")
    for a, b in zip(model.get_weights(), keras.models.load_model(tmp_path / "new.keras").get_weights()):
        np.testing.assert_array_equal(a, b)
