"""Report figures as PNG files (matplotlib, Agg backend): image grids, latent PCA, attribute bars, KL."""

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402  (the backend must be chosen first)
import numpy as np  # noqa: E402
from sklearn.decomposition import PCA  # noqa: E402

from facenet_vae.atomic_files import atomic_path  # noqa: E402
from facenet_vae.evaluation.attribute_prediction import single_threaded_blas  # noqa: E402
from facenet_vae.image_grid import put_images_on_grid  # noqa: E402


def _save(figure, path):
    try:
        with atomic_path(path, suffix=".png") as tmp:
            figure.savefig(tmp, dpi=100, bbox_inches="tight")
    finally:
        plt.close(figure)
    return path


def _image_figure(grid, title):
    height, width = grid.shape[:2]
    figure = plt.figure(figsize=(max(width / 60.0, 3.0), max(height / 60.0, 1.0) + 0.4))
    axes = figure.add_axes([0, 0, 1, 0.92])
    axes.imshow(grid, interpolation="nearest")
    axes.set_axis_off()
    figure.suptitle(title, fontsize=10)
    return figure


def reconstructions_figure(path, images, reconstructions, columns=8,
                           title="Held-out faces (odd rows) and reconstructions"):
    """Write rows of originals, each followed by a row of their reconstructions; returns ``path``."""
    images, reconstructions = np.asarray(images, np.uint8), np.asarray(reconstructions, np.uint8)
    count = len(images) - len(images) % columns if len(images) >= columns else len(images)
    columns = min(columns, max(count, 1))
    rows = []
    for start in range(0, count, columns):
        rows += [images[start:start + columns], reconstructions[start:start + columns]]
    tiles = np.concatenate(rows) if rows else images[:0]
    grid = put_images_on_grid(tiles, shape=(columns, len(rows)))
    return _save(_image_figure(grid, title), path)


def image_grid_figure(path, images, title, columns=8):
    """Write ``images`` (N, h, w, 3 uint8) as a grid with a title; returns ``path``."""
    images = np.asarray(images, np.uint8)
    columns = min(columns, len(images))
    rows = int(np.ceil(len(images) / columns))
    return _save(_image_figure(put_images_on_grid(images, shape=(columns, rows)), title), path)


def latent_pca_figure(path, latent, labels=None, attribute_name=None, seed=0):
    """Write a 2-D PCA scatter of latent means, coloured by an attribute's {-1, 1} labels; returns ``path``."""
    latent = np.asarray(latent, np.float64)
    if latent.shape[1] >= 2 and len(latent) >= 2:
        with single_threaded_blas():
            points = PCA(n_components=2, random_state=seed).fit(latent).transform(latent)
    else:
        points = np.zeros((len(latent), 2))
        points[:, :latent.shape[1]] = latent[:, :2]
    figure, axes = plt.subplots(figsize=(6, 5))
    if labels is None:
        axes.scatter(points[:, 0], points[:, 1], s=6, alpha=0.6, color="tab:gray")
        axes.set_title("Latent means, first two principal components")
    else:
        labels = np.asarray(labels)
        for value, color, text in ((-1, "tab:blue", "not "), (1, "tab:orange", "")):
            mask = labels == value
            axes.scatter(points[mask, 0], points[mask, 1], s=6, alpha=0.6, color=color,
                         label=f"{text}{attribute_name} ({int(mask.sum())})")
        axes.legend(loc="best", fontsize=8)
        axes.set_title(f"Latent means, first two principal components, coloured by {attribute_name}")
    axes.set_xlabel("PC 1")
    axes.set_ylabel("PC 2")
    return _save(figure, path)


def attribute_accuracy_figure(path, per_attribute):
    """Write a bar chart of per-attribute held-out accuracy: latent vs majority vs PCA pixels; returns ``path``."""
    names = list(per_attribute)
    series = [("latent code", "accuracy", "tab:orange"), ("majority class", "majority", "tab:gray"),
              ("PCA of pixels", "pca_pixels", "tab:blue")]
    series = [s for s in series if all(per_attribute[n][s[1]] is not None for n in names)]
    width = 0.8 / len(series)
    figure, axes = plt.subplots(figsize=(max(8.0, 0.35 * len(names) + 2), 5))
    positions = np.arange(len(names))
    for offset, (label, key, color) in enumerate(series):
        values = [per_attribute[n][key] for n in names]
        axes.bar(positions + (offset - (len(series) - 1) / 2) * width, values, width, label=label, color=color)
    axes.set_xticks(positions)
    axes.set_xticklabels(names, rotation=90, fontsize=7)
    axes.set_ylim(0.0, 1.0)
    axes.set_ylabel("held-out accuracy")
    axes.set_title("Attribute prediction with a linear classifier")
    axes.legend(loc="lower right", fontsize=8)
    return _save(figure, path)


def kl_figure(path, kl_per_dimension, threshold=0.01):
    """Write the per-dimension KL, sorted in decreasing order, on a log axis; returns ``path``."""
    kl = np.sort(np.asarray(kl_per_dimension, np.float64))[::-1]
    figure, axes = plt.subplots(figsize=(7, 4))
    axes.bar(np.arange(len(kl)), np.maximum(kl, 1e-6), color="tab:green")
    axes.axhline(threshold, color="black", linestyle="--", linewidth=1, label=f"active threshold {threshold}")
    axes.set_yscale("log")
    axes.set_xlabel("latent dimension (sorted)")
    axes.set_ylabel("mean KL to N(0, 1) (nats)")
    axes.set_title("KL per latent dimension on the held-out split")
    axes.legend(fontsize=8)
    return _save(figure, path)
