"""Import a facenet TF1 (slim, name-based) VAE checkpoint into a ``DfcVae``.

facenet's ``train_vae.py`` saved ``tf.trainable_variables()`` as ``model.ckpt-<step>``: the VAE's
``encoder/...`` and ``decoder/...`` variables (batch-norm moving statistics included, since its
batch norm put them in the trainable collection) next to the perceptual network's
``InceptionResnetV1/...``. Only the VAE scopes are read; everything else is bookkeeping.
"""
import os
import re

import numpy as np
import tensorflow as tf

from facenet_vae.model.definitions import VAE_DEFINITIONS, Conv, Residual

MODEL_SCOPES = ("encoder/", "decoder/")
_BOOKKEEPING_NAMES = frozenset({"global_step", "beta1_power", "beta2_power"})
# Optimizer slots and moving-average shadows live under the variable they belong to.
_BOOKKEEPING_LEAF = re.compile(
    r"^(Adam(_\d+)?|Momentum|RMSProp(_\d+)?|Adagrad|Adadelta(_\d+)?|Ftrl(_\d+)?|ExponentialMovingAverage)$")
_CHECKPOINT_FILE_SUFFIX = re.compile(r"\.(index|data-\d+-of-\d+)$")
_MAX_LISTED = 20


class SlimCheckpointError(ValueError):
    """A checkpoint that cannot fill the model; the message names the variables and the checkpoint."""


def is_model_variable(name):
    """Return True when checkpoint variable ``name`` belongs to the VAE (not an optimizer slot or EMA)."""
    if name in _BOOKKEEPING_NAMES or not name.startswith(MODEL_SCOPES):
        return False
    return not any(name_part in _BOOKKEEPING_NAMES or _BOOKKEEPING_LEAF.match(name_part)
                   for name_part in name.split("/")[1:])


def resolve_checkpoint_prefix(checkpoint_prefix):
    """Return the checkpoint prefix for a prefix, one of its files, or a folder with a ``checkpoint`` file.

    Raises ``SlimCheckpointError`` naming the path when there is no ``<prefix>.index``.
    """
    prefix = os.fspath(checkpoint_prefix)
    if tf.io.gfile.isdir(prefix):
        latest = tf.train.latest_checkpoint(prefix)
        if latest is None:
            raise SlimCheckpointError(
                f"No TF checkpoint found in folder {prefix!r}; pass the prefix, e.g. {prefix}/model.ckpt-50000")
        prefix = latest
    prefix = _CHECKPOINT_FILE_SUFFIX.sub("", prefix)
    if not tf.io.gfile.exists(prefix + ".index"):
        raise SlimCheckpointError(
            f"Not a TF checkpoint: {prefix + '.index'!r} does not exist (expected a prefix such as "
            "model.ckpt-50000 with its .index and .data-* files beside it)")
    return prefix


def load_slim_checkpoint(model, checkpoint_prefix):
    """Fill every variable of ``model`` from the facenet checkpoint at ``checkpoint_prefix``; return ``model``.

    Everything is checked and read before the first assignment, so on ``SlimCheckpointError``
    (missing, unexpected, mis-shaped or unreadable variables) the model is left untouched.
    """
    if not hasattr(model, "slim_variables"):
        raise TypeError(f"Expected a facenet_vae DfcVae, got {type(model).__name__}")
    prefix = resolve_checkpoint_prefix(checkpoint_prefix)
    try:
        reader = tf.train.load_checkpoint(prefix)
        found_shapes = reader.get_variable_to_shape_map()
        found_dtypes = reader.get_variable_to_dtype_map()
    except (tf.errors.OpError, ValueError) as error:
        raise SlimCheckpointError(f"Cannot read TF checkpoint {prefix!r}: {error}") from error
    targets = model.slim_variables()
    _check_fit(model, prefix, targets, found_shapes, found_dtypes)
    values = {name: _read(reader, prefix, name, variable.dtype) for name, variable in targets.items()}
    for name, variable in targets.items():
        variable.assign(values[name])
    return model


def _check_fit(model, prefix, targets, found_shapes, found_dtypes):
    expected = {name: tuple(variable.shape) for name, variable in targets.items()}
    found = {name: tuple(shape) for name, shape in found_shapes.items() if is_model_variable(name)}
    missing = sorted(set(expected) - set(found))
    unexpected = sorted(set(found) - set(expected))
    common = sorted(set(expected) & set(found))
    misshaped = [f"{name}: expected shape {expected[name]}, found {found[name]}"
                 for name in common if expected[name] != found[name]]
    not_float = [f"{name}: dtype {found_dtypes[name].name}"
                 for name in common if not found_dtypes[name].is_floating]
    problems = [_listing("missing from the checkpoint", missing),
                _listing("unexpected in the checkpoint", unexpected),
                _listing("wrong shape", misshaped),
                _listing("not floating point", not_float)]
    problems = [problem for problem in problems if problem]
    if problems:
        raise SlimCheckpointError(
            f"TF checkpoint {prefix!r} does not fit the {model.vae_def} model "
            f"(latent_var_size {model.latent_var_size}):\n" + "\n".join(problems) + "\n"
            + _hint(model, found))


def _listing(title, items):
    if not items:
        return ""
    shown = [f"    {item}" for item in items[:_MAX_LISTED]]
    if len(items) > _MAX_LISTED:
        shown.append(f"    ... and {len(items) - _MAX_LISTED} more")
    return f"  {title} ({len(items)}):\n" + "\n".join(shown)


def _hint(model, found):
    hint = (f"Hint: was the checkpoint written with --vae_def {model.vae_def} / "
            f"--latent_var_size {model.latent_var_size}?")
    vae_def = _guess_definition(found)
    latent = found.get("encoder/Fc_1/biases")
    guess = ([f"--vae_def {vae_def}"] if vae_def else []) + ([f"--latent_var_size {latent[0]}"] if latent else [])
    if guess:
        hint += f" Its variables look like {' '.join(guess)}."
    return hint


def _definition_conv_scopes(definition):
    scopes = set()
    for part, specs in (("encoder", definition.encoder), ("decoder", definition.decoder)):
        for spec in specs:
            if isinstance(spec, Conv):
                scopes.add(f"{part}/{spec.scope}")
            elif isinstance(spec, Residual):
                scopes.update(f"{part}/{spec.scope}/{spec.scope}_{i}" for i in range(1, spec.repeats + 1))
    return scopes


def _guess_definition(found):
    """Return the name of the one definition whose conv scopes match the checkpoint's, else None."""
    scopes = {name[:-len("/weights")] for name in found
              if name.endswith("/weights") and not name.split("/")[-2].startswith("Fc_")}
    matches = [name for name, definition in VAE_DEFINITIONS.items()
               if _definition_conv_scopes(definition) == scopes]
    return matches[0] if len(matches) == 1 else None


def _read(reader, prefix, name, dtype):
    try:
        value = reader.get_tensor(name)
    except (tf.errors.OpError, ValueError) as error:
        raise SlimCheckpointError(f"Cannot read {name!r} from TF checkpoint {prefix!r}: {error}") from error
    return np.asarray(value).astype(dtype)
