"""Generation with a trained DFC-VAE: loading a model, the modes of ``generate.py``, attribute vectors.

    loading.py            load_vae: a run folder, a .keras file or a SavedModel -> a LoadedVae
    loaded_vae.py         LoadedVae (the interface), KerasVae and SavedModelVae (its two implementations)
    options.py            GenerateOptions, every generate.py setting declared once (no TensorFlow)
    runner.py             run(options): checks, loads the model, dispatches through modes.MODE_TABLE
    paths.py              the output folder and attribute vectors file a run uses
    modes/                one module per mode: sample, reconstruct, interpolate, attributes (+ list_attributes),
                          modify, augment, projector
    face_sets.py          the image files a mode reads (faces with attributes come from data.sources)
    attribute_vectors.py  facenet's attribute vectors and their HDF5 file
    latent_maths.py       interpolation paths, attribute edits, k sweeps (numpy)
    projector.py          TensorBoard projector files

Names are imported on first use (PEP 562), so ``generate.py`` checks its flags (``options``)
before TensorFlow loads.
"""
from facenet_vae.lazy import lazy_names

_EXPORTS = {
    "GenerateOptions": "facenet_vae.generation.options",
    "MODES": "facenet_vae.generation.options",
    "run": "facenet_vae.generation.runner",
    "load_vae": "facenet_vae.generation.loading",
    "LoadedVae": "facenet_vae.generation.loaded_vae",
    "from_keras_model": "facenet_vae.generation.loaded_vae",
    "load_images": "facenet_vae.generation.face_sets",
    "image_paths": "facenet_vae.generation.face_sets",
}

__all__ = sorted(_EXPORTS)
__getattr__, __dir__ = lazy_names(__name__, _EXPORTS)
