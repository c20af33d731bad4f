"""facenet_vae.data on real CelebA files, a matrix of malformed images, and strict attribute-file checks."""
import io
import os
import shutil
import warnings

import numpy as np
import pytest
import tensorflow as tf

from facenet_vae.data import (DataError, DataWarning, ImageClass, decode_image, find_celeba_files, get_dataset,
                              image_paths_from_folder, list_image_files, load_training_images, make_image_dataset,
                              match_attributes_to_images, read_attribute_file, read_image,
                              scan_images, try_decode_image, write_attribute_file)
from facenet_vae.data.framing import Framing, training_framing
from facenet_vae.model.normalization import IMG_MEAN, normalized_to_pixels

AS_IS_64 = Framing("none", None, 64)  # faces framed already (npz-like arrays)

PIL = pytest.importorskip("PIL")
from PIL import Image  # noqa: E402  (only to write malformed test images)


@pytest.fixture(scope="module")
def aligned_dir(shared_dir):
    return shared_dir / "data" / "celeba_subset_aligned"


@pytest.fixture(scope="module")
def attr_file(shared_dir):
    return shared_dir / "data" / "celeba_subset_list_attr_celeba.txt"


@pytest.fixture(scope="module")
def aligned_paths(aligned_dir):
    return image_paths_from_folder(aligned_dir)


def _npz_index(celeba_npz):
    return {name: i for i, name in enumerate(celeba_npz["filenames"].astype(str))}


def _first_batches(dataset, count):
    return [batch.numpy() for batch in dataset.take(count)]


# ---------------------------------------------------------------- folders


def test_get_dataset_on_real_facenet_tree(aligned_dir, celeba_npz):
    dataset = get_dataset(str(aligned_dir))
    assert len(dataset) == 10
    names = [cls.name for cls in dataset]
    assert names == sorted(names) and all(name.startswith("celeba_") for name in names)
    index = _npz_index(celeba_npz)
    for cls in dataset:
        assert isinstance(cls, ImageClass) and len(cls) == 30
        basenames = [os.path.basename(p) for p in cls.image_paths]
        assert basenames == sorted(basenames)
        assert all(os.path.dirname(p) == os.path.join(str(aligned_dir), cls.name) for p in cls.image_paths)
        rows = [index[name] for name in basenames]
        assert celeba_npz["in_aligned_folder"][rows].all()
        assert set(celeba_npz["identities"][rows]) == {int(cls.name.split("_")[1])}
    assert str(dataset[0]) == f"{names[0]}, 30 images"


def test_colon_joined_trees_flat_folder_and_autodetect(aligned_dir, tmp_path):
    first, second = tmp_path / "a", tmp_path / "b"
    for root, identity in ((first, "p2"), (first, "p1"), (second, "q1")):
        (root / identity).mkdir(parents=True)
        for name in ("b.jpg", "a.PNG", "c.jpeg", "notes.txt", ".hidden.jpg"):
            (root / identity / name).write_bytes(b"x")
    dataset = get_dataset(f"{first}:{second}")
    assert [cls.name for cls in dataset] == ["p1", "p2", "q1"]
    assert [os.path.basename(p) for p in dataset[0].image_paths] == ["a.PNG", "b.jpg", "c.jpeg"]
    assert image_paths_from_folder(first) == dataset[0].image_paths + dataset[1].image_paths

    flat = list_image_files(first / "p1")
    assert flat == dataset[0].image_paths
    assert image_paths_from_folder(first / "p1") == flat
    assert len(image_paths_from_folder(aligned_dir)) == 300


@pytest.mark.parametrize("layout", ["empty", "only_text", "empty_identities", "missing"])
def test_folder_without_images_raises_naming_it(tmp_path, layout):
    folder = tmp_path / "faces"
    if layout != "missing":
        folder.mkdir()
    if layout == "only_text":
        (folder / "readme.txt").write_text("no images")
    if layout == "empty_identities":
        (folder / "person").mkdir()
    for function in (image_paths_from_folder, get_dataset, list_image_files):
        with pytest.raises(DataError, match="faces"):
            function(str(folder))


# ---------------------------------------------------------------- attribute files


def test_attribute_file_matches_npz(attr_file, celeba_npz):
    attrs = read_attribute_file(attr_file)
    assert attrs.values.shape == (4950, 40) and attrs.values.dtype == np.int8
    assert attrs.names == list(celeba_npz["attribute_names"].astype(str))
    index = _npz_index(celeba_npz)
    rows = [index[name] for name in attrs.filenames]
    np.testing.assert_array_equal(attrs.values, celeba_npz["attributes"][rows])
    assert attrs.line_of(0) == 3 and attrs.filenames[0] == "000002.jpg"
    assert int((attrs.column("Smiling") == 1).sum()) == 2277


def test_write_attribute_file_reproduces_official_bytes(attr_file, tmp_path):
    attrs = read_attribute_file(attr_file)
    out = tmp_path / "list_attr_celeba.txt"
    assert write_attribute_file(out, attrs.names, attrs.filenames, attrs.values) == str(out)
    assert out.read_bytes() == attr_file.read_bytes()
    assert [p.name for p in tmp_path.iterdir()] == ["list_attr_celeba.txt"]  # no temp file left behind


def test_write_attribute_file_rejects_bad_input(tmp_path):
    out = tmp_path / "a.txt"
    with pytest.raises(DataError):
        write_attribute_file(out, ["A B"], ["x.jpg"], [[1]])
    with pytest.raises(DataError):
        write_attribute_file(out, ["A"], ["x.jpg"], [[0]])
    with pytest.raises(DataError):
        write_attribute_file(out, ["A"], ["x.jpg", "x.jpg"], [[1], [1]])
    assert not out.exists()


GOOD_ATTRS = "3\nSmiling Male\n000001.jpg  1 -1\n000002.jpg -1 -1\n000003.jpg  1  1\n"


@pytest.mark.parametrize("text, line, message", [
    ("", None, "empty"),
    ("\n\n", None, "empty"),
    ("three\nSmiling Male\n000001.jpg 1 -1\n", 1, "number of rows"),
    ("4\nSmiling Male\n000001.jpg 1 -1\n000002.jpg -1 -1\n000003.jpg 1 1\n", 1, "says 4 rows"),
    ("2\nSmiling Male\n000001.jpg 1 -1\n000002.jpg -1 -1\n000003.jpg 1 1\n", 5, "says 2 rows"),
    ("3\nSmiling Male\n000001.jpg 1 -1\n000002.jpg -1\n000003.jpg 1 1\n", 4, "2 columns, expected 3"),
    ("3\nSmiling Male\n000001.jpg 1 -1 1\n000002.jpg -1 -1\n000003.jpg 1 1\n", 3, "4 columns"),
    ("3\nSmiling Male\n000001.jpg 1 -1\n000002.jpg -1 -1\n000001.jpg 1 1\n", 5, "repeats line 3"),
    ("3\nSmiling Male\n000001.jpg 1 -1\n000002.jpg 0 -1\n000003.jpg 1 1\n", 4, "value '0'"),
    ("3\nSmiling Male\n000001.jpg 1 -1\n000002.jpg -1 -1\n000003.jpg 1 2\n", 5, "value '2'"),
    ("3\nSmiling Male\n000001.jpg 1 -1\n000002.jpg -1 +1\n000003.jpg 1 1\n", 4, "value '\\+1'"),
    ("3\nSmiling Male\n000001.jpg 1 -1\n\n000003.jpg 1 1\n", 4, "blank line"),
    ("3\nSmiling Smiling\n000001.jpg 1 -1\n000002.jpg -1 -1\n000003.jpg 1 1\n", 2, "appears twice"),
    ("3\n", 2, "attribute names"),
])
def test_attribute_file_errors_name_file_and_line(tmp_path, text, line, message):
    path = tmp_path / "my_attrs.txt"
    path.write_text(text)
    with pytest.raises(DataError, match=message) as info:
        read_attribute_file(path)
    assert "my_attrs.txt" in str(info.value)
    if line is not None:
        assert f"line {line}:" in str(info.value)


def test_attribute_file_not_utf8(tmp_path):
    path = tmp_path / "binary.txt"
    path.write_bytes(b"3\nSmiling\n\xff\xfe\x00\n")
    with pytest.raises(DataError, match=r"binary.txt, line 3"):
        read_attribute_file(path)


@pytest.mark.parametrize("variant", ["crlf", "trailing_blank_lines", "bom", "no_final_newline"])
def test_attribute_file_accepts_common_variants(tmp_path, variant):
    text = {"crlf": GOOD_ATTRS.replace("\n", "\r\n"), "trailing_blank_lines": GOOD_ATTRS + "\n\r\n  \n",
            "bom": "\ufeff" + GOOD_ATTRS, "no_final_newline": GOOD_ATTRS.rstrip("\n")}[variant]
    path = tmp_path / "attrs.txt"
    path.write_bytes(text.encode("utf-8"))
    attrs = read_attribute_file(path)
    assert attrs.names == ["Smiling", "Male"]
    assert attrs.filenames == ["000001.jpg", "000002.jpg", "000003.jpg"]
    np.testing.assert_array_equal(attrs.values, [[1, -1], [-1, -1], [1, 1]])


def test_match_attributes_to_tree_and_missing_images(attr_file, aligned_dir, celeba_npz):
    attrs = read_attribute_file(attr_file)
    with pytest.raises(DataError) as info:
        match_attributes_to_images(attrs, aligned_dir)
    message = str(info.value)
    assert "celeba_subset_list_attr_celeba.txt" in message and "line 3:" in message and "000002.jpg" in message
    with pytest.warns(DataWarning, match="4650 of 4950"):
        paths, values = match_attributes_to_images(attrs, aligned_dir, allow_missing=True)
    assert len(paths) == 300 and values.shape == (300, 40)
    index = _npz_index(celeba_npz)
    rows = [index[os.path.basename(p)] for p in paths]
    np.testing.assert_array_equal(values, celeba_npz["attributes"][rows])
    assert [os.path.basename(p) for p in paths] == sorted(os.path.basename(p) for p in paths)


@pytest.fixture
def celeba_dir(tmp_path, aligned_paths, attr_file):
    """A small CelebA-layout folder: img_align_celeba/ (40 real JPEGs) and list_attr_celeba.txt."""
    root = tmp_path / "celeba"
    images = root / "img_align_celeba"
    images.mkdir(parents=True)
    chosen = aligned_paths[::30] + aligned_paths[1::30] + aligned_paths[2::30] + aligned_paths[3::30]
    for path in chosen:
        shutil.copy(path, images)
    attrs = read_attribute_file(attr_file)
    keep = sorted(i for i, name in enumerate(attrs.filenames) if (images / name).exists())
    write_attribute_file(root / "list_attr_celeba.txt", attrs.names, [attrs.filenames[i] for i in keep],
                         attrs.values[keep])
    return root


def test_celeba_layout(celeba_dir, tmp_path):
    folder, attr = find_celeba_files(celeba_dir)
    assert folder.endswith("img_align_celeba") and attr.endswith("list_attr_celeba.txt")
    elsewhere = tmp_path / "attrs_elsewhere.txt"
    shutil.copy(attr, elsewhere)
    assert find_celeba_files(celeba_dir, elsewhere)[1] == str(elsewhere)

    with pytest.warns(DataWarning, match="list_eval_partition"):
        dataset, description, count, _ = load_training_images(
            "celeba", str(celeba_dir), image_size=32, crop_size=None, batch_size=8, seed=1,
            center_crop=True, repeat=False)
    assert count == 40 and "40 images" in description
    assert sum(batch.shape[0] for batch in dataset) == 40

    (celeba_dir / "list_eval_partition.txt").write_text(
        "".join(f"{p.name} {i % 3}\n" for i, p in enumerate(sorted((celeba_dir / "img_align_celeba").iterdir()))))
    _, _, count, _ = load_training_images("celeba", str(celeba_dir), image_size=32, crop_size=None,
                                       batch_size=8, seed=1, split="test")
    assert count == 13

    os.remove(sorted((celeba_dir / "img_align_celeba").iterdir())[0])
    with pytest.raises(DataError, match=r"list_attr_celeba.txt, line 3: image .* is not in"):
        load_training_images("celeba", str(celeba_dir), image_size=32, crop_size=None, batch_size=8,
                             seed=1, split="all", strict=True)
    with pytest.warns(DataWarning, match="1 of 40 listed images are missing"):
        _, _, count, _ = load_training_images("celeba", str(celeba_dir), image_size=32, crop_size=None,
                                           batch_size=8, seed=1, split="all")
    assert count == 39
    with pytest.raises(DataError, match="img_align_celeba"):
        find_celeba_files(tmp_path)


# ---------------------------------------------------------------- pipeline on real images


def test_pipeline_on_real_jpegs_has_celeba_statistics(aligned_paths):
    dataset = make_image_dataset(aligned_paths, framing=Framing(crop_size=160, image_size=64), batch_size=50, seed=3,
                                 repeat=False)
    batches = _first_batches(dataset, 10)
    assert len(batches) == 6
    assert all(b.shape == (50, 64, 64, 3) and b.dtype == np.float32 for b in batches)
    pixels = normalized_to_pixels(np.concatenate(batches)).numpy()
    assert np.all(np.abs(pixels.mean(axis=(0, 1, 2)) - IMG_MEAN) < 30), pixels.mean(axis=(0, 1, 2))
    assert pixels.std() > 30


def test_celeba_framing_reproduces_the_npz_faces(aligned_paths, celeba_npz):
    index = _npz_index(celeba_npz)
    paths = aligned_paths[::10]
    npz_framing = training_framing("npz", 64)  # what a model trained on the npz records
    bilinear = Framing("celeba", None, 64)
    diffs, bilinear_diffs = [], []
    for path in paths:
        image = read_image(path)
        assert image.shape == (218, 178, 3) and image.dtype == tf.uint8
        ours = npz_framing.frame(image).numpy()
        assert ours.shape == (64, 64, 3) and ours.dtype == np.uint8
        reference = celeba_npz["images"][index[os.path.basename(path)]].astype(np.float32)
        diffs.append(np.abs(ours - reference).mean())
        bilinear_diffs.append(np.abs(bilinear.frame(image).numpy() - reference).mean())
    # Lanczos with antialiasing, as Pillow made the npz: within about one grey level.
    assert max(diffs) < 1.5, diffs
    assert np.mean(diffs) < np.mean(bilinear_diffs)
    # Without the crop the same face is framed differently, so the difference is far larger.
    wide = Framing("crop_or_pad", 178, 64, recognise_celeba=False).frame(read_image(paths[0])).numpy()
    assert np.abs(wide - celeba_npz["images"][index[os.path.basename(paths[0])]]).mean() > 5 * max(diffs)


def test_default_framing_recognises_celeba_files(aligned_paths):
    """facenet's crop-or-pad to 160 would keep hair and background of a 178x218 CelebA file."""
    image = read_image(aligned_paths[0])
    default = training_framing("folder", 64)
    assert default == Framing("crop_or_pad", 160, 64)
    np.testing.assert_array_equal(default.frame(image).numpy(), Framing("celeba", None, 64).frame(image).numpy())
    # A 182-px facenet-aligned face is cropped to 160 and resized, as facenet's train_vae.py did.
    square = tf.cast(tf.round(tf.image.resize(tf.cast(image, tf.float32)[18:200, :, :], (182, 182))), tf.uint8)
    expected = tf.image.resize(tf.cast(tf.image.resize_with_crop_or_pad(square, 160, 160), tf.float32), (64, 64))
    np.testing.assert_array_equal(default.frame(square).numpy(), np.round(expected.numpy()).astype(np.uint8))


def test_upsampling_data_is_warned_about(celeba_npz, tmp_path):
    """dfc_vae_large (128 px) on the 64-px npz faces upsamples them; that is said, not silent."""
    npz = tmp_path / "faces.npz"
    np.savez(npz, images=celeba_npz["images"][:16])
    with pytest.warns(DataWarning, match="upsampled"):
        load_training_images("npz", str(npz), image_size=128, batch_size=4, seed=0)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        load_training_images("npz", str(npz), image_size=64, batch_size=4, seed=0)


def test_crop_or_pad_like_facenet():
    image = np.arange(10 * 6 * 3, dtype=np.uint8).reshape(10, 6, 3)
    out = Framing("crop_or_pad", 8, 8).frame(image).numpy()  # crops 1 row top and bottom, pads 1 column each side
    np.testing.assert_array_equal(out[:, 1:7], image[1:9])
    assert np.all(out[:, 0] == 0) and np.all(out[:, 7] == 0)


def test_npz_source_and_seeded_order(celeba_npz):
    images = celeba_npz["images"][:200]

    def first(seed):
        return _first_batches(make_image_dataset(images, framing=AS_IS_64, batch_size=16, seed=seed), 3)

    a, b, c = first(5), first(5), first(6)
    assert all(np.array_equal(x, y) for x, y in zip(a, b))
    assert not np.array_equal(a[0], c[0])
    pixels = normalized_to_pixels(a[0], tf.uint8).numpy()
    # Each image of a batch is one of the source images, unchanged apart from normalisation.
    flat = images.reshape(len(images), -1)
    assert all((flat == p.reshape(-1)).all(axis=1).any() for p in pixels)

    ordered = _first_batches(make_image_dataset(images, framing=Framing("none", None, 32), batch_size=200, shuffle=False,
                                                repeat=False), 2)
    assert len(ordered) == 1 and ordered[0].shape == (200, 32, 32, 3)
    epochs = _first_batches(make_image_dataset(images[:10], framing=AS_IS_64, batch_size=4, seed=1,
                                               drop_remainder=True), 10)
    assert len(epochs) == 10  # repeats endlessly


def test_load_training_images_npz_splits(shared_dir, tmp_path):
    npz = str(shared_dir / "data" / "celeba_subset.npz")
    counts = {}
    for split in ("train", "validation", "test", "all"):
        dataset, description, counts[split], _ = load_training_images(
            "npz", npz, image_size=64, crop_size=None, batch_size=8, seed=0, split=split)
        assert split in description or split == "all"
    assert counts == {"train": 3720, "validation": 780, "test": 450, "all": 4950}
    assert next(iter(dataset)).shape == (8, 64, 64, 3)

    bad = tmp_path / "bad.npz"
    np.savez(bad, pictures=np.zeros((2, 8, 8, 3), np.uint8))
    with pytest.raises(DataError, match="no 'images'"):
        load_training_images("npz", str(bad), image_size=8, crop_size=None, batch_size=1, seed=0)
    np.savez(bad, images=np.zeros((2, 8, 8, 3), np.float32))
    with pytest.raises(DataError, match="uint8"):
        load_training_images("npz", str(bad), image_size=8, crop_size=None, batch_size=1, seed=0)
    (tmp_path / "text.npz").write_text("not an npz")
    with pytest.raises(DataError, match="cannot read"):
        load_training_images("npz", str(tmp_path / "text.npz"), image_size=8, crop_size=None,
                             batch_size=1, seed=0)


def test_load_training_images_synthetic_and_unknown():
    dataset, description, count, _ = load_training_images(
        "synthetic", None, image_size=32, crop_size=None, batch_size=10, seed=2, num_synthetic=60)
    assert count == 60 and "synthetic" in description
    assert next(iter(dataset)).shape == (10, 32, 32, 3)
    with pytest.raises(DataError, match="unknown dataset"):
        load_training_images("imagenet", None, image_size=32, crop_size=None, batch_size=1, seed=0)


def test_tfds_celeb_a_absent_is_a_clear_error(tmp_path):
    with pytest.raises(DataError) as info:
        load_training_images("celeb_a", str(tmp_path), image_size=64, crop_size=None, batch_size=4, seed=0)
    message = str(info.value)
    assert "--tfds_download" in message and str(tmp_path) in message and "tfds build celeb_a" in message
    assert not any(tmp_path.iterdir())  # nothing downloaded


def test_tfds_celeb_a_mocked(tmp_path):
    tfds = pytest.importorskip("tensorflow_datasets")
    with tfds.testing.mock_data(num_examples=12, policy=tfds.testing.MockPolicy.USE_CODE):
        dataset, description, count, _ = load_training_images(
            "celeb_a", str(tmp_path), image_size=64, crop_size=None, batch_size=4, seed=0,
            center_crop=True, tfds_download=True)
        assert count == 12 and "celeb_a" in description
        assert next(iter(dataset)).shape == (4, 64, 64, 3)


# ---------------------------------------------------------------- malformed images


def _encode(image, fmt, **kwargs):
    buffer = io.BytesIO()
    image.save(buffer, fmt, **kwargs)
    return buffer.getvalue()


@pytest.fixture(scope="module")
def rgb():
    return np.random.default_rng(0).integers(0, 256, (40, 30, 3), dtype=np.uint8)


@pytest.fixture(scope="module")
def image_matrix(rgb, aligned_paths):
    """name -> (bytes, expected: None for good or a reason fragment)."""
    real = open(aligned_paths[0], "rb").read()
    png = _encode(Image.fromarray(rgb), "PNG")
    return {
        "real.jpg": (real, None),
        "rgb.png": (png, None),
        "gray.jpg": (_encode(Image.fromarray(rgb[..., 0]), "JPEG"), None),
        "gray.png": (_encode(Image.fromarray(rgb[..., 0]), "PNG"), None),
        "gray_alpha.png": (_encode(Image.fromarray(rgb[..., 0]).convert("LA"), "PNG"), None),
        "rgba.png": (_encode(Image.fromarray(np.dstack([rgb, rgb[..., :1]])), "PNG"), None),
        "palette.png": (_encode(Image.fromarray(rgb).convert("P"), "PNG"), None),
        "cmyk.jpg": (_encode(Image.fromarray(rgb).convert("CMYK"), "JPEG", quality=95), None),
        "gray16.png": (_encode(Image.fromarray(rgb[..., 0].astype(np.uint16) * 257), "PNG"), None),
        "rgb16.png": (tf.io.encode_png(tf.constant(rgb.astype(np.uint16) * 257)).numpy(), None),
        "image.gif": (_encode(Image.fromarray(rgb).convert("P"), "GIF"), None),
        "image.bmp": (_encode(Image.fromarray(rgb), "BMP"), None),
        "png_named.jpg": (png, None),
        "smaller_than_crop.png": (_encode(Image.fromarray(rgb[:12, :10]), "PNG"), None),
        "tiny.png": (_encode(Image.fromarray(rgb[:4, :5]), "PNG"), "smaller than 8 px (5x4)"),
        "truncated.jpg": (real[:len(real) // 2], "truncated JPEG"),
        "truncated.png": (png[:len(png) - 20], "truncated PNG"),
        "zero.jpg": (b"", "zero-byte file"),
        "text.jpg": (b"this is not an image\n" * 10, "not an image (cannot decode)"),
        "garbage_after_header.jpg": (b"\xff\xd8\xff" + bytes(range(256)) * 4 + b"\xff\xd9", "corrupt JPEG data"),
    }


def test_decode_image_formats(image_matrix, rgb):
    def decoded(name):
        image, reason = try_decode_image(image_matrix[name][0])
        assert reason is None and image.dtype == np.uint8 and image.ndim == 3 and image.shape[2] == 3
        return image.astype(int)

    np.testing.assert_array_equal(decoded("rgb.png"), rgb)
    np.testing.assert_array_equal(decoded("rgba.png"), rgb)
    np.testing.assert_array_equal(decoded("gray.png"), np.repeat(rgb[..., :1], 3, axis=2))
    np.testing.assert_array_equal(decoded("gray_alpha.png"), np.repeat(rgb[..., :1], 3, axis=2))
    np.testing.assert_array_equal(decoded("gray16.png"), np.repeat(rgb[..., :1], 3, axis=2))
    np.testing.assert_array_equal(decoded("rgb16.png"), rgb)
    np.testing.assert_array_equal(decoded("image.bmp"), rgb)
    palette = np.asarray(Image.open(io.BytesIO(image_matrix["palette.png"][0])).convert("RGB"))
    np.testing.assert_array_equal(decoded("palette.png"), palette)
    gif = np.asarray(Image.open(io.BytesIO(image_matrix["image.gif"][0])).convert("RGB"))
    np.testing.assert_array_equal(decoded("image.gif"), gif)
    gray = decoded("gray.jpg")
    assert np.array_equal(gray[..., 0], gray[..., 1]) and np.array_equal(gray[..., 1], gray[..., 2])
    # CMYK JPEG: tf (libjpeg) converts to RGB like Pillow does, close to the original colours.
    cmyk = decoded("cmyk.jpg")
    pillow = np.asarray(Image.open(io.BytesIO(image_matrix["cmyk.jpg"][0])).convert("RGB")).astype(int)
    assert np.abs(cmyk - pillow).mean() < 2
    assert np.abs(cmyk - rgb).mean() < 12
    assert decode_image(tf.constant(image_matrix["real.jpg"][0])).shape == (218, 178, 3)


@pytest.fixture
def malformed_folder(tmp_path, image_matrix):
    folder = tmp_path / "faces"
    folder.mkdir()
    for name, (contents, _) in image_matrix.items():
        (folder / name).write_bytes(contents)
    return folder


def test_scan_reports_each_bad_file_with_reason(malformed_folder, image_matrix):
    paths = list_image_files(malformed_folder)
    assert len(paths) == len(image_matrix)
    good, bad = scan_images(paths, progress=False)
    expected_bad = {name: reason for name, (_, reason) in image_matrix.items() if reason}
    assert {os.path.basename(p) for p in good} == set(image_matrix) - set(expected_bad)
    assert good == sorted(good)
    reasons = {os.path.basename(path): reason for path, reason in bad}
    assert set(reasons) == set(expected_bad)
    for name, fragment in expected_bad.items():
        assert fragment in reasons[name], (name, reasons[name])


def test_scan_unreadable_files(tmp_path, image_matrix):
    directory = tmp_path / "folder_named.jpg"
    directory.mkdir()
    missing = tmp_path / "missing.jpg"
    good, bad = scan_images([str(directory), str(missing)], progress=False)
    assert good == []
    assert dict(bad) == {str(directory): "unreadable (a directory, not a file)",
                         str(missing): "missing (no such file)"}


def test_scan_permission_denied(tmp_path, image_matrix):
    path = tmp_path / "locked.jpg"
    path.write_bytes(image_matrix["real.jpg"][0])
    path.chmod(0)
    try:
        try:
            open(path, "rb").close()
            pytest.skip("running as root: chmod 000 does not stop reading")
        except PermissionError:
            pass
        assert scan_images([str(path)], progress=False)[1] == [(str(path), "unreadable (permission denied)")]
    finally:
        path.chmod(0o644)


def test_scan_progress_bar_on_stderr(malformed_folder, capsys):
    paths = list_image_files(malformed_folder)
    scan_images(paths, progress=True, progress_threshold=5)
    err = capsys.readouterr().err
    assert "Scanning images" in err and f"{len(paths)}/{len(paths)}" in err


def test_strict_mode_lists_bad_files(malformed_folder, image_matrix):
    with pytest.raises(DataError) as info:
        load_training_images("folder", str(malformed_folder), image_size=32, crop_size=None,
                             batch_size=4, seed=0, strict=True)
    message = str(info.value)
    for name, (_, reason) in image_matrix.items():
        assert (name in message) == bool(reason), name


def test_non_strict_skips_bad_files_and_logs_them(malformed_folder, image_matrix, tmp_path):
    log = tmp_path / "logs" / "bad_files.txt"
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        dataset, description, count, _ = load_training_images(
            "folder", str(malformed_folder), image_size=32, crop_size=48, batch_size=1, seed=0,
            bad_files_log=str(log), repeat=False)
    data_warnings = [w for w in caught if issubclass(w.category, DataWarning)]
    expected_bad = {name for name, (_, reason) in image_matrix.items() if reason}
    assert len(data_warnings) == 1 and f"skipping {len(expected_bad)} of" in str(data_warnings[0].message)
    assert count == len(image_matrix) - len(expected_bad)
    assert f"{len(expected_bad)} bad files skipped" in description
    lines = log.read_text().splitlines()
    assert {os.path.basename(line.split("\t")[0]) for line in lines} == expected_bad
    assert all(len(line.split("\t")) == 2 for line in lines)
    batches = [batch.numpy() for batch in dataset]
    assert len(batches) == count and all(b.shape == (1, 32, 32, 3) for b in batches)


def test_bad_files_log_goes_through_gfile_for_remote_run_folders():
    # ram:// is TensorFlow's in-memory file system: a remote path that needs no network (like gs://).
    from facenet_vae.data.images import write_bad_files_log
    path = "ram://run/bad_files.txt"
    write_bad_files_log(path, [("faces/a.jpg", "not an image"), ("faces/b.png", "truncated")])
    with tf.io.gfile.GFile(path) as handle:
        assert handle.read() == "faces/a.jpg\tnot an image\nfaces/b.png\ttruncated\n"


def test_pipeline_survives_files_broken_after_the_scan(malformed_folder, image_matrix):
    # Feed every file, bad ones included, straight to the pipeline: decode errors are dropped.
    paths = list_image_files(malformed_folder)
    dataset = make_image_dataset(paths, framing=Framing("none", None, 16), batch_size=1, shuffle=False,
                                 repeat=False)
    count = sum(1 for _ in dataset)
    # tiny.png decodes (it is only rejected by the scan), the rest of the bad files do not.
    assert count == sum(1 for _, reason in image_matrix.values() if reason is None) + 1
