"""CelebA's ``list_attr_celeba.txt`` (strict reader, atomic writer) and the img_align_celeba layout.

The official format: a line with the number of rows, a line of attribute names, then one row per
image, ``NNNNNN.jpg`` followed by one value per attribute, -1 or 1, separated by spaces.
"""
import dataclasses
import os
import warnings

import numpy as np

from facenet_vae.atomic_files import atomic_write
from facenet_vae.data.errors import DataError, DataWarning
from facenet_vae.data.folders import image_paths_from_folder

ATTRIBUTE_FILE = "list_attr_celeba.txt"
IMAGE_FOLDER = "img_align_celeba"
PARTITION_FILE = "list_eval_partition.txt"
# Where the official download (and common re-packagings) put the files, relative to data_dir.
_ATTRIBUTE_CANDIDATES = (ATTRIBUTE_FILE, os.path.join("Anno", ATTRIBUTE_FILE))
_IMAGE_CANDIDATES = (IMAGE_FOLDER, os.path.join(IMAGE_FOLDER, IMAGE_FOLDER), os.path.join("Img", IMAGE_FOLDER))
_PARTITION_CANDIDATES = (PARTITION_FILE, os.path.join("Eval", PARTITION_FILE))
SPLITS = {"train": 0, "validation": 1, "val": 1, "test": 2}
# The 40 attribute names of list_attr_celeba.txt, in the official column order (Smiling is 31, as
# facenet's modify_attribute.py hard-coded). Every CelebA reader returns attributes in this order.
CELEBA_ATTRIBUTE_NAMES = (
    "5_o_Clock_Shadow Arched_Eyebrows Attractive Bags_Under_Eyes Bald Bangs Big_Lips Big_Nose Black_Hair "
    "Blond_Hair Blurry Brown_Hair Bushy_Eyebrows Chubby Double_Chin Eyeglasses Goatee Gray_Hair Heavy_Makeup "
    "High_Cheekbones Male Mouth_Slightly_Open Mustache Narrow_Eyes No_Beard Oval_Face Pale_Skin Pointy_Nose "
    "Receding_Hairline Rosy_Cheeks Sideburns Smiling Straight_Hair Wavy_Hair Wearing_Earrings Wearing_Hat "
    "Wearing_Lipstick Wearing_Necklace Wearing_Necktie Young").split()


@dataclasses.dataclass
class CelebAAttributes:
    """Parsed attribute file: ``names`` (K), ``filenames`` (N), ``values`` int8 (N, K) in {-1, 1}.

    ``source`` is the file read and ``line_numbers`` the 1-based line of each row (for messages).
    """
    names: list
    filenames: list
    values: np.ndarray
    source: str = None
    line_numbers: list = None

    def __len__(self):
        return len(self.filenames)

    def column(self, name):
        """Return the int8 (N,) column of attribute ``name``; KeyError listing the names if unknown."""
        if name not in self.names:
            raise KeyError(f"no attribute {name!r}; the attributes are {', '.join(self.names)}")
        return self.values[:, self.names.index(name)]

    def line_of(self, index):
        """Return the 1-based line number of row ``index`` in ``source`` (the official layout if unknown)."""
        return self.line_numbers[index] if self.line_numbers is not None else index + 3


def _error(path, line, message):
    return DataError(f"{path}, line {line}: {message}")


def read_attribute_file(path):
    """Return the CelebAAttributes of a ``list_attr_celeba.txt``-format file, checked strictly.

    Raises DataError naming the file and line for: an empty file, a count line that is not a
    non-negative integer or does not match the number of rows, a missing or repeated attribute
    name, a row whose column count differs from the header's, a value other than -1/1, or a
    repeated filename. CRLF line endings, a UTF-8 BOM and trailing blank lines are accepted.
    """
    path = os.fspath(path)
    try:
        with open(path, "rb") as f:
            raw = f.read()
    except OSError as err:
        raise DataError(f"cannot read attribute file {path!r}: {err.strerror or err}") from err
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        line = raw[:err.start].count(b"\n") + 1
        raise _error(path, line, "not UTF-8 text; is this a CelebA attribute file?") from None
    lines = [line[:-1] if line.endswith("\r") else line for line in text.split("\n")]
    while lines and not lines[-1].strip():
        lines.pop()
    if not lines:
        raise DataError(f"{path}: empty attribute file (expected a count line, a header and rows)")

    count_text = lines[0].strip()
    if not (count_text.isascii() and count_text.isdigit()):
        raise _error(path, 1, f"expected the number of rows, got {lines[0][:40]!r}")
    count = int(count_text)
    if len(lines) < 2 or not lines[1].strip():
        raise _error(path, 2, "expected the line of attribute names")
    names = lines[1].split()
    seen = set()
    for name in names:
        if name in seen:
            raise _error(path, 2, f"attribute name {name!r} appears twice")
        seen.add(name)
    num_columns = len(names) + 1

    rows = lines[2:]
    if len(rows) != count:
        # Point at the first surplus row, or at the count line when rows are missing.
        raise _error(path, count + 3 if len(rows) > count else 1,
                     f"the count line says {count} rows but the file has {len(rows)}")
    filenames, line_numbers = [], []
    values = np.empty((count, len(names)), dtype=np.int8)
    row_of = {}
    for index, line in enumerate(rows):
        line_number = index + 3
        fields = line.split()
        if len(fields) != num_columns:
            what = "blank line" if not fields else f"{len(fields)} columns"
            raise _error(path, line_number, f"{what}, expected {num_columns} (a filename and {len(names)} values)")
        filename = fields[0]
        if filename in row_of:
            raise _error(path, line_number, f"filename {filename!r} repeats line {row_of[filename]}")
        row_of[filename] = line_number
        for column, field in enumerate(fields[1:]):
            if field == "1":
                values[index, column] = 1
            elif field == "-1":
                values[index, column] = -1
            else:
                raise _error(path, line_number, f"value {field[:20]!r} for {names[column]!r} of {filename!r}; "
                                                "CelebA attributes are -1 or 1")
        filenames.append(filename)
        line_numbers.append(line_number)
    return CelebAAttributes(names, filenames, values, source=path, line_numbers=line_numbers)


def _check_token(kind, token):
    if not isinstance(token, str) or not token or token != token.strip() or len(token.split()) != 1:
        raise DataError(f"{kind} {token!r} cannot be written: it must be a non-empty string without spaces")


def write_attribute_file(path, names, filenames, values):
    """Write ``values`` (N, K) in {-1, 1} in the official format to ``path``; returns ``path``.

    The file is written to a temporary file beside ``path`` and moved over it, so a reader never
    sees a half-written file. Raises DataError for names with spaces, repeated names/filenames,
    a shape mismatch or values other than -1/1.
    """
    path = os.fspath(path)
    names, filenames = list(names), list(filenames)
    values = np.asarray(values)
    for name in names:
        _check_token("attribute name", name)
    for filename in filenames:
        _check_token("filename", filename)
    if len(set(names)) != len(names):
        raise DataError("attribute names repeat")
    if len(set(filenames)) != len(filenames):
        raise DataError("filenames repeat")
    if not names:
        raise DataError("an attribute file needs at least one attribute name")
    if values.ndim != 2 or values.shape != (len(filenames), len(names)):
        raise DataError(f"values have shape {values.shape}, expected ({len(filenames)}, {len(names)})")
    if not np.isin(values, (-1, 1)).all():
        raise DataError("attribute values must be -1 or 1")
    values = values.astype(np.int64)
    lines = [str(len(filenames)), " ".join(names)]
    # As in the official file: the first value follows the name after one space, the others are right-aligned.
    lines += [" ".join([filename, str(row[0])] + ["%2d" % v for v in row[1:]])
              for filename, row in zip(filenames, values)]
    return atomic_write(path, "\n".join(lines) + "\n")


def match_attributes_to_images(attrs, image_folder, allow_missing=False):
    """Return ``(paths, values)``: the image path of each attribute row found in ``image_folder``.

    ``image_folder`` is a flat folder (img_align_celeba) or a FaceNet-style tree; rows are matched
    by file name and keep the attribute file's order. A listed image missing from the folder raises
    DataError naming it and its line, unless ``allow_missing`` (its row is then dropped with one
    DataWarning). Images not listed in the file are ignored.
    """
    by_name = {}
    for path in image_paths_from_folder(image_folder):
        name = os.path.basename(path)
        if name in by_name:
            raise DataError(f"image name {name!r} appears twice in {image_folder!r} ({by_name[name]!r} and "
                            f"{path!r}); attribute rows are matched by file name")
        by_name[name] = path
    paths, keep, missing = [], [], []
    for index, filename in enumerate(attrs.filenames):
        path = by_name.get(filename)
        if path is None:
            missing.append(index)
        else:
            paths.append(path)
            keep.append(index)
    source = attrs.source or "attribute file"
    if missing:
        first = missing[0]
        message = (f"{source}, line {attrs.line_of(first)}: image {attrs.filenames[first]!r} is not in "
                   f"{image_folder!r} ({len(missing)} of {len(attrs)} listed images are missing)")
        if not allow_missing:
            raise DataError(message)
        warnings.warn(message + "; skipping them", DataWarning, stacklevel=2)
        if not keep:
            raise DataError(message)
    return paths, attrs.values[np.asarray(keep, dtype=np.int64)]


def _first_existing(data_dir, candidates, is_dir):
    for candidate in candidates:
        full = os.path.join(data_dir, candidate)
        if (os.path.isdir(full) if is_dir else os.path.isfile(full)):
            return full
    return None


def find_celeba_files(data_dir, attribute_file=None):
    """Return ``(image_folder, attribute_file)`` of a CelebA download in ``data_dir``.

    Looks for ``img_align_celeba/`` and ``list_attr_celeba.txt`` (also the official ``Img/`` and
    ``Anno/`` sub-folders); ``attribute_file`` overrides the search. Raises DataError saying what
    is missing.
    """
    data_dir = os.path.expanduser(os.fspath(data_dir))
    if not os.path.isdir(data_dir):
        raise DataError(f"CelebA folder {data_dir!r} does not exist")
    folder = _first_existing(data_dir, _IMAGE_CANDIDATES, is_dir=True)
    if folder is None:
        raise DataError(f"no {IMAGE_FOLDER}/ folder in {data_dir!r}; expected {data_dir}/{IMAGE_FOLDER}/*.jpg "
                        f"and {data_dir}/{ATTRIBUTE_FILE}")
    if attribute_file is None:
        attribute_file = _first_existing(data_dir, _ATTRIBUTE_CANDIDATES, is_dir=False)
        if attribute_file is None:
            raise DataError(f"no {ATTRIBUTE_FILE} in {data_dir!r}; put it there or give its path explicitly")
    elif not os.path.isfile(attribute_file):
        raise DataError(f"attribute file {attribute_file!r} does not exist")
    return folder, os.fspath(attribute_file)


def read_partition_file(path):
    """Return ``{filename: partition}`` (0 train, 1 validation, 2 test) from ``list_eval_partition.txt``."""
    partition = {}
    with open(path, encoding="utf-8-sig") as f:
        for line_number, line in enumerate(f, 1):
            fields = line.split()
            if not fields:
                continue
            if len(fields) != 2 or fields[1] not in ("0", "1", "2"):
                raise DataError(f"{path}, line {line_number}: expected '<filename> <0|1|2>', got {line.strip()[:60]!r}")
            partition[fields[0]] = int(fields[1])
    return partition


def find_partition_file(data_dir, attribute_file=None):
    """Return the path of ``list_eval_partition.txt`` beside ``attribute_file`` or in ``data_dir``, or None."""
    if attribute_file is not None:
        found = _first_existing(os.path.dirname(os.fspath(attribute_file)), (PARTITION_FILE,), is_dir=False)
        if found:
            return found
    return _first_existing(os.path.expanduser(os.fspath(data_dir)), _PARTITION_CANDIDATES, is_dir=False)


def load_celeba(data_dir, attribute_file=None, allow_missing=False, split="all"):
    """Return ``(paths, values, names)`` of a CelebA download, optionally one split of it.

    ``split`` is "all", "train", "validation" or "test"; a split needs ``list_eval_partition.txt``
    beside the attribute file or in ``data_dir`` (DataError otherwise).
    """
    folder, attribute_file = find_celeba_files(data_dir, attribute_file)
    attrs = read_attribute_file(attribute_file)
    if split != "all":
        if split not in SPLITS:
            raise DataError(f"unknown split {split!r}; use all, train, validation or test")
        partition_file = find_partition_file(data_dir, attribute_file)
        if partition_file is None:
            raise DataError(f"split {split!r} needs {PARTITION_FILE} in {data_dir!r}; add it or use split='all'")
        partition = read_partition_file(partition_file)
        rows = [i for i, name in enumerate(attrs.filenames) if partition.get(name) == SPLITS[split]]
        attrs = CelebAAttributes(attrs.names, [attrs.filenames[i] for i in rows], attrs.values[rows],
                                 attrs.source, [attrs.line_of(i) for i in rows])
    paths, values = match_attributes_to_images(attrs, folder, allow_missing=allow_missing)
    return paths, values, list(attrs.names)


def is_celeba_download(data_dir):
    """Return True when ``data_dir`` holds a CelebA download (img_align_celeba/ and list_attr_celeba.txt)."""
    try:
        find_celeba_files(data_dir)
    except DataError:
        return False
    return True
