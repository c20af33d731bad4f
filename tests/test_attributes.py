"""Attribute vectors: facenet's HDF5 layout, the pos-minus-neg arithmetic, the k sweeps, the warning for
vectors built from few faces, and clear errors for bad files."""
import h5py
import numpy as np
import pytest

from facenet_vae.generation import attribute_vectors as attributes
from facenet_vae.generation.attribute_directions import CONDITIONAL, DIFFERENCE
from facenet_vae.generation.attribute_vectors import (MIN_FACES_PER_SIDE, AttributeVectors, ThinAttributeWarning,
                                                      attribute_index, attribute_vectors_from_latents,
                                                      compute_attribute_vectors, read_attribute_vectors_file,
                                                      write_attribute_vectors_file)
from facenet_vae.generation.latent_maths import facenet_sweep, k_sweep, modify_latents

FIELDS = ["Bangs", "Eyeglasses", "Smiling"]


class _FakeVae:
    """Encodes an image to its per-channel mean pixel (+ the image index in a 4th dim); log-var 0."""
    latent_var_size = 4
    image_size = 8

    def __init__(self):
        self.calls = []

    def encode_pixels(self, pixels, batch_size=None, training_batch_norm=False):
        pixels = np.asarray(pixels, np.float32)
        self.calls.append((len(pixels), training_batch_norm))
        mean = np.concatenate([pixels.mean((1, 2)), pixels[:, :1, :1, 0].reshape(-1, 1)], 1)
        return mean, np.zeros_like(mean)


def _example():
    rng = np.random.default_rng(0)
    latent_vars = rng.normal(size=(6, 4)).astype(np.float32)
    values = np.array([[1, -1, 1], [1, 1, -1], [-1, 1, 1], [-1, -1, -1], [1, -1, -1], [-1, 1, 1]], np.int8)
    return latent_vars, values


def test_vector_is_mean_with_minus_mean_without():
    latent_vars, values = _example()
    vectors = attribute_vectors_from_latents(latent_vars, values, method=DIFFERENCE)
    assert vectors.shape == (3, 4) and vectors.dtype == np.float32
    for k in range(3):
        expected = latent_vars[values[:, k] == 1].mean(0) - latent_vars[values[:, k] == -1].mean(0)
        np.testing.assert_allclose(vectors[k], expected, rtol=1e-6, atol=1e-6)
    # By hand for column 0: rows 0, 1, 4 have it; rows 2, 3, 5 do not.
    np.testing.assert_allclose(vectors[0], (latent_vars[[0, 1, 4]].sum(0) - latent_vars[[2, 3, 5]].sum(0)) / 3,
                               atol=1e-6)


def test_attribute_without_negatives_has_nan_vector_and_a_clear_error_on_use(tmp_path):
    latent_vars = np.eye(3, dtype=np.float32)
    values = np.array([[1, 1], [1, -1], [1, 1]], np.int8)
    vectors = attribute_vectors_from_latents(latent_vars, values)
    assert np.isnan(vectors[0]).all() and np.isfinite(vectors[1]).all()
    path = write_attribute_vectors_file(tmp_path / "v.h5", latent_vars, values, ["Young", "Male"], vectors,
                                        method=CONDITIONAL)
    loaded = read_attribute_vectors_file(path)
    with pytest.raises(ValueError, match="'Young' has no vector"):
        loaded.vector("Young")
    assert loaded.vector("Male").shape == (3,)


def test_compute_uses_the_encoder_mean_and_options():
    pixels = np.zeros((5, 8, 8, 3), np.uint8)
    pixels[:, :, :, 0] = np.arange(5)[:, None, None] * 10
    values = np.array([[1], [1], [-1], [-1], [-1]], np.int8)
    vae = _FakeVae()
    latent_vars, vectors = compute_attribute_vectors(vae, pixels, values, batch_size=2, method=DIFFERENCE)
    assert [n for n, _ in vae.calls] == [2, 2, 1] and not any(bn for _, bn in vae.calls)
    np.testing.assert_allclose(latent_vars[:, 0], np.arange(5) * 10)
    np.testing.assert_allclose(vectors[0, 0], 5.0 - 30.0)
    vae = _FakeVae()
    sampled, _ = compute_attribute_vectors(vae, pixels, values, use_training_batch_norm=True, sample=True, seed=1)
    assert all(bn for _, bn in vae.calls)
    assert not np.allclose(sampled, latent_vars)  # unit-variance noise was added


def test_compute_from_a_tf_data_of_pixels_or_pairs():
    import tensorflow as tf
    pixels = np.random.default_rng(0).integers(0, 255, (7, 8, 8, 3)).astype(np.uint8)
    values = np.where(np.arange(7)[:, None] % 2 == 0, 1, -1).astype(np.int8)
    reference, ref_vectors = compute_attribute_vectors(_FakeVae(), pixels, values)
    single_images = tf.data.Dataset.from_tensor_slices(pixels)
    latent_vars, _ = compute_attribute_vectors(_FakeVae(), single_images, values, batch_size=3)
    np.testing.assert_allclose(latent_vars, reference, rtol=1e-6)
    pairs = tf.data.Dataset.from_tensor_slices((pixels, values)).batch(4)
    latent_vars, vectors = compute_attribute_vectors(_FakeVae(), pairs)
    np.testing.assert_allclose(vectors, ref_vectors, rtol=1e-6)
    with pytest.raises(ValueError, match="5 attribute rows"):
        compute_attribute_vectors(_FakeVae(), pixels, values[:5])


def test_h5_layout_matches_facenet_and_round_trips(tmp_path):
    latent_vars, values = _example()
    vectors = attribute_vectors_from_latents(latent_vars, values)
    filenames = [f"{i:06d}.jpg" for i in range(6)]
    path = write_attribute_vectors_file(tmp_path / "sub" / "attribute_vectors.h5", latent_vars, values, FIELDS,
                                        vectors, filenames, method=CONDITIONAL)
    with h5py.File(path, "r") as handle:
        assert set(handle.keys()) == {"latent_vars", "attributes", "fields", "attribute_vectors", "filenames"}
        assert handle["latent_vars"].shape == (6, 4)
        assert handle["attributes"].shape == (6, 3)
        assert handle["attribute_vectors"].shape == (3, 4)
        # facenet read it back with np.array(f.get(...)); fields come back as bytes strings.
        fields = np.array(handle.get("fields"))
        assert fields.shape == (3,) and fields.dtype.kind == "S"
        assert [f.decode() for f in fields] == FIELDS
    loaded = read_attribute_vectors_file(path)
    assert isinstance(loaded, AttributeVectors)
    np.testing.assert_array_equal(loaded.latent_vars, latent_vars)
    np.testing.assert_array_equal(loaded.attributes, values)
    np.testing.assert_array_equal(loaded.attribute_vectors, vectors)
    assert loaded.fields == FIELDS and loaded.filenames == filenames and loaded.latent_var_size == 4
    assert loaded.method == CONDITIONAL
    assert not [p for p in (tmp_path / "sub").iterdir() if p.name != "attribute_vectors.h5"]  # no temp files


def test_reads_a_file_written_like_facenet(tmp_path):
    """facenet wrote float64 latents and attributes, str fields, float32 vectors, and no filenames."""
    latent_vars, values = _example()
    vectors = attribute_vectors_from_latents(latent_vars, values)
    path = tmp_path / "facenet.h5"
    with h5py.File(path, "w") as handle:
        handle.create_dataset("latent_vars", data=latent_vars.astype(np.float64))
        handle.create_dataset("attributes", data=values.astype(np.float64))
        handle.create_dataset("fields", data=np.array(FIELDS, dtype="S"))
        handle.create_dataset("attribute_vectors", data=vectors)
    loaded = read_attribute_vectors_file(path)
    assert loaded.fields == FIELDS and loaded.filenames is None
    assert loaded.method == DIFFERENCE  # facenet's files record no method: theirs is the mean difference
    np.testing.assert_array_equal(loaded.attributes, values)


def _write_raw(path, **datasets):
    with h5py.File(path, "w") as handle:
        for name, data in datasets.items():
            handle.create_dataset(name, data=data)
    return path


def _good_datasets():
    latent_vars, values = _example()
    return dict(latent_vars=latent_vars, attributes=values, fields=np.array(FIELDS, dtype="S"),
                attribute_vectors=attribute_vectors_from_latents(latent_vars, values))


@pytest.mark.parametrize("missing", ["latent_vars", "attributes", "fields", "attribute_vectors"])
def test_missing_dataset_is_named(tmp_path, missing):
    datasets = _good_datasets()
    del datasets[missing]
    path = _write_raw(tmp_path / "bad.h5", **datasets)
    with pytest.raises(ValueError, match=rf"bad\.h5 has no dataset {missing}"):
        read_attribute_vectors_file(path)


@pytest.mark.parametrize("dataset, value, message", [
    ("attributes", np.ones((6, 2), np.int8), r"dataset fields has 3 names|dataset attributes has shape \(6, 2\)"),
    ("latent_vars", np.zeros((6, 5), np.float32), r"dataset latent_vars has shape \(6, 5\), expected \(N, 4\)"),
    ("fields", np.array(FIELDS[:2], dtype="S"), r"dataset fields has 2 names but attribute_vectors has 3 rows"),
    ("attribute_vectors", np.zeros(12, np.float32), r"dataset attribute_vectors has shape \(12,\)"),
    ("attributes", np.ones((5, 3), np.int8), r"dataset attributes has shape \(5, 3\), expected \(6, 3\)"),
])
def test_wrong_shapes_are_named(tmp_path, dataset, value, message):
    datasets = _good_datasets()
    datasets[dataset] = value
    path = _write_raw(tmp_path / "bad.h5", **datasets)
    with pytest.raises(ValueError, match=message) as info:
        read_attribute_vectors_file(path)
    assert "bad.h5" in str(info.value)


def test_not_hdf5_and_missing_file(tmp_path):
    (tmp_path / "x.h5").write_text("hello")
    with pytest.raises(ValueError, match=r"x\.h5 is not an HDF5"):
        read_attribute_vectors_file(tmp_path / "x.h5")
    with pytest.raises(FileNotFoundError, match=r"nope\.h5 does not exist"):
        read_attribute_vectors_file(tmp_path / "nope.h5")


def test_write_refuses_inconsistent_shapes(tmp_path):
    latent_vars, values = _example()
    with pytest.raises(ValueError, match=r"attribute_vectors has shape \(2, 4\), expected \(3, 4\)"):
        write_attribute_vectors_file(tmp_path / "v.h5", latent_vars, values, FIELDS, np.zeros((2, 4)),
                                     method=DIFFERENCE)
    assert not list(tmp_path.iterdir())


def test_attribute_index_by_name_index_and_errors():
    assert attribute_index(FIELDS, "Smiling") == 2
    assert attribute_index([f.encode() for f in FIELDS], "smiling") == 2  # bytes fields, any case
    assert attribute_index(FIELDS, 1) == 1 and attribute_index(FIELDS, "0") == 0
    with pytest.raises(ValueError, match=r"unknown attribute 'Smile'; valid attributes are 0:Bangs, "
                                         r"1:Eyeglasses, 2:Smiling"):
        attribute_index(FIELDS, "Smile")
    with pytest.raises(ValueError, match=r"index 3 is out of range 0\.\.2.*2:Smiling"):
        attribute_index(FIELDS, 3)


def test_modify_latents_and_facenet_sweep():
    latents = np.arange(6, dtype=np.float32).reshape(2, 3)
    vector = np.array([1.0, 0.0, -1.0], np.float32)
    ks = facenet_sweep(0, 5, 10)
    np.testing.assert_allclose(ks, 5.0 * np.arange(10) / 10)  # facenet's 5.0 * i / nrof_interp_steps
    out = modify_latents(latents, vector, ks)
    assert out.shape == (2, 10, 3)
    np.testing.assert_allclose(out[1, 4], latents[1] + 2.0 * vector)
    np.testing.assert_allclose(modify_latents(latents, vector, [-1.5])[0, 0], latents[0] - 1.5 * vector)
    with pytest.raises(ValueError, match="do not match"):
        modify_latents(latents, np.ones(4), ks)
    assert attributes.REQUIRED_DATASETS == ("latent_vars", "attributes", "fields", "attribute_vectors")


@pytest.mark.parametrize("k_min, k_max, k_steps, expected", [
    (-2, 2, 5, [-2, -1, 0, 1, 2]),                  # the example: both ends and the unedited face
    (0, 5, 11, [0, 0.5, 1, 1.5, 2, 2.5, 3, 3.5, 4, 4.5, 5]),
    (-1, 2, 3, [-1, 0, 0.5, 2]),                     # 0 in range but missed by the steps: added
    (1, 3, 3, [1, 2, 3]),                            # 0 out of range: not added
    (2, -2, 3, [2, 0, -2]),                          # a falling sweep keeps its order
    (0, 3, 1, [0]),
])
def test_default_k_sweep_includes_both_ends_and_zero(k_min, k_max, k_steps, expected):
    ks = k_sweep(k_min, k_max, k_steps)
    np.testing.assert_allclose(ks, expected, atol=1e-6)
    assert ks.dtype == np.float32


def test_facenet_sweep_excludes_the_end_as_facenet_did():
    np.testing.assert_allclose(facenet_sweep(-2, 2, 5), [-2, -1.2, -0.4, 0.4, 1.2], atol=1e-6)
    with pytest.raises(ValueError, match="--k_steps must be at least 1, got 0"):
        facenet_sweep(0, 1, 0)
    with pytest.raises(ValueError, match="--k_steps must be at least 1, got 0"):
        k_sweep(0, 1, 0)


def _thin_example():
    """60 faces: 'Bald' on 3 of them (too few), 'Male' on 30 (enough), 'Hat' on none (no vector at all)."""
    rng = np.random.default_rng(2)
    latent_vars = rng.normal(size=(60, 4)).astype(np.float32)
    values = -np.ones((60, 3), np.int8)
    values[:3, 0] = 1
    values[::2, 1] = 1
    return latent_vars, values, ["Bald", "Male", "Hat"]


def test_vectors_from_fewer_than_20_faces_on_a_side_warn_and_are_recorded(tmp_path):
    assert MIN_FACES_PER_SIDE == 20
    latent_vars, values, names = _thin_example()
    with pytest.warns(ThinAttributeWarning) as caught:
        vectors = attribute_vectors_from_latents(latent_vars, values, names)
    messages = [str(w.message) for w in caught if issubclass(w.category, ThinAttributeWarning)]
    assert messages == ["attribute vector 'Bald' is built from 3 face(s) with it and 57 without (fewer than 20): "
                        "expect a noisy edit"]
    assert np.isfinite(vectors[0]).all()  # still computed: a warning, not an error
    path = write_attribute_vectors_file(tmp_path / "v.h5", latent_vars, values, names, vectors, method=CONDITIONAL)
    loaded = read_attribute_vectors_file(path)
    assert loaded.warnings == messages
    np.testing.assert_array_equal(loaded.face_counts, [[3, 57], [30, 30], [0, 60]])
    with h5py.File(path, "r") as handle:  # recorded as an HDF5 attribute: facenet's datasets are unchanged
        assert set(handle.keys()) == {"latent_vars", "attributes", "fields", "attribute_vectors"}


def test_twenty_faces_on_each_side_do_not_warn(recwarn):
    latent_vars = np.random.default_rng(0).normal(size=(40, 4)).astype(np.float32)
    values = np.where(np.arange(40)[:, None] < 20, 1, -1).astype(np.int8)
    attribute_vectors_from_latents(latent_vars, values, ["Smiling"])
    assert not [w for w in recwarn if issubclass(w.category, ThinAttributeWarning)]
