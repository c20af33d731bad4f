"""The modes of ``generate.py``: sample, reconstruct, interpolate, attributes, modify, augment, list_attributes,
projector (in ``facenet_vae.projector``).

Each mode is a plain function taking a ``loading.LoadedVae`` (where it needs a model) and explicit
arguments, writes its files with image_grid's helpers and returns the paths it wrote, so tests and
other scripts call them without flags. facenet's ``calculate_attribute_vectors.py`` is the
``attributes`` mode and its ``modify_attribute.py`` the ``modify`` mode.
"""
import dataclasses
import os

import numpy as np
import tensorflow as tf
from absl import logging

from facenet_vae import attributes as attribute_vectors_lib, projector
from facenet_vae.data import celeba, folders, images as image_io
from facenet_vae.data.errors import DataError
from facenet_vae.data.npz_faces import read_npz_faces
from facenet_vae.data.pipeline import DATASETS
from facenet_vae.data.tfds_celeb_a import open_celeb_a
from facenet_vae.image_grid import put_images_on_grid, write_png
from facenet_vae.run_folder import is_run_folder

MODES = ("sample", "reconstruct", "interpolate", "attributes", "modify", "augment", "list_attributes", "projector")
INTERPOLATIONS = ("linear", "spherical", "both")


# -- paths and images ---------------------------------------------------------------------------------

def default_output_dir(model_path):
    """Return ``<run folder>/generated`` when ``model_path`` is (or sits in) a run folder, else ``./generated``."""
    if model_path:
        path = os.path.normpath(os.path.expanduser(os.fspath(model_path)))
        for candidate in (path, os.path.dirname(path)):
            if candidate and os.path.isdir(candidate) and is_run_folder(candidate):
                return os.path.join(candidate, "generated")
    return os.path.abspath("generated")


def _bad_file_error(paths, what="image"):
    _, bad = image_io.scan_images(paths, progress=False)
    if not bad:
        return None
    listing = "; ".join(f"{path}: {reason}" for path, reason in bad[:5])
    more = f" (and {len(bad) - 5} more)" if len(bad) > 5 else ""
    return DataError(f"{len(bad)} unreadable {what} file(s): {listing}{more}")


def load_images(paths, vae):
    """Return uint8 faces (N, S, S, 3) of image files, framed as ``vae``'s training faces were (``vae.read_faces``).

    Raises DataError naming the missing files, or every file that cannot be decoded.
    """
    paths = [os.path.expanduser(os.fspath(p)) for p in paths]
    if not paths:
        raise DataError("no images given")
    missing = [p for p in paths if not os.path.isfile(p)]
    if missing:
        raise DataError(f"image file(s) not found: {', '.join(missing[:5])}"
                        f"{' ...' if len(missing) > 5 else ''}")
    pixels, kept = vae.read_faces(paths)
    if len(kept) < len(paths):
        first_undecoded = paths[min(set(range(len(paths))) - set(kept.tolist()))]
        raise _bad_file_error(paths) or DataError(f"cannot decode image {first_undecoded}")
    return pixels


def image_batches(paths, framing, batch_size):
    """Return a tf.data Dataset of uint8 face batches read from ``paths`` in order, framed by ``framing``."""
    def load(path):
        return framing.frame(image_io.read_image(path))
    dataset = tf.data.Dataset.from_tensor_slices([os.fspath(p) for p in paths])
    return dataset.map(load, num_parallel_calls=tf.data.AUTOTUNE).batch(batch_size).prefetch(2)


def image_paths(data_dir, attributes_file=None):
    """Return the image paths of a folder tree or flat folder (sorted), or of the rows of a CelebA list.

    With ``attributes_file`` the images are the file's rows found in ``data_dir``, in file order.
    """
    if not data_dir:
        raise DataError("no images: pass --data_dir (a face folder, flat or one sub-folder per identity)")
    if attributes_file:
        attrs = celeba.read_attribute_file(attributes_file)
        paths, _ = celeba.match_attributes_to_images(attrs, data_dir, allow_missing=True)
        return paths
    return folders.image_paths_from_folder(data_dir)


def _grid_png(path, pixels, shape=None):
    write_png(path, put_images_on_grid(pixels, shape=shape))
    return path


# -- latent arithmetic --------------------------------------------------------------------------------

def linear_interpolation(z_a, z_b, num_steps):
    """Return float32 (num_steps, L): ``(1 - t) z_a + t z_b`` for t evenly from 0 to 1 (both ends included)."""
    z_a, z_b = np.asarray(z_a, np.float32), np.asarray(z_b, np.float32)
    t = np.linspace(0.0, 1.0, num_steps, dtype=np.float32)[:, None]
    return (1.0 - t) * z_a[None] + t * z_b[None]


def spherical_interpolation(z_a, z_b, num_steps):
    """Return float32 (num_steps, L) interpolated along the great circle (slerp) from z_a to z_b.

    Falls back to linear interpolation when the two vectors are (nearly) parallel or zero.
    """
    z_a, z_b = np.asarray(z_a, np.float64), np.asarray(z_b, np.float64)
    norm_a, norm_b = np.linalg.norm(z_a), np.linalg.norm(z_b)
    if norm_a == 0 or norm_b == 0:
        return linear_interpolation(z_a, z_b, num_steps)
    omega = np.arccos(np.clip(np.dot(z_a / norm_a, z_b / norm_b), -1.0, 1.0))
    if np.sin(omega) < 1e-6:
        return linear_interpolation(z_a, z_b, num_steps)
    t = np.linspace(0.0, 1.0, num_steps)[:, None]
    result = (np.sin((1.0 - t) * omega) * z_a[None] + np.sin(t * omega) * z_b[None]) / np.sin(omega)
    return result.astype(np.float32)


def _check_count(name, value, minimum=1):
    if value is None or int(value) < minimum:
        raise ValueError(f"--{name} must be at least {minimum}, got {value}")
    return int(value)


# -- modes --------------------------------------------------------------------------------------------

def sample_faces(vae, output_dir, num_images=64, temperature=1.0, seed=0, save_individual=False, batch_size=64):
    """Decode ``num_images`` latents z ~ N(0, I) * temperature; write ``samples.png``. Returns the paths written.

    With ``save_individual`` each face is also written as ``samples/sample_NNNN.png``.
    """
    num_images = _check_count("num_images", num_images)
    if not np.isfinite(temperature) or temperature < 0:
        raise ValueError(f"--temperature must be a non-negative number, got {temperature}")
    rng = np.random.default_rng(seed)
    latent = rng.standard_normal((num_images, vae.latent_var_size)).astype(np.float32) * np.float32(temperature)
    pixels = vae.decode_to_pixels(latent, batch_size=batch_size)
    written = [_grid_png(os.path.join(output_dir, "samples.png"), pixels)]
    if save_individual:
        folder = os.path.join(output_dir, "samples")
        written += [write_png(os.path.join(folder, f"sample_{i:04d}.png"), image) for i, image in enumerate(pixels)]
    logging.info("sample: wrote %d faces (temperature %g, seed %d) to %s%s", num_images, temperature, seed,
                 written[0], f" and {len(written) - 1} single PNGs in {os.path.dirname(written[-1])}"
                 if save_individual else "")
    return written


def reconstruct_faces(vae, pixels, output_dir, batch_size=64, pairs_per_row=4):
    """Write ``reconstructions.png``: each input face beside its reconstruction (decoded mean). Returns [path]."""
    pixels = np.asarray(pixels)
    if not len(pixels):
        raise DataError("no images to reconstruct")
    if pixels.shape[1:3] != (vae.image_size, vae.image_size):
        pixels = tf.cast(tf.clip_by_value(tf.round(tf.image.resize(tf.cast(pixels, tf.float32),
                                                                    (vae.image_size, vae.image_size))), 0, 255),
                         tf.uint8).numpy()
    reconstructions = vae.reconstruct_pixels(pixels, batch_size=batch_size)
    pairs = np.stack([pixels.astype(np.uint8), reconstructions], axis=1).reshape((-1,) + reconstructions.shape[1:])
    columns = 2 * min(pairs_per_row, len(pixels))
    rows = int(np.ceil(len(pairs) / columns))
    path = _grid_png(os.path.join(output_dir, "reconstructions.png"), pairs, shape=(columns, rows))
    logging.info("reconstruct: wrote %d faces beside their reconstructions to %s", len(pixels), path)
    return [path]


def load_latent_vector(path, latent_var_size):
    """Return the float32 (L,) latent vector stored in a ``.npy`` file; ValueError naming a wrong size."""
    path = os.path.expanduser(os.fspath(path))
    if not os.path.isfile(path):
        raise FileNotFoundError(f"latent vector file {path} does not exist")
    vector = np.load(path, allow_pickle=False).astype(np.float32)
    if vector.size != latent_var_size:
        raise ValueError(f"latent vector file {path} holds shape {vector.shape}, but the model has latent size "
                         f"{latent_var_size}")
    return vector.reshape(-1)


def interpolate_faces(vae, z_a, z_b, output_dir, num_steps=10, interpolation="both"):
    """Write ``interpolation_linear.png`` and/or ``interpolation_spherical.png`` strips from z_a to z_b.

    Returns the paths written.
    """
    num_steps = _check_count("num_steps", num_steps, 2)
    if interpolation not in INTERPOLATIONS:
        raise ValueError(f"--interpolation must be one of {INTERPOLATIONS}, got {interpolation!r}")
    kinds = ("linear", "spherical") if interpolation == "both" else (interpolation,)
    written = []
    for kind in kinds:
        fn = linear_interpolation if kind == "linear" else spherical_interpolation
        pixels = vae.decode_to_pixels(fn(z_a, z_b, num_steps))
        written.append(_grid_png(os.path.join(output_dir, f"interpolation_{kind}.png"), pixels,
                                 shape=(num_steps, 1)))
        logging.info("interpolate: wrote a %d-step %s interpolation to %s", num_steps, kind, written[-1])
    return written


@dataclasses.dataclass
class AttributeFaceSet:
    """Faces with attributes to encode: ``images`` (uint8 array, or a tf.data of pixel batches),
    ``attributes`` (N, K) in {-1, 1}, ``names`` (K), ``filenames`` (N), ``description``, and the image
    ``paths`` when read from files (to name unreadable ones)."""
    images: object
    attributes: np.ndarray
    names: list
    filenames: list
    description: str
    paths: list = None


def _check_unlisted(image_folder, attrs):
    listed = set(attrs.filenames)
    unlisted = [p for p in folders.image_paths_from_folder(image_folder) if os.path.basename(p) not in listed]
    if unlisted:
        names = ", ".join(os.path.basename(p) for p in unlisted[:5])
        raise DataError(f"{len(unlisted)} image(s) in {image_folder} are not listed in attribute file "
                        f"{attrs.source}: {names}{' ...' if len(unlisted) > 5 else ''}")


def folder_face_set(data_dir, attributes_file, framing, batch_size=128, num_images=None, allow_missing=False):
    """Return an AttributeFaceSet of the images in ``data_dir`` with their rows of a CelebA attribute file.

    Every image in the folder must have a row, and every row an image (unless ``allow_missing``);
    otherwise DataError names the first offenders. ``attributes_file`` None looks for a CelebA download
    (``img_align_celeba/`` + ``list_attr_celeba.txt``) in ``data_dir``.
    """
    if not data_dir:
        raise DataError("--mode=attributes needs --data_dir with --attributes_file, or --dataset=synthetic|celeb_a")
    if attributes_file:
        image_folder = data_dir
    else:
        image_folder, attributes_file = celeba.find_celeba_files(data_dir)
    attrs = celeba.read_attribute_file(attributes_file)
    try:
        paths, values = celeba.match_attributes_to_images(attrs, image_folder, allow_missing=allow_missing)
    except DataError as error:
        if "listed images are missing" in str(error):
            raise DataError(f"{error}; pass --allow_missing_images to use only the listed images that "
                            f"exist") from None
        raise
    _check_unlisted(image_folder, attrs)
    if num_images:
        paths, values = paths[:num_images], values[:num_images]
    batches = image_batches(paths, framing, batch_size)
    return AttributeFaceSet(batches, values, list(attrs.names), [os.path.basename(p) for p in paths],
                            f"{len(paths)} images of {image_folder} with attributes from {attributes_file}", paths)


def synthetic_face_set(num_images=2000, seed=0, image_size=64):
    """Return an AttributeFaceSet of the built-in synthetic faces (attributes known by construction)."""
    from facenet_vae.data.synthetic import generate_synthetic_faces
    faces = generate_synthetic_faces(num_images, seed=seed, image_size=image_size)
    return AttributeFaceSet(faces.images, faces.attributes, list(faces.attribute_names), list(faces.filenames),
                            f"{num_images} synthetic faces (seed {seed})")


def npz_face_set(path, framing, split="train", num_images=None):
    """Return an AttributeFaceSet of the (already framed) faces of an npz file (data.npz_faces), resized if needed."""
    from facenet_vae.evaluation.data import resize_pixels
    faces = read_npz_faces(path, split)
    if faces.attributes is None:
        raise DataError(f"{path} has no 'attributes' array to compute attribute vectors from")
    count = len(faces) if not num_images else min(int(num_images), len(faces))
    names = [str(n) for n in faces.filenames[:count]] if faces.filenames is not None else \
        [f"{i:06d}" for i in range(count)]
    return AttributeFaceSet(resize_pixels(faces.images[:count], framing), faces.attributes[:count],
                            list(faces.attribute_names), names, f"{count} faces of {faces.description}")


def tfds_celeb_a_face_set(data_dir, framing, batch_size=128, split="train", num_images=None):
    """Return an AttributeFaceSet of TFDS ``celeb_a`` prepared in ``data_dir`` (data.tfds_celeb_a; never downloads).

    Attributes come in CelebA's official order; the faces are framed by ``framing`` and streamed.
    """
    celeb_a = open_celeb_a(data_dir, split, limit=num_images)
    attributes = np.concatenate([labels for labels in celeb_a.faces.map(lambda image, labels: labels)
                                 .batch(1024).as_numpy_iterator()] or [np.zeros((0, 40), np.int8)])
    if not len(attributes):
        raise DataError(f"TFDS celeb_a split {split!r} in {data_dir!r} is empty")
    images = celeb_a.faces.map(lambda image, labels: framing.frame(image), num_parallel_calls=tf.data.AUTOTUNE)
    filenames = [f"{split}_{i:06d}" for i in range(len(attributes))]
    return AttributeFaceSet(images.batch(batch_size).prefetch(2), attributes, celeb_a.attribute_names, filenames,
                            f"{len(attributes)} TFDS celeb_a {split} images from {celeb_a.location}")


def calculate_attribute_vectors(vae, face_set, output_file, batch_size=128, training_batch_norm=False,
                                sample=False, seed=666):
    """Encode a face set, compute its attribute vectors and write them (facenet's HDF5 layout) to ``output_file``.

    Returns ``[output_file]``. Unreadable image files raise DataError naming them.
    """
    try:
        latent_vars, vectors = attribute_vectors_lib.compute_attribute_vectors(
            vae, face_set.images, face_set.attributes, batch_size=batch_size,
            use_training_batch_norm=training_batch_norm, sample=sample, seed=seed, names=face_set.names)
    except tf.errors.OpError as error:
        if face_set.paths:
            raise (_bad_file_error(face_set.paths) or DataError(
                f"could not read the images of {face_set.description}: {error.message.splitlines()[0]}")) from None
        raise
    attribute_vectors_lib.write_attribute_vectors_file(output_file, latent_vars, face_set.attributes,
                                                       face_set.names, vectors, face_set.filenames)
    logging.info("attributes: encoded %s with %s batch norm and the %s latent; wrote %d attribute vectors of "
                 "size %d to %s", face_set.description, "training-mode" if training_batch_norm else "inference-mode",
                 "sampled" if sample else "mean", len(face_set.names), vectors.shape[1], output_file)
    return [output_file]


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


def modify_attribute(vae, vectors, attribute, output_dir, latents, ks):
    """Decode ``latents[i] + k * vector(attribute)`` for each k; write ``modified_<Attribute>.png``.

    Rows of the grid are the images, columns the k values. Returns ``[path]``.
    """
    if vectors.latent_var_size != vae.latent_var_size:
        raise ValueError(f"attribute vectors file {vectors.path} has latent size {vectors.latent_var_size}, but "
                         f"the model has latent size {vae.latent_var_size}")
    index = vectors.index(attribute)
    name = vectors.fields[index]
    latents = np.asarray(latents, np.float32)
    edited = attribute_vectors_lib.modify_latents(latents, vectors.vector(index), ks)
    pixels = vae.decode_to_pixels(edited.reshape(-1, vae.latent_var_size))
    path = _grid_png(os.path.join(output_dir, f"modified_{name}.png"), pixels, shape=(len(ks), len(latents)))
    logging.info("modify: wrote %d faces x %d steps of %s (k = %s) to %s", len(latents), len(ks), name,
                 ", ".join(f"{k:g}" for k in ks), path)
    return [path]


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


def list_attribute_names(names):
    """Return ``"<index> <name>"`` lines for a list of attribute names."""
    return [f"{i:2d} {name}" for i, name in enumerate(names)]


def augment_identities(vae, dataset, output_dir, num_per_identity=10, temperature=1.0, seed=0,
                       sampling="identity", batch_size=64):
    """Write generated faces per identity as ``<output_dir>/augmented/<identity>/<identity>_NNNN.png``.

    ``dataset`` is a folders.get_dataset list. ``sampling="identity"``: z = mean of the identity's
    codes + N(0, I) * their per-dimension std * temperature (the posterior std for a one-image
    identity); ``"posterior"``: z = mean_i + N(0, I) * exp(log_var_i / 2) * temperature for the
    identity's images in turn. Returns the paths written.
    """
    num_per_identity = _check_count("num_images", num_per_identity)
    if sampling not in ("identity", "posterior"):
        raise ValueError(f"--augment_sampling must be identity or posterior, got {sampling!r}")
    identities = [cls for cls in dataset if len(cls.image_paths)]
    if not identities:
        raise DataError("no identity folder holds images to augment")
    rng = np.random.default_rng(seed)
    root = os.path.join(output_dir, "augmented")
    written = []
    for cls in identities:
        pixels = load_images(cls.image_paths, vae)
        mean, log_var = vae.encode_pixels(pixels, batch_size=batch_size)
        noise = rng.standard_normal((num_per_identity, vae.latent_var_size)).astype(np.float32)
        if sampling == "identity":
            spread = mean.std(0) if len(mean) > 1 else np.exp(log_var[0] / 2)
            latent = mean.mean(0)[None] + noise * spread[None] * temperature
        else:
            which = np.arange(num_per_identity) % len(mean)
            latent = mean[which] + noise * np.exp(log_var[which] / 2) * temperature
        faces = vae.decode_to_pixels(latent.astype(np.float32), batch_size=batch_size)
        folder = os.path.join(root, cls.name)
        written += [write_png(os.path.join(folder, f"{cls.name}_{i + 1:04d}.png"), face)
                    for i, face in enumerate(faces)]
    skipped = len(dataset) - len(identities)
    logging.info("augment: wrote %d faces for each of %d identities (%s sampling, temperature %g) under %s%s",
                 num_per_identity, len(identities), sampling, temperature, root,
                 f"; skipped {skipped} empty identity folders" if skipped else "")
    return written


# -- one run of generate.py ---------------------------------------------------------------------------

DEFAULT_NUM_IMAGES = {"sample": 64, "reconstruct": 16, "modify": 8, "augment": 10, "attributes": None,
                      "projector": None}
SYNTHETIC_ATTRIBUTE_IMAGES = 2000


@dataclasses.dataclass
class GenerateOptions:
    """Everything one ``generate.py`` run is configured with (the flags, by the same names)."""
    mode: str = "sample"
    model: str = None
    output_dir: str = None
    num_images: int = None                # default per mode: DEFAULT_NUM_IMAGES
    seed: int = 0
    batch_size: int = 64
    vae_def: str = None                   # when given, must match the model
    latent_var_size: int = None           # when given, must match the model
    temperature: float = 1.0
    save_individual: bool = False
    data_dir: str = None
    attributes_file: str = None
    dataset: str = None                   # folder (default), npz, synthetic or celeb_a (data.DATASETS)
    split: str = "train"
    allow_missing_images: bool = False
    image_a: str = None
    image_b: str = None
    latent_a: str = None
    latent_b: str = None
    num_steps: int = 10
    interpolation: str = "both"
    attribute_vectors_file: str = None    # default <output_dir>/attribute_vectors.h5
    training_batch_norm: bool = False
    sample_latent: bool = False
    attribute: str = "Smiling"
    image_indices: list = None
    images: list = None
    k_min: float = 0.0
    k_max: float = 5.0
    k_steps: int = 10
    augment_sampling: str = "identity"

    def resolved_output_dir(self):
        """Return ``output_dir``, or the default next to the model (see default_output_dir)."""
        return os.path.expanduser(self.output_dir) if self.output_dir else default_output_dir(self.model)

    def resolved_attribute_vectors_file(self):
        """Return ``attribute_vectors_file``; else for ``--mode=attributes`` ``<output_dir>/attribute_vectors.h5``,
        and for the other modes the model's own ``attribute_vectors.h5`` (beside it) when there is one."""
        if self.attribute_vectors_file:
            return os.path.expanduser(self.attribute_vectors_file)
        written = os.path.join(self.resolved_output_dir(), "attribute_vectors.h5")
        if self.mode == "attributes" or os.path.isfile(written):
            return written
        from facenet_vae.loading import shipped_model_path
        model = os.path.expanduser(self.model) if self.model else shipped_model_path()
        beside_model = os.path.join(model if os.path.isdir(model) else os.path.dirname(model), "attribute_vectors.h5")
        return beside_model if os.path.isfile(beside_model) else written

    def resolved_num_images(self):
        """Return ``num_images`` or the mode's default (None: all images)."""
        return self.num_images if self.num_images is not None else DEFAULT_NUM_IMAGES.get(self.mode)


def _load_model(options):
    from facenet_vae.loading import load_vae
    vae = load_vae(options.model, vae_def=options.vae_def, latent_var_size=options.latent_var_size)
    print(vae.source)
    return vae


def _attribute_names_for_listing(options):
    vectors_file = options.resolved_attribute_vectors_file()
    if options.dataset == "synthetic":
        from facenet_vae.data.synthetic import ATTRIBUTE_NAMES
        return list(ATTRIBUTE_NAMES), "the synthetic data set"
    if options.attributes_file:
        return list(celeba.read_attribute_file(options.attributes_file).names), options.attributes_file
    if os.path.isfile(vectors_file):
        return attribute_vectors_lib.read_attribute_vectors_file(vectors_file).fields, vectors_file
    raise FileNotFoundError(f"no attribute names to list: {vectors_file} does not exist; pass "
                            f"--attribute_vectors_file, --attributes_file or --dataset=synthetic")


def _attribute_face_set(options, vae):
    kind = options.dataset or "folder"
    if kind == "synthetic":
        return synthetic_face_set(options.num_images or SYNTHETIC_ATTRIBUTE_IMAGES, seed=options.seed,
                                  image_size=vae.image_size)
    if kind == "npz":
        if not options.data_dir:
            raise DataError("--dataset=npz needs --data_dir, the .npz file")
        return npz_face_set(options.data_dir, vae.framing, options.split, options.num_images)
    if kind == "celeb_a":
        if not options.data_dir:
            raise DataError("--dataset=celeb_a needs --data_dir, the TFDS data_dir holding a prepared celeb_a")
        return tfds_celeb_a_face_set(options.data_dir, vae.framing, options.batch_size, options.split,
                                     options.num_images)
    if kind != "folder":
        raise ValueError(f"--dataset must be one of {', '.join(DATASETS)}, got {kind!r}")
    return folder_face_set(options.data_dir, options.attributes_file, vae.framing, options.batch_size,
                           options.num_images, options.allow_missing_images)


def _interpolation_end(vae, options, image, latent, which):
    if image and latent:
        raise ValueError(f"give either --image_{which} or --latent_{which}, not both")
    if latent:
        return load_latent_vector(latent, vae.latent_var_size)
    if image:
        pixels = load_images([image], vae)
        return vae.encode_pixels(pixels)[0][0]
    raise ValueError(f"--mode=interpolate needs --image_{which} or --latent_{which}")


def _modify(vae, options, output_dir):
    vectors = attribute_vectors_lib.read_attribute_vectors_file(options.resolved_attribute_vectors_file())
    ks = attribute_vectors_lib.facenet_sweep(options.k_min, options.k_max, options.k_steps)
    if options.images:
        if options.image_indices:
            raise ValueError("give either --images or --image_indices, not both")
        pixels = load_images(options.images, vae)
        latents = vae.encode_pixels(pixels, batch_size=options.batch_size)[0]
    elif options.image_indices:
        latents = rows_of(vectors, options.image_indices)
    else:
        latents = vectors.latent_vars[default_image_rows(vectors, options.attribute, options.resolved_num_images(),
                                                         options.k_max)]
    return modify_attribute(vae, vectors, options.attribute, output_dir, latents, ks)


def run(options):
    """Run one ``generate.py`` mode as configured by ``options`` (GenerateOptions); returns the paths written.

    ``list_attributes`` prints the names and returns [] (it needs no model).
    """
    if options.mode not in MODES:
        raise ValueError(f"--mode must be one of {', '.join(MODES)}, got {options.mode!r}")
    if options.batch_size is None or options.batch_size < 1:
        raise ValueError(f"--batch_size must be at least 1, got {options.batch_size}")
    if options.mode == "list_attributes":
        names, source = _attribute_names_for_listing(options)
        print(f"attributes in {source}:")
        print("\n".join(list_attribute_names(names)))
        return []
    output_dir = options.resolved_output_dir()
    num_images = options.resolved_num_images()
    if options.mode in ("reconstruct", "augment") and not options.data_dir:
        raise DataError(f"--mode={options.mode} needs --data_dir (a face folder)")
    vae = _load_model(options)
    if options.mode == "sample":
        return sample_faces(vae, output_dir, num_images, options.temperature, options.seed,
                            options.save_individual, options.batch_size)
    if options.mode == "reconstruct":
        paths = image_paths(options.data_dir, options.attributes_file)[:num_images]
        pixels = load_images(paths, vae)
        return reconstruct_faces(vae, pixels, output_dir, options.batch_size)
    if options.mode == "interpolate":
        z_a = _interpolation_end(vae, options, options.image_a, options.latent_a, "a")
        z_b = _interpolation_end(vae, options, options.image_b, options.latent_b, "b")
        return interpolate_faces(vae, z_a, z_b, output_dir, options.num_steps, options.interpolation)
    if options.mode == "attributes":
        face_set = _attribute_face_set(options, vae)
        return calculate_attribute_vectors(vae, face_set, options.resolved_attribute_vectors_file(),
                                           options.batch_size, options.training_batch_norm,
                                           options.sample_latent, options.seed)
    if options.mode == "modify":
        return _modify(vae, options, output_dir)
    if options.mode == "projector":
        # The log folder is what `tensorboard --logdir` is given: --output_dir itself, else <default>/projector.
        log_dir = options.resolved_output_dir() if options.output_dir else os.path.join(output_dir, "projector")
        paths = projector.image_files(options.images)[:num_images]
        pixels = load_images(paths, vae)
        return projector.project_faces(vae, pixels, paths, log_dir, options.attributes_file, options.batch_size)
    dataset = folders.get_dataset(options.data_dir)
    return augment_identities(vae, dataset, output_dir, num_images, options.temperature, options.seed,
                              options.augment_sampling, options.batch_size)
