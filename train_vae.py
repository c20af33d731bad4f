"""Train a facenet DFC-VAE (TF2 / Keras 3 port of facenet's src/generative/train_vae.py).

Offline, on the built-in synthetic faces, with the pixel loss:
    python train_vae.py --reconstruction_loss_type=PLAIN --max_nrof_steps=2000
On aligned faces with facenet's perceptual loss (VGG19 ImageNet weights from Keras' cache):
    python train_vae.py --data_dir=~/datasets/casia_mtcnnpy_182 --perceptual_model=vgg19
"""
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from absl import app, flags, logging

from facenet_vae.layers import WEIGHTS_INITS
from facenet_vae.training import DATASETS, LEARNING_RATE_SCHEDULES, LOSS_TYPES, MIXED_PRECISION, TrainConfig

FLAGS = flags.FLAGS
_D = TrainConfig()

flags.DEFINE_string("vae_def", _D.vae_def, "VAE definition: dfc_vae, dfc_vae_resnet or dfc_vae_large.")
flags.DEFINE_integer("latent_var_size", _D.latent_var_size, "Dimensionality of the latent variable.")
flags.DEFINE_enum("dataset", None, list(DATASETS),
                  "Data source; default: synthetic without --data_dir, else a face folder (or .npz).")
flags.DEFINE_string("data_dir", None, "Aligned face folder (one sub-folder per identity), flat image folder, "
                    "CelebA folder (img_align_celeba + list_attr_celeba.txt), TFDS data_dir or .npz file.")
flags.DEFINE_string("models_base_dir", _D.models_base_dir, "Where run folders <YYYYmmdd-HHMMSS> are written.")
flags.DEFINE_enum("reconstruction_loss_type", _D.reconstruction_loss_type, list(LOSS_TYPES),
                  "PLAIN: pixel loss; PERCEPTUAL: deep-feature loss (facenet's default).")
flags.DEFINE_string("perceptual_model", _D.perceptual_model, "Feature network: vgg19, vgg16 or facenet.")
flags.DEFINE_string("perceptual_weights", _D.perceptual_weights,
                    "imagenet (Keras' download/cache), a local weights file (.h5; facenet_keras.h5 for "
                    "facenet), or random (tests only).")
flags.DEFINE_string("loss_features", None, "Comma-separated feature layers, or vgg123 / vgg345; default "
                    "vgg123 for VGG, Conv2d_1a_3x3,Conv2d_2a_3x3,Conv2d_2b_3x3 for facenet.")
flags.DEFINE_enum("weights_init", _D.weights_init, list(WEIGHTS_INITS),
                  "Initial kernels: fan_in (scaled to each layer's fan-in, PyTorch's default) or facenet "
                  "(truncated normal, stddev 0.1).")
flags.DEFINE_bool("random_flip", _D.random_flip, "Mirror half the training images left-right (facenet: off).")
flags.DEFINE_bool("recalibrate_batch_norm", _D.recalibrate_batch_norm,
                  "Re-estimate batch-norm statistics with the final weights before saving model.keras, instead "
                  "of facenet's 0.995 moving averages (which measured better after 800 steps or more).")
flags.DEFINE_float("alfa", _D.alfa, "Kullback-Leibler divergence loss factor.")
flags.DEFINE_float("beta", _D.beta, "Feature (PERCEPTUAL) loss factor; in PLAIN mode the default pixel weight.")
flags.DEFINE_float("pixel_weight", None, "Pixel loss factor; default beta in PLAIN mode, 0 in PERCEPTUAL mode.")
flags.DEFINE_enum("loss_reduction", _D.loss_reduction, ["sum", "mean"],
                  "sum: facenet's sum over the batch; mean: per-sample mean.")
flags.DEFINE_integer("max_nrof_steps", _D.max_nrof_steps, "Number of training steps.")
flags.DEFINE_integer("save_every_n_steps", _D.save_every_n_steps, "Steps between checkpoints and image grids.")
flags.DEFINE_integer("summary_every_n_steps", _D.summary_every_n_steps, "Steps between TensorBoard scalars.")
flags.DEFINE_integer("batch_size", _D.batch_size, "Images per batch (global batch under a strategy).")
flags.DEFINE_integer("input_image_size", None, "Centre crop-or-pad size of photos before the resize to the model "
                     "size (default 160, facenet's; 178x218 CelebA files get CelebA's face crop instead); also "
                     "the facenet feature network's input size. Recorded with the model.")
flags.DEFINE_bool("center_crop", _D.center_crop, "Take the usual CelebA 138x138 centre crop first.")
flags.DEFINE_bool("cache", _D.cache, "Cache decoded images in memory.")
flags.DEFINE_bool("strict", _D.strict, "Refuse to train when the data has unreadable images.")
flags.DEFINE_integer("num_synthetic", _D.num_synthetic, "Number of faces of the built-in synthetic set.")
flags.DEFINE_bool("tfds_download", _D.tfds_download, "Let tensorflow-datasets download celeb_a.")
flags.DEFINE_float("initial_learning_rate", _D.initial_learning_rate, "Peak learning rate of the cosine schedule, or "
                   "the initial one of the exponential schedule (facenet: 0.0005).")
flags.DEFINE_enum("learning_rate_schedule", _D.learning_rate_schedule, list(LEARNING_RATE_SCHEDULES),
                  "cosine: 2% warm-up, then cosine decay to 0 at --max_nrof_steps; exponential: facenet's staircase "
                  "decay (--learning_rate_decay_steps, --learning_rate_decay_factor; constant by default).")
flags.DEFINE_integer("learning_rate_decay_steps", _D.learning_rate_decay_steps, "Steps between decays.")
flags.DEFINE_float("learning_rate_decay_factor", _D.learning_rate_decay_factor, "Learning rate decay factor.")
flags.DEFINE_integer("seed", _D.seed, "Random seed.")
flags.DEFINE_bool("deterministic", _D.deterministic, "Turn on TF op determinism (same seed -> same losses).")
flags.DEFINE_enum("mixed_precision", _D.mixed_precision, list(MIXED_PRECISION),
                  "float16 (with loss scaling) or bfloat16 compute on GPU; variables stay float32.")
flags.DEFINE_bool("jit_compile", _D.jit_compile, "Compile the train step with XLA.")
flags.DEFINE_integer("steps_per_execution", _D.steps_per_execution, "Train steps per tf.function call.")
flags.DEFINE_string("resume", None, "Run folder to continue from its latest checkpoint.")
flags.DEFINE_string("run_name", None, "Fixed run folder name under models_base_dir (default: a timestamp; "
                    "required, and the same on every worker, with --strategy=multi_worker).")
flags.DEFINE_enum("strategy", "default", ["default", "mirrored", "multi_worker", "tpu"],
                  "tf.distribute strategy; --batch_size is the global batch.")
flags.DEFINE_integer("cpu_replicas", 0, "Split the CPU into N logical devices (multi-replica runs without GPUs).")
flags.DEFINE_bool("export_saved_model", _D.export_saved_model, "Write <run>/saved_model at the end.")
flags.DEFINE_integer("verbose", _D.verbose, "Keras progress output: 0 silent, 1 progress bar, 2 one line.")


def config_from_flags():
    """Return the TrainConfig the command line asks for."""
    names = [field for field in TrainConfig.__dataclass_fields__ if field in FLAGS]
    return TrainConfig(**{name: FLAGS[name].value for name in names})


def main(argv):
    if len(argv) > 1:
        raise app.UsageError(f"unexpected arguments: {argv[1:]}")
    from facenet_vae.training import train
    try:
        run_dir = train(config_from_flags())
    except (ValueError, RuntimeError, OSError) as error:
        logging.error("%s", error)
        print(f"train_vae.py: error: {error}", file=sys.stderr)
        return 1
    print(f"Finished: {run_dir}")
    return 0


if __name__ == "__main__":
    app.run(main)
