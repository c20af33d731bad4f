"""Training on a folder with unusable files: scanned first, listed in the run folder, skipped or refused."""
import os
import pathlib
import shutil

import pytest

from facenet_vae.data.errors import DataError
from facenet_vae.training import TrainConfig, train


@pytest.fixture()
def dirty_folder(tmp_path, shared_dir):
    source = shared_dir / "data" / "celeba_subset_aligned"
    folder = tmp_path / "faces"
    for identity in sorted(os.listdir(source))[:2]:
        os.makedirs(folder / identity)
        for name in sorted(os.listdir(source / identity))[:6]:
            shutil.copy(source / identity / name, folder / identity / name)
    first = folder / sorted(os.listdir(folder))[0]
    good = sorted(first.iterdir())[0].read_bytes()
    (first / "truncated.jpg").write_bytes(good[: len(good) // 3])
    (first / "empty.jpg").write_bytes(b"")
    (first / "notes.jpg").write_text("this is not an image")
    return folder


def _config(tmp_path, folder, **overrides):
    values = dict(vae_def="dfc_vae", latent_var_size=8, reconstruction_loss_type="PLAIN", batch_size=4,
                  data_dir=str(folder), crop_size=160, max_nrof_steps=2, save_every_n_steps=2,
                  models_base_dir=str(tmp_path / "runs"), verbose=0, export_saved_model=False)
    values.update(overrides)
    return TrainConfig(**values)


def test_bad_files_are_listed_and_skipped(tmp_path, dirty_folder):
    with pytest.warns(UserWarning, match="skipping 3 of 15"):
        run_dir = train(_config(tmp_path, dirty_folder))
    listed = pathlib.Path(run_dir, "bad_files.txt").read_text()
    for name in ("truncated.jpg", "empty.jpg", "notes.jpg"):
        assert name in listed
    assert os.path.exists(os.path.join(run_dir, "model.keras"))


def test_strict_refuses_to_train_and_names_the_files(tmp_path, dirty_folder):
    with pytest.raises(DataError, match="notes.jpg"):
        train(_config(tmp_path, dirty_folder, strict=True))


def test_empty_folder_is_a_clear_error(tmp_path):
    (tmp_path / "nothing").mkdir()
    with pytest.raises(DataError, match="nothing"):
        train(_config(tmp_path, tmp_path / "nothing"))
