"""``--mode=projector``: a face set's latent means for TensorBoard's embedding projector (``generation.projector``)."""
import os

from facenet_vae.generation import projector
from facenet_vae.generation.face_sets import load_images


def run(vae, options, output_dir):
    """Run ``--mode=projector``: the log folder (what ``tensorboard --logdir`` is given) is ``--output_dir``
    itself, else ``<default output dir>/projector``."""
    log_dir = output_dir if options.output_dir else os.path.join(output_dir, "projector")
    paths = projector.image_files(options.images)[:options.resolved_num_images()]
    return projector.project_faces(vae, load_images(paths, vae), paths, log_dir, options.attributes_file,
                                   options.batch_size)
