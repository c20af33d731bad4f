"""One evaluation run: a loaded VAE and a data set in, ``report.json``, ``report.md`` and figures out.

The configuration is ``facenet_vae.evaluation.config.EvaluationConfig``.
"""
import os
import time
import warnings

import numpy as np
from absl import logging

from facenet_vae.data.sources import open_source
from facenet_vae.generation.attribute_vectors import ThinAttributeWarning, attribute_vectors_from_latents
from facenet_vae.training.batch_norm_calibration import recalibrate_batch_norm
from facenet_vae.evaluation import attribute_prediction, editing, figures, latent, metrics, report
from facenet_vae.evaluation.identity_realism import Candidate, evaluate_identity_realism
from facenet_vae.evaluation.pixel_pca import PixelPca
from facenet_vae.evaluation.progress import Progress
from facenet_vae.generation.latent_distribution import draw_latents, fit_latent_gaussian
from facenet_vae.generation.loading import load_vae

NUM_PRIOR_SAMPLES = 64
PER_FACE_FILE = "per_face.npz"


def load_data(config, framing):
    """Return the ``SplitFaces`` of the source the config names, framed as the model was trained (``framing``)."""
    source = open_source(config.resolved_dataset(), config.data_dir, attributes_file=config.attributes_file,
                         partition_file=config.partition_file)
    return source.split_faces(framing, seed=config.seed, max_train=config.max_train_images,
                              max_held_out=config.max_held_out_images)


def _attribute_index(names, name, flag):
    if name not in names:
        raise ValueError(f"{flag}={name!r} is not an attribute of the data; the attributes are {', '.join(names)}")
    return names.index(name)


def _figure_subset(count, limit, seed):
    if count <= limit:
        return np.arange(count)
    return np.sort(np.random.default_rng(seed).choice(count, size=limit, replace=False))


def _reconstruction_section(config, vae, data, progress):
    """Return ``(held-out means, log-variances, reconstructions, notes, stored-statistics reconstruction or None)``."""
    batch, notes, stored_bn_reconstruction = config.batch_size, [], None
    if config.recalibrate_batch_norm:
        if vae.keras_model is None:
            raise ValueError(f"--recalibrate_batch_norm needs a Keras model (run folder or .keras file), but "
                             f"{vae.source}")
        if len(data.train_images) == 0:
            raise ValueError("--recalibrate_batch_norm needs training images")
        stored = progress.map_batches(vae.reconstruct_pixels, data.held_out_images, batch,
                                      "reconstructing held-out faces with the stored batch-norm statistics")
        stored_bn_reconstruction = metrics.reconstruction_metrics(data.held_out_images, stored)
        progress.stage("re-estimating batch-norm statistics on training images")
        used = recalibrate_batch_norm(vae.keras_model, data.train_images, batch_size=batch, seed=config.seed)
        notes.append(f"batch-norm moving statistics were re-estimated on {used} training images before "
                     f"evaluating (--recalibrate_batch_norm); reconstruction with the stored statistics is "
                     f"under reconstruction_stored_batch_norm")
    held_mean, held_log_var = progress.map_batches(vae.encode_pixels, data.held_out_images, batch,
                                                   f"encoding {len(data.held_out_images)} held-out faces")
    reconstructions = progress.map_batches(vae.decode_to_pixels, held_mean, batch, "decoding their latent means")
    return held_mean, held_log_var, reconstructions, notes, stored_bn_reconstruction


def run_evaluation(config, vae=None, progress=None):
    """Evaluate the model; writes report.json, report.md and PNG figures to ``output_dir``; returns the report dict.

    ``config`` is an ``EvaluationConfig``; ``vae`` a ``LoadedVae`` (default: ``load_vae(config.model)``);
    ``progress`` a ``Progress`` (default: silent).
    """
    config.validate()
    progress = progress or Progress(enabled=False)
    started = time.perf_counter()
    if vae is None:
        progress.stage(f"loading the model {config.model or '(the shipped one)'}")
        vae = load_vae(config.model)
    progress.stage(f"reading faces ({config.resolved_dataset()} {config.data_dir or ''})".replace(" )", ")"))
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

    held_mean, held_log_var, reconstructions, notes, stored_bn_reconstruction = _reconstruction_section(
        config, vae, data, progress)
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
    progress.stage("drawing the reconstruction, prior-sample and KL figures")
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

    classifiers, train_mean, edits = None, None, {}
    pixel_pca = None
    if len(data.train_images) and (names is not None or config.identity_metrics):
        progress.stage(f"fitting {config.pca_components} principal components of the training pixels")
        pixel_pca = PixelPca(data.train_images, config.pca_components, config.seed)
    if names is None:
        note = "the data carry no attributes, so attribute prediction and editing were not measured"
        result["attribute_note"] = result["editing_note"] = note[0].upper() + note[1:] + "."
        result["notes"].append(note)
        fig["latent_pca"] = os.path.basename(figures.latent_pca_figure(
            os.path.join(output_dir, "latent_pca.png"), held_mean, seed=config.seed))
    else:
        train_mean, classifiers = _attribute_prediction_section(config, vae, data, names, held_mean, color_index,
                                                                output_dir, result, progress, pixel_pca)
        edits = _editing_section(config, vae, data, names, held_mean, train_mean, classifiers, edit_indices,
                                 output_dir, result, progress)
    judged = None
    if config.identity_metrics and config.resolved_dataset() == "synthetic":
        result["notes"].append("identity and realism were not measured: the judging networks know real faces only")
    elif config.identity_metrics:
        judged = _identity_realism_section(config, vae, data, reconstructions, train_mean, pixel_pca, edits, result,
                                           progress)
    result["per_face"] = _write_per_face(output_dir, data, reconstructions, held_mean, classifiers, judged)
    result["evaluation_seconds"] = time.perf_counter() - started
    report.write_json(result, output_dir)
    report.write_markdown(result, output_dir)
    logging.info("wrote %s", os.path.join(output_dir, "report.json"))
    return report.json_safe(result)


def _write_per_face(output_dir, data, reconstructions, held_mean, classifiers, judged=None):
    """Write per_face.npz (each held-out face's PSNR and, with attributes, fraction of attributes right).

    With ``judged`` (the model row's per-face identity arrays) it holds identity_cosine, lpips and
    (where the data name people) rank1 too.

    Two reports on the same faces then compare face by face: a paired difference and its standard
    error (bench/quality.py does this for the PyTorch peer). Returns the file's name.
    """
    arrays = {"psnr": metrics.per_image_psnr(data.held_out_images, reconstructions)}
    if classifiers is not None:
        arrays["attribute_accuracy"] = classifiers.face_accuracy(held_mean, data.held_out_attributes)
    for key in ("identity_cosine", "lpips", "rank1"):
        if judged is not None and key in judged:
            arrays[key] = judged[key]
    path = os.path.join(output_dir, PER_FACE_FILE)
    np.savez(path, **arrays)
    return PER_FACE_FILE


def _attribute_prediction_section(config, vae, data, names, held_mean, color_index, output_dir, result, progress,
                                  pixel_pca=None):
    """Fill ``result["attribute_prediction"]`` and its figures; return the training latent means and the classifiers."""
    fig = result["figures"]
    if len(data.train_images) == 0:
        raise ValueError(f"{data.description} has no training images to fit the attribute classifiers on")
    train_mean, _ = progress.map_batches(vae.encode_pixels, data.train_images, config.batch_size,
                                         f"encoding {len(data.train_images)} training faces")
    progress.stage(f"fitting linear classifiers for {len(names)} attributes on latent means and on "
                   f"{config.pca_components} principal components of the pixels")
    section, classifiers = attribute_prediction.evaluate_attribute_prediction(
        train_mean, data.train_attributes, held_mean, data.held_out_attributes, names,
        train_pixels=data.train_images, test_pixels=data.held_out_images, pca_components=config.pca_components,
        seed=config.seed, pixel_pca=pixel_pca)
    result["attribute_prediction"] = section
    if section["pca_components"] is not None and section["pca_components"] < config.pca_components:
        result["notes"].append(f"only {section['pca_components']} principal components fit the training split "
                               f"(asked for {config.pca_components})")
    fig["attribute_accuracy"] = os.path.basename(figures.attribute_accuracy_figure(
        os.path.join(output_dir, "attribute_accuracy.png"), section["per_attribute"]))
    fig["latent_pca"] = os.path.basename(figures.latent_pca_figure(
        os.path.join(output_dir, "latent_pca.png"), held_mean, data.held_out_attributes[:, color_index],
        names[color_index], seed=config.seed))
    return train_mean, classifiers


def _editing_section(config, vae, data, names, held_mean, train_mean, classifiers, edit_indices, output_dir, result,
                     progress):
    """Fill ``result["editing"]``: success of ``z + k * attribute_vector`` per attribute, with a figure each.

    Returns ``{name: (indices of the edited held-out faces, their latents edited at --edit_strength)}``.
    """
    # From the inference-mode latent means of the training split: the space the classifiers read.
    # Thin vectors are not warned about here: the report's tables give every attribute's face counts.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ThinAttributeWarning)
        vectors = attribute_vectors_from_latents(train_mean, data.train_attributes,
                                                 method=config.attribute_vector_method)
    result["editing"], edits = {}, {}

    def decode(z):
        return vae.decode_to_pixels(np.asarray(z, np.float32))

    def encode(pixels):
        return vae.encode_pixels(pixels)[0]

    for index in edit_indices:
        name = names[index]
        without = np.flatnonzero(data.held_out_attributes[:, index] == -1)
        progress.stage(f"editing {name} on {len(without)} held-out faces without it "
                       f"(k = {', '.join(f'{k:g}' for k in [config.edit_strength, *config.edit_sweep])})")
        if not np.all(np.isfinite(vectors[index])):
            result["editing"][name] = {"strength": config.edit_strength, "num_faces": int(len(without)),
                                       "success_rate": None, "others_unchanged": None,
                                       "note": "constant in the training split, so it has no attribute vector"}
            continue
        row = editing.editing_success(held_mean[without], index, vectors[index], classifiers, decode, encode,
                                      strength=config.edit_strength, batch_size=config.batch_size, names=names,
                                      sweep=config.edit_sweep)
        row["attribute_vector_norm"] = float(np.linalg.norm(vectors[index]))
        row["attribute_vector_method"] = config.attribute_vector_method
        edits[name] = (without, held_mean[without] + config.edit_strength * vectors[index][None, :])
        if len(without):
            shown = without[:8]
            edited = decode(held_mean[shown] + config.edit_strength * vectors[index][None, :])
            tiles = np.concatenate([data.held_out_images[shown], decode(held_mean[shown]), edited])
            row["figure"] = os.path.basename(figures.image_grid_figure(
                os.path.join(output_dir, f"editing_{name}.png"), tiles,
                f"{name}: originals, reconstructions, z + {config.edit_strength:g} * vector", columns=len(shown)))
        result["editing"][name] = row
    return edits


def _identity_realism_section(config, vae, data, reconstructions, train_mean, pixel_pca, edits, result, progress):
    """Fill ``result["identity_realism"]`` (the model, PCA of pixels, real photos); return the model's per-face data.

    Samples: as many as held-out faces, from N(0, I) and from a Gaussian fitted to the training
    latent means (``generation.latent_distribution``), seeded by --seed.
    """
    from facenet_vae.evaluation.judges import load_judges  # noqa: PLC0415  (loads TensorFlow networks)
    progress.stage("loading the judging networks (facenet-casia, vgg16-imagenet, lpips-alex)")
    judges = load_judges(config.batch_size)
    batch, count = config.batch_size, len(data.held_out_images)
    if train_mean is None and len(data.train_images):
        train_mean, _ = progress.map_batches(vae.encode_pixels, data.train_images, batch,
                                             f"encoding {len(data.train_images)} training faces")
    fitted = None
    if train_mean is not None and len(train_mean) > vae.latent_var_size:
        gaussian = fit_latent_gaussian(train_mean)
        fitted = progress.map_batches(vae.decode_to_pixels, draw_latents(count, vae.latent_var_size, seed=config.seed,
                                                                         gaussian=gaussian),
                                      batch, f"decoding {count} samples of the Gaussian fitted to training latents")
    else:
        result["notes"].append("too few training faces to fit a Gaussian to their latents: no fitted samples")
    prior = progress.map_batches(vae.decode_to_pixels, draw_latents(count, vae.latent_var_size, seed=config.seed),
                                 batch, f"decoding {count} samples of N(0, I)")
    edited = {name: (indices, vae.decode_to_pixels(np.asarray(latents, np.float32), batch_size=batch))
              for name, (indices, latents) in edits.items() if len(indices)}
    candidates = {"model": Candidate("the model", reconstructions, fitted, prior, edited)}
    if pixel_pca is not None:
        candidates["pca_pixels"] = Candidate(f"PCA-{pixel_pca.components} of the pixels",
                                             pixel_pca.reconstruct(data.held_out_images),
                                             fitted_samples=pixel_pca.sample(count, config.seed))
    other_people = None
    if len(data.train_images) >= 2:
        chosen = np.random.default_rng(config.seed).choice(len(data.train_images), min(count, len(data.train_images)),
                                                           replace=False)
        other_people = data.train_images[np.sort(chosen)]
    section, per_face = evaluate_identity_realism(judges, data.held_out_images, data.held_out_identities,
                                                  candidates, seed=config.seed, progress=progress,
                                                  other_people=other_people)
    section["edit_strength"] = config.edit_strength
    result["identity_realism"] = section
    return per_face["model"]
