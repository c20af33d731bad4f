"""The finished rows of a long benchmark, kept in its ``--output_dir`` so a stopped run continues where it stopped.

    store = RowStore(output_dir, {"steps": 800, "batch_size": 64})   # refuses a folder made with other settings
    store.get("ours_plain")            # None until that row is saved
    store.put("ours_plain", {...})     # written atomically: a run killed mid-write keeps the rows it had

A benchmark that takes hours on a CPU outlives a working session; run again with the same
``--output_dir`` and the same settings, it skips the rows it finished and prints one table of all of
them. The settings that change what a row measures are recorded in ``settings.json``; another value
of any of them is refused, naming the folder and the setting, so rows trained differently never share
a table.
"""
import json
import os
import re

from facenet_vae.atomic_files import atomic_write

SETTINGS_FILE = "settings.json"
ROWS_FOLDER = "rows"


class RowStore:
    """Rows (JSON-serialisable dicts) by key, in ``<output_dir>/rows/<key>.json``."""

    def __init__(self, output_dir, settings, unrecorded=None):
        """``unrecorded``: the value each setting added since had in folders whose ``settings.json`` lacks it."""
        self.output_dir = output_dir
        os.makedirs(os.path.join(output_dir, ROWS_FOLDER), exist_ok=True)
        path = os.path.join(output_dir, SETTINGS_FILE)
        settings = json.loads(json.dumps(settings))   # as it reads back: tuples become lists
        if os.path.exists(path):
            recorded = {**(unrecorded or {}), **_read_json(path)}
            changed = sorted(key for key in set(recorded) | set(settings) if recorded.get(key) != settings.get(key))
            if changed:
                differences = ", ".join(f"{key}={recorded.get(key)!r} there, {settings.get(key)!r} now" for key in changed)
                raise SystemExit(f"error: {output_dir} holds rows of another benchmark run ({differences}); "
                                 "use another --output_dir, or the same settings to continue it")
        else:
            _write_json(path, settings)

    def _path(self, key):
        if not re.fullmatch(r"[A-Za-z0-9_.-]+", key):
            raise ValueError(f"row key {key!r} must be a plain file name")
        return os.path.join(self.output_dir, ROWS_FOLDER, key + ".json")

    def get(self, key):
        """Return the saved row ``key``, or None when it was never finished."""
        path = self._path(key)
        return _read_json(path) if os.path.exists(path) else None

    def put(self, key, row):
        """Save row ``key`` (replacing any saved before)."""
        _write_json(self._path(key), row)

    def keys(self):
        """Return the keys of the saved rows, sorted."""
        return sorted(name[:-len(".json")] for name in os.listdir(os.path.join(self.output_dir, ROWS_FOLDER))
                      if name.endswith(".json"))


def _read_json(path):
    try:
        with open(path, encoding="utf-8") as handle:
            return json.load(handle)
    except (OSError, ValueError) as error:
        raise SystemExit(f"error: {path} cannot be read ({error}); remove it to redo that row") from error


def _write_json(path, value):
    atomic_write(path, json.dumps(value, indent=2))
