"""The one data setting: FACENET_VAE_SHARED locates the shared data; a test without it fails naming what it needs."""
import os
import pathlib
import shutil
import subprocess
import sys
import importlib.util
import textwrap

TESTS = pathlib.Path(__file__).resolve().parent


def _root_conftest():
    # Loaded from its file: tests/explore has its own conftest, so the name "conftest" is ambiguous.
    spec = importlib.util.spec_from_file_location("facenet_vae_tests_conftest", TESTS / "conftest.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


_CONFTEST = _root_conftest()
SHARED, shared_path = _CONFTEST.SHARED, _CONFTEST.shared_path

NEEDS_DATA = textwrap.dedent("""
    def test_uses_the_npz(celeba_npz):
        assert celeba_npz["images"].shape[1:] == (64, 64, 3)
""")


def test_shared_path_resolves_under_the_setting():
    assert shared_path("data", "celeba_subset.npz") == SHARED / "data" / "celeba_subset.npz"
    expected = pathlib.Path(os.environ.get("FACENET_VAE_SHARED", TESTS.parent.parent / "shared")).expanduser()
    assert SHARED == expected


def test_a_test_without_the_data_errors_naming_the_file_it_needs(tmp_path):
    """Run a one-test suite with this conftest and FACENET_VAE_SHARED pointing nowhere: an error, never a skip."""
    suite = tmp_path / "suite"
    suite.mkdir()
    shutil.copy(TESTS / "conftest.py", suite / "conftest.py")
    (suite / "test_needs_data.py").write_text(NEEDS_DATA)
    nowhere = tmp_path / "nowhere"
    env = dict(os.environ, FACENET_VAE_SHARED=str(nowhere))
    result = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(suite)],
                            cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600)
    output = " ".join(result.stdout.split())
    assert result.returncode == 1, output[-3000:]
    assert "1 error" in output and "skipped" not in output
    assert (f"this test needs data/celeba_subset.npz (4,950 CelebA faces at 64x64 with attributes and partitions) "
            f"in the shared data folder {nowhere}, which is missing; set FACENET_VAE_SHARED") in output
