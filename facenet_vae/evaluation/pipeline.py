"""One evaluation run: a loaded VAE and a data set in, ``report.json``, ``report.md`` and figures out."""
import dataclasses
import os
import time
from typing import Optional, Sequence

import numpy as np
from absl import logging

from facenet_vae.data import DATASETS
from facenet_vae.evaluation import attribute_prediction, editing, figures, latent, metrics, report
from facenet_vae.batch_norm_calibration import recalibrate_batch_norm
from facenet_vae.evaluation.data import (is_celeba_download, load_celeba_download, load_image_folder, load_npz,
                                         load_synthetic, load_tfds_celeb_a)

NUM_PRIOR_SAMPLES = 64


@dataclasses.dataclass
class EvaluationConfig:
    """What to evaluate and how; flag names of ``python -m facenet_vae.evaluate``."""
    model: Optional[str] = None           # None: the model shipped in checkpoints/celeba64
    data_dir: Optional[str] = None
    dataset: Optional[str] = None         # None: npz for a .npz path, else folder
    output_dir: str = "evaluation"
    attributes_file: Optional[str] = None
    partition_file: Optional[str] = None
    edit_attributes: Sequence[str] = ("Smiling",)
    edit_strength: float = editing.DEFAULT_EDIT_STRENGTH
    edit_sweep: Sequence[float] = (0.5, 2.0)
    color_attribute: str = "Smiling"
    pca_components: int = attribute_prediction.DEFAULT_PCA_COMPONENTS
    batch_size: int = 100
    max_train_images: Optional[int] = None
    max_held_out_images: Optional[int] = None
    num_figure_images: int = 32
    recalibrate_batch_norm: bool = False  # re-estimate BN statistics on training images first (short runs)
    seed: int = 0

    def resolved_dataset(self):
        """Return the data set kind, inferred from ``data_dir`` when ``dataset`` is unset."""
        if self.dataset:
            return self.dataset
        return "npz" if str(self.data_dir).endswith(".npz") else "folder"

    def validate(self):
        """Raise ValueError for values the run cannot use; returns self."""
        if not self.data_dir and self.resolved_dataset() != "synthetic":
            raise ValueError("--data_dir is required (or --dataset=synthetic)")
        if self.resolved_dataset() not in DATASETS:
            raise ValueError(f"--dataset must be one of {', '.join(DATASETS)}; got {self.dataset!r}")
        if not np.isfinite(self.edit_strength) or not all(np.isfinite(float(k)) for k in self.edit_sweep):
            raise ValueError(f"--edit_strength and --edit_sweep must be finite, got {self.edit_strength}, "
                             f"{list(self.edit_sweep)}")
        for name in ("pca_components", "batch_size", "num_figure_images"):
            if int(getattr(self, name)) <= 0:
                raise ValueError(f"--{name} must be positive, got {getattr(self, name)}")
        for name in ("max_train_images", "max_held_out_images"):
            value = getattr(self, name)
            if value is not None and int(value) <= 0:
                raise ValueError(f"--{name} must be positive, got {value}")
        return self


def load_data(config, framing):
    """Return the EvaluationData the config names, framed as the model was trained (``framing``)."""
    kind = config.resolved_dataset()
    common = dict(seed=config.seed, max_train=config.max_train_images, max_held_out=config.max_held_out_images)
    if kind == "npz":
        return load_npz(config.data_dir, framing, **common)
    if kind == "synthetic":
        return load_synthetic(framing, **common)
    if kind == "folder":
        return load_image_folder(config.data_dir, framing, config.attributes_file, config.partition_file, **common)
    if kind == "celeb_a" and not is_celeba_download(config.data_dir):
        return load_tfds_celeb_a(config.data_dir, framing, config.max_train_images, config.max_held_out_images)
    return load_celeba_download(config.data_dir, framing, config.attributes_file, config.partition_file, **common)


def _attribute_index(names, name, flag):
    if name not in names:
        raise ValueError(f"{flag}={name!r} is not an attribute of the data; the attributes are {', '.join(names)}")
    return names.index(name)


def _figure_subset(count, limit, seed):
    if count <= limit:
        return np.arange(count)
    return np.sort(np.random.default_rng(seed).choice(count, size=limit, replace=False))


def run_evaluation(config, vae=None):
    """Evaluate the model; writes report.json, report.md and PNG figures to ``output_dir``; returns the report dict.

    ``vae`` is a ``facenet_vae.generation.LoadedVae``; by default ``load_vae(config.model)``.
    """
    config.validate()
    started = time.perf_counter()
    if vae is None:
        from facenet_vae.generation.loading import load_vae
        vae = load_vae(config.model)
    data = load_data(config, vae.framing)
    names = data.attribute_names if data.has_attributes else None
    if names is not None:
        edit_indices = [_attribute_index(names, n, "--edit_attributes") for n in config.edit_attributes]
        color_index = _attribute_index(names, config.color_attribute, "--color_attribute")
    output_dir = os.path.expanduser(config.output_dir)
    os.makedirs(output_dir, exist_ok=True)
    batch = config.batch_size
    logging.info("evaluating %s on %s: %d training, %d held-out images", vae.source, data.description,
                 len(data.train_images), len(data.held_out_images))

    notes = []
    stored_bn_reconstruction = None
    if config.recalibrate_batch_norm:
        if vae.keras_model is None:
            raise ValueError(f"--recalibrate_batch_norm needs a Keras model (run folder or .keras file), but "
                             f"{vae.source}")
        if len(data.train_images) == 0:
            raise ValueError("--recalibrate_batch_norm needs training images")
        stored_bn_reconstruction = metrics.reconstruction_metrics(
            data.held_out_images, vae.reconstruct_pixels(data.held_out_images, batch_size=batch))
        used = recalibrate_batch_norm(vae.keras_model, data.train_images, batch_size=batch, seed=config.seed)
        notes.append(f"batch-norm moving statistics were re-estimated on {used} training images before "
                     f"evaluating (--recalibrate_batch_norm); reconstruction with the stored statistics is "
                     f"under reconstruction_stored_batch_norm")
    held_mean, held_log_var = vae.encode_pixels(data.held_out_images, batch_size=batch)
    reconstructions = vae.decode_to_pixels(held_mean, batch_size=batch)
    result = {
        "model": {"source": vae.source, "vae_def": vae.vae_def, "latent_var_size": vae.latent_var_size,
                  "image_size": vae.image_size},
        "data": {"description": data.description, "kind": config.resolved_dataset(), "split": data.split,
                 "counts": {"train": int(len(data.train_images)), "held_out": int(len(data.held_out_images))},
                 "has_attributes": bool(data.has_attributes), "resized": bool(data.resized),
                 "original_sizes": [list(s) for s in data.original_sizes],
                 "resize_note": data.resize_note(vae.image_size), "notes": list(data.notes)},
        "reconstruction": metrics.reconstruction_metrics(data.held_out_images, reconstructions),
        "latent": latent.latent_summary(held_mean, held_log_var),
        "figures": {},
        "notes": notes,
    }
    if stored_bn_reconstruction is not None:
        result["reconstruction_stored_batch_norm"] = stored_bn_reconstruction
    result["reconstruction"]["method"] = "decode(posterior mean); inference-mode batch norm"
    fig = result["figures"]
    show = _figure_subset(len(data.held_out_images), config.num_figure_images, config.seed)
    fig["reconstructions"] = os.path.basename(figures.reconstructions_figure(
        os.path.join(output_dir, "reconstructions.png"), data.held_out_images[show], reconstructions[show]))
    prior = np.random.default_rng(config.seed).standard_normal((NUM_PRIOR_SAMPLES, vae.latent_var_size))
    fig["prior_samples"] = os.path.basename(figures.image_grid_figure(
        os.path.join(output_dir, "prior_samples.png"), vae.decode_to_pixels(prior.astype(np.float32), batch_size=batch),
        "Samples from the prior N(0, I)"))
    fig["kl_per_dimension"] = os.path.basename(figures.kl_figure(
        os.path.join(output_dir, "kl_per_dimension.png"), result["latent"]["kl_per_dimension"],
        result["latent"]["active_units_threshold"]))

    if names is None:
        note = "the data carry no attributes, so attribute prediction and editing were not measured"
        result["attribute_note"] = result["editing_note"] = note[0].upper() + note[1:] + "."
        result["notes"].append(note)
        fig["latent_pca"] = os.path.basename(figures.latent_pca_figure(
            os.path.join(output_dir, "latent_pca.png"), held_mean, seed=config.seed))
    else:
        _attribute_sections(config, vae, data, names, held_mean, edit_indices, color_index, output_dir, result)
    result["evaluation_seconds"] = time.perf_counter() - started
    report.write_json(result, output_dir)
    report.write_markdown(result, output_dir)
    logging.info("wrote %s", os.path.join(output_dir, "report.json"))
    return report.json_safe(result)


def _attribute_sections(config, vae, data, names, held_mean, edit_indices, color_index, output_dir, result):
    fig = result["figures"]
    if len(data.train_images) == 0:
        raise ValueError(f"{data.description} has no training images to fit the attribute classifiers on")
    train_mean, _ = vae.encode_pixels(data.train_images, batch_size=config.batch_size)
    section, classifiers = attribute_prediction.evaluate_attribute_prediction(
        train_mean, data.train_attributes, held_mean, data.held_out_attributes, names,
        train_pixels=data.train_images, test_pixels=data.held_out_images, pca_components=config.pca_components,
        seed=config.seed)
    result["attribute_prediction"] = section
    if section["pca_components"] is not None and section["pca_components"] < config.pca_components:
        result["notes"].append(f"only {section['pca_components']} principal components fit the training split "
                               f"(asked for {config.pca_components})")
    fig["attribute_accuracy"] = os.path.basename(figures.attribute_accuracy_figure(
        os.path.join(output_dir, "attribute_accuracy.png"), section["per_attribute"]))
    fig["latent_pca"] = os.path.basename(figures.latent_pca_figure(
        os.path.join(output_dir, "latent_pca.png"), held_mean, data.held_out_attributes[:, color_index],
        names[color_index], seed=config.seed))

    from facenet_vae.generation.attribute_vectors import attribute_vectors_from_latents
    # From the inference-mode latent means of the training split: the space the classifiers read.
    vectors = attribute_vectors_from_latents(train_mean, data.train_attributes)
    result["editing"] = {}

    def decode(z):
        return vae.decode_to_pixels(np.asarray(z, np.float32))

    def encode(pixels):
        return vae.encode_pixels(pixels)[0]

    for index in edit_indices:
        name = names[index]
        without = np.flatnonzero(data.held_out_attributes[:, index] == -1)
        if not np.all(np.isfinite(vectors[index])):
            result["editing"][name] = {"strength": config.edit_strength, "num_faces": int(len(without)),
                                       "success_rate": None, "others_unchanged": None,
                                       "note": "constant in the training split, so it has no attribute vector"}
            continue
        row = editing.editing_success(held_mean[without], index, vectors[index], classifiers, decode, encode,
                                      strength=config.edit_strength, batch_size=config.batch_size, names=names,
                                      sweep=config.edit_sweep)
        row["attribute_vector_norm"] = float(np.linalg.norm(vectors[index]))
        if len(without):
            shown = without[:8]
            edited = decode(held_mean[shown] + config.edit_strength * vectors[index][None, :])
            tiles = np.concatenate([data.held_out_images[shown], decode(held_mean[shown]), edited])
            row["figure"] = os.path.basename(figures.image_grid_figure(
                os.path.join(output_dir, f"editing_{name}.png"), tiles,
                f"{name}: originals, reconstructions, z + {config.edit_strength:g} * vector", columns=len(shown)))
        result["editing"][name] = row
