"""What generate.py's outputs show: labelled modify grids, interpolation strips with the input photos at the
ends, reconstructions spread over identities, warnings for thin attribute vectors, and the command line's
exit codes and one-line errors. Real CelebA photos, an untrained tiny model (layout, not quality)."""
import json
import os
import subprocess
import sys

import keras
import numpy as np
import pytest
from PIL import Image

import facenet_vae
from facenet_vae.data import folders
from facenet_vae.data.celeba import read_attribute_file
from facenet_vae.data.framing import training_framing
from facenet_vae.data.sources import DATASETS
from facenet_vae.generation import GenerateOptions, run
from facenet_vae.generation.attribute_vectors import ThinAttributeWarning, write_attribute_vectors_file
from facenet_vae.generation.face_sets import load_images
from facenet_vae.image_grid import CAPTION_HEIGHT, caption_bar, cell_origin
from facenet_vae.generation.latent_maths import INTERPOLATIONS
from facenet_vae.generation.loading import load_vae
from facenet_vae.generation.modes import MODE_TABLE
from facenet_vae.generation.options import AUGMENT_SAMPLINGS, MODES

PROJECT_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
LATENT = 8
SIZE = 64


@pytest.fixture(scope="module")
def model_file(tmp_path_factory):
    keras.utils.set_random_seed(5)
    path = str(tmp_path_factory.mktemp("model") / "model.keras")
    # CelebA photos framed as in training: the framing is decided before the model is built.
    model = facenet_vae.DfcVae("dfc_vae", LATENT, framing=training_framing("folder", SIZE, center_crop=True))
    model.save(path)
    return path


@pytest.fixture(scope="module")
def vae(model_file):
    return load_vae(model_file)


@pytest.fixture(scope="module")
def photos(celeba_aligned_dir):
    """The 300 real CelebA JPEGs (10 identities x 30), by identity folder."""
    return folders.get_dataset(str(celeba_aligned_dir))


@pytest.fixture(scope="module")
def balanced_vectors(tmp_path_factory):
    """An attribute vectors file of 40 random latents, 'Smiling' on 20 of them (no thin-vector warning)."""
    rng = np.random.default_rng(0)
    latents = rng.normal(size=(40, LATENT)).astype(np.float32)
    values = np.where(np.arange(40)[:, None] % 2 == 0, 1, -1).astype(np.int8)
    vector = latents[values[:, 0] == 1].mean(0) - latents[values[:, 0] == -1].mean(0)
    path = tmp_path_factory.mktemp("vectors") / "attribute_vectors.h5"
    return str(write_attribute_vectors_file(path, latents, values, ["Smiling"], vector[None],
                                             method="difference"))


def _tile(grid, index, columns, captioned=True):
    top, left = cell_origin(index, columns, SIZE, captioned=captioned)
    return grid[top:top + SIZE, left:left + SIZE]


def _caption_pixels(grid, index, columns):
    top, left = cell_origin(index, columns, SIZE, captioned=True)
    return grid[top - CAPTION_HEIGHT:top, left:left + SIZE]


def _read(path):
    image = Image.open(path)
    return np.asarray(image.convert("RGB")), dict(image.text)


# -- modify: an original column and the k value on each face -----------------------------------------

def test_modify_grid_shows_the_original_and_each_k(vae, model_file, photos, balanced_vectors, tmp_path):
    own = [photos[0].image_paths[0], photos[1].image_paths[0]]
    written = run(GenerateOptions(mode="modify", model=model_file, output_dir=str(tmp_path), images=own,
                                  attribute_vectors_file=balanced_vectors, k_min=-2, k_max=2, k_steps=5))
    grid, text = _read(written[0])
    captions = ["original", "k=-2", "k=-1", "k=0", "k=1", "k=2"]
    assert json.loads(text["captions"]) == captions and text["attribute"] == "Smiling"
    columns = len(captions)
    for row in range(2):
        for column, caption in enumerate(captions):
            np.testing.assert_array_equal(_caption_pixels(grid, row * columns + column, columns),
                                          caption_bar(caption, SIZE))
    framed = load_images(own, vae)
    mean, _ = vae.encode_pixels(framed)
    np.testing.assert_array_equal(_tile(grid, 0, columns), framed[0])                   # the photo itself
    np.testing.assert_array_equal(_tile(grid, columns, columns), framed[1])
    np.testing.assert_array_equal(_tile(grid, 3, columns), vae.decode_to_pixels(mean[:1])[0])  # k=0: unedited
    smiling = np.asarray(__import__("h5py").File(balanced_vectors)["attribute_vectors"][0])
    np.testing.assert_array_equal(_tile(grid, 5, columns), vae.decode_to_pixels(mean[:1] + 2 * smiling)[0])


def test_facenet_sweep_is_behind_a_flag(model_file, balanced_vectors, tmp_path):
    written = run(GenerateOptions(mode="modify", model=model_file, output_dir=str(tmp_path),
                                  attribute_vectors_file=balanced_vectors, image_indices=["1"], k_min=-2, k_max=2,
                                  k_steps=5, facenet_k_sweep=True))
    _, text = _read(written[0])
    assert json.loads(text["captions"]) == ["decoded", "k=-2", "k=-1.2", "k=-0.4", "k=0.4", "k=1.2"]


def test_modify_with_a_vector_of_few_faces_warns(model_file, tmp_path):
    latents = np.random.default_rng(1).normal(size=(30, LATENT)).astype(np.float32)
    values = -np.ones((30, 1), np.int8)
    values[0] = 1
    path = write_attribute_vectors_file(tmp_path / "thin.h5", latents, values, ["Bald"],
                                        latents[:1] - latents[1:].mean(0), method="difference")
    with pytest.warns(ThinAttributeWarning, match=r"'Bald' is built from 1 face\(s\) with it and 29 without"):
        run(GenerateOptions(mode="modify", model=model_file, output_dir=str(tmp_path), attribute="Bald",
                            attribute_vectors_file=str(path), image_indices=["3"], k_steps=2))


# -- interpolate: the two photos at the ends ---------------------------------------------------------

def test_interpolation_strip_ends_are_the_inputs(vae, model_file, photos, tmp_path):
    image_a, image_b = photos[2].image_paths[0], photos[7].image_paths[0]
    written = run(GenerateOptions(mode="interpolate", model=model_file, output_dir=str(tmp_path), image_a=image_a,
                                  image_b=image_b, num_steps=5, interpolation="linear"))
    grid, text = _read(written[0])
    captions = ["input a", "t=0.00", "t=0.25", "t=0.50", "t=0.75", "t=1.00", "input b"]
    assert json.loads(text["captions"]) == captions
    columns = len(captions)
    for index, caption in enumerate(captions):
        np.testing.assert_array_equal(_caption_pixels(grid, index, columns), caption_bar(caption, SIZE))
    framed = load_images([image_a, image_b], vae)
    reconstructions = vae.reconstruct_pixels(framed)
    np.testing.assert_array_equal(_tile(grid, 0, columns), framed[0])
    np.testing.assert_array_equal(_tile(grid, columns - 1, columns), framed[1])
    np.testing.assert_array_equal(_tile(grid, 1, columns), reconstructions[0])
    np.testing.assert_array_equal(_tile(grid, columns - 2, columns), reconstructions[1])


# -- reconstruct: one face per identity before a second of any ----------------------------------------

def test_reconstruct_spreads_its_picks_across_identities(vae, model_file, photos, celeba_aligned_dir, tmp_path):
    written = run(GenerateOptions(mode="reconstruct", model=model_file, output_dir=str(tmp_path),
                                  data_dir=str(celeba_aligned_dir), num_images=12))
    grid, _ = _read(written[0])
    expected = load_images([identity.image_paths[0] for identity in photos]
                           + [photos[0].image_paths[1], photos[1].image_paths[1]], vae)
    inputs = [_tile(grid, 2 * i, 8, captioned=False) for i in range(12)]  # (input, reconstruction) pairs, 4 a row
    for shown, face in zip(inputs, expected):
        np.testing.assert_array_equal(shown, face)
    assert len({tuple(face.ravel()[:64]) for face in inputs[:10]}) == 10


# -- the table of modes and the settings --------------------------------------------------------------

def test_every_mode_has_an_entry_and_choices_come_from_their_constants():
    assert tuple(MODE_TABLE) == MODES
    assert [name for name, mode in MODE_TABLE.items() if not mode.needs_model] == ["list_attributes"]
    fields = GenerateOptions.__dataclass_fields__
    assert fields["mode"].metadata["choices"] == MODES
    assert fields["interpolation"].metadata["choices"] == INTERPOLATIONS
    assert fields["augment_sampling"].metadata["choices"] == AUGMENT_SAMPLINGS
    assert fields["dataset"].metadata["choices"] == DATASETS


def test_an_unknown_dataset_is_a_usage_error(model_file, tmp_path):
    from facenet_vae.generation.options import OptionError
    with pytest.raises(OptionError, match=r"--dataset must be one of folder, celeba, celeb_a, npz, synthetic; "
                                          r"got 'faces'"):
        run(GenerateOptions(mode="attributes", model=model_file, dataset="faces", output_dir=str(tmp_path)))


# -- the command line -----------------------------------------------------------------------------------

def _generate(*args, timeout=300):
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", PYTHONPATH=PROJECT_ROOT)
    return subprocess.run([sys.executable, "generate.py", *args], cwd=PROJECT_ROOT, env=env, capture_output=True,
                          text=True, timeout=timeout)


def _error_lines(result):
    return [line for line in result.stderr.splitlines() if line.startswith("generate.py:")]


@pytest.mark.parametrize("args, message", [
    (["--k_steps=0"], "generate.py: error: --k_steps must be at least 1, got 0"),
    (["--mode=paint"], "generate.py: error: flag --mode=paint: value should be one of <sample|reconstruct|"),
    (["--no_such_flag=1"], "generate.py: error: Unknown command line flag 'no_such_flag'"),
    (["--temperature=nan"], "generate.py: error: --temperature must be a finite number"),
    (["stray"], "generate.py: error: unexpected arguments: stray"),
])
def test_bad_flags_exit_2_with_one_line(args, message):
    result = _generate(*args)
    assert result.returncode == 2, result.stderr
    assert len(_error_lines(result)) == 1 and _error_lines(result)[0].startswith(message), result.stderr
    assert "Traceback" not in result.stderr and result.stdout == ""


def test_flag_errors_come_before_tensorflow_loads():
    probe = ("import sys\n"
             "from facenet_vae.cli import generate\n"
             "code = generate.main(['generate.py', '--k_steps=0'])\n"
             "print(code, 'tensorflow' in sys.modules)\n")
    result = subprocess.run([sys.executable, "-c", probe], cwd=PROJECT_ROOT, capture_output=True, text=True,
                            timeout=300, env=dict(os.environ, PYTHONPATH=PROJECT_ROOT))
    assert result.stdout.split() == ["2", "False"], result.stderr[-2000:]
    assert result.stderr == "generate.py: error: --k_steps must be at least 1, got 0\n"


def test_conflicting_options_exit_2_and_failures_exit_1(model_file, photos, tmp_path):
    image = photos[0].image_paths[0]
    result = _generate("--mode=interpolate", f"--model={model_file}", f"--image_a={image}", "--latent_a=z.npy",
                       f"--image_b={image}", f"--output_dir={tmp_path}")
    assert result.returncode == 2
    assert _error_lines(result) == ["generate.py: error: give either --image_a or --latent_a, not both"]
    missing = tmp_path / "nothing_here.keras"
    result = _generate("--mode=sample", f"--model={missing}", f"--output_dir={tmp_path}")
    assert result.returncode == 1
    assert _error_lines(result) == [f"generate.py: error: model {str(missing)!r} does not exist (expected a "
                                    f"training run folder, a .keras file or an exported SavedModel folder)"]


def test_thin_attribute_vectors_are_warned_on_one_line_and_recorded(model_file, celeba_aligned_dir,
                                                                    celeba_attributes_file, tmp_path):
    """The issue's case: 'Bald' on the 300-photo folder."""
    attributes_file, folder = celeba_attributes_file, celeba_aligned_dir
    vectors_file = tmp_path / "vectors.h5"
    result = _generate("--mode=attributes", f"--model={model_file}", f"--data_dir={folder}",
                       f"--attributes_file={attributes_file}", "--allow_missing_images",
                       f"--attribute_vectors_file={vectors_file}", "--batch_size=100")
    assert result.returncode == 0, result.stderr[-2000:]
    listed = {os.path.basename(p) for identity in folders.get_dataset(str(folder)) for p in identity.image_paths}
    rows = read_attribute_file(str(attributes_file))
    bald = rows.column("Bald")[[name in listed for name in rows.filenames]]
    with_bald = int((bald == 1).sum())
    assert with_bald < 20
    expected = (f"generate.py: warning: attribute vector 'Bald' is built from {with_bald} face(s) with it and "
                f"{300 - with_bald} without (fewer than 20): expect a noisy edit")
    assert expected in result.stderr.splitlines()
    from facenet_vae.generation.attribute_vectors import read_attribute_vectors_file
    assert expected.split("warning: ")[1] in read_attribute_vectors_file(vectors_file).warnings


def test_help_lists_the_flags():
    result = _generate("--help")
    assert result.returncode == 0
    for flag in ("--mode", "--k_min", "--facenet_k_sweep", "--interpolation"):
        assert flag in result.stdout, result.stdout[-2000:]
