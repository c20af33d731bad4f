"""Progress sent to a file is plain lines: no ANSI colour codes, no carriage returns; a terminal still gets the bar."""
import io
import os
import pathlib
import subprocess
import sys
import types

import numpy as np
from PIL import Image

from facenet_vae.data.images import scan_images
from facenet_vae.training import progress
from facenet_vae.training.objective import Objective

ROOT = pathlib.Path(__file__).resolve().parents[1]
TINY = ["--vae_def=dfc_vae", "--latent_var_size=8", "--reconstruction_loss_type=PLAIN", "--batch_size=8",
        "--num_synthetic=64", "--noexport_saved_model"]
LOGS = {"loss": np.float32(300.0), "kl_loss": np.float32(20.0), "reconstruction_loss": np.float32(280.0)}


class _Terminal(io.StringIO):
    def isatty(self):
        return True


def _run_progress(stream, steps=4, line_every=2):
    """Drive a verbose-1 ``StepProgress`` through ``steps`` optimizer steps of batch 8."""
    callback = progress.StepProgress(Objective(1.0, 0.5, 0.0, "sum", None, "pixels"), 8, steps, 0, verbose=1,
                                     line_every=line_every, stream=stream)
    iterations = np.zeros((), np.int64)
    callback.set_model(types.SimpleNamespace(optimizer=types.SimpleNamespace(iterations=iterations)))
    callback.on_train_begin()
    for step in range(1, steps + 1):
        iterations[...] = step
        callback.on_train_batch_end(step - 1, dict(LOGS))
    return callback


def test_without_a_terminal_verbose_1_writes_plain_lines_every_line_every_steps(capsys):
    stream = io.StringIO()
    callback = _run_progress(stream)
    assert callback.progbar is None
    lines = stream.getvalue().splitlines()
    assert [line.split()[1] for line in lines] == ["2/4", "4/4"]
    assert "loss/image " in lines[0] and "kl/image " in lines[0] and "(loss summed over the batch 300)" in lines[0]
    assert "\x1b" not in stream.getvalue() and "\r" not in stream.getvalue()
    assert capsys.readouterr().out == ""


def test_without_a_terminal_a_slow_run_still_writes_a_line_a_minute(monkeypatch):
    monkeypatch.setattr(progress, "PLAIN_LINE_SECONDS", 0.0)
    stream = io.StringIO()
    _run_progress(stream, steps=3, line_every=100)
    assert [line.split()[1] for line in stream.getvalue().splitlines()] == ["1/3", "2/3", "3/3"]


def test_a_terminal_gets_the_progress_bar(capsys):
    stream = _Terminal()
    callback = _run_progress(stream)
    assert callback.progbar is not None and stream.getvalue() == ""
    assert "4/4" in capsys.readouterr().out


def test_scanning_images_into_a_log_is_one_plain_line(tmp_path, capsys):
    for index in range(6):
        Image.fromarray(np.full((40, 40, 3), index * 40, np.uint8)).save(tmp_path / f"{index}.png")
    good, bad = scan_images(sorted(str(path) for path in tmp_path.iterdir()), progress=True, progress_threshold=5)
    assert len(good) == 6 and bad == []
    err = capsys.readouterr().err
    assert "\x1b" not in err and "\r" not in err and "\b" not in err
    assert err.splitlines()[0] == "Scanning images" and err.splitlines()[1].startswith("6/6 - ")


def test_train_vae_progress_redirected_to_a_file_is_plain(tmp_path):
    log = tmp_path / "train.log"
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    with open(log, "w") as out:
        result = subprocess.run([sys.executable, "train_vae.py", *TINY, f"--models_base_dir={tmp_path / 'runs'}",
                                 "--max_nrof_steps=4", "--save_every_n_steps=2", "--verbose=1"], cwd=ROOT,
                                stdout=out, stderr=subprocess.PIPE, text=True, timeout=300, env=env)
    assert result.returncode == 0, result.stderr[-3000:]
    text = log.read_text()
    assert "\x1b" not in text and "\r" not in text and "\b" not in text
    assert [line.split()[1] for line in text.splitlines() if line.startswith("step ")] == ["2/4", "4/4"]
