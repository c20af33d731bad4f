"""ONNX and LiteRT exports equal the Keras model; the SavedModel holds each variable once; CLI errors.

The model is dfc_vae_resnet with latent size 100 at its normal (fan-in) init, trained two steps on
real faces so that weights and batch-norm statistics are not the initial ones. LiteRT files run in
``ai_edge_litert``'s interpreter with the builtin op resolver only (no Flex / Select TF ops).
"""
import os
import subprocess
import sys

import keras
import numpy as np
import onnx
import onnxruntime
import pytest
import tensorflow as tf
from ai_edge_litert.interpreter import Interpreter, OpResolverType

import facenet_vae
from facenet_vae.cli import export as export_cli
from facenet_vae.export.litert import export_litert
from facenet_vae.export.onnx import export_onnx
from facenet_vae.export.saved_model import export_saved_model
from facenet_vae.model.normalization import normalized_to_pixels, pixels_to_normalized
from facenet_vae.training.objective import Objective
from facenet_vae.training.step import VaeTrainer

LATENT = 100
MODEL_VALUES = 7_078_041  # dfc_vae_resnet, latent 100, BN moving statistics included (README)
TOLERANCE = 1e-4


@pytest.fixture(scope="module")
def faces(celeba_npz):
    """Six real 64x64 CelebA faces (uint8), fixed picks."""
    return celeba_npz["images"][[0, 31, 62, 93, 124, 155]]


@pytest.fixture(scope="module")
def model(faces):
    keras.utils.set_random_seed(7)
    vae = facenet_vae.build_vae("dfc_vae_resnet", LATENT)
    trainer = VaeTrainer(vae, Objective(pixel_weight=0.002, reduction="mean"), sampling_seed=0)
    trainer.compile(optimizer=keras.optimizers.Adam(1e-4))
    trainer.fit(pixels_to_normalized(faces).numpy(), batch_size=3, epochs=1, verbose=0)
    return vae


@pytest.fixture(scope="module")
def latents():
    return np.random.default_rng(0).normal(size=(4, LATENT)).astype(np.float32)


def _keras_pixels(model, latent):
    return normalized_to_pixels(model.decode(latent), tf.uint8).numpy()


def _assert_parity(actual, expected):
    """Within TOLERANCE absolutely, and relative to the output's scale (a briefly trained VAE's outputs are small)."""
    assert actual.shape == expected.shape
    difference = np.abs(actual - expected).max()
    assert difference <= TOLERANCE and difference <= TOLERANCE * np.abs(expected).max(), difference


def _assert_rounded_alike(actual, expected):
    """uint8 images from two runtimes: equal but for values that sit on a rounding edge."""
    assert actual.dtype == np.uint8 and actual.shape == expected.shape
    difference = np.abs(actual.astype(int) - expected.astype(int))
    assert difference.max() <= 1 and (difference > 0).mean() < 1e-3


def test_onnx_decoder_and_encoder_equal_keras(model, faces, latents, tmp_path):
    paths = export_onnx(model, tmp_path / "onnx")
    assert paths == {"decoder": str(tmp_path / "onnx" / "decoder.onnx"),
                     "encoder": str(tmp_path / "onnx" / "encoder.onnx")}
    for path in paths.values():
        graph = onnx.load(path).graph
        # Standard ONNX ops only (onnxruntime-web's wasm backend has no custom domains).
        assert {node.domain for node in graph.node} <= {"", "ai.onnx"}
        onnx.checker.check_model(path)

    decoder = onnxruntime.InferenceSession(paths["decoder"], providers=["CPUExecutionProvider"])
    assert [(i.name, i.type, i.shape) for i in decoder.get_inputs()] == [("latent", "tensor(float)", ["batch", LATENT])]
    assert [(o.name, o.type) for o in decoder.get_outputs()] == [("images", "tensor(uint8)"),
                                                                 ("normalized", "tensor(float)")]
    images, normalized = decoder.run(["images", "normalized"], {"latent": latents})
    expected = model.decode(latents).numpy()
    assert normalized.shape == (4, 64, 64, 3)
    _assert_parity(normalized, expected)
    _assert_rounded_alike(images, _keras_pixels(model, latents))
    single = decoder.run(["normalized"], {"latent": latents[2:3]})[0]  # the batch size is free
    _assert_parity(single, expected[2:3])

    encoder = onnxruntime.InferenceSession(paths["encoder"], providers=["CPUExecutionProvider"])
    assert [(i.name, i.shape) for i in encoder.get_inputs()] == [("images", ["batch", 64, 64, 3])]
    mean, log_variance = encoder.run(["mean", "log_variance"], {"images": faces.astype(np.float32)})
    expected_mean, expected_log_variance = model.encode(pixels_to_normalized(faces))
    assert mean.shape == (len(faces), LATENT)
    _assert_parity(mean, expected_mean.numpy())
    _assert_parity(log_variance, expected_log_variance.numpy())


def test_litert_decoder_uses_builtin_ops_and_equals_keras(model, latents, tmp_path):
    paths = export_litert(model, tmp_path / "litert", batch_size=4)
    assert paths == {"decoder": str(tmp_path / "litert" / "decoder.tflite")}
    interpreter = Interpreter(model_path=paths["decoder"],
                              experimental_op_resolver_type=OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES)
    ops = {op["op_name"] for op in interpreter._get_ops_details()}
    assert "CONV_2D" in ops and "FULLY_CONNECTED" in ops
    # Weights are constants in the file (not uninitialised resource variables), and nothing needs Flex ops.
    assert not ops & {"VAR_HANDLE", "READ_VARIABLE", "CUSTOM", "DELEGATE"}
    assert not any(name.startswith("Flex") for name in ops)
    assert interpreter.get_signature_list() == {
        "serving_default": {"inputs": ["latent"], "outputs": ["images", "normalized"]}}
    outputs = interpreter.get_signature_runner()(latent=latents)
    _assert_parity(outputs["normalized"], model.decode(latents).numpy())
    _assert_rounded_alike(outputs["images"], _keras_pixels(model, latents))


def test_litert_export_refuses_a_bad_batch_size(model, tmp_path):
    with pytest.raises(ValueError, match="batch_size must be a positive integer, got 0"):
        export_litert(model, tmp_path, batch_size=0)


def test_savedmodel_holds_each_variable_once_and_its_signatures_work(model, faces, latents, tmp_path):
    out_dir = export_saved_model(model, str(tmp_path / "saved_model"))
    assert sum(int(np.prod(v.shape)) for v in model.variables) == MODEL_VALUES
    saved = {name: shape for name, shape in tf.train.list_variables(os.path.join(out_dir, "variables", "variables"))
             if name != "_CHECKPOINTABLE_OBJECT_GRAPH"}
    assert len(saved) == len(model.variables)
    assert sum(int(np.prod(shape)) for shape in saved.values()) == MODEL_VALUES
    loaded = tf.saved_model.load(out_dir)
    images = loaded.signatures["decode"](latent=tf.constant(latents))["images"].numpy()
    _assert_rounded_alike(images, _keras_pixels(model, latents))
    codes = loaded.signatures["encode_uint8"](images=tf.constant(faces))
    np.testing.assert_allclose(codes["mean"].numpy(), model.encode(pixels_to_normalized(faces))[0].numpy(),
                               rtol=1e-5, atol=1e-5)


def test_cli_writes_each_format(model, tmp_path, capsys):
    keras_file = str(tmp_path / "model.keras")
    model.save(keras_file)
    assert export_cli.main(["export", keras_file, str(tmp_path / "o"), "--format=onnx"]) == 0
    assert sorted(os.listdir(tmp_path / "o")) == ["decoder.onnx", "encoder.onnx"]
    assert export_cli.main(["export", keras_file, str(tmp_path / "t"), "--format", "litert", "--batch_size=2"]) == 0
    assert sorted(os.listdir(tmp_path / "t")) == ["decoder.tflite"]
    assert f"wrote {tmp_path / 't' / 'decoder.tflite'}" in capsys.readouterr().out
    # Wrong arguments: exit status 2 and one line naming the problem (tests/test_console.py runs them in a subprocess).
    for arguments, message in [(["--format=coreml"], "flag --format=coreml: value should be one of "
                                                     "<saved_model|onnx|litert>"),
                               (["--fromat=onnx"], "Unknown command line flag 'fromat'"),
                               (["--format=litert", "--batch_size=two"], "flag --batch_size=two: invalid literal")]:
        assert export_cli.main(["export", keras_file, str(tmp_path / "c"), *arguments]) == 2
        error = capsys.readouterr().err
        assert error.startswith(f"facenet-vae-export: error: {message}") and error.count("\n") == 1
    assert not os.path.exists(tmp_path / "c")
    assert export_cli.main(["export", "--help"]) == 0
    assert capsys.readouterr().out.startswith("facenet-vae-export: write a trained model")


def test_cli_missing_model_is_one_line_without_traceback(tmp_path):
    missing = str(tmp_path / "no_such_model.keras")
    result = subprocess.run([sys.executable, "-m", "facenet_vae.export", missing, str(tmp_path / "out"),
                             "--format=onnx"], cwd=os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 1
    assert result.stderr == (f"facenet-vae-export: error: model '{missing}' does not exist (expected a training run "
                             f"folder or a .keras file)\n")
    assert not os.path.exists(tmp_path / "out")
