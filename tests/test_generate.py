"""generate.py modes on a briefly trained tiny model, the Smiling-vector behaviour, and clear errors."""
import os
import subprocess
import sys

import keras
import numpy as np
import pytest
import tensorflow as tf

import facenet_vae
from facenet_vae.training import run_folder
from facenet_vae.generation import face_sets, latent_maths
from facenet_vae.generation.attribute_directions import attribute_directions
from facenet_vae.generation.attribute_vectors import read_attribute_vectors_file
from facenet_vae.image_grid import CAPTION_HEIGHT
from facenet_vae.generation.latent_maths import modify_latents
from facenet_vae.data.celeba import CELEBA_ATTRIBUTE_NAMES, write_attribute_file
from facenet_vae.data.errors import DataError
from facenet_vae.data.synthetic import generate_synthetic_faces, write_synthetic_dataset
from facenet_vae.generation import GenerateOptions, run
from facenet_vae.generation.loading import load_vae
from facenet_vae.model.normalization import pixels_to_normalized
from facenet_vae.training import TrainConfig, make_optimizer
from facenet_vae.training.objective import Objective
from facenet_vae.training.step import VaeTrainer

PROJECT_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
LATENT = 32
TILE = 64 + 3  # image_grid: each 64x64 face plus a 3-pixel border

# The trained fixture's recipe: facenet's PLAIN objective, briefly (~1 minute on 2 CPU cores).
TRAIN_STEPS = 700  # at 300 the edits moved the smile detector by only +0.07 to +0.15
TRAIN_BATCH = 32
TRAIN_IMAGES = 2000
# The behaviour test edits Smiling: the synthetic smile is a broad grin (thick red lips curved well up
# around white teeth), which 300 steps learn well enough for its vector to make decoded faces smile.
EDITED_ATTRIBUTE = "Smiling"


def _png(path):
    return tf.io.decode_png(tf.io.read_file(str(path))).numpy()


def _grid_shape(columns, rows, captioned=False):
    return (3 + rows * (TILE + (CAPTION_HEIGHT if captioned else 0)), 3 + columns * TILE, 3)


def _train_tiny_vae(run_dir):
    """Train a PLAIN dfc_vae (latent 32) on synthetic faces and store it as a run folder; returns the model."""
    keras.utils.set_random_seed(1)
    faces = generate_synthetic_faces(TRAIN_IMAGES, seed=1)
    model = facenet_vae.build_vae("dfc_vae", LATENT)  # the default (fan-in) init, no hand-scaled heads
    trainer = VaeTrainer(model, Objective(pixel_weight=0.5))
    trainer.compile(make_optimizer(TrainConfig(learning_rate_schedule="cosine", initial_learning_rate=1e-3,
                                               max_nrof_steps=TRAIN_STEPS)))
    normalized = pixels_to_normalized(faces.images).numpy()
    dataset = tf.data.Dataset.from_tensor_slices(normalized).shuffle(len(normalized), seed=0).repeat()
    trainer.fit(dataset.batch(TRAIN_BATCH), steps_per_epoch=TRAIN_STEPS, epochs=1, verbose=0)
    os.makedirs(run_dir)
    run_folder.write_model_config(run_dir, model)
    run_folder.TrainingCheckpoints(run_dir, model).save(TRAIN_STEPS)
    return model, faces


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    run_dir = str(tmp_path_factory.mktemp("runs") / "20260101-000000")
    model, faces = _train_tiny_vae(run_dir)
    return {"run_dir": run_dir, "model": model, "faces": faces}


@pytest.fixture(scope="module")
def synthetic_folder(tmp_path_factory):
    """40 synthetic faces written as a FaceNet tree (2 identities) with a list_attr_celeba.txt."""
    folder, attr_file = write_synthetic_dataset(str(tmp_path_factory.mktemp("synthetic")), 40, seed=4)
    return folder, attr_file


# -- the key behaviour: an attribute vector edits decoded faces ------------------------------------------

def _mouth_features(images):
    """The green channel of the mouth region pooled 4x4: low where the lips are red, so a grin's thick,
    wide, curved lips (around a band of bright teeth) stand out from a closed mouth's thin line."""
    region = images[:, 32:52, 16:48, 1].astype(np.float32)
    return region.reshape(len(images), 5, 4, 8, 4).mean((2, 4)).reshape(len(images), -1) / 100.0


def _box_blur(images, radius):
    if radius == 0:
        return images.astype(np.float32)
    size = 2 * radius + 1
    padded = np.pad(images.astype(np.float32), ((0, 0), (radius, radius), (radius, radius), (0, 0)), mode="edge")
    return sum(padded[:, i:i + 64, j:j + 64] for i in range(size) for j in range(size)) / size ** 2


def _fit_logistic_regression(features, labels, steps=1500, learning_rate=0.5, l2=1e-3):
    mean, std = features.mean(0), features.std(0) + 1e-6
    z = (features - mean) / std
    w, b = np.zeros(z.shape[1]), 0.0
    for _ in range(steps):
        grad = 1.0 / (1.0 + np.exp(-(z @ w + b))) - labels
        w -= learning_rate * (z.T @ grad / len(labels) + l2 * w)
        b -= learning_rate * grad.mean()
    return lambda images: ((_mouth_features(images) - mean) / std) @ w + b > 0


def _smile_detector():
    """A logistic regression on mouth pixels fitted on synthetic faces (sharp and blurred) with their labels,
    built from the generator's geometry (any mouth lies within rows ~33-50 of a 64-pixel face)."""
    faces = generate_synthetic_faces(1600, seed=7)
    labels = faces.column(EDITED_ATTRIBUTE) == 1
    fit = slice(0, 1000)
    features = np.concatenate([_mouth_features(_box_blur(faces.images[fit], r)) for r in (0, 1, 2)])
    detector = _fit_logistic_regression(features, np.tile(labels[fit], 3).astype(np.float64))
    return detector, faces.images[1000:], labels[1000:]


def test_attribute_vector_edits_decoded_faces(trained, tmp_path):
    detector, held_out, held_out_labels = _smile_detector()
    accuracy = (detector(held_out) == held_out_labels).mean()
    assert accuracy > 0.9, f"the detector itself is unreliable (held-out accuracy {accuracy:.3f})"

    faces = trained["faces"]
    vectors_file = tmp_path / "attribute_vectors.h5"
    run(GenerateOptions(mode="attributes", model=trained["run_dir"], dataset="synthetic", num_images=TRAIN_IMAGES,
                        seed=1, attribute_vectors_file=str(vectors_file), batch_size=250))
    vectors = read_attribute_vectors_file(vectors_file)
    np.testing.assert_array_equal(vectors.attributes, faces.attributes)  # the training faces, in order
    vector = vectors.vector(EDITED_ATTRIBUTE)

    vae = load_vae(trained["run_dir"])
    test_faces = generate_synthetic_faces(400, seed=11)
    not_smiling = test_faces.images[test_faces.column(EDITED_ATTRIBUTE) == -1][:150]
    latents, _ = vae.encode_pixels(not_smiling)
    base_rate = detector(vae.decode_to_pixels(latents)).mean()
    for k in (1.5, 2.0, 3.0):
        edited_rate = detector(vae.decode_to_pixels(modify_latents(latents, vector, [k])[:, 0])).mean()
        assert edited_rate > base_rate + 0.2, (k, base_rate, edited_rate)
    removed_rate = detector(vae.decode_to_pixels(modify_latents(latents, vector, [-2.0])[:, 0])).mean()
    assert removed_rate < base_rate - 0.2, (base_rate, removed_rate)


# -- each mode writes the files it says ---------------------------------------------------------------------

def test_sample_cli_with_only_mode_and_model(trained):
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", PYTHONPATH=PROJECT_ROOT)
    result = subprocess.run([sys.executable, "generate.py", "--mode=sample", f"--model={trained['run_dir']}"],
                            cwd=PROJECT_ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    path = os.path.join(trained["run_dir"], "generated", "samples.png")
    assert f"loaded run folder {trained['run_dir']}, checkpoint ckpt-{TRAIN_STEPS}" in result.stdout
    assert f"wrote {path}" in result.stdout
    assert _png(path).shape == _grid_shape(8, 8)


def test_sample_individual_pngs_and_temperature(trained, tmp_path):
    written = run(GenerateOptions(mode="sample", model=trained["run_dir"], output_dir=str(tmp_path), num_images=5,
                                  save_individual=True, seed=3))
    assert written[0] == str(tmp_path / "samples.png") and len(written) == 6
    assert _png(written[0]).shape == _grid_shape(3, 2)
    for i, path in enumerate(written[1:]):
        assert path == str(tmp_path / "samples" / f"sample_{i:04d}.png") and _png(path).shape == (64, 64, 3)
    cold = run(GenerateOptions(mode="sample", model=trained["run_dir"], output_dir=str(tmp_path / "cold"),
                               num_images=5, temperature=0.0, seed=3))
    grid = _png(cold[0])
    first, second = grid[3:67, 3:67], grid[3:67, 70:134]
    np.testing.assert_array_equal(first, second)  # temperature 0: every sample is the decoded z = 0


def test_reconstruct_from_folder_and_from_attribute_list(trained, synthetic_folder, tmp_path):
    folder, attr_file = synthetic_folder
    written = run(GenerateOptions(mode="reconstruct", model=trained["run_dir"], output_dir=str(tmp_path),
                                  data_dir=folder, num_images=6))
    assert written == [str(tmp_path / "reconstructions.png")]
    assert _png(written[0]).shape == _grid_shape(8, 2)  # 4 (input, reconstruction) pairs per row
    grid = _png(written[0])
    original = generate_synthetic_faces(40, seed=4).images[0]
    np.testing.assert_array_equal(grid[3:67, 3:67], original)
    written = run(GenerateOptions(mode="reconstruct", model=trained["run_dir"], output_dir=str(tmp_path / "list"),
                                  data_dir=folder, attributes_file=attr_file, num_images=3))
    assert _png(written[0]).shape == _grid_shape(6, 1)


def test_interpolate_between_images_and_between_latents(trained, synthetic_folder, tmp_path):
    folder, _ = synthetic_folder
    paths = face_sets.image_paths(folder)
    written = run(GenerateOptions(mode="interpolate", model=trained["run_dir"], output_dir=str(tmp_path),
                                  image_a=paths[0], image_b=paths[-1], num_steps=7, interpolation="both"))
    assert written == [str(tmp_path / "interpolation_linear.png"), str(tmp_path / "interpolation_spherical.png")]
    for path in written:
        assert _png(path).shape == _grid_shape(7 + 2, 1, captioned=True)  # the two input photos at the ends
    np.save(tmp_path / "a.npy", np.zeros(LATENT, np.float32))
    np.save(tmp_path / "b.npy", np.ones((1, LATENT), np.float32))
    written = run(GenerateOptions(mode="interpolate", model=trained["run_dir"], output_dir=str(tmp_path / "z"),
                                  latent_a=str(tmp_path / "a.npy"), latent_b=str(tmp_path / "b.npy"),
                                  num_steps=4, interpolation="spherical"))
    assert written == [str(tmp_path / "z" / "interpolation_spherical.png")]
    assert _png(written[0]).shape == _grid_shape(4, 1, captioned=True)  # latents: no photo at the ends
    np.save(tmp_path / "short.npy", np.zeros(5, np.float32))
    with pytest.raises(ValueError, match=rf"short\.npy holds shape \(5,\), but the model has latent size {LATENT}"):
        run(GenerateOptions(mode="interpolate", model=trained["run_dir"], output_dir=str(tmp_path),
                            latent_a=str(tmp_path / "short.npy"), latent_b=str(tmp_path / "a.npy")))


def test_slerp_keeps_the_norm_between_orthogonal_unit_vectors():
    a, b = np.eye(4, dtype=np.float32)[:2]
    path = latent_maths.spherical_interpolation(a, b, 5)
    np.testing.assert_allclose(np.linalg.norm(path, axis=1), 1.0, atol=1e-6)
    np.testing.assert_allclose(path[[0, -1]], [a, b], atol=1e-6)
    np.testing.assert_allclose(latent_maths.linear_interpolation(a, b, 3)[1], (a + b) / 2)


def test_attributes_then_list_then_modify(trained, synthetic_folder, tmp_path, capsys):
    folder, attr_file = synthetic_folder
    vectors_file = str(tmp_path / "vectors.h5")
    written = run(GenerateOptions(mode="attributes", model=trained["run_dir"], output_dir=str(tmp_path),
                                  data_dir=folder, attributes_file=attr_file, attribute_vectors_file=vectors_file,
                                  batch_size=16))
    assert written == [vectors_file]
    vectors = read_attribute_vectors_file(vectors_file)
    assert vectors.latent_vars.shape == (40, LATENT) and vectors.attribute_vectors.shape == (10, LATENT)
    assert vectors.filenames[:2] == ["000001.png", "000002.png"] and "Smiling" in vectors.fields
    # The default: each attribute's gap with the other labelled attributes held fixed, recorded as such.
    assert vectors.method == "conditional"
    np.testing.assert_allclose(vectors.attribute_vectors, attribute_directions(
        vectors.latent_vars, vectors.attributes, "conditional"), rtol=1e-4, atol=1e-5)

    run(GenerateOptions(mode="list_attributes", attribute_vectors_file=vectors_file))
    listing = capsys.readouterr().out
    assert f"attributes in {vectors_file}:" in listing
    assert f"{vectors.fields.index('Smiling'):2d} Smiling" in listing

    written = run(GenerateOptions(mode="modify", model=trained["run_dir"], output_dir=str(tmp_path),
                                  attribute_vectors_file=vectors_file, attribute="Smiling",
                                  image_indices=["0", "3", "5"], k_min=0, k_max=3, k_steps=4))
    assert written == [str(tmp_path / "modified_Smiling.png")]
    assert _png(written[0]).shape == _grid_shape(1 + 4, 3, captioned=True)  # rows = images; original, then k

    own_images = face_sets.image_paths(folder)[:2]
    index = str(vectors.fields.index("Mouth_Slightly_Open"))
    written = run(GenerateOptions(mode="modify", model=trained["run_dir"], output_dir=str(tmp_path / "own"),
                                  attribute_vectors_file=vectors_file, attribute=index, images=own_images,
                                  k_min=-2, k_max=2, k_steps=5))
    assert written == [str(tmp_path / "own" / "modified_Mouth_Slightly_Open.png")]
    assert _png(written[0]).shape == _grid_shape(1 + 5, 2, captioned=True)

    # Default rows: facenet's choice, the first images without the attribute.
    written = run(GenerateOptions(mode="modify", model=trained["run_dir"], output_dir=str(tmp_path / "default"),
                                  attribute_vectors_file=vectors_file, num_images=3))
    assert _png(written[0]).shape == _grid_shape(1 + 11, 3, captioned=True)  # k = 0, 0.5, ..., 5


def test_attributes_from_the_synthetic_dataset_with_facenet_options(trained, tmp_path):
    written = run(GenerateOptions(mode="attributes", model=trained["run_dir"], output_dir=str(tmp_path),
                                  dataset="synthetic", num_images=48, training_batch_norm=True,
                                  sample_latent=True, attribute_vector_method="difference", batch_size=16))
    assert written == [str(tmp_path / "attribute_vectors.h5")]
    vectors = read_attribute_vectors_file(written[0])
    assert vectors.latent_vars.shape == (48, LATENT)
    # facenet's vectors: mean latent with the attribute minus mean without.
    smiling = vectors.index("Smiling")
    with_it = vectors.attributes[:, smiling] == 1
    assert vectors.method == "difference"
    np.testing.assert_allclose(vectors.attribute_vectors[smiling], vectors.latent_vars[with_it].mean(0)
                               - vectors.latent_vars[~with_it].mean(0), rtol=1e-4, atol=1e-5)
    assert set(vectors.fields) >= {"Smiling", "Eyeglasses", "Male"}


def test_augment_writes_a_facenet_tree(trained, synthetic_folder, tmp_path):
    folder, _ = synthetic_folder
    identities = sorted(os.listdir(folder))
    written = run(GenerateOptions(mode="augment", model=trained["run_dir"], output_dir=str(tmp_path), data_dir=folder,
                                  num_images=3, temperature=0.5))
    assert len(written) == 3 * len(identities)
    for identity in identities:
        files = sorted(os.listdir(tmp_path / "augmented" / identity))
        assert files == [f"{identity}_{i:04d}.png" for i in (1, 2, 3)]
        assert _png(tmp_path / "augmented" / identity / files[0]).shape == (64, 64, 3)
    posterior = run(GenerateOptions(mode="augment", model=trained["run_dir"], output_dir=str(tmp_path / "p"),
                                    data_dir=folder, num_images=2, augment_sampling="posterior"))
    assert len(posterior) == 2 * len(identities)


# -- bad inputs give clear errors -------------------------------------------------------------------------

def _options(trained, tmp_path, **kwargs):
    return GenerateOptions(model=trained["run_dir"], output_dir=str(tmp_path), batch_size=16, **kwargs)


def test_unknown_attribute_name_lists_the_valid_ones(trained, synthetic_folder, tmp_path):
    folder, attr_file = synthetic_folder
    vectors_file = str(tmp_path / "v.h5")
    run(_options(trained, tmp_path, mode="attributes", data_dir=folder, attributes_file=attr_file,
                 attribute_vectors_file=vectors_file))
    with pytest.raises(ValueError, match=r"unknown attribute 'Grinning'; valid attributes are 0:Bangs, .*Smiling"):
        run(_options(trained, tmp_path, mode="modify", attribute_vectors_file=vectors_file, attribute="Grinning",
                     image_indices=["0"]))
    with pytest.raises(ValueError, match=r"--image_indices \[99\] out of range: .*v\.h5 has 40 rows"):
        run(_options(trained, tmp_path, mode="modify", attribute_vectors_file=vectors_file, image_indices=["99"]))


def test_attribute_vectors_of_another_latent_size_are_refused(trained, tmp_path):
    from facenet_vae.generation.attribute_vectors import write_attribute_vectors_file
    path = write_attribute_vectors_file(tmp_path / "v.h5", np.zeros((2, 8)), np.array([[1], [-1]]), ["Smiling"],
                                        np.ones((1, 8)), method="difference")
    with pytest.raises(ValueError, match=rf"v\.h5 has latent size 8, but the model has latent size {LATENT}"):
        run(_options(trained, tmp_path, mode="modify", attribute_vectors_file=str(path), image_indices=["0"]))


def _copy_attribute_lines(attr_file, path, edit):
    lines = open(attr_file).read().splitlines()
    with open(path, "w") as handle:
        handle.write("\n".join(edit(lines)) + "\n")
    return str(path)


def test_attribute_file_with_missing_rows(trained, synthetic_folder, tmp_path):
    folder, attr_file = synthetic_folder
    short = _copy_attribute_lines(attr_file, tmp_path / "short.txt", lambda lines: lines[:-3])
    with pytest.raises(DataError, match=r"short\.txt, line 1: the count line says 40 rows but the file has 37"):
        run(_options(trained, tmp_path, mode="attributes", data_dir=folder, attributes_file=short))


def test_attribute_file_with_a_wrong_column_count(trained, synthetic_folder, tmp_path):
    folder, attr_file = synthetic_folder
    bad = _copy_attribute_lines(attr_file, tmp_path / "bad.txt",
                                lambda lines: lines[:5] + [lines[5] + " 1"] + lines[6:])
    with pytest.raises(DataError, match=r"bad\.txt, line 6: 12 columns, expected 11"):
        run(_options(trained, tmp_path, mode="attributes", data_dir=folder, attributes_file=bad))


def test_images_missing_from_the_attribute_list(trained, synthetic_folder, tmp_path):
    folder, _ = synthetic_folder
    faces = generate_synthetic_faces(40, seed=4)
    listed = write_attribute_file(tmp_path / "partial.txt", faces.attribute_names, faces.filenames[:30],
                                  faces.attributes[:30])
    with pytest.raises(DataError, match=r"10 image\(s\) in .* are not listed in attribute file .*partial\.txt: "
                                        r"000031\.png"):
        run(_options(trained, tmp_path, mode="attributes", data_dir=folder, attributes_file=str(listed)))


def test_listed_images_missing_from_the_folder(trained, synthetic_folder, tmp_path):
    folder, _ = synthetic_folder
    faces = generate_synthetic_faces(40, seed=4)
    names = faces.filenames + ["999999.png"]
    values = np.concatenate([faces.attributes, faces.attributes[:1]])
    extra = write_attribute_file(tmp_path / "extra.txt", faces.attribute_names, names, values)
    with pytest.raises(DataError, match=r"extra\.txt, line 43: image '999999\.png' is not in .*"
                                        r"pass --allow_missing_images"):
        run(_options(trained, tmp_path, mode="attributes", data_dir=folder, attributes_file=str(extra)))
    written = run(_options(trained, tmp_path, mode="attributes", data_dir=folder, attributes_file=str(extra),
                           allow_missing_images=True))
    assert read_attribute_vectors_file(written[0]).latent_vars.shape == (40, LATENT)


def test_empty_folders(trained, tmp_path):
    empty = tmp_path / "empty"
    (empty / "person_a").mkdir(parents=True)
    for mode in ("reconstruct", "augment"):
        with pytest.raises(DataError, match="no image files|no identity sub-folders with images"):
            run(_options(trained, tmp_path, mode=mode, data_dir=str(empty)))
    with pytest.raises(DataError, match="needs --data_dir"):
        run(_options(trained, tmp_path, mode="reconstruct"))


def test_cli_reports_errors_without_a_traceback(trained, tmp_path):
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", PYTHONPATH=PROJECT_ROOT)
    not_a_model = tmp_path / "not_a_model"
    not_a_model.mkdir()
    result = subprocess.run([sys.executable, "generate.py", "--mode=sample", f"--model={not_a_model}",
                             f"--output_dir={tmp_path}"],
                            cwd=PROJECT_ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 1
    assert f"generate.py: error: {not_a_model} is neither a training run folder" in result.stderr
    assert "Traceback" not in result.stderr


def test_unreadable_images_are_named(trained, synthetic_folder, tmp_path):
    import shutil
    folder, attr_file = synthetic_folder
    copy = tmp_path / "faces"
    shutil.copytree(folder, copy)
    broken = sorted((copy / sorted(os.listdir(copy))[0]).iterdir())[2]
    broken.write_bytes(b"\x89PNG\r\n\x1a\n" + b"garbage" * 10)
    with pytest.raises(DataError, match=rf"1 unreadable image file\(s\): {broken}: "):
        run(_options(trained, tmp_path, mode="attributes", data_dir=str(copy), attributes_file=attr_file))
    with pytest.raises(DataError, match=rf"{broken}: "):
        run(_options(trained, tmp_path, mode="reconstruct", data_dir=str(copy), num_images=5))


def test_modify_rows_by_file_name(trained, synthetic_folder, tmp_path):
    folder, attr_file = synthetic_folder
    vectors_file = str(tmp_path / "v.h5")
    run(_options(trained, tmp_path, mode="attributes", data_dir=folder, attributes_file=attr_file,
                 attribute_vectors_file=vectors_file))
    written = run(_options(trained, tmp_path, mode="modify", attribute_vectors_file=vectors_file,
                           image_indices=["000002.png", "7"], k_steps=3))
    assert _png(written[0]).shape == _grid_shape(1 + 3, 2, captioned=True)
    with pytest.raises(ValueError, match=r"'nobody\.png' is neither a row number nor a file name"):
        run(_options(trained, tmp_path, mode="modify", attribute_vectors_file=vectors_file,
                     image_indices=["nobody.png"]))


def test_attributes_from_tfds_celeb_a(trained, tmp_path):
    """TFDS celeb_a (mocked: random examples with the real features) gives CelebA's 40 names in order."""
    import tensorflow_datasets as tfds
    with tfds.testing.mock_data(num_examples=6):
        written = run(_options(trained, tmp_path, mode="attributes", dataset="celeb_a", data_dir=str(tmp_path)))
    vectors = read_attribute_vectors_file(written[0])
    assert vectors.fields == list(CELEBA_ATTRIBUTE_NAMES) and vectors.fields[31] == "Smiling"
    assert vectors.latent_vars.shape == (6, LATENT) and set(np.unique(vectors.attributes)) <= {-1, 1}
    with pytest.raises(DataError, match="celeb_a is not in"):
        run(_options(trained, tmp_path, mode="attributes", dataset="celeb_a", data_dir=str(tmp_path / "none")))
