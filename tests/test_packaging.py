"""``pip install .`` into a fresh virtual environment: five console commands, no top-level modules, working --help.

Offline: the venv sees the packages of the interpreter running the tests (its site folders, a venv's
included, not the base Python's) and pip installs with ``--no-deps --no-build-isolation``, so nothing is
downloaded and the wheel is built with this environment's setuptools, which the test extra installs
(``[build-system]`` requires what a new Python's own setuptools lacks). Commands run from a scratch
folder, so they import the installed copy, not the source tree.
"""
import importlib.metadata
import os
import pathlib
import shutil
import subprocess
import sys
import venv

import pytest
from packaging.requirements import Requirement

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    from pip._vendor import tomli as tomllib

PROJECT_ROOT = pathlib.Path(__file__).resolve().parents[1]
COMMANDS = ("facenet-vae-train", "facenet-vae-generate", "facenet-vae-evaluate", "facenet-vae-export",
            "facenet-vae-explore", "facenet-vae-fetch")


def _build_requirements():
    with open(PROJECT_ROOT / "pyproject.toml", "rb") as f:
        return [Requirement(line) for line in tomllib.load(f)["build-system"]["requires"]]


def _missing_build_requirements():
    """Return the ``[build-system]`` requirements this interpreter does not satisfy, as ``need (have)`` texts."""
    missing = []
    for requirement in _build_requirements():
        try:
            have = importlib.metadata.version(requirement.name)
        except importlib.metadata.PackageNotFoundError:
            have = None
        if have is None or not requirement.specifier.contains(have, prereleases=True):
            missing.append(f"{requirement} (installed: {have or 'none'})")
    return missing


def _see_this_environment(python):
    """Let the venv of ``python`` import this interpreter's packages after its own (a ``.pth`` of site folders).

    ``--system-site-packages`` would show the base Python's packages instead, which are not the tested
    ones when the tests run in a virtual environment.
    """
    sites = [path for path in sys.path if os.path.basename(path) in ("site-packages", "dist-packages")
             and os.path.isdir(path)]
    purelib = subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                             capture_output=True, text=True, check=True).stdout.strip()
    lines = "".join(f"import site; site.addsitedir({path!r})\n" for path in sites)
    pathlib.Path(purelib, "tested_environment.pth").write_text(lines)


def test_the_test_extra_installs_what_the_build_needs():
    """The wheel below is built with this environment's setuptools: the README's install must provide it."""
    with open(PROJECT_ROOT / "pyproject.toml", "rb") as f:
        test_extra = [Requirement(line) for line in tomllib.load(f)["project"]["optional-dependencies"]["test"]]
    for requirement in _build_requirements():
        assert any(extra.name == requirement.name and extra.specifier == requirement.specifier
                   for extra in test_extra), f"{requirement} ([build-system]) is not in the test extra"
    assert not _missing_build_requirements(), (
        f"this Python lacks the build requirements {_missing_build_requirements()}: "
        f"pip install -e \".[test,eval]\" installs them")


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    """Return ``(venv folder, its bin folder, the installed files)`` after ``pip install`` of this repository."""
    missing = _missing_build_requirements()
    assert not missing, f"cannot build the wheel: this Python lacks {missing}; pip install -e \".[test,eval]\""
    root = tmp_path_factory.mktemp("venv")
    # Build from a clean copy: an in-tree build would leave build/ and *.egg-info in the checkout, and
    # a stale build/lib (files since deleted) would end up in later wheels.
    source = root / "source"
    shutil.copytree(PROJECT_ROOT, source, ignore=shutil.ignore_patterns(
        ".git", "build", "dist", "*.egg-info", "__pycache__", ".pytest_cache", "checkpoints", "runs", "node_modules"))
    env_dir = root / "env"
    venv.EnvBuilder(system_site_packages=False, with_pip=False).create(env_dir)
    bin_dir = env_dir / ("Scripts" if os.name == "nt" else "bin")
    python = bin_dir / "python"
    _see_this_environment(python)
    env = dict(os.environ, PIP_NO_INDEX="1", PIP_DISABLE_PIP_VERSION_CHECK="1")
    env.pop("PYTHONPATH", None)
    # The venv has no pip of its own: the venv's interpreter runs the system pip, which installs into the venv.
    result = subprocess.run([str(python), "-m", "pip", "install", "--no-deps", "--no-build-isolation", "--quiet",
                             str(source)], cwd=root, env=env, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    site = subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                          cwd=root, env=env, capture_output=True, text=True, check=True).stdout.strip()
    records = list(pathlib.Path(site).glob("facenet_vae-*.dist-info/RECORD"))
    assert len(records) == 1, records
    files = [line.split(",")[0] for line in records[0].read_text().splitlines()]
    return env_dir, bin_dir, files, env


def test_the_five_console_commands_are_installed(installed):
    _, bin_dir, files, _ = installed
    for command in COMMANDS:
        assert (bin_dir / command).is_file(), command
        script = (bin_dir / command).read_text()
        tool = command.removeprefix("facenet-vae-")
        assert f"from facenet_vae.cli.{tool} import main" in script, script


def test_no_top_level_generate_or_train_vae_module_is_installed(installed):
    _, _, files, _ = installed
    top_level = {path.split("/")[0] for path in files if not path.startswith("../")}
    assert "generate.py" not in top_level and "train_vae.py" not in top_level
    assert {name for name in top_level if not name.endswith(".dist-info")} == {"facenet_vae"}
    assert "facenet_vae/cli/console.py" in files and "facenet_vae/export/__main__.py" in files


def test_license_and_metadata(installed):
    _, _, files, _ = installed
    metadata_file = next(path for path in files if path.endswith(".dist-info/METADATA"))
    assert any(path.endswith("licenses/LICENSE") for path in files)
    _, bin_dir, _, env = installed
    metadata = subprocess.run([str(bin_dir / "python"), "-c",
                               "import importlib.metadata as m; d = m.metadata('facenet-vae'); "
                               "print(d['License-Expression']); print('\\n'.join(m.requires('facenet-vae')))"],
                              cwd=bin_dir, env=env, capture_output=True, text=True, check=True).stdout
    assert metadata_file and metadata.splitlines()[0] == "MIT"
    assert "scikit-learn" in metadata  # evaluation is a core feature
    assert 'tf2onnx>=1.17; extra == "export"' in metadata
    assert 'scikit-learn; extra == "eval"' in metadata  # the README's and CI's ".[test,eval]" keeps working


@pytest.mark.parametrize("command", ["facenet-vae-generate", "facenet-vae-evaluate", "facenet-vae-export"])
def test_help_works_from_the_installed_commands(installed, command, tmp_path):
    env_dir, bin_dir, _, env = installed
    result = subprocess.run([str(bin_dir / command), "--help"], cwd=tmp_path, env=env, capture_output=True, text=True,
                            timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "--" in result.stdout  # lists its flags
    # The installed copy answered, not the source tree.
    where = subprocess.run([str(bin_dir / "python"), "-c", "import facenet_vae; print(facenet_vae.__file__)"],
                           cwd=tmp_path, env=env, capture_output=True, text=True, check=True).stdout.strip()
    assert where.startswith(str(env_dir)), where


def test_the_installed_wheel_loads_the_shipped_model_without_a_checkout(installed, tmp_path):
    """``load_vae()`` and ``DfcVae.from_preset("celeba64")`` find the model in the package data, not the source tree."""
    env_dir, bin_dir, files, env = installed
    assert "facenet_vae/presets/celeba64/model.keras" in files
    code = ("import facenet_vae; from facenet_vae.model import DfcVae; vae = facenet_vae.load_vae(); "
            "preset = DfcVae.from_preset('celeba64'); print(vae.source); "
            "print(vae.latent_var_size, preset.latent_var_size, preset.framing.crop)")
    result = subprocess.run([str(bin_dir / "python"), "-c", code], cwd=tmp_path, env=env, capture_output=True,
                            text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    source, numbers = result.stdout.strip().splitlines()[-2:]
    assert str(env_dir) in source and source.endswith("presets/celeba64/model.keras"), source
    assert numbers == "100 100 celeba"


def test_import_facenet_vae_loads_no_tensorflow_until_a_model_name_is_used():
    code = ("import sys, facenet_vae; before = 'tensorflow' in sys.modules; facenet_vae.build_vae; "
            "print(before, 'tensorflow' in sys.modules, sorted(facenet_vae.__all__))")
    result = subprocess.run([sys.executable, "-c", code], cwd=PROJECT_ROOT, capture_output=True, text=True,
                            timeout=300)
    before, after, names = result.stdout.split(" ", 2)
    assert (before, after) == ("False", "True"), result.stderr[-2000:]
    for name in ("DfcVae", "build_vae", "load_vae", "VAE_DEFINITIONS", "pixels_to_normalized", "normalized_to_pixels"):
        assert repr(name) in names


def test_load_vae_frames_a_celeba_sized_photo_that_raw_encode_refuses(tmp_path):
    """The README's example: load_vae frames and resizes a 178x218 photo; model.encode on it is a Keras shape error."""
    import numpy as np

    import facenet_vae
    model = facenet_vae.build_vae("dfc_vae", 8)
    path = str(tmp_path / "tiny.keras")
    model.save(path)
    photo = np.random.default_rng(0).integers(0, 256, (1, 218, 178, 3), dtype=np.uint8)
    vae = facenet_vae.load_vae(path)
    mean, log_variance = vae.encode_pixels(photo)
    assert mean.shape == log_variance.shape == (1, 8)
    assert vae.reconstruct_pixels(photo).shape == (1, 64, 64, 3)
    with pytest.raises(ValueError, match="Fc_1"):
        model.encode(facenet_vae.pixels_to_normalized(photo))

