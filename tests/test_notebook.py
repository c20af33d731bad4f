"""notebooks/quickstart.ipynb runs top to bottom (nbclient) and shows what it says: inline figures for
sampling, editing, interpolation and the trained run's reconstructions, and the evaluation's numbers.

Without the shipped model (checkpoints/celeba64/model.keras) the notebook is pointed at a tiny model
built here (FACENET_VAE_MODEL); the real faces come from ../shared/data."""
import os
import pathlib

import keras
import nbformat
import pytest
from nbclient import NotebookClient

import facenet_vae

PROJECT_ROOT = pathlib.Path(__file__).resolve().parents[1]
NOTEBOOK = PROJECT_ROOT / "notebooks" / "quickstart.ipynb"
SHIPPED_MODEL = PROJECT_ROOT / "checkpoints" / "celeba64" / "model.keras"
FIGURE_CELLS = ("sample", "edit", "interpolate", "train", "evaluate")


def _cell(notebook, tag):
    return next(cell for cell in notebook.cells if tag in cell.metadata.get("tags", []))


def _text(cell):
    return "".join(output.get("text", "") for output in cell.outputs if output.output_type == "stream")


@pytest.fixture(scope="module")
def executed(shared_dir, tmp_path_factory):
    env = {"PYTHONPATH": str(PROJECT_ROOT), "TF_CPP_MIN_LOG_LEVEL": "3",
           "FACENET_VAE_SHARED": str(shared_dir)}
    if not SHIPPED_MODEL.is_file():
        keras.utils.set_random_seed(9)
        tiny = tmp_path_factory.mktemp("model") / "model.keras"
        facenet_vae.build_vae("dfc_vae", 8).save(tiny)
        env["FACENET_VAE_MODEL"] = str(tiny)
    saved = {name: os.environ.get(name) for name in env}
    os.environ.update(env)  # the kernel inherits this process's environment
    try:
        notebook = nbformat.read(NOTEBOOK, as_version=4)
        NotebookClient(notebook, timeout=600, kernel_name="python3",
                       resources={"metadata": {"path": str(NOTEBOOK.parent)}}).execute()
    finally:
        for name, value in saved.items():
            os.environ.pop(name) if value is None else os.environ.__setitem__(name, value)
    return notebook, env.get("FACENET_VAE_MODEL", str(SHIPPED_MODEL))


def test_every_figure_cell_shows_an_inline_image(executed):
    notebook, _ = executed
    for tag in FIGURE_CELLS:
        cell = _cell(notebook, tag)
        assert any("image/png" in output.get("data", {}) for output in cell.outputs), tag


def test_the_notebook_loads_the_model_it_was_given_and_trains_a_run(executed):
    notebook, model = executed
    assert f"model: {model}" in _text(_cell(notebook, "setup"))
    assert f"loaded .keras file {model}" in _text(_cell(notebook, "load"))
    train_text = _text(_cell(notebook, "train"))
    assert "run folder:" in train_text and "model.keras" in train_text and "checkpoints" in train_text


def test_the_evaluation_cell_prints_reconstruction_figures(executed):
    notebook, _ = executed
    text = _text(_cell(notebook, "evaluate"))
    assert "'psnr':" in text and "'mse':" in text and "active latent units:" in text
