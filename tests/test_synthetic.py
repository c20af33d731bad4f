"""Synthetic faces: determinism, the on-disk layout, and that every label matches the drawn pixels.

The label checks measure pixels at landmark positions from ``geometry``; they never read the label
array to decide what a pixel should be.
"""
import os

import numpy as np
import pytest

from facenet_vae.data import (DataError, generate_synthetic_faces, get_dataset, load_training_images,
                              match_attributes_to_images, read_attribute_file, read_image, write_synthetic_dataset)
from facenet_vae.data.synthetic import ATTRIBUTE_NAMES


@pytest.fixture(scope="module")
def faces():
    return generate_synthetic_faces(600, seed=11)


def _at(image, x, y, radius=0):
    """Mean colour of the (2r+1)^2 pixels around continuous pixel coordinates (x, y)."""
    row, col = int(np.floor(y)), int(np.floor(x))
    return image[row - radius:row + radius + 1, col - radius:col + radius + 1].reshape(-1, 3).astype(float).mean(0)


def _both_sides(faces, i, dx_key, y_key, radius=0):
    g = faces.geometry
    return np.mean([_at(faces.images[i], g["face_x"][i] + s * g[dx_key][i], g[y_key][i], radius) for s in (-1, 1)],
                   axis=0)


def _samples(faces, function):
    return np.array([function(i) for i in range(len(faces))])


@pytest.fixture(scope="module")
def hair(faces):
    g = faces.geometry
    return _samples(faces, lambda i: _at(faces.images[i], g["face_x"][i], g["hair_y"][i], 1))


@pytest.fixture(scope="module")
def cheek(faces):
    return _samples(faces, lambda i: _both_sides(faces, i, "cheek_dx", "cheek_y", 1))


def test_shapes_names_and_identities(faces, celeba_npz):
    assert faces.images.shape == (600, 64, 64, 3) and faces.images.dtype == np.uint8
    assert faces.attributes.shape == (600, len(ATTRIBUTE_NAMES)) and faces.attributes.dtype == np.int8
    assert set(np.unique(faces.attributes)) == {-1, 1}
    celeba_names = list(celeba_npz["attribute_names"].astype(str))
    assert set(faces.attribute_names) <= set(celeba_names)
    assert faces.attribute_names == sorted(faces.attribute_names, key=celeba_names.index)
    assert faces.filenames[:2] == ["000001.png", "000002.png"] and len(set(faces.filenames)) == 600
    assert len(np.unique(faces.identities)) == 30 and np.all(np.diff(faces.identities) >= 0)
    hair_colours = np.stack([faces.column(n) == 1 for n in ("Black_Hair", "Blond_Hair", "Brown_Hair")], axis=1)
    assert np.all(hair_colours.sum(axis=1) == 1)
    assert np.all(faces.column("No_Beard")[faces.column("Male") == -1] == 1)
    # Every attribute occurs both ways.
    assert np.all(np.abs(faces.attributes.mean(axis=0)) < 0.9)


def test_identity_traits_fixed_and_per_image_attributes_vary(faces):
    fixed = ["Male", "Black_Hair", "Blond_Hair", "Brown_Hair", "Pale_Skin", "No_Beard"]
    varying = ["Smiling", "Mouth_Slightly_Open", "Eyeglasses", "Bangs"]
    for identity in np.unique(faces.identities):
        rows = faces.attributes[faces.identities == identity]
        for name in fixed:
            assert len(set(rows[:, faces.attribute_names.index(name)])) == 1, (identity, name)
    for name in varying:
        column = faces.column(name)
        assert sum(len(set(column[faces.identities == k])) == 2 for k in np.unique(faces.identities)) >= 5, name


def test_deterministic_by_seed():
    a = generate_synthetic_faces(80, seed=4)
    b = generate_synthetic_faces(80, seed=4, chunk_size=7)
    c = generate_synthetic_faces(80, seed=5)
    assert a.images.tobytes() == b.images.tobytes()
    assert np.array_equal(a.attributes, b.attributes) and np.array_equal(a.identities, b.identities)
    assert a.images.tobytes() != c.images.tobytes()
    assert not np.array_equal(a.attributes, c.attributes)


def test_other_sizes_and_bad_arguments():
    small = generate_synthetic_faces(4, seed=0, image_size=32, num_identities=2)
    assert small.images.shape == (4, 32, 32, 3) and list(small.identities) == [0, 0, 1, 1]
    assert generate_synthetic_faces(3, image_size=128).images.shape == (3, 128, 128, 3)
    with pytest.raises(DataError):
        generate_synthetic_faces(0)
    with pytest.raises(DataError):
        generate_synthetic_faces(2, image_size=8)


def test_smiling_mouth_corners_are_higher(faces):
    g = faces.geometry

    def rise(i):
        x0, y0, w = g["face_x"][i], g["mouth_y"][i], g["mouth_half_width"][i]
        top_row = int(y0) - 8
        box = faces.images[i, top_row:int(y0) + 8].astype(int)
        mouth = (box[..., 1] < 0.45 * box[..., 0]) & (box[..., 1] < 70)  # red lips or dark opening

        def top(x):
            column = mouth[:, int(np.floor(x))]
            assert column.any(), (i, x)
            return np.argmax(column)
        return top(x0) - np.mean([top(x0 - 0.75 * w), top(x0 + 0.75 * w)])  # > 0: corners above the centre

    rises = _samples(faces, rise)
    smiling = faces.column("Smiling") == 1
    assert rises[smiling].min() >= 1 and rises[~smiling].max() <= 0


def test_open_mouth_is_dark_inside(faces):
    g = faces.geometry

    def dark_pixels(i):
        x0, y0 = int(g["face_x"][i]), int(g["mouth_y"][i])
        box = faces.images[i, y0:y0 + 6, x0 - 2:x0 + 3].astype(int)
        return int(((box[..., 0] < 100) & (box[..., 1] < 35) & (box[..., 0] - box[..., 1] > 20)).sum())

    dark = _samples(faces, dark_pixels)
    is_open = faces.column("Mouth_Slightly_Open") == 1
    assert dark[is_open].min() >= 3 and dark[~is_open].max() == 0


def test_eyeglasses_darken_bridge_and_lens_rings(faces, cheek):
    g = faces.geometry
    brightness = cheek.mean(axis=1)
    bridge = _samples(faces, lambda i: _at(faces.images[i], g["face_x"][i], g["eye_y"][i]).mean()) / brightness
    ring = _samples(faces, lambda i: max(
        _at(faces.images[i], g["face_x"][i] + s * g["eye_dx"][i], g["eye_y"][i] + g["lens_radius"][i]).mean()
        for s in (-1, 1))) / brightness
    glasses = faces.column("Eyeglasses") == 1
    assert bridge[glasses].max() < 0.6 and ring[glasses].max() < 0.6
    assert bridge[~glasses].min() > 0.85 and ring[~glasses].min() > 0.85


def test_hair_colour(faces, hair):
    red, green, blue = hair[:, 0], hair[:, 1], hair[:, 2]
    yellowish = (red - blue > 60) & (green - blue > 40) & (hair.mean(axis=1) > 130)
    blond, black = faces.column("Blond_Hair") == 1, faces.column("Black_Hair") == 1
    brown = faces.column("Brown_Hair") == 1
    assert yellowish[blond].all() and not yellowish[~blond].any()
    assert hair[black].max() < 60 and hair[~black].mean(axis=1).min() > 60
    assert np.all(red[brown] > blue[brown] + 30) and hair[brown].mean(axis=1).max() < 120


def test_pale_skin_is_brighter(faces, cheek):
    brightness = cheek.mean(axis=1)
    pale = faces.column("Pale_Skin") == 1
    assert brightness[pale].min() > brightness[~pale].max()
    assert brightness[pale].mean() > 210


def test_bangs_cover_the_forehead(faces, hair, cheek):
    g = faces.geometry
    forehead = _samples(faces, lambda i: _at(faces.images[i], g["face_x"][i], g["forehead_y"][i]))
    to_hair = np.abs(forehead - hair).max(axis=1)
    to_skin = np.abs(forehead - cheek).max(axis=1)
    bangs = faces.column("Bangs") == 1
    assert to_hair[bangs].max() < 20 and to_skin[~bangs].max() < 20


def test_male_short_hair_and_beard(faces, hair, cheek):
    g = faces.geometry
    side = _samples(faces, lambda i: _both_sides(faces, i, "side_hair_dx", "side_hair_y"))
    background = _samples(faces, lambda i: np.mean(
        [_at(faces.images[i], x, g["side_hair_y"][i]) for x in (1, 62)], axis=0))
    male = faces.column("Male") == 1
    to_hair = np.abs(side - hair).max(axis=1)
    to_background = np.abs(side - background).max(axis=1)
    assert np.all(to_hair[~male] < to_background[~male])  # long hair beside a woman's face
    assert np.all(to_background[male] < to_hair[male])  # background beside a man's face
    assert to_background[male].max() < 25

    jaw = _samples(faces, lambda i: _both_sides(faces, i, "jaw_dx", "jaw_y"))
    beard = faces.column("No_Beard") == -1
    jaw_to_cheek = np.abs(jaw - cheek).max(axis=1)
    assert jaw_to_cheek[beard].min() > 12 and jaw_to_cheek[~beard].max() < 12
    towards_hair = np.abs(jaw - hair).max(axis=1) < np.abs(cheek - hair).max(axis=1)
    assert towards_hair[beard].all()


def test_write_synthetic_dataset(tmp_path):
    folder, attr_file = write_synthetic_dataset(tmp_path / "synth", 30, seed=2, num_identities=3)
    faces = generate_synthetic_faces(30, seed=2, num_identities=3)
    dataset = get_dataset(folder)
    assert [cls.name for cls in dataset] == ["identity_00000", "identity_00001", "identity_00002"]
    assert [len(cls) for cls in dataset] == [10, 10, 10]
    assert attr_file == str(tmp_path / "synth" / "list_attr_celeba.txt")
    attrs = read_attribute_file(attr_file)
    assert attrs.names == faces.attribute_names and attrs.filenames == faces.filenames
    np.testing.assert_array_equal(attrs.values, faces.attributes)
    paths, values = match_attributes_to_images(attrs, folder)
    np.testing.assert_array_equal(values, faces.attributes)
    for path, image in zip(paths[::7], faces.images[::7]):
        np.testing.assert_array_equal(read_image(path).numpy(), image)  # PNG is lossless

    with pytest.raises(DataError, match="overwrite"):
        write_synthetic_dataset(tmp_path / "synth", 10, seed=2)
    folder, _ = write_synthetic_dataset(tmp_path / "synth", 10, seed=2, overwrite=True)
    assert sum(len(files) for _, _, files in os.walk(folder)) == 10

    dataset, description, count, _ = load_training_images(
        "folder", folder, image_size=64, crop_size=None, batch_size=5, seed=0, repeat=False)
    assert count == 10 and sum(batch.shape[0] for batch in dataset) == 10
