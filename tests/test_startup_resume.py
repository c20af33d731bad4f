"""A run killed during start-up, before its first save, is continued by --resume from step 0 to its last step."""
import os
import pathlib
import signal
import subprocess
import sys
import time

import tensorflow as tf

from facenet_vae.training import run_folder

ROOT = pathlib.Path(__file__).resolve().parents[1]
TINY = ["--vae_def=dfc_vae", "--latent_var_size=8", "--reconstruction_loss_type=PLAIN", "--batch_size=8",
        "--num_synthetic=64", "--save_every_n_steps=1", "--noexport_saved_model"]


def _kill_when(path, process, timeout=240):
    """SIGKILL ``process`` as soon as ``path`` exists; returns whether it was still starting then."""
    deadline = time.time() + timeout
    try:
        while not os.path.exists(path) and process.poll() is None and time.time() < deadline:
            time.sleep(0.01)
        return process.poll() is None
    finally:
        process.send_signal(signal.SIGKILL)
        process.wait()


def _latest_step(run_dir):
    latest = tf.train.latest_checkpoint(os.path.join(run_dir, "checkpoints"))
    return None if latest is None else run_folder.checkpoint_step(latest)


def _start_and_kill(base):
    run_dir = str(base / "startup")
    process = subprocess.Popen([sys.executable, "train_vae.py", "--run_name=startup", f"--models_base_dir={base}",
                                "--max_nrof_steps=3", "--verbose=0", *TINY], cwd=ROOT, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
    assert _kill_when(os.path.join(run_dir, run_folder.MODEL_CONFIG_FILE), process), "the run ended before the kill"
    assert _latest_step(run_dir) is None                     # killed during start-up: no checkpoint yet
    assert os.path.isfile(os.path.join(run_dir, "flags.txt"))
    return run_dir


def _resume(run_dir):
    return subprocess.run([sys.executable, "train_vae.py", f"--resume={run_dir}"], cwd=ROOT, capture_output=True,
                          text=True, timeout=300)


def test_a_run_killed_during_start_up_resumes_to_its_last_step(tmp_path):
    run_dir = _start_and_kill(tmp_path / "runs")
    result = _resume(run_dir)       # every setting from the run's flags.txt, --max_nrof_steps=3 included
    assert result.returncode == 0, result.stderr[-3000:]
    warnings = [line for line in result.stderr.splitlines() if "no checkpoint yet" in line]
    assert len(warnings) == 1 and warnings[0].startswith("train_vae.py: warning: ") and "step 0" in warnings[0]
    assert _latest_step(run_dir) == 3
    assert os.path.isfile(os.path.join(run_dir, "model.keras"))
    assert run_folder.read_model_config(run_dir)["latent_var_size"] == 8


def test_a_run_stopped_before_its_model_was_built_resumes_from_its_flags(tmp_path):
    run_dir = _start_and_kill(tmp_path / "runs")
    os.remove(os.path.join(run_dir, run_folder.MODEL_CONFIG_FILE))   # as if killed between flags.txt and the model
    result = _resume(run_dir)
    assert result.returncode == 0, result.stderr[-3000:]
    assert _latest_step(run_dir) == 3
    assert run_folder.read_model_config(run_dir)["vae_def"] == "dfc_vae"


def test_resume_still_refuses_a_folder_that_never_held_a_run(tmp_path):
    (tmp_path / "stray").mkdir()
    result = _resume(tmp_path / "stray")
    assert result.returncode == 1
    assert result.stderr.splitlines()[-1].startswith("train_vae.py: error: ")
    assert "model_config.json is missing" in result.stderr and not os.listdir(tmp_path / "stray")
