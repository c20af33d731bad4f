"""Where a generate.py run writes and which attribute vectors file it reads, from its options."""
import os

from facenet_vae.generation.loading import shipped_model_path
from facenet_vae.generation.options import VECTORS_FILE_NAME
from facenet_vae.training.run_folder import is_run_folder


def default_output_dir(model_path):
    """Return ``<run folder>/generated`` when ``model_path`` is (or sits in) a run folder, else ``./generated``."""
    if model_path:
        path = os.path.normpath(os.path.expanduser(os.fspath(model_path)))
        for candidate in (path, os.path.dirname(path)):
            if candidate and os.path.isdir(candidate) and is_run_folder(candidate):
                return os.path.join(candidate, "generated")
    return os.path.abspath("generated")


def output_dir_of(options):
    """Return ``--output_dir``, or the default next to the model (see ``default_output_dir``)."""
    return os.path.expanduser(options.output_dir) if options.output_dir else default_output_dir(options.model)


def attribute_vectors_file_of(options):
    """Return ``--attribute_vectors_file``; else for ``--mode=attributes`` ``<output_dir>/attribute_vectors.h5``,
    and for the other modes that file when it exists, else the model's own (beside it) when there is one."""
    if options.attribute_vectors_file:
        return os.path.expanduser(options.attribute_vectors_file)
    written = os.path.join(output_dir_of(options), VECTORS_FILE_NAME)
    if options.mode == "attributes" or os.path.isfile(written):
        return written
    model = os.path.expanduser(options.model) if options.model else shipped_model_path()
    beside_model = os.path.join(model if os.path.isdir(model) else os.path.dirname(model), VECTORS_FILE_NAME)
    return beside_model if os.path.isfile(beside_model) else written
