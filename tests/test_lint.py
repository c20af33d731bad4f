"""``ruff check`` (the rules of pyproject's ``[tool.ruff]``) passes on the whole repository: CI's lint."""
import pathlib
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parents[1]


def test_ruff_check_passes():
    result = subprocess.run([sys.executable, "-m", "ruff", "check", "--no-cache", "--output-format", "concise", "."],
                            cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert "No module named ruff" not in result.stderr, 'ruff is missing: pip install -e ".[test,eval]" installs it'
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
