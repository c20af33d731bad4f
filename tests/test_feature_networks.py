"""Tests of the frozen perceptual feature networks against Keras' own models and raw TF ops."""
import logging
import urllib.error

import h5py
import keras
import numpy as np
import pytest
import tensorflow as tf

from facenet_vae.training import feature_networks as fn
from facenet_vae.model.normalization import IMG_MEAN, IMG_STDDEV, pixels_to_normalized

VGG123 = ["block1_conv1", "block2_conv1", "block3_conv1"]


@pytest.fixture(scope="session")
def vgg16_weights(shared_dir):
    return str(shared_dir / "models" / "vgg16_hed_notop.weights.h5")


@pytest.fixture(scope="session")
def facenet_weights(shared_dir):
    return str(shared_dir / "models" / "facenet_keras_stem.h5")


@pytest.fixture(scope="session")
def faces_norm(celeba_npz):
    """Four real 64x64 faces in facenet's normalised space."""
    return pixels_to_normalized(celeba_npz["images"][:4]).numpy()


@pytest.fixture(scope="module")
def vgg16_extractor(vgg16_weights):
    return fn.build_feature_extractor("vgg16", "vgg123", vgg16_weights, image_size=64)


@pytest.fixture(scope="module")
def facenet_extractor(facenet_weights):
    return fn.build_feature_extractor("facenet", None, facenet_weights, crop_size=160)


@pytest.fixture
def no_download(monkeypatch):
    """Make Keras' downloader fail at once, as it does offline, and record the attempts."""
    attempts = []

    def fail(url, *args, **kwargs):
        attempts.append(url)
        raise urllib.error.URLError("no network in tests")

    monkeypatch.setattr("keras.src.utils.file_utils.urlretrieve", fail)
    return attempts


def _write_legacy_h5(path, keras3_weights_path, keep):
    """Write the ``keep`` layers of a Keras 3 VGG weights file in the legacy by-name .h5 layout."""
    with h5py.File(keras3_weights_path, "r") as src, h5py.File(path, "w") as dst:
        layers = {}
        for group in src["layers"].values():
            if "vars" in group and group["vars"].attrs.get("name") in keep:
                name = group["vars"].attrs["name"]
                layers[name] = [np.asarray(group["vars"][str(i)]) for i in range(len(group["vars"]))]
        dst.attrs["layer_names"] = [name.encode() for name in keep]
        dst.attrs["keras_version"] = b"2.2.4"
        dst.attrs["backend"] = b"tensorflow"
        for name in keep:
            weight_names = [f"{name}/kernel:0", f"{name}/bias:0"]
            layer_group = dst.create_group(name)
            layer_group.attrs["weight_names"] = [w.encode() for w in weight_names]
            for weight_name, value in zip(weight_names, layers[name]):
                layer_group.create_dataset(weight_name, data=value)


# -- layer names -------------------------------------------------------------------------------
def test_resolve_layer_names_presets_lists_and_strings():
    assert fn.resolve_layer_names("vgg19", "vgg123") == VGG123
    assert fn.resolve_layer_names("vgg16", None) == VGG123
    assert fn.resolve_layer_names("vgg19", "vgg345") == ["block3_conv1", "block4_conv1", "block5_conv1"]
    assert fn.resolve_layer_names("vgg19", " block1_conv2, block4_conv4 ") == ["block1_conv2", "block4_conv4"]
    assert fn.resolve_layer_names("vgg16", ["block2_pool"]) == ["block2_pool"]
    # facenet's own --loss_features default string, space included.
    assert fn.resolve_layer_names("facenet", "Conv2d_1a_3x3,Conv2d_2a_3x3, Conv2d_2b_3x3") == list(
        fn.FACENET_STEM_LAYERS)
    assert fn.resolve_layer_names("facenet", None) == list(fn.FACENET_STEM_LAYERS)
    # Every network --perceptual_model offers has a default feature layer set.
    assert all(fn.resolve_layer_names(network, None) for network in fn.FEATURE_NETWORKS)


def test_unknown_names_are_value_errors_listing_the_choices():
    with pytest.raises(ValueError, match="block1_conv1.*vgg123") as info:
        fn.resolve_layer_names("vgg19", "block9_conv1")
    assert "block9_conv1" in str(info.value)
    with pytest.raises(ValueError, match="block4_conv3"):  # VGG16 has no block4_conv4
        fn.resolve_layer_names("vgg16", "block4_conv4")
    with pytest.raises(ValueError, match="vgg19.*vgg16.*facenet"):
        fn.resolve_layer_names("resnet50", None)
    with pytest.raises(ValueError, match="vgg19.*vgg16.*facenet"):
        fn.build_feature_extractor("resnet50", weights="random")
    with pytest.raises(ValueError, match="Conv2d_1a_3x3"):
        fn.resolve_layer_names("facenet", "vgg123")
    with pytest.raises(ValueError, match="Conv2d_2b_3x3"):
        fn.build_feature_extractor("facenet", "Mixed_5a", weights="random")
    with pytest.raises(ValueError, match="more than once"):
        fn.resolve_layer_names("vgg19", "block1_conv1,block1_conv1")


@pytest.mark.parametrize("network", ["vgg16", "vgg19"])
def test_valid_vgg_names_are_the_keras_application_layers(network):
    application = getattr(keras.applications, network.upper())
    model = application(include_top=False, weights=None, input_shape=(32, 32, 3))
    assert fn.valid_layer_names(network) == [layer.name for layer in model.layers[1:]]


# -- VGG ---------------------------------------------------------------------------------------
def test_vgg16_features_equal_full_keras_model(vgg16_extractor, vgg16_weights, faces_norm):
    full = keras.applications.VGG16(include_top=False, weights=vgg16_weights, input_shape=(64, 64, 3))
    probe = keras.Model(full.input, [full.get_layer(name).output for name in VGG123])
    pixels = faces_norm * IMG_STDDEV + IMG_MEAN
    expected = probe(keras.applications.vgg16.preprocess_input(pixels.copy()))
    features = vgg16_extractor(faces_norm)
    assert vgg16_extractor.layer_names == VGG123
    assert list(features) == VGG123
    for name, want in zip(VGG123, expected):
        got = features[name].numpy()
        assert got.dtype == np.float32 and got.shape == tuple(want.shape)
        np.testing.assert_allclose(got, want.numpy(), rtol=1e-4, atol=1e-4)
        np.testing.assert_array_equal(vgg16_extractor.network.get_layer(name).kernel.numpy(),
                                      full.get_layer(name).kernel.numpy())
    assert float(tf.reduce_max(features["block3_conv1"])) > 0.0


def test_vgg_truncation_stops_at_the_deepest_layer(vgg16_extractor):
    names = [layer.name for layer in vgg16_extractor.network.layers]
    assert names[-1] == "block3_conv1"
    assert not [name for name in names if name.startswith(("block4", "block5")) or name == "block3_conv2"]
    shallow = fn.build_feature_extractor("vgg19", "block2_conv1", "random", image_size=32)
    assert [layer.name for layer in shallow.network.layers][-1] == "block2_conv1"
    assert len(shallow.network.weights) == 6
    deep = fn.build_feature_extractor("vgg19", "vgg345", "random", image_size=32)
    deep_names = [layer.name for layer in deep.network.layers]
    assert deep_names[-1] == "block5_conv1" and "block5_conv2" not in deep_names
    assert set(deep(tf.zeros((1, 32, 32, 3)))) == {"block3_conv1", "block4_conv1", "block5_conv1"}


def test_vgg_preprocessing_is_keras_caffe_preprocessing_without_clipping(vgg16_extractor, faces_norm):
    rng = np.random.default_rng(0)
    # Beyond 0..255 in pixel space too: a clip would make these differ from preprocess_input.
    images = np.concatenate([faces_norm, 4.0 * rng.standard_normal((2, 64, 64, 3)).astype(np.float32)])
    pixels = images * IMG_STDDEV + IMG_MEAN
    assert pixels.min() < 0 and pixels.max() > 255
    got = vgg16_extractor.preprocess(images).numpy()
    np.testing.assert_allclose(got, keras.applications.vgg16.preprocess_input(pixels.copy()), atol=1e-3)
    np.testing.assert_allclose(got, keras.applications.vgg19.preprocess_input(pixels.copy()), atol=1e-3)


def test_extractor_is_frozen_and_differentiable(vgg16_extractor, faces_norm):
    assert vgg16_extractor.trainable is False
    assert vgg16_extractor.trainable_weights == []
    assert all(not layer.trainable for layer in vgg16_extractor.network.layers)
    assert len(vgg16_extractor.non_trainable_weights) == 10
    images = tf.constant(np.concatenate([faces_norm[:1], np.full((1, 64, 64, 3), 5.0, np.float32)]))
    with tf.GradientTape() as tape:
        tape.watch(images)
        features = vgg16_extractor(images)
        total = tf.add_n([tf.reduce_sum(value) for value in features.values()])
    gradient = tape.gradient(total, images).numpy()
    assert np.isfinite(gradient).all()
    # The second image is far above 255 in pixel space: clipping would have zeroed its gradient.
    assert np.abs(gradient[0]).max() > 0 and np.abs(gradient[1]).max() > 0


def test_vgg_under_mixed_float16_takes_float16_and_returns_float32():
    previous = keras.mixed_precision.global_policy()
    keras.mixed_precision.set_global_policy("mixed_float16")
    try:
        extractor = fn.build_feature_extractor("vgg16", "block1_conv1,block2_conv1", "random", image_size=32)
        assert extractor.network.get_layer("block1_conv1").compute_dtype == "float16"
        images = tf.random.normal((2, 32, 32, 3), dtype=tf.float16)
        with tf.GradientTape() as tape:
            tape.watch(images)
            features = extractor(images)
            total = tf.reduce_sum(features["block2_conv1"])
        assert {value.dtype for value in features.values()} == {tf.float32}
        gradient = tape.gradient(total, images)
        assert gradient.dtype == tf.float16 and bool(tf.reduce_all(tf.math.is_finite(gradient)))
    finally:
        keras.mixed_precision.set_global_policy(previous)


def test_imagenet_without_cache_or_network_raises_feature_weights_unavailable(
        tmp_path, monkeypatch, no_download):
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    with pytest.raises(fn.FeatureWeightsUnavailable) as info:
        fn.build_feature_extractor("vgg19", "vgg123", "imagenet")
    message = str(info.value)
    assert "vgg19_weights_tf_dim_ordering_tf_kernels_notop.h5" in message
    assert str(tmp_path / "models") in message
    assert "--perceptual_weights" in message
    assert isinstance(info.value, RuntimeError) and info.value.__cause__ is not None
    assert len(no_download) == 1 and no_download[0].endswith("vgg19_weights_tf_dim_ordering_tf_kernels_notop.h5")


def test_imagenet_uses_the_cached_legacy_file_without_downloading(
        tmp_path, monkeypatch, no_download, vgg16_weights, vgg16_extractor, faces_norm):
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    (tmp_path / "models").mkdir()
    _write_legacy_h5(tmp_path / "models" / "vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5",
                     vgg16_weights, ["block1_conv1", "block1_conv2", "block2_conv1", "block2_conv2",
                                     "block3_conv1"])
    extractor = fn.build_feature_extractor("vgg16", "vgg123", "imagenet", image_size=64)
    assert no_download == []
    want = vgg16_extractor(faces_norm[:2])
    for name, value in extractor(faces_norm[:2]).items():
        np.testing.assert_array_equal(value.numpy(), want[name].numpy())
    # The same legacy file lacks block3_conv2: a deeper request names the layer and the file.
    legacy_path = str(tmp_path / "models" / "vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5")
    with pytest.raises(ValueError, match="block3_conv2") as info:
        fn.build_feature_extractor("vgg16", "block3_conv2", legacy_path, image_size=64)
    assert legacy_path in str(info.value)


def test_bad_weights_paths_name_the_file(tmp_path):
    missing = tmp_path / "nope.weights.h5"
    for network in ("vgg19", "facenet"):
        with pytest.raises(FileNotFoundError, match="nope.weights.h5"):
            fn.build_feature_extractor(network, None, str(missing))
    junk = tmp_path / "junk.h5"
    junk.write_bytes(b"not hdf5")
    with pytest.raises(ValueError, match="junk.h5"):
        fn.build_feature_extractor("vgg16", "block1_conv1", str(junk), image_size=32)


def test_random_weights_log_a_loud_warning(caplog):
    with caplog.at_level(logging.WARNING):
        fn.build_feature_extractor("vgg16", "block1_conv1", "random", image_size=32)
    assert fn.RANDOM_WEIGHTS_WARNING in caplog.text


# -- facenet stem ------------------------------------------------------------------------------
def _file_arrays(path, layer):
    with h5py.File(path, "r") as f:
        group = f["model_weights"][layer][layer]
        return {key.split(":")[0]: np.asarray(value) for key, value in group.items()}


def test_facenet_stem_weights_equal_the_file(facenet_extractor, facenet_weights):
    network = facenet_extractor.network
    for name in fn.FACENET_STEM_LAYERS:
        np.testing.assert_array_equal(network.get_layer(name).kernel.numpy(),
                                      _file_arrays(facenet_weights, name)["kernel"])
        bn = network.get_layer(f"{name}_BatchNorm")
        arrays = _file_arrays(facenet_weights, f"{name}_BatchNorm")
        for key in ("beta", "moving_mean", "moving_variance"):
            np.testing.assert_array_equal(getattr(bn, key).numpy(), arrays[key])
        assert bn.epsilon == 1e-3 and not bn.scale
    assert facenet_extractor.trainable_weights == []


def _raw_stem(images, path):
    """facenet's stem written with raw TF ops from the file's arrays: {layer: relu output}."""
    x, ends = tf.constant(images), {}
    for name, strides, padding in [("Conv2d_1a_3x3", 2, "VALID"), ("Conv2d_2a_3x3", 1, "VALID"),
                                   ("Conv2d_2b_3x3", 1, "SAME")]:
        bn = _file_arrays(path, f"{name}_BatchNorm")
        x = tf.nn.conv2d(x, _file_arrays(path, name)["kernel"], strides, padding)
        x = tf.nn.relu((x - bn["moving_mean"]) / np.sqrt(bn["moving_variance"] + 1e-3) + bn["beta"])
        ends[name] = x.numpy()
    return ends


def test_facenet_stem_matches_raw_tf_and_sees_faces(facenet_extractor, facenet_weights, faces_norm):
    faces_160 = tf.image.resize(faces_norm, (160, 160)).numpy()
    noise = np.random.default_rng(0).standard_normal((2, 160, 160, 3)).astype(np.float32)
    images = np.concatenate([faces_160[:2], noise])
    features = facenet_extractor(images)
    expected = _raw_stem(images, facenet_weights)
    shapes = {"Conv2d_1a_3x3": (79, 79, 32), "Conv2d_2a_3x3": (77, 77, 32), "Conv2d_2b_3x3": (77, 77, 64)}
    assert list(features) == list(fn.FACENET_STEM_LAYERS)
    for name, shape in shapes.items():
        assert features[name].shape == (4,) + shape
        np.testing.assert_allclose(features[name].numpy(), expected[name], rtol=1e-4, atol=1e-4)
    face, other_face, noise_features = (features["Conv2d_2b_3x3"][i].numpy() for i in (0, 1, 2))
    assert np.abs(face - noise_features).mean() > 0.5 * np.abs(face).mean()
    assert np.abs(face - other_face).mean() < np.abs(face - noise_features).mean()


def test_facenet_resizes_like_tf1_resize_images(facenet_extractor, faces_norm):
    resized = facenet_extractor.preprocess(faces_norm[:1]).numpy()[0]
    # TF1 tf.image.resize_images: bilinear, source coordinate = destination * in / out.
    source = np.arange(160) * 64 / 160
    low = np.floor(source).astype(int)
    high = np.minimum(low + 1, 63)
    frac = (source - low)[:, None]
    image = faces_norm[0]
    rows = image[low] * (1 - frac[..., None]) + image[high] * frac[..., None]
    expected = rows[:, low] * (1 - frac[None, :, :]) + rows[:, high] * frac[None, :, :]
    assert resized.shape == (160, 160, 3)
    np.testing.assert_allclose(resized, expected, atol=1e-5)
    assert facenet_extractor(faces_norm[:1])["Conv2d_1a_3x3"].shape == (1, 79, 79, 32)


def test_facenet_fixed_standardization_feeds_pixels_minus_127_5_over_128(facenet_weights, celeba_npz):
    pixels = celeba_npz["images"][:2].astype(np.float32)
    fixed = fn.build_feature_extractor("facenet", None, facenet_weights, crop_size=None,
                                       facenet_input="fixed_standardization")
    fed = fixed.preprocess(pixels_to_normalized(pixels)).numpy()
    np.testing.assert_allclose(fed, (pixels - 127.5) / 128.0, atol=2e-5)
    # facenet's own input (the default) is the normalised image itself: a different objective.
    normalized = pixels_to_normalized(pixels).numpy()
    default = fn.build_feature_extractor("facenet", None, facenet_weights, crop_size=None)
    np.testing.assert_allclose(default.preprocess(normalized).numpy(), normalized, atol=1e-6)
    assert fed.std() < 0.6 * normalized.std()   # about 0.45: a smaller signal for the stem
    with pytest.raises(ValueError, match="facenet_input 'prewhitened'"):
        fn.build_feature_extractor("facenet", None, facenet_weights, crop_size=None, facenet_input="prewhitened")


def test_facenet_weights_without_model_weights_group_and_missing_layers(tmp_path, facenet_weights):
    flat = tmp_path / "flat.h5"
    partial = tmp_path / "partial.h5"
    with h5py.File(facenet_weights, "r") as src, h5py.File(flat, "w") as a, h5py.File(partial, "w") as b:
        for name in src["model_weights"]:
            src.copy(src["model_weights"][name], a, name)
            if name != "Conv2d_2a_3x3_BatchNorm":
                src.copy(src["model_weights"][name], b, name)
    extractor = fn.build_feature_extractor("facenet", "Conv2d_2b_3x3", str(flat))
    np.testing.assert_array_equal(extractor.network.get_layer("Conv2d_2b_3x3").kernel.numpy(),
                                  _file_arrays(facenet_weights, "Conv2d_2b_3x3")["kernel"])
    assert extractor.layer_names == ["Conv2d_2b_3x3"]
    with pytest.raises(ValueError, match="Conv2d_2a_3x3_BatchNorm") as info:
        fn.build_feature_extractor("facenet", None, str(partial))
    assert str(partial) in str(info.value)
    # Truncation: only the first layer needs only the first layer's weights.
    first = fn.build_feature_extractor("facenet", "Conv2d_1a_3x3", str(partial))
    assert [layer.name for layer in first.network.layers][-1] == "Conv2d_1a_3x3_Activation"


def test_facenet_random_warns(caplog):
    # (facenet's default "imagenet" weights, the registry's facenet-msceleb: tests/test_facenet_features.py)
    with caplog.at_level(logging.WARNING):
        extractor = fn.build_feature_extractor("facenet", None, "random", crop_size=96)
    assert fn.RANDOM_WEIGHTS_WARNING in caplog.text
    assert extractor(tf.zeros((1, 64, 64, 3)))["Conv2d_2b_3x3"].shape == (1, 45, 45, 64)
