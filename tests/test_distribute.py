"""Multi-replica training on CPU: MirroredStrategy step equality and a two-worker run on localhost."""
import json
import os
import pathlib
import socket
import subprocess
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]
SCRIPTS = ROOT / "tests" / "scripts"


def _run(args, timeout, env=None):
    return subprocess.run([sys.executable, *args], capture_output=True, text=True, timeout=timeout,
                          cwd=ROOT, env=env)


# Float32 sums over the 8 x 64 x 64 x 3 pixel terms, accumulated in another order: sqrt(98304) * 6e-8.
LOSS_REL_TOLERANCE = 2e-5
# With no leaky-ReLU input near zero the two steps differ by float32 reassociation only.
REASSOCIATION_TOLERANCE = 1e-4
# A leaky-ReLU input that lands on the other side of zero changes its slope from 1 to 0.1 (by 0.9),
# which moves each gradient it feeds by at most 0.9 of one element's share. The smallest such sums
# are the 8 x 4 x 4 = 128 positions per channel of the last encoder convolution.
SMALLEST_GRADIENT_SUM = 128


@pytest.mark.parametrize("reduction", ["sum", "mean"])
def test_two_mirrored_cpu_replicas_take_the_same_step_as_one_fused_device(shared_dir, reduction):
    """The real one-device path (fused batch norm) against the mirrored one (synchronized batch norm)."""
    result = _run([str(SCRIPTS / "mirrored_step.py"), str(shared_dir / "data" / "celeba_subset.npz"),
                   reduction, "1,2,3"], timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    figures = json.loads(result.stdout.strip().splitlines()[-1])
    assert figures["replicas"] == 2
    differences = []
    for run in figures["runs"]:
        assert run["max_update"] > 1e-3                      # the step really moved the weights
        assert run["mirrored_loss"] == pytest.approx(run["single_loss"], rel=LOSS_REL_TOLERANCE)
        bound = REASSOCIATION_TOLERANCE + 0.9 * run["near_zero_inputs"] / SMALLEST_GRADIENT_SUM
        assert run["max_relative_update_diff"] < bound, run
        differences.append(run["max_relative_update_diff"])
    # A flip is rounding luck, and how often it happens depends on the CPU's kernels (on an AVX2 core at most
    # one seed of three flipped, on an AVX-512/AMX core two); a systematic difference between the paths (batch
    # statistics per replica, a wrong gradient scale) would move every seed. So at least one seed must
    # agree to float32 precision.
    assert min(differences) < REASSOCIATION_TOLERANCE, differences


def _free_ports(count):
    sockets = [socket.socket() for _ in range(count)]
    for s in sockets:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in sockets]
    for s in sockets:
        s.close()
    return ports


TINY = ["--vae_def=dfc_vae", "--latent_var_size=8", "--reconstruction_loss_type=PLAIN", "--batch_size=8",
        "--num_synthetic=64", "--save_every_n_steps=2", "--summary_every_n_steps=1", "--verbose=2",
        "--noexport_saved_model"]


def test_two_workers_on_localhost_train_and_the_chief_checkpoint_resumes_on_one_device(tmp_path):
    ports = _free_ports(2)
    cluster = {"worker": [f"127.0.0.1:{port}" for port in ports]}
    base = str(tmp_path / "runs")
    workers = []
    for index in range(2):
        env = dict(os.environ, TF_CONFIG=json.dumps({"cluster": cluster, "task": {"type": "worker", "index": index}}),
                   TF_CPP_MIN_LOG_LEVEL="2")
        workers.append(subprocess.Popen(
            [sys.executable, "train_vae.py", "--strategy=multi_worker", "--run_name=mw", f"--models_base_dir={base}",
             "--max_nrof_steps=4", *TINY], cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
            text=True))
    outputs = []
    try:
        for worker in workers:
            outputs.append(worker.communicate(timeout=420)[0])
    finally:
        for worker in workers:
            if worker.poll() is None:
                worker.kill()
    for worker, output in zip(workers, outputs):
        assert worker.returncode == 0, output[-3000:]
    assert "2 replicas in sync" in outputs[0] or "2 replicas in sync" in outputs[1]

    run_dir = pathlib.Path(base) / "mw"
    checkpoints = run_dir / "checkpoints"
    assert (checkpoints / "ckpt-4.index").exists()
    assert (run_dir / "reconstructed_000004.png").exists() and (run_dir / "model.keras").exists()
    assert not [p for p in run_dir.iterdir() if p.name.startswith(".worker-")]   # worker temp folders removed

    resumed = _run(["train_vae.py", f"--resume={run_dir}", "--max_nrof_steps=6", *TINY], timeout=300)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert (checkpoints / "ckpt-6.index").exists()

    # ... and back to several replicas.
    mirrored = _run(["train_vae.py", f"--resume={run_dir}", "--max_nrof_steps=8", "--strategy=mirrored",
                     "--cpu_replicas=2", *TINY], timeout=300)
    assert mirrored.returncode == 0, mirrored.stderr[-3000:]
    assert "2 replicas in sync" in mirrored.stderr
    assert (checkpoints / "ckpt-8.index").exists()
