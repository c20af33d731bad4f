"""The evaluate and export consoles: help by group, one line per error, shared exit codes, no TensorFlow noise.

Each command runs in a subprocess, as a user would run it. Wrong command lines are answered before
TensorFlow loads: the probe below reports whether ``tensorflow`` was imported.
"""
import os
import subprocess
import sys
import textwrap

import pytest

from facenet_vae.cli.console import EXIT_FAILED, EXIT_OK, EXIT_USAGE

PROJECT_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# Runs a tool's main() and prints, after it, whether TensorFlow was imported.
PROBE = textwrap.dedent("""
    import sys
    from facenet_vae.cli.{tool} import main
    code = main(["facenet-vae-{tool}", *sys.argv[1:]])
    print("TENSORFLOW_LOADED", "tensorflow" in sys.modules)
    sys.exit(code)
""")


def _env():
    env = dict(os.environ, PYTHONPATH=PROJECT_ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""))
    env.pop("TF_CPP_MIN_LOG_LEVEL", None)  # the tools must quiet TensorFlow themselves
    return env


def _run_module(module, *arguments):
    return subprocess.run([sys.executable, "-m", module, *arguments], cwd=PROJECT_ROOT, env=_env(),
                          capture_output=True, text=True, timeout=600)


def _probe(tool, *arguments):
    return subprocess.run([sys.executable, "-c", PROBE.format(tool=tool), *arguments], cwd=PROJECT_ROOT, env=_env(),
                          capture_output=True, text=True, timeout=600)


def test_evaluate_help_lists_the_flags_by_group_without_tensorflow():
    result = _run_module("facenet_vae.evaluate", "--help")
    assert result.returncode == EXIT_OK and result.stderr == ""
    lines = result.stdout.splitlines()
    assert lines[0].startswith("facenet-vae-evaluate: how good is a trained DFC-VAE?")
    groups = [line for line in lines if line.endswith(":") and not line.startswith(" ")]
    assert groups == ["data:", "model:", "evaluation:", "run:", "output:"]
    section = lines[lines.index("data:"):lines.index("model:")]
    assert any(line.startswith("  --dataset: <folder|celeba|celeb_a|npz|synthetic>") for line in section)
    assert any(line.startswith("  --verbose:") for line in lines[lines.index("run:"):])


@pytest.mark.parametrize("arguments, message", [
    (["--dataset=csv", "--data_dir=x.npz"], "flag --dataset=csv: value should be one of "
                                            "<folder|celeba|celeb_a|npz|synthetic>"),
    (["--batch_size=0", "--data_dir=x.npz"], "--batch_size must be at least 1, got 0"),
    (["--max_train_images=-3", "--data_dir=x.npz"], "--max_train_images must be at least 1, got -3"),
    (["--edit_strength=nan", "--data_dir=x.npz"], "--edit_strength must be a finite number, got nan"),
    (["--edit_sweep=0.5,lots", "--data_dir=x.npz"], "--edit_sweep must be a comma-separated list of numbers"),
    (["--data_dri=x.npz"], "Unknown command line flag 'data_dri'. Did you mean: data_dir ?"),
    ([], "--data_dir is required (or --dataset=synthetic)"),
    (["report", "--data_dir=x.npz"], "unexpected arguments: report"),
])
def test_evaluate_usage_errors_are_one_line_with_status_2_before_tensorflow(arguments, message):
    result = _probe("evaluate", *arguments)
    assert result.returncode == EXIT_USAGE
    assert result.stderr.splitlines() == [result.stderr.strip()]  # exactly one line
    assert result.stderr.startswith(f"facenet-vae-evaluate: error: {message}")
    assert "TENSORFLOW_LOADED False" in result.stdout


def test_evaluate_missing_files_are_named_with_status_1_before_tensorflow(tmp_path):
    missing_model = str(tmp_path / "no_model.keras")
    output_dir = tmp_path / "report"
    result = _probe("evaluate", f"--model={missing_model}", f"--data_dir={tmp_path}", f"--output_dir={output_dir}")
    assert result.returncode == EXIT_FAILED
    assert result.stderr == f"facenet-vae-evaluate: error: --model: '{missing_model}' does not exist\n"
    assert not output_dir.exists()  # a failed start leaves no report folder behind
    missing_data = str(tmp_path / "faces.npz")
    result = _probe("evaluate", f"--data_dir={missing_data}")
    assert result.returncode == EXIT_FAILED
    assert result.stderr == f"facenet-vae-evaluate: error: --data_dir: '{missing_data}' does not exist\n"
    assert "TENSORFLOW_LOADED False" in result.stdout


def test_export_help_and_usage_errors_before_tensorflow(tmp_path):
    result = _run_module("facenet_vae.export", "--help")
    assert result.returncode == EXIT_OK and result.stderr == ""
    assert result.stdout.startswith("facenet-vae-export: write a trained model")
    assert "  --format: <saved_model|onnx|litert>: What to write. [default: saved_model]" in result.stdout
    for arguments, message in [(["model.keras"], "expected MODEL and OUT_DIR, got 1 argument(s)"),
                               (["a", "b", "--format=coreml"], "flag --format=coreml: value should be one of"),
                               (["a", "b", "--batch_size=0"], "--batch_size must be at least 1, got 0"),
                               ([str(tmp_path / "none.keras"), str(tmp_path / "out")],
                                f"model '{tmp_path / 'none.keras'}' does not exist")]:
        result = _probe("export", *arguments)
        assert result.returncode == (EXIT_FAILED if "does not exist" in message else EXIT_USAGE), arguments
        assert result.stderr.splitlines() == [result.stderr.strip()]
        assert result.stderr.startswith(f"facenet-vae-export: error: {message}"), result.stderr
        assert "TENSORFLOW_LOADED False" in result.stdout
    assert not os.path.exists(tmp_path / "out")


@pytest.fixture(scope="module")
def framed_model(tmp_path_factory):
    """A tiny dfc_vae (latent 8) that records its framing, saved as .keras."""
    from facenet_vae.data.framing import training_framing
    from facenet_vae.model import DfcVae
    model = DfcVae("dfc_vae", 8, framing=training_framing("npz", 64))
    model.build()
    path = str(tmp_path_factory.mktemp("console") / "tiny.keras")
    model.save(path)
    return path


def test_export_prints_only_its_own_lines(framed_model, tmp_path):
    """No TensorFlow start-up, SavedModel or "Assets written" lines: stdout says what was loaded and written."""
    out_dir = str(tmp_path / "saved_model")
    result = _run_module("facenet_vae.export", framed_model, out_dir)
    assert result.returncode == EXIT_OK, result.stderr[-3000:]
    assert result.stderr == ""
    assert result.stdout.splitlines() == [f"loaded .keras file {framed_model}", f"wrote {out_dir}"]
    assert os.path.isfile(os.path.join(out_dir, "saved_model.pb"))


def test_quiet_tensorflow_is_undone_by_verbose():
    """Default: TF_CPP_MIN_LOG_LEVEL=3 and the Python ``tensorflow`` logger at ERROR; --verbose leaves both alone."""
    code = textwrap.dedent("""
        import logging, os, sys
        from facenet_vae.cli.console import quiet_tensorflow
        quiet_tensorflow(verbose=sys.argv[1] == "verbose")
        print(os.environ.get("TF_CPP_MIN_LOG_LEVEL"), logging.getLogger("tensorflow").level)
    """)
    for mode, expected in (("quiet", f"3 {40}"), ("verbose", "None 0")):
        result = subprocess.run([sys.executable, "-c", code, mode], cwd=PROJECT_ROOT, env=_env(),
                                capture_output=True, text=True, timeout=60)
        assert result.stdout.split() == expected.split(), mode


def test_run_tool_gives_every_main_the_same_statuses_and_one_line_errors(capsys):
    from facenet_vae.cli.console import run_tool
    consoles = []

    def console(tool, verbose):
        consoles.append((tool, verbose))

    def parse(argv):
        if "--bad" in argv:
            raise SystemExit(EXIT_USAGE)
        return type("Settings", (), {"verbose": "--verbose" in argv, "path": argv[-1]})()

    def check(settings):
        return None if settings.path != "missing" else "path 'missing' does not exist"

    def work(settings):
        if settings.path == "broken":
            raise ValueError("broken: not a\nmodel")
        return EXIT_OK

    run = lambda *argv: run_tool("tool", ["prog", *argv], parse, work, check=check, console=console)  # noqa: E731
    assert run("--bad") == EXIT_USAGE and consoles == []           # the command line fails before anything loads
    assert run("missing") == EXIT_FAILED and consoles == []        # so does a wrong path
    assert capsys.readouterr().err == "tool: error: path 'missing' does not exist\n"
    assert run("broken") == EXIT_FAILED and consoles == [("tool", False)]
    assert capsys.readouterr().err == "tool: error: broken: not a model\n"
    assert run("--verbose", "fine") == EXIT_OK and consoles[-1] == ("tool", True)
