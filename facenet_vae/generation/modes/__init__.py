"""The modes of ``generate.py``, one module each, and ``MODE_TABLE``: mode name -> ``Mode``.

Every mode's ``run(vae, options, output_dir)`` takes a ``LoadedVae`` (None for a mode that needs
no model), the ``GenerateOptions`` and the output folder, and returns the paths it wrote. The
core function of each module (``sample_faces``, ``reconstruct_faces``, ...) takes plain arguments,
for tests and other scripts.
"""
import dataclasses
import typing

from facenet_vae.generation.modes import attributes, augment, interpolate, modify, projector, reconstruct, sample
from facenet_vae.generation.options import MODES


@dataclasses.dataclass(frozen=True)
class Mode:
    """One mode: its ``run`` function, whether it loads a model first, and whether it needs ``--data_dir``."""
    run: typing.Callable
    needs_model: bool = True
    needs_data_dir: bool = False


MODE_TABLE = {
    "sample": Mode(sample.run),
    "reconstruct": Mode(reconstruct.run, needs_data_dir=True),
    "interpolate": Mode(interpolate.run),
    "attributes": Mode(attributes.run),
    "modify": Mode(modify.run),
    "augment": Mode(augment.run, needs_data_dir=True),
    "list_attributes": Mode(attributes.run_list, needs_model=False),
    "projector": Mode(projector.run),
}
if tuple(MODE_TABLE) != MODES:
    raise ImportError(f"MODE_TABLE {tuple(MODE_TABLE)} and options.MODES {MODES} disagree")
