"""facenet-msceleb rebuilt in Keras 3: the h5's exact graph, every weight, the shared stem, and real identities."""
import json
import os

import h5py
import keras
import numpy as np
import pytest
from PIL import Image

from facenet_vae.pretrained import facenet_msceleb as fm
from facenet_vae.pretrained.fetch import fetch

STEM = ("Conv2d_1a_3x3", "Conv2d_2a_3x3", "Conv2d_2b_3x3")


@pytest.fixture(scope="session")
def msceleb_file():
    """The real facenet_keras.h5, fetched once per machine into the default cache."""
    return fetch("facenet-msceleb", progress=False)


@pytest.fixture(scope="module")
def model(msceleb_file):
    return fm.build_facenet_msceleb(msceleb_file)


@pytest.fixture(scope="module")
def file_layers(msceleb_file):
    with h5py.File(msceleb_file, "r") as handle:
        return json.loads(handle.attrs["model_config"])["config"]["layers"]


def _arrays(path, layer):
    with h5py.File(path, "r") as handle:
        root = handle["model_weights"] if "model_weights" in handle else handle
        return fm._layer_arrays(root[layer])


def test_graph_is_the_h5_model_config(model, file_layers):
    ours = {layer.name: layer for layer in model.layers}
    assert set(ours) - {layer["name"] for layer in file_layers} == {"embedding"}
    kinds = {}
    for spec in file_layers:
        layer, config = ours[spec["name"]], spec["config"]
        kinds[spec["class_name"]] = kinds.get(spec["class_name"], 0) + 1
        inbound = [node[0] for node in spec["inbound_nodes"][0]] if spec["inbound_nodes"] else []
        ours_inbound = [t._keras_history.operation.name for t in layer._inbound_nodes[0].input_tensors]
        assert ours_inbound == (inbound or ours_inbound), spec["name"]
        if spec["class_name"] == "Lambda":
            assert isinstance(layer, fm.ScaleSum) and layer.scale == pytest.approx(config["arguments"]["scale"])
        else:
            assert type(layer).__name__ == spec["class_name"]
        if spec["class_name"] == "Conv2D":
            got = layer.get_config()
            for key in ("filters", "kernel_size", "strides", "padding", "use_bias"):
                assert tuple(np.atleast_1d(got[key])) == tuple(np.atleast_1d(config[key])), (spec["name"], key)
        if spec["class_name"] == "BatchNormalization":
            assert (layer.epsilon, layer.momentum, layer.scale) == (config["epsilon"], config["momentum"], False)
    assert kinds["Lambda"] == 21 and kinds["Conv2D"] == 132
    assert model.output_shape == (None, 128)


def test_lambda_bytecode_is_a_plus_scale_times_b(file_layers):
    """The h5 stores the Lambdas as Python 3 bytecode: inputs[0] + inputs[1] * scale, as ScaleSum computes."""
    import base64
    code = base64.b64decode([s for s in file_layers if s["class_name"] == "Lambda"][0]["config"]["function"][0])
    # LOAD_FAST inputs, [0], LOAD_FAST inputs, [1], LOAD_FAST scale, BINARY_MULTIPLY, BINARY_ADD, RETURN
    assert b"|\x00d\x01\x19\x00|\x00d\x02\x19\x00|\x01\x14\x00\x17\x00S\x00" in code
    layer = fm.ScaleSum(0.17)
    a, b = np.full((1, 2, 2, 3), 2.0, np.float32), np.full((1, 2, 2, 3), 10.0, np.float32)
    np.testing.assert_allclose(np.asarray(layer([a, b])), 2.0 + 0.17 * 10.0, rtol=1e-6)


def test_every_weight_of_the_file_is_loaded(model, msceleb_file):
    with h5py.File(msceleb_file, "r") as handle:
        weighted = {name for name in handle["model_weights"] if fm._layer_arrays(handle["model_weights"][name])}
    assert len(weighted) == 245
    assert set(fm.load_h5_weights(model, msceleb_file)) == weighted       # the same values again
    for layer in model.layers:
        if layer.weights:
            arrays = _arrays(msceleb_file, layer.name)
            assert len(arrays) == len(layer.weights), layer.name
            for variable in layer.weights:
                np.testing.assert_array_equal(variable.numpy(), arrays[variable.path.rsplit("/", 1)[-1]])


def test_stem_is_the_projects_shared_stem(model, shared_dir):
    stem_file = str(shared_dir / "models" / "facenet_keras_stem.h5")
    for name in STEM:
        np.testing.assert_array_equal(model.get_layer(name).kernel.numpy(), _arrays(stem_file, name)["kernel"])
        bn = model.get_layer(f"{name}_BatchNorm")
        for key, array in _arrays(stem_file, f"{name}_BatchNorm").items():
            np.testing.assert_array_equal(getattr(bn, key).numpy(), array)


def test_missing_layers_and_unknown_layers_are_named(shared_dir, msceleb_file):
    inputs = keras.Input((160, 160, 3))
    stem = keras.layers.Conv2D(32, 3, strides=2, use_bias=False, name="Conv2d_1a_3x3")(inputs)
    deeper = keras.layers.Conv2D(80, 1, use_bias=False, name="Conv2d_3b_1x1")(stem)
    with pytest.raises(ValueError, match="facenet_keras_stem.h5: facenet weights file lacks layer 'Conv2d_3b_1x1'"):
        fm.load_h5_weights(keras.Model(inputs, deeper), str(shared_dir / "models" / "facenet_keras_stem.h5"))
    wrong = keras.Model(inputs, keras.layers.Conv2D(8, 3, use_bias=False, name="Conv2d_1a_3x3")(inputs))
    with pytest.raises(ValueError, match=r"layer 'Conv2d_1a_3x3' has .*\(3, 3, 3, 32\).*needs kernel \(3, 3, 3, 8\)"):
        fm.load_h5_weights(wrong, msceleb_file)
    small = keras.Model(inputs, stem)
    with pytest.raises(ValueError, match="244 weighted layers of the file are not in the model"):
        fm.load_h5_weights(small, msceleb_file)
    assert fm.load_h5_weights(small, msceleb_file, require_all=False) == ["Conv2d_1a_3x3"]


def test_scale_sum_is_serializable():
    layer = fm.ScaleSum(0.2, name="Block8_1_ScaleSum")
    restored = keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(layer))
    assert isinstance(restored, fm.ScaleSum) and restored.scale == 0.2 and restored.name == "Block8_1_ScaleSum"


def test_prewhiten_is_facenets():
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (2, 8, 8, 3)).astype(np.uint8)
    out = fm.prewhiten(images)
    x = images[1].astype(np.float64)
    np.testing.assert_allclose(out[1], (x - x.mean()) / max(x.std(), 1 / np.sqrt(x.size)), rtol=1e-5)
    assert np.allclose(out.mean(axis=(1, 2, 3)), 0, atol=1e-5) and np.allclose(out.std(axis=(1, 2, 3)), 1, atol=1e-4)
    flat = fm.prewhiten(np.full((1, 4, 4, 3), 7, np.uint8))      # std 0: divided by 1/sqrt(n), not by 0
    assert np.all(flat == 0)


def _aligned_faces(folder, per_person):
    """``per_person`` JPEGs of each identity, cropped as the npz faces are (138 px around the face)."""
    faces, people = [], []
    for person in sorted(os.listdir(folder)):
        for name in sorted(os.listdir(folder / person))[:per_person]:
            faces.append(np.asarray(Image.open(folder / person / name).convert("RGB").crop((20, 40, 158, 178))))
            people.append(person)
    return np.stack(faces), np.array(people)


def _same_and_different(embeddings, people):
    cosine = embeddings @ embeddings.T
    same = people[:, None] == people[None, :]
    return cosine[same & ~np.eye(len(people), dtype=bool)].mean(), cosine[~same].mean()


def test_embeddings_separate_real_identities(model, celeba_aligned_dir, celeba_npz):
    """Measured: same-person cosine 0.674, different-person 0.034 on these 40 JPEGs (0.666 / 0.038 on all 300);
    0.654 / 0.056 on these 32 npz faces at 64 px (0.620 / 0.062 on the 300 aligned people's npz faces)."""
    embedder = fm.FacenetEmbedder(model)
    faces, people = _aligned_faces(celeba_aligned_dir, per_person=4)
    embeddings = embedder.embed(faces, batch_size=16)
    assert embeddings.shape == (40, 128) and embeddings.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(embeddings, axis=1), 1.0, rtol=1e-5)
    same, different = _same_and_different(embeddings, people)
    assert same > 0.5 and different < 0.2 and same - different > 0.5, (same, different)
    # The held-out faces are 64x64: resized to 160 and still separated.
    ids = celeba_npz["identities"]
    keep = np.concatenate([np.flatnonzero(ids == person)[:4] for person in np.unique(ids)[:8]])
    small = embedder.embed(celeba_npz["images"][keep])
    same, different = _same_and_different(small, ids[keep])
    assert same - different > 0.45, (same, different)
    with pytest.raises(ValueError, match="RGB faces"):
        embedder.embed(faces[..., 0])
