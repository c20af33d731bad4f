"""Hypothesis properties: the attribute parser round-trips and fails only with DataError; the decoder
and the scan never crash on arbitrary bytes."""
import os
import tempfile

import numpy as np
import pytest
import tensorflow as tf
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from facenet_vae.data import DataError, read_attribute_file, scan_images, try_decode_image, write_attribute_file

SETTINGS = settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow])

TOKEN = st.text(alphabet="abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-", min_size=1,
                max_size=12)


@st.composite
def attribute_tables(draw):
    names = draw(st.lists(TOKEN, min_size=1, max_size=6, unique=True))
    filenames = draw(st.lists(TOKEN, min_size=0, max_size=8, unique=True))
    values = np.array(draw(st.lists(st.lists(st.sampled_from([-1, 1]), min_size=len(names), max_size=len(names)),
                                    min_size=len(filenames), max_size=len(filenames))),
                      dtype=np.int8).reshape(len(filenames), len(names))
    return names, filenames, values


def _with_file(contents, function):
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "attrs.txt")
        with open(path, "wb") as f:
            f.write(contents)
        return function(path)


@SETTINGS
@given(attribute_tables())
def test_write_then_read_round_trips(table):
    names, filenames, values = table
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "list_attr_celeba.txt")
        write_attribute_file(path, names, filenames, values)
        attrs = read_attribute_file(path)
        assert os.listdir(folder) == ["list_attr_celeba.txt"]
    assert attrs.names == names and attrs.filenames == filenames
    assert attrs.values.dtype == np.int8 and attrs.values.shape == (len(filenames), len(names))
    np.testing.assert_array_equal(attrs.values, values)


def _serialise(table):
    names, filenames, values = table
    lines = [str(len(filenames)), " ".join(names)] + [
        " ".join([name] + [str(v) for v in row]) for name, row in zip(filenames, values)]
    return ("\n".join(lines) + "\n").encode()


MUTATIONS = st.lists(st.tuples(st.sampled_from(["replace", "delete", "insert", "duplicate_line", "drop_line"]),
                               st.integers(0, 10_000), st.binary(min_size=1, max_size=4)), min_size=1, max_size=4)


def _mutate(contents, mutations):
    for kind, position, payload in mutations:
        if not contents:
            contents = payload
            continue
        at = position % len(contents)
        if kind == "replace":
            contents = contents[:at] + payload + contents[at + len(payload):]
        elif kind == "delete":
            contents = contents[:at] + contents[at + len(payload):]
        elif kind == "insert":
            contents = contents[:at] + payload + contents[at:]
        else:
            lines = contents.split(b"\n")
            index = position % len(lines)
            if kind == "duplicate_line":
                lines = lines[:index + 1] + lines[index:]
            else:
                lines = lines[:index] + lines[index + 1:]
            contents = b"\n".join(lines)
    return contents


def _parse_or_data_error(contents):
    try:
        attrs = _with_file(contents, read_attribute_file)
    except DataError as err:
        assert "attrs.txt" in str(err)
        return None
    # Whatever parsed is self-consistent.
    assert attrs.values.dtype == np.int8 and set(np.unique(attrs.values)) <= {-1, 1}
    assert attrs.values.shape == (len(attrs.filenames), len(attrs.names))
    assert len(set(attrs.filenames)) == len(attrs.filenames)
    return attrs


@SETTINGS
@given(attribute_tables(), MUTATIONS)
def test_corrupted_files_parse_or_raise_data_error(table, mutations):
    _parse_or_data_error(_mutate(_serialise(table), mutations))


@SETTINGS
@given(st.binary(max_size=300))
def test_random_bytes_parse_or_raise_data_error(contents):
    _parse_or_data_error(contents)


@pytest.fixture(scope="module")
def valid_images():
    image = np.random.default_rng(0).integers(0, 256, (24, 20, 3), dtype=np.uint8)
    return {"jpeg": tf.io.encode_jpeg(image).numpy(), "png": tf.io.encode_png(image).numpy()}


def _check_decode(contents):
    image, reason = try_decode_image(contents)
    if reason is None:
        assert image.dtype == np.uint8 and image.ndim == 3 and image.shape[2] == 3
        assert min(image.shape[:2]) >= 8
    else:
        assert image is None and isinstance(reason, str) and reason
    return reason


@SETTINGS
@given(st.binary(max_size=400))
def test_decoder_on_random_bytes(contents):
    _check_decode(contents)


@SETTINGS
@given(st.sampled_from(["jpeg", "png"]), st.floats(0.0, 1.0), st.binary(max_size=8))
def test_decoder_on_truncated_or_padded_images(valid_images, fmt, fraction, tail):
    data = valid_images[fmt]
    prefix = data[:int(len(data) * fraction)]
    reason = _check_decode(prefix)
    if len(prefix) < len(data) * 0.5:
        assert reason is not None  # half an image is never silently accepted
    _check_decode(prefix + tail)
    assert _check_decode(data) is None


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.binary(max_size=200), min_size=1, max_size=4), st.floats(0.0, 1.0))
def test_scan_never_crashes(valid_images, blobs, fraction):
    blobs = blobs + [valid_images["png"][:int(len(valid_images["png"]) * fraction)], valid_images["jpeg"]]
    with tempfile.TemporaryDirectory() as folder:
        paths = []
        for i, blob in enumerate(blobs):
            paths.append(os.path.join(folder, f"{i}.jpg"))
            with open(paths[-1], "wb") as f:
                f.write(blob)
        good, bad = scan_images(paths, progress=False)
    assert sorted(good + [path for path, _ in bad]) == sorted(paths)
    assert paths[-1] in good
    assert all(isinstance(reason, str) and reason for _, reason in bad)
