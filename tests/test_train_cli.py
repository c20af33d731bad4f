"""train_vae.py on the console: grouped --help, flags checked before TensorFlow, one line per error,
no orphan run folder, step-based progress without TensorFlow noise, a reusable flagfile, --keep_optimizer."""
import os
import pathlib
import subprocess
import sys

import pytest
import tensorflow as tf

ROOT = pathlib.Path(__file__).resolve().parents[1]
TINY = ["--vae_def=dfc_vae", "--latent_var_size=8", "--reconstruction_loss_type=PLAIN", "--batch_size=8",
        "--num_synthetic=64", "--noexport_saved_model"]
TENSORFLOW_NOISE = ("I0000", "E0000", "W0000", "absl::InitializeLog", "oneDNN", "cuInit", "Sharding callback",
                    "signature_serialization", "Assets written")


def _train(*args, timeout=300):
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    env.pop("TF_CPP_MIN_LOG_LEVEL", None)
    return subprocess.run([sys.executable, "train_vae.py", *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=timeout, env=env)


def test_help_lists_the_flags_by_group_in_order():
    result = _train("--help", timeout=60)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    headings = [line[:-1] for line in lines if line in {f"{group}:" for group in
                                                       ("data", "model", "objective", "optimisation", "run",
                                                        "distribution")}]
    assert headings == ["data", "model", "objective", "optimisation", "run", "distribution"]

    def group_of(flag):
        index = next(i for i, line in enumerate(lines) if line.lstrip().startswith(f"--{flag}:"))
        return next(lines[i][:-1] for i in range(index, -1, -1) if lines[i] in {f"{h}:" for h in headings})

    assert group_of("data_dir") == "data" and group_of("vae_def") == "model"
    assert group_of("loss_reduction") == "objective" and group_of("batch_size") == "optimisation"
    assert group_of("keep_optimizer") == "run" and group_of("cpu_replicas") == "distribution"
    assert "<default|mirrored|multi_worker|tpu>" in result.stdout        # choices from distribute's constant
    assert not any(noise in result.stdout + result.stderr for noise in TENSORFLOW_NOISE)


@pytest.mark.parametrize("args, words", [
    (["--batchsize=3"], "batch_size"),
    (["--vae_def=dfc_vae_huge"], "dfc_vae_resnet"),
    (["--max_nrof_steps=0"], "max_nrof_steps"),
    (["--strategy=multi_worker"], "run_name"),
])
def test_a_bad_command_line_is_one_line_and_exit_2(args, words):
    result = _train(*args, timeout=60)
    assert result.returncode == 2
    assert result.stdout == ""
    assert len(result.stderr.splitlines()) == 1 and result.stderr.startswith("train_vae.py: error: ")
    assert words in result.stderr


def test_flags_are_checked_before_tensorflow_loads():
    code = ("import sys; from facenet_vae.cli import train; train.parse_config(['train_vae.py', '--batch_size=4']);"
            " print('tensorflow' in sys.modules, 'keras' in sys.modules)")
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60,
                            env=dict(os.environ, PYTHONPATH=str(ROOT)))
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["False", "False"]


@pytest.mark.parametrize("problem", ["missing folder", "empty folder", "missing weights", "missing pretrained",
                                     "bad pretrained"])
def test_a_failed_start_is_one_line_and_leaves_no_run_folder(tmp_path, problem):
    base = tmp_path / "runs"
    (tmp_path / "empty").mkdir()
    (tmp_path / "nope.keras").write_text("not a model")
    extra = {"missing folder": [f"--data_dir={tmp_path / 'nowhere'}"],
             "empty folder": [f"--data_dir={tmp_path / 'empty'}"],
             "missing weights": ["--reconstruction_loss_type=PERCEPTUAL",
                                 f"--perceptual_weights={tmp_path / 'nope.h5'}"],
             "missing pretrained": [f"--pretrained_model={tmp_path / 'nope.h5'}"],
             "bad pretrained": [f"--pretrained_model={tmp_path / 'nope.keras'}"]}[problem]
    result = _train(*TINY, *extra, f"--models_base_dir={base}", "--max_nrof_steps=2", "--verbose=0")
    assert result.returncode == 1
    assert len(result.stderr.splitlines()) == 1 and result.stderr.startswith("train_vae.py: error: "), result.stderr
    named = {"missing weights": "nope.h5", "missing pretrained": "nope.h5", "bad pretrained": "nope.keras"}
    assert named.get(problem, str(tmp_path)) in result.stderr
    assert not base.exists() or os.listdir(base) == []


def test_progress_is_by_step_per_image_and_quiet(tmp_path):
    base = tmp_path / "runs"
    result = _train(*TINY, "--facenet_objective", f"--models_base_dir={base}", "--run_name=quiet", "--max_nrof_steps=4",
                    "--save_every_n_steps=2", "--verbose=2")
    assert result.returncode == 0, result.stderr
    progress = [line for line in result.stdout.splitlines() if line.startswith("step ")]
    assert [line.split()[1] for line in progress] == ["2/4", "4/4"]
    for line in progress:
        assert "images/s" in line and " left" in line and "loss/image" in line and "kl/image" in line
        assert "summed over the batch" in line                 # facenet's scale beside the per-image values
    assert "Epoch" not in result.stdout
    assert not any(noise in result.stdout + result.stderr for noise in TENSORFLOW_NOISE), result.stderr
    assert all(line.startswith("train_vae.py: ") for line in result.stderr.splitlines())


def test_flagfile_repeats_a_run_and_keep_optimizer_false_leaves_it_out(tmp_path):
    base = tmp_path / "runs"
    first = _train(*TINY, f"--models_base_dir={base}", "--run_name=first", "--max_nrof_steps=2",
                   "--save_every_n_steps=2", "--nokeep_optimizer", "--verbose=0", "--seed=5")
    assert first.returncode == 0, first.stderr
    checkpoint = tf.train.latest_checkpoint(str(base / "first" / "checkpoints"))
    names = [name for name, _ in tf.train.list_variables(checkpoint)]
    assert names and not any(name.startswith("optimizer/") for name in names)

    flagfile = base / "first" / "flags.txt"
    assert "--seed=5" in flagfile.read_text() and "--nokeep_optimizer" in flagfile.read_text()
    again = _train(f"--flagfile={flagfile}", "--run_name=again", "--verbose=0")
    assert again.returncode == 0, again.stderr
    arguments = [(base / name / "arguments.txt").read_text().splitlines() for name in ("first", "again")]
    assert [line for line in arguments[0] if not line.startswith("run_name")] == \
        [line for line in arguments[1] if not line.startswith("run_name")]

    # A model-only checkpoint still resumes at its step (Adam's moments start again). The resume names no
    # other setting: the run's own (flags.txt) apply, and the command line's override them.
    resumed = _train(f"--resume={base / 'first'}", "--max_nrof_steps=4", "--save_every_n_steps=2", "--verbose=0")
    assert resumed.returncode == 0, resumed.stderr
    assert tf.train.latest_checkpoint(str(base / "first" / "checkpoints")).endswith("ckpt-4")
    resumed_settings = (base / "first" / "arguments.txt").read_text().split("# resumed")[1].splitlines()
    for line in ("vae_def: dfc_vae", "latent_var_size: 8", "reconstruction_loss_type: PLAIN", "seed: 5",
                 "keep_optimizer: False", "max_nrof_steps: 4", "save_every_n_steps: 2"):
        assert line in resumed_settings, line

    # The run's machines (the distribution settings) are not resumed: a multi-worker run's chief checkpoint
    # continues on one device.
    with open(flagfile, "a", encoding="utf-8") as handle:
        handle.write("--strategy=multi_worker\n")
    moved = _train(f"--resume={base / 'first'}", "--max_nrof_steps=6", "--verbose=0")
    assert moved.returncode == 0, moved.stderr
    assert tf.train.latest_checkpoint(str(base / "first" / "checkpoints")).endswith("ckpt-6")


def test_resume_reads_the_runs_flags_and_says_what_it_left_out(tmp_path):
    missing = _train(f"--resume={tmp_path}", "--latent_var_size=0", timeout=60)
    assert missing.returncode == 2
    assert f"warning: {tmp_path / 'flags.txt'} does not exist: resuming with the command line's settings only" \
        in missing.stderr, missing.stderr

    (tmp_path / "flags.txt").write_text("# python train_vae.py --flagfile=flags.txt\n--latent_var_size=0\n")
    bad = _train(f"--resume={tmp_path}", timeout=60)
    assert bad.returncode == 2 and "flags.txt" in bad.stderr and "latent_var_size" in bad.stderr, bad.stderr

    (tmp_path / "flags.txt").write_text("--an_old_setting=3\n--nono_such_switch\n--latent_var_size=-1\n")
    overridden = _train(f"--resume={tmp_path}", "--latent_var_size=0", timeout=60)
    assert overridden.returncode == 2
    assert "ignoring --an_old_setting=3" in overridden.stderr and "ignoring --nono_such_switch" in overridden.stderr
    assert "latent_var_size" in overridden.stderr.splitlines()[-1] and "0" in overridden.stderr.splitlines()[-1]


def test_savedmodel_export_is_quiet_and_verbose_3_restores_tensorflow_log(tmp_path):
    base = tmp_path / "runs"
    common = ["--vae_def=dfc_vae", "--latent_var_size=8", "--reconstruction_loss_type=PLAIN", "--batch_size=8",
              "--num_synthetic=64", "--max_nrof_steps=1", "--save_every_n_steps=1", f"--models_base_dir={base}"]
    quiet = _train(*common, "--run_name=quiet", "--export_saved_model", "--verbose=2")
    assert quiet.returncode == 0, quiet.stderr
    assert (base / "quiet" / "saved_model" / "saved_model.pb").exists()
    assert not any(noise in quiet.stdout + quiet.stderr for noise in TENSORFLOW_NOISE), quiet.stderr
    loud = _train(*common, "--run_name=loud", "--noexport_saved_model", "--verbose=3")
    assert loud.returncode == 0, loud.stderr
    assert any(noise in loud.stdout + loud.stderr for noise in TENSORFLOW_NOISE)


def test_facenets_flag_name_input_image_size_sets_crop_size(tmp_path):
    on_the_command_line = _train("--input_image_size=7", timeout=60)
    assert on_the_command_line.returncode == 2
    assert "--crop_size must be at least 8, got 7" in on_the_command_line.stderr.splitlines()[-1]

    (tmp_path / "flags.txt").write_text("--input_image_size=6\n")   # a run folder of the versions before the rename
    from_an_old_run = _train(f"--resume={tmp_path}", timeout=60)
    assert from_an_old_run.returncode == 2 and "ignoring" not in from_an_old_run.stderr
    assert "--crop_size must be at least 8, got 6" in from_an_old_run.stderr.splitlines()[-1]


def test_flags_txt_records_the_objective_and_runs_from_before_the_flag_resume_with_facenets(tmp_path):
    base = tmp_path / "runs"
    first = _train(*TINY, f"--models_base_dir={base}", "--run_name=recipe", "--max_nrof_steps=2",
                   "--save_every_n_steps=2", "--verbose=0")
    assert first.returncode == 0, first.stderr
    recorded = (base / "recipe" / "flags.txt").read_text().splitlines()
    # The recipe's PLAIN objective, resolved and written down, so a later default cannot change the run.
    for line in ("--nofacenet_objective", "--pixel_weight=0.000167", "--beta=0.06", "--loss_reduction=mean"):
        assert line in recorded, line
    # A run folder from before --facenet_objective: facenet's resolution applied to what it left unset.
    old = [line for line in recorded if not line.startswith(("--nofacenet_objective", "--pixel_weight",
                                                              "--beta", "--loss_reduction"))]
    (base / "recipe" / "flags.txt").write_text("\n".join(old + ["--beta=0.5", "--loss_reduction=sum"]) + "\n")
    resumed = _train(f"--resume={base / 'recipe'}", "--max_nrof_steps=4", "--save_every_n_steps=2", "--verbose=0")
    assert resumed.returncode == 0, resumed.stderr
    resumed_settings = (base / "recipe" / "arguments.txt").read_text().split("# resumed")[1].splitlines()
    assert "facenet_objective: True" in resumed_settings and "pixel_weight: 0.5" in resumed_settings
    assert "loss_reduction: sum" in resumed_settings
