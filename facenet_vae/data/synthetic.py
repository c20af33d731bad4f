"""The project's built-in data set: deterministic synthetic cartoon faces with CelebA-named attributes.

Faces are drawn with numpy only, with soft (anti-aliased) edges, in normalised coordinates
(-1..1 across the image), so any ``image_size`` works. Each attribute changes what is drawn:

- identity traits (fixed per identity): ``Male`` (short hair, wider jaw, optional beard, so
  ``No_Beard`` = -1), hair colour ``Black_Hair`` / ``Blond_Hair`` / ``Brown_Hair`` (exactly one),
  ``Pale_Skin`` (the lightest skin tone), plus face size, eye spacing, iris and shirt colour;
- per image: ``Smiling`` (a broad grin, big enough for a briefly trained model to learn: a raised,
  wider mouth with its corners curved well up, thick red lips parted over a band of white teeth, and
  narrowed eyes), ``Mouth_Slightly_Open`` (a dark opening below the lips, independent of ``Smiling``:
  below the teeth in a smiling mouth),
  ``Eyeglasses`` (dark rings, bridge and arms), ``Bangs`` (a hair band over the forehead), and a
  small jitter of position, size, lighting and noise.
"""
import dataclasses
import os
import shutil

import numpy as np

from facenet_vae.data.errors import DataError
from facenet_vae.data.synthetic_drawing import (BANGS_DY, CHEEK_DX, CHEEK_DY, EYE_DY, HAIR_COLORS, HAIR_DY, HAIRLINE_DY,
                                               IRIS_COLORS, JAW_DX, JAW_DY, LENS_RADIUS, MOUTH_DY, PALE_SKIN_COLOR,
                                               SHIRT_COLORS, SIDE_HAIR_DX, SIDE_HAIR_DY, SKIN_COLORS, SMILE_RAISE,
                                               SMILE_WIDTH, draw_faces)

ATTRIBUTE_NAMES = ["Bangs", "Black_Hair", "Blond_Hair", "Brown_Hair", "Eyeglasses", "Male",
                   "Mouth_Slightly_Open", "No_Beard", "Pale_Skin", "Smiling"]  # CelebA spelling and order



@dataclasses.dataclass
class SyntheticFaces:
    """Generated faces: ``images`` uint8 (N, H, W, 3), ``attributes`` int8 (N, K) in {-1, 1},
    ``attribute_names`` (K, CelebA spelling), ``identities`` int32 (N,), ``filenames`` (N,) like
    ``000001.png``, and ``geometry``: per-image float32 (N,) landmark positions in pixel coordinates
    (pixel (r, c) spans [c, c+1) x [r, r+1)): ``face_x``, ``face_y``, ``eye_y``, ``eye_dx``, ``mouth_y``,
    ``mouth_half_width``, ``lens_radius``, ``face_half_width``, ``face_half_height``, ``forehead_y``
    (between hairline and bangs), ``hair_y``, ``cheek_dx``/``cheek_y``, ``jaw_dx``/``jaw_y`` (beard),
    ``side_hair_dx``/``side_hair_y`` (long hair), for measuring what was drawn.
    """
    images: np.ndarray
    attributes: np.ndarray
    attribute_names: list
    identities: np.ndarray
    filenames: list
    geometry: dict

    def __len__(self):
        return len(self.images)

    def column(self, name):
        """Return the int8 (N,) attribute column ``name``."""
        return self.attributes[:, self.attribute_names.index(name)]


def _identity_traits(rng, num_identities):
    male = rng.random(num_identities) < 0.5
    hair = rng.choice(3, size=num_identities, p=[0.35, 0.3, 0.35])
    pale = rng.random(num_identities) < 0.25
    tone = rng.integers(0, len(SKIN_COLORS), num_identities)
    skin = np.where(pale[:, None], PALE_SKIN_COLOR, SKIN_COLORS[tone]) + rng.uniform(-6, 6, (num_identities, 3))
    return {
        "male": male, "hair": hair, "pale": pale, "skin": skin.astype(np.float32),
        "hair_rgb": (HAIR_COLORS[hair] + rng.uniform(-10, 10, (num_identities, 3))).astype(np.float32),
        "beard": male & (rng.random(num_identities) < 0.4),
        "face_w": np.where(male, rng.uniform(0.46, 0.51, num_identities), rng.uniform(0.40, 0.45, num_identities)),
        "face_h": rng.uniform(0.56, 0.62, num_identities),
        "eye_dx": rng.uniform(0.16, 0.20, num_identities),
        "mouth_w": rng.uniform(0.14, 0.18, num_identities),
        "iris": IRIS_COLORS[rng.integers(0, len(IRIS_COLORS), num_identities)],
        "shirt": SHIRT_COLORS[rng.integers(0, len(SHIRT_COLORS), num_identities)],
    }


def _image_params(rng, identities, traits):
    n = len(identities)
    scale = rng.uniform(0.95, 1.05, n)
    smiling = rng.random(n) < 0.5
    params = {key: value[identities] for key, value in traits.items()}
    params.update({
        "smiling": smiling, "open": rng.random(n) < 0.45, "glasses": rng.random(n) < 0.2,
        "bangs": rng.random(n) < 0.3,
        "cx": rng.uniform(-0.05, 0.05, n), "cy": rng.uniform(-0.04, 0.06, n), "scale": scale,
        "smile": np.where(smiling, rng.uniform(0.15, 0.2, n), rng.uniform(-0.02, 0.0, n)),
        "mouth_open": rng.uniform(0.10, 0.14, n),
        "background": rng.uniform(150, 235, (n, 1)) + rng.uniform(-25, 25, (n, 3)),
        "brightness": rng.uniform(0.95, 1.05, n), "gradient": rng.uniform(-0.05, 0.05, n),
        "noise_seed": rng.integers(0, 2**31, n),
    })
    return params


def generate_synthetic_faces(num_images, seed=0, image_size=64, num_identities=None, chunk_size=256):
    """Return SyntheticFaces: ``num_images`` deterministic (by ``seed``) cartoon faces and their labels.

    ``num_identities`` defaults to one identity per 20 images; images are grouped by identity
    (identity 0 first). The same arguments always give byte-identical images.
    """
    num_images = int(num_images)
    if num_images < 1:
        raise DataError(f"num_images must be at least 1, got {num_images}")
    if image_size < 16:
        raise DataError(f"image_size must be at least 16 to draw a face, got {image_size}")
    if num_identities is None:
        num_identities = max(1, num_images // 20)
    num_identities = max(1, min(int(num_identities), num_images))
    rng = np.random.default_rng(seed)
    traits = _identity_traits(rng, num_identities)
    identities = np.sort(np.arange(num_images) % num_identities).astype(np.int32)
    p = _image_params(rng, identities, traits)
    images = np.concatenate([
        draw_faces({key: value[start:start + chunk_size] for key, value in p.items()}, image_size)
        for start in range(0, num_images, chunk_size)])

    hair = p["hair"]
    flags = {"Bangs": p["bangs"], "Black_Hair": hair == 0, "Blond_Hair": hair == 1, "Brown_Hair": hair == 2,
             "Eyeglasses": p["glasses"], "Male": p["male"], "Mouth_Slightly_Open": p["open"],
             "No_Beard": ~p["beard"], "Pale_Skin": p["pale"], "Smiling": p["smiling"]}
    attributes = np.stack([np.where(flags[name], 1, -1) for name in ATTRIBUTE_NAMES], axis=1).astype(np.int8)

    half = image_size / 2.0
    s = p["scale"]
    geometry = {
        "face_x": (p["cx"] + 1.0) * half, "face_y": (p["cy"] + 1.0) * half,
        "eye_y": (p["cy"] + EYE_DY * s + 1.0) * half, "eye_dx": p["eye_dx"] * s * half,
        "mouth_y": (p["cy"] + (MOUTH_DY - np.where(p["smiling"], SMILE_RAISE, 0.0)) * s + 1.0) * half,
        "mouth_half_width": p["mouth_w"] * np.where(p["smiling"], SMILE_WIDTH, 1.0) * s * half,
        "lens_radius": LENS_RADIUS * s * half, "face_half_width": p["face_w"] * s * half,
        "face_half_height": p["face_h"] * s * half,
        "forehead_y": (p["cy"] + (HAIRLINE_DY + BANGS_DY) / 2 * s + 1.0) * half,
        "hair_y": (p["cy"] + HAIR_DY * s + 1.0) * half,
        "cheek_dx": CHEEK_DX * p["face_w"] * s * half, "cheek_y": (p["cy"] + CHEEK_DY * s + 1.0) * half,
        "jaw_dx": JAW_DX * p["face_w"] * s * half, "jaw_y": (p["cy"] + JAW_DY * s + 1.0) * half,
        "side_hair_dx": SIDE_HAIR_DX * p["face_w"] * s * half,
        "side_hair_y": (p["cy"] + SIDE_HAIR_DY * s + 1.0) * half,
    }
    geometry = {key: np.asarray(value, np.float32) for key, value in geometry.items()}
    filenames = [f"{i + 1:06d}.png" for i in range(num_images)]
    return SyntheticFaces(images, attributes, list(ATTRIBUTE_NAMES), identities, filenames, geometry)


def write_synthetic_dataset(out_dir, num_images, seed=0, image_size=64, num_identities=None, overwrite=False):
    """Write generated faces as ``out_dir/images/identity_<k>/<NNNNNN>.png`` plus ``out_dir/list_attr_celeba.txt``.

    Returns ``(image_folder, attribute_file)``. The attribute file is written last (atomically), so
    its presence means the folder is complete. An existing non-empty ``out_dir/images`` raises
    DataError unless ``overwrite``, which deletes it first.
    """
    import tensorflow as tf  # noqa: PLC0415  encode with tf, like the decoders; keeps this module numpy-only otherwise

    from facenet_vae.data.celeba import ATTRIBUTE_FILE, write_attribute_file  # noqa: PLC0415

    out_dir = os.fspath(out_dir)
    folder = os.path.join(out_dir, "images")
    if os.path.isdir(folder) and os.listdir(folder):
        if not overwrite:
            raise DataError(f"{folder!r} already holds files; pass overwrite=True to replace them")
        shutil.rmtree(folder)
    faces = generate_synthetic_faces(num_images, seed=seed, image_size=image_size, num_identities=num_identities)
    for identity in np.unique(faces.identities):
        os.makedirs(os.path.join(folder, f"identity_{identity:05d}"), exist_ok=True)
    for image, identity, filename in zip(faces.images, faces.identities, faces.filenames):
        with open(os.path.join(folder, f"identity_{identity:05d}", filename), "wb") as f:
            f.write(tf.io.encode_png(image).numpy())
    attr_file = write_attribute_file(os.path.join(out_dir, ATTRIBUTE_FILE), faces.attribute_names,
                                     faces.filenames, faces.attributes)
    return folder, attr_file
