"""A run killed with SIGKILL, even while writing a checkpoint, resumes from the last complete one."""
import os
import pathlib
import random
import signal
import subprocess
import sys
import time

import tensorflow as tf

from facenet_vae.training import run_folder

ROOT = pathlib.Path(__file__).resolve().parents[1]
TINY = ["--vae_def=dfc_vae", "--latent_var_size=8", "--reconstruction_loss_type=PLAIN", "--batch_size=8",
        "--num_synthetic=64", "--save_every_n_steps=1", "--verbose=0", "--noexport_saved_model"]


def _latest_step(run_dir):
    latest = tf.train.latest_checkpoint(os.path.join(run_dir, "checkpoints"))
    return None if latest is None else run_folder.checkpoint_step(latest)


def _resume(run_dir, steps):
    result = subprocess.run([sys.executable, "train_vae.py", f"--resume={run_dir}", f"--max_nrof_steps={steps}",
                             *TINY], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]


def test_killed_in_the_middle_of_a_save_resumes_from_the_previous_checkpoint(tmp_path):
    base = tmp_path / "runs"
    died = subprocess.run([sys.executable, str(ROOT / "tests" / "scripts" / "train_and_die_mid_save.py"),
                           str(base), "3"], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert died.returncode == -signal.SIGKILL, died.stderr[-2000:]
    run_dir = str(base / "crash")
    assert os.path.exists(os.path.join(run_dir, "checkpoints", "ckpt-3.index"))   # half-finished save on disk
    assert _latest_step(run_dir) == 2                                               # ... but not the latest
    _resume(run_dir, 5)
    assert _latest_step(run_dir) == 5
    assert not [name for name in os.listdir(run_dir) if ".tmp" in name]


def test_random_sigkills_always_leave_a_resumable_run(tmp_path):
    rng = random.Random(7)
    base = tmp_path / "runs"
    run_dir = str(base / "killed")
    steps_seen = []
    for attempt in range(3):
        args = [f"--resume={run_dir}"] if attempt else ["--run_name=killed", f"--models_base_dir={base}"]
        process = subprocess.Popen([sys.executable, "train_vae.py", *args, "--max_nrof_steps=1000", *TINY],
                                   cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            # Wait for training to be under way (a checkpoint beyond the last one), then kill at a random moment
            # while checkpoints are being written every step.
            deadline = time.time() + 240
            start = _latest_step(run_dir) if os.path.isdir(run_dir) else None
            while time.time() < deadline and process.poll() is None:
                step = _latest_step(run_dir) if os.path.isdir(run_dir) else None
                if step is not None and step != start:
                    break
                time.sleep(0.2)
            time.sleep(rng.uniform(0.0, 1.5))
        finally:
            process.send_signal(signal.SIGKILL)
            process.wait()
        step = _latest_step(run_dir)
        assert step is not None and (not steps_seen or step >= steps_seen[-1])
        steps_seen.append(step)
        # The latest checkpoint is complete: it restores into a fresh model and optimizer.
        model, prefix = run_folder.load_model_from_run(run_dir)
        assert run_folder.checkpoint_step(prefix) == step
    _resume(run_dir, steps_seen[-1] + 2)
    assert _latest_step(run_dir) == steps_seen[-1] + 2
