"""Identity and realism metrics (evaluation.identity, evaluation.realism) against known answers."""
import numpy as np
import pytest
from sklearn.metrics import roc_auc_score

from facenet_vae.evaluation import identity, realism
from facenet_vae.evaluation.identity_realism import Candidate, evaluate_identity_realism
from facenet_vae.evaluation.realism import frechet_distance
from facenet_vae.evaluation.judges import Judges


# -- Fréchet distance ------------------------------------------------------------------------------

def test_frechet_of_identical_statistics_is_zero():
    rng = np.random.default_rng(0)
    features = rng.standard_normal((500, 6)) @ rng.standard_normal((6, 6))
    assert realism.frechet_distance(features, features) == pytest.approx(0.0, abs=1e-8)


def test_frechet_of_shifted_means_is_the_squared_shift():
    rng = np.random.default_rng(1)
    features = rng.standard_normal((400, 5))
    shift = np.array([3.0, -1.0, 0.0, 2.0, 0.5])
    assert realism.frechet_distance(features, features + shift) == pytest.approx(np.sum(shift ** 2), rel=1e-8)


def test_frechet_terms_split_a_shift_from_a_change_of_spread():
    rng = np.random.default_rng(3)
    features = rng.normal(size=(400, 5))
    shift = np.array([0.5, -1.0, 0.0, 2.0, 0.25])
    shifted = realism.frechet_terms(features, features + shift)
    assert shifted["mean_term"] == pytest.approx(np.sum(shift ** 2), rel=1e-8)
    assert shifted["covariance_term"] == pytest.approx(0.0, abs=1e-6)
    # Scaling about the mean changes the spread alone: sum_i (s_i - 1)^2 var_i, with no mean term.
    centre = features.mean(axis=0)
    scaled = realism.frechet_terms(features, centre + 3.0 * (features - centre))
    assert scaled["mean_term"] == pytest.approx(0.0, abs=1e-12)
    assert scaled["covariance_term"] == pytest.approx(4.0 * np.trace(np.cov(features, rowvar=False)), rel=1e-6)
    other = rng.normal(loc=0.3, scale=1.5, size=(300, 5))
    assert sum(realism.frechet_terms(features, other).values()) == pytest.approx(
        realism.frechet_distance(features, other), rel=1e-10)


def test_frechet_of_known_gaussians_matches_the_closed_form():
    # Diagonal covariances: trace term = sum (sqrt(a) - sqrt(b))^2.
    a, b = np.array([1.0, 4.0, 9.0]), np.array([4.0, 1.0, 9.0])
    mean_a, mean_b = np.zeros(3), np.array([1.0, 0.0, 0.0])
    expected = 1.0 + np.sum((np.sqrt(a) - np.sqrt(b)) ** 2)  # 1 + 1 + 1 + 0
    value = realism.frechet_distance_of_statistics(mean_a, np.diag(a), mean_b, np.diag(b))
    assert value == pytest.approx(expected, rel=1e-10) and expected == 3.0


def test_frechet_survives_singular_covariances_and_is_symmetric():
    rng = np.random.default_rng(2)
    few = rng.standard_normal((5, 20))  # 5 samples in 20 dimensions: rank-4 covariances
    other = rng.standard_normal((5, 20)) + 0.5
    forward, backward = realism.frechet_distance(few, other), realism.frechet_distance(other, few)
    assert np.isfinite(forward) and forward > 0
    assert forward == pytest.approx(backward, rel=1e-4)


def test_frechet_rejects_bad_features():
    with pytest.raises(ValueError, match="at least 2 feature vectors"):
        realism.frechet_distance(np.zeros((1, 3)), np.zeros((4, 3)))
    with pytest.raises(ValueError, match="NaN"):
        realism.frechet_distance(np.full((3, 2), np.nan), np.zeros((4, 2)))
    with pytest.raises(ValueError, match="different sizes"):
        realism.frechet_distance(np.zeros((3, 2)), np.zeros((4, 3)))


# -- identity --------------------------------------------------------------------------------------

def _clusters(people=4, per_person=3, dimensions=8, spread=0.05, seed=0):
    """Embeddings of ``people`` well separated people (near orthogonal centres), several faces each."""
    rng = np.random.default_rng(seed)
    centres = np.eye(dimensions)[:people]
    identities = np.repeat(np.arange(people) + 10, per_person)
    embeddings = centres[identities - 10] + spread * rng.standard_normal((len(identities), dimensions))
    return identity.normalise_rows(embeddings), identities


def test_paired_cosines_of_known_vectors():
    a = np.array([[1.0, 0.0], [0.0, 2.0], [3.0, 3.0]])
    b = np.array([[5.0, 0.0], [1.0, 0.0], [-1.0, -1.0]])
    np.testing.assert_allclose(identity.paired_cosines(a, b), [1.0, 0.0, -1.0], atol=1e-12)
    with pytest.raises(ValueError, match="differ"):
        identity.paired_cosines(a, b[:2])


def test_auc_of_separated_people_is_one_and_of_shuffled_people_about_half():
    originals, identities = _clusters()
    candidates = originals + 0.01
    assert identity.verification_auc(originals, candidates, identities) == 1.0
    rng = np.random.default_rng(3)
    noise = rng.standard_normal((300, 16))
    assert abs(identity.verification_auc(noise, rng.standard_normal((300, 16)), np.arange(300) % 30) - 0.5) < 0.05


def test_auc_matches_sklearn_on_all_pairs_and_honours_exclusions():
    rng = np.random.default_rng(4)
    originals, candidates = rng.standard_normal((12, 5)), rng.standard_normal((12, 5))
    identities = np.arange(12) % 4
    cos = identity.normalise_rows(originals) @ identity.normalise_rows(candidates).T
    same = identities[:, None] == identities[None, :]
    expected = roc_auc_score(same.ravel(), cos.ravel())
    assert identity.verification_auc(originals, candidates, identities) == pytest.approx(expected)
    excluded = np.eye(12, dtype=bool)
    expected_without_diagonal = roc_auc_score(same[~excluded], cos[~excluded])
    assert identity.verification_auc(originals, candidates, identities, excluded) == \
        pytest.approx(expected_without_diagonal)
    assert identity.verification_auc(originals, candidates, np.zeros(12)) is None  # one class only


def test_weighted_auc_equals_sklearn_on_the_resampled_pairs_and_counts_ties_half():
    rng = np.random.default_rng(6)
    originals = np.round(rng.standard_normal((15, 3)), 1)  # coarse values: tied cosines
    candidates = np.round(originals + 0.7 * rng.standard_normal((15, 3)), 1)
    identities = np.arange(15) % 5
    excluded = rng.random((15, 15)) < 0.1
    pairs = identity._RankedPairs(originals, candidates, identities, excluded)
    draw = rng.integers(0, 15, 15)
    cos = identity.normalise_rows(originals) @ identity.normalise_rows(candidates).T
    grid = np.ix_(draw, draw)
    same, keep = (identities[:, None] == identities[None, :])[grid], ~excluded[grid]
    expected = roc_auc_score(same[keep], cos[grid][keep])
    assert pairs.auc(np.bincount(draw, minlength=15).astype(float)) == pytest.approx(expected, rel=1e-12)
    tied = identity.verification_auc(np.ones((4, 2)), np.ones((4, 2)), np.array([0, 0, 1, 1]))
    assert tied == 0.5


def test_bootstrap_auc_error_is_zero_for_perfect_separation_and_positive_for_noise():
    originals, identities = _clusters(people=5, per_person=4)
    assert identity.bootstrap_auc_standard_error(originals, originals, identities, replicates=20) == pytest.approx(0.0, abs=1e-12)
    rng = np.random.default_rng(5)
    noisy = originals + 0.8 * rng.standard_normal(originals.shape)
    error = identity.bootstrap_auc_standard_error(originals, noisy, identities, replicates=30)
    assert 0.0 < error < 0.2


def test_rank1_on_constructed_embeddings():
    gallery = np.array([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]])
    gallery_people = np.array([7, 8, 9])
    candidates = np.array([[0.9, 0.1, 0.0], [0.0, 0.2, 0.9], [0.1, 0.8, 0.0]])
    hits = identity.rank1_hits(candidates, gallery, np.array([7, 8, 8]), gallery_people)
    np.testing.assert_array_equal(hits, [1.0, 0.0, 1.0])
    # Excluding the nearest entry falls back to the next one.
    excluded = np.zeros((3, 3), bool)
    excluded[0, 0] = True
    hits = identity.rank1_hits(candidates, gallery, np.array([7, 8, 8]), gallery_people, excluded)
    np.testing.assert_array_equal(hits, [0.0, 0.0, 1.0])


def test_same_person_stand_ins_pick_another_face_of_the_same_person():
    identities = np.array([3, 3, 3, 5, 5, 9])
    chosen = identity.same_person_stand_ins(identities, seed=1)
    assert chosen[5] == -1  # the only photo of person 9
    for index in range(5):
        assert chosen[index] != index and identities[chosen[index]] == identities[index]
    np.testing.assert_array_equal(chosen, identity.same_person_stand_ins(identities, seed=1))
    assert {chosen[3], chosen[4]} == {3, 4}


def test_kept_ratio_and_its_delta_method_error():
    reconstruction = np.array([0.8, 0.6, 0.7, 0.9])
    assert identity.kept_ratio(reconstruction, reconstruction) == (1.0, 0.0)
    ratio, error = identity.kept_ratio(0.5 * reconstruction, reconstruction)
    assert ratio == pytest.approx(0.5) and error == pytest.approx(0.0, abs=1e-12)
    edited = np.array([0.4, 0.5, 0.3, 0.6])
    ratio, error = identity.kept_ratio(edited, reconstruction)
    assert ratio == pytest.approx(edited.mean() / reconstruction.mean())
    linear = (edited - ratio * reconstruction) / reconstruction.mean()
    assert error == pytest.approx(np.std(linear, ddof=1) / 2.0)
    assert identity.kept_ratio([], []) == (None, None)


# -- the section, with stand-in judges on real faces ----------------------------------------------

def _pooled(images, size=8):
    """A crude, deterministic 'embedding': mean-free pixels average-pooled to size x size."""
    images = np.asarray(images, np.float64)
    n, h, w, c = images.shape
    pooled = images.reshape(n, size, h // size, size, w // size, c).mean(axis=(2, 4)).reshape(n, -1)
    return pooled - pooled.mean(axis=1, keepdims=True)


def _pixel_judges():
    return Judges(embed=lambda images: identity.normalise_rows(_pooled(images)),
                  features=lambda images: _pooled(images, 4),
                  perceptual_distance=lambda a, b: np.abs(a.astype(float) - b.astype(float)).mean(axis=(1, 2, 3)),
                  names={"identity": "pooled pixels", "features": "pooled pixels", "perceptual": "L1"})


@pytest.fixture(scope="module")
def held_out_faces(celeba_npz):
    """60 held-out faces of 6 people (10 each), with their identities."""
    partition, people = celeba_npz["celeba_partition"], celeba_npz["identities"]
    chosen = np.unique(people[partition != 0])[:6]
    rows = np.concatenate([np.flatnonzero((people == person) & (partition != 0))[:10] for person in chosen])
    return celeba_npz["images"][rows], people[rows]


def test_a_perfect_reconstruction_scores_perfectly_and_the_real_photo_row_is_built(held_out_faces):
    faces, people = held_out_faces
    rng = np.random.default_rng(0)
    noise = rng.integers(0, 256, size=faces.shape, dtype=np.uint8)
    candidates = {"model": Candidate("perfect", faces.copy(), fitted_samples=noise, prior_samples=faces[::-1].copy(),
                                     edits={"Smiling": (np.arange(5), faces[:5].copy())})}
    section, per_face = evaluate_identity_realism(_pixel_judges(), faces, people, candidates, seed=0, replicates=10)
    model = section["rows"]["model"]
    assert model["identity_cosine"]["mean"] == pytest.approx(1.0) and model["rank1"]["mean"] == 1.0
    assert model["lpips"]["mean"] == 0.0 and model["ffd_x100"]["reconstructions"] == pytest.approx(0.0, abs=1e-6)
    assert model["ffd_x100"]["prior_samples"] == pytest.approx(0.0, abs=1e-6)  # the same faces, reordered
    assert model["ffd_x100"]["fitted_samples"] > 10 and model["vgg_frechet"]["fitted_samples"] > 1
    noise_terms = model["ffd_x100_terms"]["fitted_samples"]
    assert sum(noise_terms.values()) == pytest.approx(model["ffd_x100"]["fitted_samples"])
    assert noise_terms["mean_term"] > 0 and noise_terms["covariance_term"] > 0
    assert model["verification_auc"] > 0.5
    edit = section["edits"]["model"]["Smiling"]
    assert edit["kept_ratio"] == pytest.approx(1.0) and edit["num_faces"] == 5
    real = section["rows"]["real_photos"]
    assert real["num_faces"] == 60 and 0 < real["identity_cosine"]["mean"] < 1 and real["lpips"]["mean"] > 0
    assert real["ffd_x100"]["fitted_samples"] is None
    assert set(per_face["model"]) == {"identity_cosine", "rank1", "lpips", "psnr"}
    assert per_face["model"]["identity_cosine"].shape == (60,)


def test_real_photos_of_other_people_fill_the_real_photo_rows_sample_column(held_out_faces, celeba_npz):
    faces, people = held_out_faces
    training = celeba_npz["images"][celeba_npz["celeba_partition"] == 0][:60]
    section, _ = evaluate_identity_realism(_pixel_judges(), faces, people, {}, seed=0, replicates=5,
                                           other_people=training)
    real = section["rows"]["real_photos"]
    expected = 100 * frechet_distance(_pixel_judges().embed(training), _pixel_judges().embed(faces))
    assert real["ffd_x100"]["fitted_samples"] == pytest.approx(expected)
    assert sum(real["ffd_x100_terms"]["fitted_samples"].values()) == pytest.approx(expected)
    assert sum(real["ffd_x100_terms"]["reconstructions"].values()) == pytest.approx(real["ffd_x100"]["reconstructions"])
    assert real["ffd_x100"]["fitted_samples"] > 0 and real["vgg_frechet"]["fitted_samples"] > 0
    assert real["ffd_x100"]["prior_samples"] is None
    assert any("60 real photos of other people" in note for note in section["notes"])
    # The same faces as the held-out set score 0: the column measures distance between the two sets.
    same, _ = evaluate_identity_realism(_pixel_judges(), faces, people, {}, seed=0, replicates=5,
                                        other_people=faces[::-1].copy())
    assert same["rows"]["real_photos"]["ffd_x100"]["fitted_samples"] == pytest.approx(0.0, abs=1e-6)


def test_the_real_photo_row_leaves_out_the_stand_in_itself(held_out_faces):
    faces, people = held_out_faces
    # One-hot 'embeddings' per photo: only the very same photo matches, so any identity signal in the
    # real-photo row could only come from pairing a photo with itself, which must be left out.
    index = {face.tobytes(): i for i, face in enumerate(faces)}

    def one_hot(images):
        return np.eye(len(faces))[[index[image.tobytes()] for image in images]]

    judges = Judges(embed=one_hot, features=lambda images: _pooled(images, 4),
                    perceptual_distance=lambda a, b: np.zeros(len(a)), names=_pixel_judges().names)
    section, _ = evaluate_identity_realism(judges, faces, people, {}, seed=0, replicates=5)
    real = section["rows"]["real_photos"]
    assert real["verification_auc"] == pytest.approx(0.5)  # every remaining pair scores 0
    assert real["identity_cosine"]["mean"] == 0.0
    assert real["rank1"]["mean"] < 0.5  # ties go to the first gallery face, one person of six


def test_without_identities_only_the_pairwise_metrics_are_measured(held_out_faces):
    faces, _ = held_out_faces
    section, per_face = evaluate_identity_realism(_pixel_judges(), faces, None,
                                                  {"model": Candidate("model", faces[::-1].copy())}, replicates=5)
    assert set(section["rows"]) == {"model"} and "rank1" not in per_face["model"]
    assert section["rows"]["model"]["verification_auc"] is None and "no person" in section["notes"][0]


# -- with the real judging networks (fetched on first use, cached in ~/.cache/facenet_vae) -------------

def _blurred(faces, size=12):
    import tensorflow as tf
    small = tf.image.resize(tf.constant(faces, tf.float32), (size, size), antialias=True)
    return np.clip(np.round(tf.image.resize(small, faces.shape[1:3]).numpy()), 0, 255).astype(np.uint8)


def test_the_pretrained_judges_rank_a_perfect_a_blurred_and_another_photo(held_out_faces):
    from facenet_vae.evaluation.judges import load_judges
    faces, people = held_out_faces
    candidates = {"perfect": Candidate("perfect", faces.copy()), "blurred": Candidate("blurred", _blurred(faces))}
    section, _ = evaluate_identity_realism(load_judges(), faces, people, candidates, seed=0, replicates=20)
    perfect, blurred, real = (section["rows"][key] for key in ("perfect", "blurred", "real_photos"))
    assert section["networks"]["identity"] == "facenet-casia"
    assert perfect["identity_cosine"]["mean"] == pytest.approx(1.0, abs=1e-5)
    assert perfect["lpips"]["mean"] == pytest.approx(0.0, abs=1e-6) and perfect["rank1"]["mean"] == 1.0
    assert perfect["ffd_x100"]["reconstructions"] == pytest.approx(0.0, abs=1e-3)
    # facenet-casia tells these six people apart from one photo to another ...
    assert real["verification_auc"] > 0.85 and real["verification_auc_standard_error"] < 0.05
    # ... and a 12-px blur loses identity, perceptual similarity and realism.
    assert blurred["identity_cosine"]["mean"] < 0.9 and blurred["verification_auc"] < perfect["verification_auc"]
    assert blurred["lpips"]["mean"] > 0.1
    assert blurred["ffd_x100"]["reconstructions"] > 1.0 and blurred["vgg_frechet"]["reconstructions"] > 1.0
