"""Generate faces with a trained facenet DFC-VAE (facenet's calculate_attribute_vectors.py and
modify_attribute.py, plus sampling, reconstruction, interpolation and data augmentation).

--model is a training run folder (latest checkpoint), a model.keras file or an exported SavedModel.
Output goes to --output_dir (default <run folder>/generated, else ./generated).

    python generate.py --mode=sample --model=RUN
    python generate.py --mode=reconstruct --model=RUN --data_dir=FACES
    python generate.py --mode=interpolate --model=RUN --image_a=a.png --image_b=b.png --interpolation=both
    python generate.py --mode=attributes --model=RUN --data_dir=img_align_celeba --attributes_file=list_attr_celeba.txt
    python generate.py --mode=attributes --model=RUN --dataset=synthetic     (or --dataset=celeb_a --data_dir=TFDS)
    python generate.py --mode=list_attributes --model=RUN      (names in RUN/generated/attribute_vectors.h5)
    python generate.py --mode=modify --model=RUN --attribute=Smiling --k_min=0 --k_max=5 --k_steps=10
    python generate.py --mode=augment --model=RUN --data_dir=FACE_TREE --num_images=20
    python generate.py --mode=projector --model=RUN --images=FACES --attributes_file=list_attr_celeba.txt \
        --output_dir=LOGS      (then: tensorboard --logdir=LOGS, "Projector")
"""
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from absl import app, flags

from facenet_vae.data.pipeline import DATASETS
from facenet_vae.generation import DEFAULT_NUM_IMAGES, INTERPOLATIONS, MODES, GenerateOptions

FLAGS = flags.FLAGS
_D = GenerateOptions()

flags.DEFINE_enum("mode", _D.mode, list(MODES), "What to generate.")
flags.DEFINE_string("model", None, "Training run folder, model.keras file or exported SavedModel folder (default: "
                    "the trained CelebA model shipped in checkpoints/celeba64).")
flags.DEFINE_string("output_dir", None, "Where files are written (default <run folder>/generated or ./generated).")
flags.DEFINE_integer("num_images", None, "Number of faces; default per mode: "
                     + ", ".join(f"{k} {v if v is not None else 'all'}" for k, v in DEFAULT_NUM_IMAGES.items())
                     + " (synthetic attributes: 2000). For augment: per identity.")
flags.DEFINE_integer("seed", _D.seed, "Random seed.")
flags.DEFINE_integer("batch_size", _D.batch_size, "Images per encoder/decoder batch.")
flags.DEFINE_string("vae_def", None, "Expected VAE definition; an error if the model holds another.")
flags.DEFINE_integer("latent_var_size", None, "Expected latent size; an error if the model has another.")
flags.DEFINE_float("temperature", _D.temperature, "Scale of the latent noise (sample, augment).")
flags.DEFINE_bool("save_individual", _D.save_individual, "sample: also write each face as its own PNG.")
flags.DEFINE_string("data_dir", None, "Face folder (flat, or one sub-folder per identity); CelebA folder; "
                    "TFDS data_dir with --dataset=celeb_a.")
flags.DEFINE_string("attributes_file", None, "CelebA list_attr_celeba.txt-format attribute file.")
flags.DEFINE_enum("dataset", None, list(DATASETS),
                  "attributes: face set (default folder: --data_dir + --attributes_file).")
flags.DEFINE_string("split", _D.split, "attributes with --dataset=celeb_a or npz: the split (train, validation, "
                    "test).")
flags.DEFINE_bool("allow_missing_images", _D.allow_missing_images,
                  "attributes: skip attribute rows whose image is not in --data_dir instead of failing.")
flags.DEFINE_string("image_a", None, "interpolate: first image file.")
flags.DEFINE_string("image_b", None, "interpolate: second image file.")
flags.DEFINE_string("latent_a", None, "interpolate: first latent vector (.npy).")
flags.DEFINE_string("latent_b", None, "interpolate: second latent vector (.npy).")
flags.DEFINE_integer("num_steps", _D.num_steps, "interpolate: faces per strip, both ends included.")
flags.DEFINE_enum("interpolation", _D.interpolation, list(INTERPOLATIONS), "interpolate: which strips to write.")
flags.DEFINE_string("attribute_vectors_file", None,
                    "HDF5 attribute vectors (default <output_dir>/attribute_vectors.h5).")
flags.DEFINE_bool("training_batch_norm", _D.training_batch_norm,
                  "attributes: encode with batch statistics, as facenet did (default: moving averages).")
flags.DEFINE_bool("sample_latent", _D.sample_latent,
                  "attributes: store sampled latents mean + eps * std, as facenet did (default: the mean).")
flags.DEFINE_string("attribute", _D.attribute, "modify: attribute name (e.g. Smiling) or index.")
flags.DEFINE_list("image_indices", None, "modify: rows (numbers, or file names in its filenames) of the attribute "
                  "vectors file to edit (default: the first --num_images rows without the attribute, as facenet).")
flags.DEFINE_list("images", None, "modify: your own image files to edit (encoded first). projector: face "
                  "folders (flat or one sub-folder per identity) and/or image files.")
flags.DEFINE_float("k_min", _D.k_min, "modify: first amount of the attribute vector added (negative removes).")
flags.DEFINE_float("k_max", _D.k_max, "modify: end of the sweep (excluded, as facenet's 5.0 * i / 10).")
flags.DEFINE_integer("k_steps", _D.k_steps, "modify: number of amounts (columns).")
flags.DEFINE_enum("augment_sampling", _D.augment_sampling, ["identity", "posterior"],
                  "augment: around the identity's mean code with its spread, or each image's posterior.")


def options_from_flags():
    """Return the GenerateOptions the command line asks for."""
    names = [name for name in GenerateOptions.__dataclass_fields__ if name in FLAGS]
    return GenerateOptions(**{name: FLAGS[name].value for name in names})


def main(argv):
    """Run the mode the flags ask for; returns the exit status (1 with a one-line error for bad input)."""
    if len(argv) > 1:
        raise app.UsageError(f"unexpected arguments: {argv[1:]}")
    from facenet_vae.data.errors import DataError
    from facenet_vae.generation import run
    options = options_from_flags()
    try:
        written = run(options)
    except (DataError, ValueError, FileNotFoundError) as error:
        print(f"generate.py: error: {error}", file=sys.stderr)
        return 1
    for path in written[:20]:
        print(f"wrote {path}")
    if len(written) > 20:
        print(f"... and {len(written) - 20} more files")
    return 0


if __name__ == "__main__":
    app.run(main)
