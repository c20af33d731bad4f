"""train_vae.py names a wrong path in one line before TensorFlow loads: the data first, whatever the objective."""
import os
import pathlib
import resource
import subprocess
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]
# Runs main() in a child and reports its exit status and whether TensorFlow or Keras were imported.
MAIN = ("import sys; from facenet_vae.cli import train; sys.argv[0] = 'train_vae.py'; code = train.main(sys.argv); "
        "print(code, 'tensorflow' in sys.modules or 'keras' in sys.modules)")


def _main(*args):
    """Return ``(exit status, TensorFlow loaded, stderr, child CPU seconds)`` of ``train.main(args)``."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    result = subprocess.run([sys.executable, "-c", MAIN, *args], cwd=ROOT, capture_output=True, text=True,
                            timeout=120, env=dict(os.environ, PYTHONPATH=str(ROOT)))
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime
    if result.returncode:   # parse_config's usage errors exit through SystemExit
        return result.returncode, False, result.stderr, cpu
    code, loaded = result.stdout.split()
    return int(code), loaded == "True", result.stderr, cpu


@pytest.mark.parametrize("objective", [
    [],                                                                       # the default: VGG19, ImageNet weights
    ["--reconstruction_loss_type=PLAIN"],
    ["--perceptual_model=facenet", "--perceptual_weights=/no/such/facenet_keras.h5"],
])
def test_a_missing_data_dir_is_named_first_in_one_line_before_tensorflow(tmp_path, objective):
    missing = tmp_path / "no_such_dir"
    code, loaded, stderr, cpu = _main(f"--data_dir={missing}", f"--models_base_dir={tmp_path / 'runs'}", *objective)
    assert code == 1 and not loaded
    assert stderr.splitlines() == [f"train_vae.py: error: image folder '{missing}' (--data_dir) does not exist"]
    assert "VGG19" not in stderr and "weights" not in stderr
    assert cpu < 2.0, cpu          # CPU seconds: the wall time of a loaded test machine says little
    assert not (tmp_path / "runs").exists()


def test_a_celeba_folder_without_its_attribute_file_is_named(tmp_path):
    (tmp_path / "img_align_celeba").mkdir()
    code, loaded, stderr, _ = _main("--dataset=celeba", f"--data_dir={tmp_path}")
    assert code == 1 and not loaded
    assert len(stderr.splitlines()) == 1 and "list_attr_celeba.txt" in stderr and str(tmp_path) in stderr


def test_a_missing_npz_file_is_named(tmp_path):
    code, loaded, stderr, _ = _main(f"--data_dir={tmp_path / 'faces.npz'}")
    assert code == 1 and not loaded
    assert stderr.splitlines() == [f"train_vae.py: error: npz file '{tmp_path / 'faces.npz'}' (--data_dir) does "
                                   "not exist"]


def test_a_missing_weights_file_is_named_before_tensorflow(tmp_path):
    code, loaded, stderr, _ = _main(f"--perceptual_weights={tmp_path / 'nope.h5'}")   # synthetic data: no path
    assert code == 1 and not loaded
    assert len(stderr.splitlines()) == 1 and str(tmp_path / "nope.h5") in stderr and "--perceptual_weights" in stderr


def test_resuming_a_folder_that_does_not_exist_is_a_usage_error(tmp_path):
    code, _, stderr, _ = _main(f"--resume={tmp_path / 'gone'}")
    assert code == 2
    assert stderr.splitlines() == [f"train_vae.py: error: --resume={tmp_path / 'gone'}: no such run folder"]


def test_an_existing_data_folder_passes_the_check(tmp_path):
    from facenet_vae.training.config import TrainConfig
    from facenet_vae.training.path_checks import check_paths
    config = TrainConfig(data_dir=str(tmp_path), reconstruction_loss_type="PLAIN")
    assert check_paths(config) is config
    (tmp_path / "img_align_celeba").mkdir()
    (tmp_path / "list_attr_celeba.txt").write_text("0\nSmiling\n")
    assert check_paths(TrainConfig(dataset="celeba", data_dir=str(tmp_path))) is not None
