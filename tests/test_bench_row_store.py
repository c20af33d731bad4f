"""bench/quality.py's row store: a benchmark stopped part-way keeps its finished rows, and refuses other settings."""
import json
import os
import pathlib
import sys

import pytest

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent.parent / "bench"))

from row_store import RowStore  # noqa: E402

SETTINGS = {"steps": 800, "batch_size": 64, "seed": 0, "our_schedule": "default", "max_held_out": None}


def test_rows_saved_by_one_run_are_read_back_by_the_next(tmp_path):
    first = RowStore(str(tmp_path), SETTINGS)
    assert first.get("ours_plain") is None
    first.put("ours_plain", {"psnr": 21.5, "identity": {"auc": 0.8}, "train_seconds": None})
    second = RowStore(str(tmp_path), dict(SETTINGS))
    assert second.get("ours_plain") == {"psnr": 21.5, "identity": {"auc": 0.8}, "train_seconds": None}
    assert second.get("peer_plain") is None
    assert second.keys() == ["ours_plain"]
    assert json.loads((tmp_path / "settings.json").read_text()) == SETTINGS
    assert not [name for name in os.listdir(tmp_path / "rows") if not name.endswith(".json")]


def test_other_settings_in_the_same_folder_are_refused_naming_folder_and_setting(tmp_path):
    RowStore(str(tmp_path), SETTINGS).put("ours_plain", {"psnr": 21.5})
    with pytest.raises(SystemExit) as refused:
        RowStore(str(tmp_path), {**SETTINGS, "steps": 30})
    message = str(refused.value)
    assert str(tmp_path) in message and "steps=800 there, 30 now" in message and "\n" not in message
    assert RowStore(str(tmp_path), SETTINGS).get("ours_plain") == {"psnr": 21.5}   # nothing saved was lost


def test_an_unreadable_row_is_named_and_a_key_must_be_a_file_name(tmp_path):
    store = RowStore(str(tmp_path), SETTINGS)
    (tmp_path / "rows" / "ours_dfc.json").write_text("{not json")
    with pytest.raises(SystemExit, match="ours_dfc.json cannot be read"):
        store.get("ours_dfc")
    with pytest.raises(ValueError, match="plain file name"):
        store.put("../escape", {})


def test_a_setting_added_since_takes_its_old_value_in_folders_that_lack_it(tmp_path):
    RowStore(str(tmp_path), SETTINGS).put("ours_plain", {"psnr": 21.5})
    old = {"recalibrate_batch_norm": False}
    # The folder's rows were made before the setting existed, that is with its old value.
    store = RowStore(str(tmp_path), {**SETTINGS, "recalibrate_batch_norm": False}, unrecorded=old)
    assert store.get("ours_plain") == {"psnr": 21.5}
    with pytest.raises(SystemExit, match="recalibrate_batch_norm=False there, True now"):
        RowStore(str(tmp_path), {**SETTINGS, "recalibrate_batch_norm": True}, unrecorded=old)
