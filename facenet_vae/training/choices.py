"""The allowed values of the training settings, without TensorFlow, so flags are checked before it loads.

Each constant is declared once, here; the module that uses it (losses, feature_networks,
distribute, optimisation, run) imports it from here, and ``TrainConfig`` takes its choices from here.
"""

LOSS_TYPES = ("PLAIN", "PERCEPTUAL")            # pixel loss; deep-feature loss (facenet's default)
REDUCTIONS = ("sum", "mean")                    # facenet's sum over the batch; per-sample mean
PIXEL_SPACES = ("pixels", "normalized")         # facenet's 0..255 error; the error of its normalised images
# cosine learning-rate schedule: the share of max_nrof_steps spent warming up from 0.
COSINE_WARMUP_FRACTION = 0.02
# The objective new runs train with (FaceNet-stem features + a pixel term, per face), and facenet
# train_vae.py's (--facenet_objective: features only, beta 0.5, summed over the batch). The shipped model
# was trained with SHIPPED_BETA, when the features weighed about as much as the pixels; ten times that
# kept the person better at the same PSNR after 800 steps (docs/training.md).
RECIPE_BETA = 0.06
SHIPPED_BETA = 0.006
RECIPE_PIXEL_WEIGHT = 0.000167
RECIPE_LOSS_REDUCTION = "mean"
FACENET_BETA = 0.5
FACENET_LOSS_REDUCTION = "sum"
FEATURE_NETWORKS = ("vgg19", "vgg16", "facenet")
FACENET_STEM_LAYERS = ("Conv2d_1a_3x3", "Conv2d_2a_3x3", "Conv2d_2b_3x3")
# (filters, strides, padding) of each stem conv of Inception-ResNet-v1 (facenet_keras.h5), each
# followed by batch norm without gamma (decay 0.995, epsilon 1e-3) and ReLU.
FACENET_STEM_SPECS = {
    "Conv2d_1a_3x3": (32, 2, "valid"),
    "Conv2d_2a_3x3": (32, 1, "valid"),
    "Conv2d_2b_3x3": (64, 1, "same"),
}
FACENET_BN_DECAY = 0.995
FACENET_BN_EPSILON = 0.001
FACENET_EMBEDDING = "embedding"                 # the 128-D L2-normalised embedding (its term: 1 - cosine)
# Every facenet --loss_features choice in network order: the stem (facenet's default), the deeper
# units of facenet-msceleb (Inception-ResNet-v1) by their layer names, then the embedding.
FACENET_LAYERS = (FACENET_STEM_LAYERS + ("Conv2d_3b_1x1", "Conv2d_4a_3x3", "Conv2d_4b_3x3")
                  + tuple(f"Block35_{i}" for i in range(1, 6)) + ("Mixed_6a",)
                  + tuple(f"Block17_{i}" for i in range(1, 11)) + ("Mixed_7a",)
                  + tuple(f"Block8_{i}" for i in range(1, 7)) + (FACENET_EMBEDDING,))
DEFAULT_VGG_LAYERS = "vgg123"
FEATURE_TARGETS = ("model_input", "crop")       # the model-size input resized up; facenet's full-size crop
# What the FaceNet feature network is fed: facenet train_vae.py's normalised images (each channel over its
# CelebA mean and stddev), or (pixels - 127.5) / 128, the fixed standardisation of facenet's 2018 models.
FACENET_INPUTS = ("normalized", "fixed_standardization")
MIXED_PRECISION = ("none", "float16", "bfloat16")
LEARNING_RATE_SCHEDULES = ("cosine", "exponential")
STRATEGIES = ("default", "mirrored", "multi_worker", "tpu")
VERBOSITY = (0, 1, 2, 3)                        # silent; progress bar; a line per save; and TensorFlow's log
