"""The model owns its input contract: the framing is a layer decided before the model is built, saved with it,
and presets load the shipped model by name; model/ imports nothing from the stages downstream of it."""
import ast
import json
import pathlib

import numpy as np
import pytest
import tensorflow as tf

from facenet_vae.data.framing import training_framing
from facenet_vae.generation.loading import load_vae
from facenet_vae.model import DfcVae
from facenet_vae.model.framing import FaceConverter, legacy_framing
from facenet_vae.model.presets import CONFIG_FILE, MODEL_FILE, preset_folder

PACKAGE = pathlib.Path(__file__).resolve().parents[1] / "facenet_vae"


def _imports(folder):
    """Return ``{file: [imported facenet_vae module names]}`` of every Python file under ``folder``."""
    found = {}
    for path in sorted(folder.rglob("*.py")):
        names = []
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module:
                names.append(node.module)
            elif isinstance(node, ast.Import):
                names.extend(alias.name for alias in node.names)
        found[path.relative_to(PACKAGE).as_posix()] = [name for name in names if name.startswith("facenet_vae")]
    return found


def test_the_model_imports_nothing_from_data_generation_or_training():
    downstream = ("facenet_vae.data", "facenet_vae.generation", "facenet_vae.training", "facenet_vae.evaluation")
    bad = {path: [name for name in names if name.startswith(downstream)]
           for path, names in _imports(PACKAGE / "model").items()}
    assert not {path: names for path, names in bad.items() if names}


def test_training_imports_nothing_from_generation():
    bad = {path: [name for name in names if name.startswith("facenet_vae.generation")]
           for path, names in _imports(PACKAGE / "training").items()}
    assert not {path: names for path, names in bad.items() if names}


def test_no_package_hand_writes_a_lazy_loader():
    """One helper (facenet_vae.lazy) gives every package its lazily imported names."""
    hand_written = [path for path in PACKAGE.rglob("*.py") if path.name != "lazy.py"
                    and "def __getattr__(" in path.read_text(encoding="utf-8")]
    assert hand_written == []


def test_the_framing_is_fixed_when_the_model_is_built():
    framing = training_framing("folder", 64, center_crop=True)
    model = DfcVae("dfc_vae", 6, framing=framing)
    assert model.framing == framing and model.converter.framing == framing
    with pytest.raises(AttributeError):
        model.framing = training_framing("npz", 64)
    with pytest.raises(ValueError, match="128-px faces but the model takes 64-px images"):
        DfcVae("dfc_vae", 6, framing=training_framing("npz", 128))
    legacy = DfcVae("dfc_vae", 6)
    assert legacy.framing is None and legacy.converter.framing == legacy_framing(64)
    assert "framing" not in legacy.get_config()


def test_the_converter_frames_and_normalises_like_its_framing():
    framing = training_framing("folder", 64)
    converter = FaceConverter(framing)
    photos = np.random.default_rng(1).integers(0, 256, (2, 218, 178, 3), dtype=np.uint8)
    framed = np.stack([framing.frame_numpy(photo) for photo in photos])
    np.testing.assert_array_equal(converter.frame(photos).numpy(), framed)
    normalised = converter(photos).numpy()
    assert normalised.shape == (2, 64, 64, 3) and normalised.dtype == np.float32
    np.testing.assert_array_equal(converter.to_pixels(normalised).numpy(), framed)
    # A face at the model's size passes through unchanged.
    np.testing.assert_array_equal(converter.frame(framed).numpy(), framed)
    again = FaceConverter.from_config(converter.get_config())
    assert again.framing == framing and again.recorded


def test_save_to_preset_round_trips_config_framing_and_outputs(tmp_path):
    model = DfcVae("dfc_vae", 5, framing=training_framing("npz", 64))
    folder = model.save_to_preset(tmp_path / "tiny")
    assert sorted(p.name for p in pathlib.Path(folder).iterdir()) == sorted([CONFIG_FILE, MODEL_FILE])
    config = json.loads((pathlib.Path(folder) / CONFIG_FILE).read_text())
    assert config == json.loads(json.dumps(model.get_config()))
    assert config["vae_def"] == "dfc_vae" and config["latent_var_size"] == 5
    again = DfcVae.from_preset(str(folder))
    assert again.framing == model.framing
    photos = np.random.default_rng(2).integers(0, 256, (2, 90, 70, 3), dtype=np.uint8)
    np.testing.assert_array_equal(again.reconstruct_pixels(photos).numpy(), model.reconstruct_pixels(photos).numpy())


def test_preset_errors_name_the_problem(tmp_path):
    with pytest.raises(ValueError, match="unknown preset 'celeba65'"):
        DfcVae.from_preset("celeba65")
    with pytest.raises(FileNotFoundError, match="model.keras is missing"):
        DfcVae.from_preset(str(tmp_path))


def test_the_celeba64_preset_is_the_shipped_model_and_its_pixel_methods_match_load_vae():
    model = DfcVae.from_preset("celeba64")
    assert (model.vae_def, model.latent_var_size) == ("dfc_vae_resnet", 100)
    assert model.framing == training_framing("npz", 64)
    assert (pathlib.Path(preset_folder("celeba64")) / "attribute_vectors.h5").is_file()
    vae = load_vae(None)
    photos = np.random.default_rng(3).integers(0, 256, (2, 218, 178, 3), dtype=np.uint8)
    mean, log_variance = model.encode_pixels(photos)
    loaded_mean, loaded_log_variance = vae.encode_pixels(photos)
    # Eager here, a tf.function in load_vae: the same ops, up to float rounding.
    np.testing.assert_allclose(mean.numpy(), loaded_mean, atol=1e-4)
    np.testing.assert_allclose(log_variance.numpy(), loaded_log_variance, atol=1e-4)
    faces = model.reconstruct_pixels(photos).numpy()
    assert faces.dtype == np.uint8 and faces.shape == (2, 64, 64, 3)
    assert np.abs(faces.astype(int) - vae.reconstruct_pixels(photos).astype(int)).max() <= 1


def test_the_training_framing_is_decided_from_the_source_before_the_model(shared_dir, tmp_path):
    """``recorded_framing`` (called before the model is built) makes the decision training's pipeline makes."""
    import shutil

    from facenet_vae.data.errors import DataWarning
    from facenet_vae.data.pipeline import load_training_images
    from facenet_vae.data.sources import open_source
    data = shared_dir / "data"

    def decided(kind, data_dir, **options):
        return open_source(kind, data_dir).recorded_framing(64, **options)

    assert decided("folder", str(data / "celeba_subset_aligned")) == training_framing("folder", 64)
    assert decided("folder", str(data / "celeba_subset_aligned"), center_crop=True) == \
        training_framing("folder", 64, center_crop=True)
    assert decided("synthetic", None) == training_framing("synthetic", 64)
    with np.load(data / "celeba_subset.npz") as archive:
        stored = str(archive["framing"]) if "framing" in archive.files else None
    assert decided("npz", str(data / "celeba_subset.npz")) == training_framing("npz", 64, stored_framing=stored)
    # A folder of faces at the model's size is read as framed; a bad first file does not decide.
    framed = tmp_path / "framed"
    framed.mkdir()
    (framed / "000_broken.jpg").write_bytes(b"not an image")
    copied = sorted((data / "celeba_large64").glob("0000[1-4]/*.jpg"))[:4]
    for path in copied:
        shutil.copy(path, framed / path.name)
    framed_decision = decided("folder", str(framed))
    assert framed_decision == training_framing("npz", 64) and framed_decision.crop == "celeba"
    with pytest.warns(DataWarning, match="skipping 1 of 5"):
        loaded = load_training_images("folder", str(framed), image_size=64, batch_size=2, seed=0, progress=False)
    assert loaded.framing == framed_decision
    # Evaluation reads the same faces as they are, never cropped again with the model's framing.
    (framed / "000_broken.jpg").unlink()
    split = open_source("folder", str(framed)).split_faces(framed_decision, seed=0)
    stored_faces = {path.name: np.asarray(tf.io.decode_jpeg(path.read_bytes())) for path in copied}
    for face in np.concatenate([split.train_images, split.held_out_images]):
        assert min(np.abs(face.astype(int) - other.astype(int)).max() for other in stored_faces.values()) == 0
    assert any("framed already" in note for note in split.notes)
