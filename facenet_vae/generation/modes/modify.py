"""``--mode=modify`` (facenet's modify_attribute.py): faces with an attribute vector added in k steps.

The grid has one row per face: the original (the photo, or the decoded latent of a vectors-file
row) and then the face decoded from ``z + k * vector`` for each k, each captioned with its k.
"""
import json
import os
import warnings

import numpy as np
from absl import logging

from facenet_vae.generation.attribute_vectors import (ThinAttributeWarning, read_attribute_vectors_file,
                                                      thin_attribute_message)
from facenet_vae.generation.face_sets import load_images
from facenet_vae.image_grid import put_images_on_grid, write_png
from facenet_vae.generation.latent_maths import facenet_sweep, k_sweep, modify_latents
from facenet_vae.generation.options import OptionError
from facenet_vae.generation.paths import attribute_vectors_file_of


def default_image_rows(vectors, attribute, num_images, k_max):
    """Return facenet's choice of rows to edit: the first ``num_images`` rows lacking the attribute
    (having it when the sweep removes it, ``k_max <= 0``)."""
    column = vectors.attributes[:, vectors.index(attribute)]
    wanted = 1 if k_max <= 0 else -1
    rows = np.flatnonzero(column == wanted)[:num_images]
    if not len(rows):
        raise ValueError(f"no image in {vectors.path} {'has' if wanted == 1 else 'lacks'} attribute "
                         f"{vectors.fields[vectors.index(attribute)]!r}; pass --image_indices")
    return rows


def rows_of(vectors, indices):
    """Return the latent vectors of rows of an attribute vectors file, given as row numbers or file names."""
    rows, bad = [], []
    filenames = vectors.filenames or []
    for item in indices:
        text = str(item).strip()
        if text.lstrip("-").isdigit():
            row = int(text)
            if not 0 <= row < len(vectors.latent_vars):
                bad.append(row)
            rows.append(row)
        elif text in filenames:
            rows.append(filenames.index(text))
        else:
            raise ValueError(f"--image_indices entry {text!r} is neither a row number nor a file name listed "
                             f"in {vectors.path}")
    if bad:
        raise ValueError(f"--image_indices {bad} out of range: {vectors.path} has {len(vectors.latent_vars)} rows")
    return vectors.latent_vars[rows]


def k_caption(k):
    """Return the caption of a face edited by ``k`` (``k=-1.5``, ``k=0``)."""
    return f"k={float(k):g}"


def modify_attribute(vae, vectors, attribute, output_dir, latents, ks, originals=None):
    """Decode ``latents[i] + k * vector(attribute)`` for each k; write ``modified_<Attribute>.png``.

    Rows of the grid are the faces: first the original (``originals[i]``, uint8 photos at the model's
    size, or the decoded latent when None), then one column per k, each face captioned. The captions
    are also stored in the PNG's text chunk ``captions`` (JSON). Returns ``[path]``.
    """
    if vectors.latent_var_size != vae.latent_var_size:
        raise ValueError(f"attribute vectors file {vectors.path} has latent size {vectors.latent_var_size}, but "
                         f"the model has latent size {vae.latent_var_size}")
    index = vectors.index(attribute)
    name = vectors.fields[index]
    with_count, without_count = (int(count) for count in vectors.face_counts[index])
    thin = thin_attribute_message(name, with_count, without_count)
    if thin:
        warnings.warn(f"{thin} ({vectors.path})", ThinAttributeWarning, stacklevel=2)
    latents = np.asarray(latents, np.float32)
    edited = modify_latents(latents, vectors.vector(index), ks)
    pixels = vae.decode_to_pixels(edited.reshape(-1, vae.latent_var_size))
    pixels = pixels.reshape((len(latents), len(ks)) + pixels.shape[1:])
    first = np.asarray(originals, np.uint8) if originals is not None else vae.decode_to_pixels(latents)
    rows = np.concatenate([first[:, None], pixels], axis=1)
    column_captions = ["original" if originals is not None else "decoded"] + [k_caption(k) for k in ks]
    grid = put_images_on_grid(rows.reshape((-1,) + rows.shape[2:]), shape=(len(column_captions), len(latents)),
                              captions=column_captions * len(latents))
    path = write_png(os.path.join(output_dir, f"modified_{name}.png"), grid,
                     text={"attribute": name, "captions": json.dumps(column_captions)})
    logging.info("modify: wrote %d faces x %d steps of %s (k = %s) to %s", len(latents), len(ks), name,
                 ", ".join(f"{k:g}" for k in ks), path)
    return [path]


def sweep_of(options):
    """Return the k values ``options`` ask for: both ends included (and k=0 in range), or facenet's sweep."""
    sweep = facenet_sweep if options.facenet_k_sweep else k_sweep
    return sweep(options.k_min, options.k_max, options.k_steps)


def run(vae, options, output_dir):
    """Run ``--mode=modify``: edit ``--images``, the ``--image_indices`` rows, or facenet's default rows."""
    vectors = read_attribute_vectors_file(attribute_vectors_file_of(options))
    originals = None
    if options.images:
        if options.image_indices:
            raise OptionError("give either --images or --image_indices, not both")
        originals = load_images(options.images, vae)
        latents = vae.encode_pixels(originals, batch_size=options.batch_size)[0]
    elif options.image_indices:
        latents = rows_of(vectors, options.image_indices)
    else:
        latents = vectors.latent_vars[default_image_rows(vectors, options.attribute, options.resolved_num_images(),
                                                         options.k_max)]
    return modify_attribute(vae, vectors, options.attribute, output_dir, latents, sweep_of(options), originals)
