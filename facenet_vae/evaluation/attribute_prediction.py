"""Attribute prediction from the latent code, as in the DFC-VAE paper's table.

One linear classifier (standardised inputs + logistic regression) per attribute, trained on the
training split and scored on the held-out split, beside two baselines: the training split's
majority class, and the same classifier on principal components of the raw pixels.
Labels are CelebA's {-1, 1}.
"""
import warnings

import numpy as np
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression
from sklearn.preprocessing import StandardScaler
from threadpoolctl import threadpool_limits

from facenet_vae.evaluation.config import DEFAULT_PCA_COMPONENTS
from facenet_vae.evaluation.metrics import standard_error
from facenet_vae.evaluation.pixel_pca import PixelPca


def single_threaded_blas():
    """Return a context manager limiting BLAS to one thread (threadpoolctl, a scikit-learn dependency).

    These matrices are small; OpenBLAS' spinning worker threads, competing with TensorFlow's for
    a few cores, made QR and L-BFGS steps over ten times slower than one thread.
    """
    return threadpool_limits(limits=1, user_api="blas")


def _check_labels(labels):
    labels = np.asarray(labels)
    if labels.ndim == 1:
        labels = labels[:, None]
    if labels.ndim != 2:
        raise ValueError(f"expected labels of shape (N, A), got {labels.shape}")
    bad = ~np.isin(labels, (-1, 1))
    if bad.any():
        raise ValueError(f"attribute labels must be -1 or 1, found {np.unique(labels[bad])[:5]}")
    return labels.astype(np.int8)


def majority_labels(train_labels):
    """Return the majority class (+1 or -1, ties -> -1) of each attribute column of the training labels."""
    train_labels = _check_labels(train_labels)
    return np.where(np.sum(train_labels == 1, axis=0) > np.sum(train_labels == -1, axis=0), 1, -1).astype(np.int8)


def majority_baseline(train_labels, test_labels):
    """Return per-attribute accuracy (float64, shape (A,)) of predicting the training majority on the test labels."""
    majority = majority_labels(train_labels)
    test_labels = _check_labels(test_labels)
    return np.mean(test_labels == majority[None, :], axis=0)


class LinearAttributeClassifiers:
    """Per-attribute logistic regressions on standardised features; attributes constant in training predict it.

    ``predict(features)`` returns (N, A) int8 labels in {-1, 1}.
    """

    def __init__(self, regularization=1.0, max_iter=2000, seed=0):
        self.regularization = regularization
        self.max_iter = max_iter
        self.seed = seed
        self.scaler = None
        self.models = []
        self.constants = []
        self.convergence_warnings = 0

    def fit(self, features, labels, on_column=None):
        """Fit one classifier per label column, calling ``on_column()`` after each (for progress); returns self."""

        features = np.asarray(features, np.float64)
        labels = _check_labels(labels)
        if len(features) != len(labels):
            raise ValueError(f"{len(features)} feature rows but {len(labels)} label rows")
        self.scaler = StandardScaler().fit(features)
        scaled = self.scaler.transform(features)
        self.models, self.constants = [], []
        for column in labels.T:
            values = np.unique(column)
            if len(values) == 1:
                self.models.append(None)
                self.constants.append(int(values[0]))
                if on_column:
                    on_column()
                continue
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always", ConvergenceWarning)
                model = LogisticRegression(C=self.regularization, max_iter=self.max_iter,
                                           random_state=self.seed).fit(scaled, column)
            self.convergence_warnings += sum(issubclass(w.category, ConvergenceWarning) for w in caught)
            self.models.append(model)
            self.constants.append(None)
            if on_column:
                on_column()
        return self

    @property
    def constant_columns(self):
        """Return the indices of the attributes that were constant in the training labels."""
        return [i for i, value in enumerate(self.constants) if value is not None]

    def predict(self, features):
        """Return (N, A) int8 predicted labels in {-1, 1}."""
        if self.scaler is None:
            raise RuntimeError("fit the classifiers first")
        scaled = self.scaler.transform(np.asarray(features, np.float64))
        out = np.empty((len(scaled), len(self.models)), np.int8)
        for index, (model, constant) in enumerate(zip(self.models, self.constants)):
            out[:, index] = constant if model is None else model.predict(scaled)
        return out

    def accuracy(self, features, labels):
        """Return per-attribute accuracy (float64, shape (A,)) on ``features`` against ``labels``."""
        return np.mean(self.predict(features) == _check_labels(labels), axis=0)

    def face_accuracy(self, features, labels):
        """Return each face's fraction of attributes predicted right (float64, shape (N,)).

        Its mean is the mean of ``accuracy``; two models scored on the same faces can be compared
        face by face (a paired difference) with it.
        """
        return np.mean(self.predict(features) == _check_labels(labels), axis=1)


def pca_pixel_features(train_pixels, test_pixels, num_components=DEFAULT_PCA_COMPONENTS, seed=0, pixel_pca=None):
    """Return ``(train_features, test_features, num_components_used)``: PCA (fit on training pixels) projections.

    Pixels are flattened and scaled to 0..1; the component count is capped by the training-set size
    and the pixel count. ``pixel_pca``: a ``PixelPca`` fitted on ``train_pixels`` already, reused.
    """
    pixel_pca = pixel_pca or PixelPca(train_pixels, num_components, seed)
    return pixel_pca.train_features, pixel_pca.transform(test_pixels), pixel_pca.components


def evaluate_attribute_prediction(train_latent, train_labels, test_latent, test_labels, names,
                                  train_pixels=None, test_pixels=None, pca_components=DEFAULT_PCA_COMPONENTS,
                                  seed=0, on_classifier=None, pixel_pca=None):
    """Return ``(section, latent_classifiers)``: the report section dict and the fitted latent classifiers.

    ``pixel_pca``: the ``PixelPca`` of ``train_pixels`` when the caller fitted it already.
    ``on_classifier()`` is called after each classifier is fitted (one per attribute on the latent
    means, then one per attribute on the pixels' principal components), for progress output.

    The section holds ``mean_accuracy`` (latent) and its standard error over the held-out faces
    (``mean_accuracy_standard_error``: the spread of each face's fraction of attributes right, so
    differences between models smaller than about twice it are within sampling noise),
    ``majority_baseline``, ``pca_pixels_baseline``
    (None without pixels), ``per_attribute`` (name -> {accuracy, majority, pca_pixels}) and
    ``constant_in_training`` (attributes predicted as their constant training value).
    """
    train_labels = _check_labels(train_labels)
    test_labels = _check_labels(test_labels)
    names = [str(n) for n in names]
    if len(names) != train_labels.shape[1] or test_labels.shape[1] != train_labels.shape[1]:
        raise ValueError(f"{len(names)} attribute names for {train_labels.shape[1]} training and "
                         f"{test_labels.shape[1]} held-out label columns")
    with single_threaded_blas():
        classifiers = LinearAttributeClassifiers(seed=seed).fit(train_latent, train_labels, on_classifier)
        latent_accuracy = classifiers.accuracy(test_latent, test_labels)
        face_accuracy = classifiers.face_accuracy(test_latent, test_labels)
        majority = majority_baseline(train_labels, test_labels)
        pca_accuracy, components_used, pca_warnings = None, None, 0
        if train_pixels is not None and test_pixels is not None:
            train_pca, test_pca, components_used = pca_pixel_features(
                train_pixels, test_pixels, pca_components, seed, pixel_pca)
            pca_classifiers = LinearAttributeClassifiers(seed=seed).fit(train_pca, train_labels, on_classifier)
            pca_accuracy = pca_classifiers.accuracy(test_pca, test_labels)
            pca_warnings = pca_classifiers.convergence_warnings
    per_attribute = {}
    for index, name in enumerate(names):
        per_attribute[name] = {
            "accuracy": float(latent_accuracy[index]),
            "majority": float(majority[index]),
            "pca_pixels": None if pca_accuracy is None else float(pca_accuracy[index]),
            "positive_rate_train": float(np.mean(train_labels[:, index] == 1)),
            "positive_rate_held_out": float(np.mean(test_labels[:, index] == 1)),
        }
    section = {
        "classifier": "StandardScaler + LogisticRegression(C=1.0), one per attribute (scikit-learn)",
        "num_attributes": len(names),
        "num_train": int(len(train_labels)),
        "num_held_out": int(len(test_labels)),
        "mean_accuracy": float(np.mean(latent_accuracy)),
        "mean_accuracy_standard_error": standard_error(face_accuracy),
        "majority_baseline": float(np.mean(majority)),
        "pca_pixels_baseline": None if pca_accuracy is None else float(np.mean(pca_accuracy)),
        "pca_components": components_used,
        "constant_in_training": [names[i] for i in classifiers.constant_columns],
        "convergence_warnings": int(classifiers.convergence_warnings + pca_warnings),
        "per_attribute": per_attribute,
    }
    return section, classifiers
