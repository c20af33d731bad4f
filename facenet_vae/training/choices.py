"""The allowed values of the training settings, without TensorFlow, so flags are checked before it loads.

Each constant is declared once, here; the module that uses it (losses, feature_networks,
distribute, optimisation, run) imports it from here, and ``TrainConfig`` takes its choices from here.
"""

LOSS_TYPES = ("PLAIN", "PERCEPTUAL")            # pixel loss; deep-feature loss (facenet's default)
REDUCTIONS = ("sum", "mean")                    # facenet's sum over the batch; per-sample mean
PIXEL_SPACES = ("pixels", "normalized")         # facenet's 0..255 error; the error of its normalised images
FEATURE_NETWORKS = ("vgg19", "vgg16", "facenet")
FACENET_STEM_LAYERS = ("Conv2d_1a_3x3", "Conv2d_2a_3x3", "Conv2d_2b_3x3")
DEFAULT_VGG_LAYERS = "vgg123"
FEATURE_TARGETS = ("model_input", "crop")       # the model-size input resized up; facenet's full-size crop
MIXED_PRECISION = ("none", "float16", "bfloat16")
LEARNING_RATE_SCHEDULES = ("cosine", "exponential")
STRATEGIES = ("default", "mirrored", "multi_worker", "tpu")
VERBOSITY = (0, 1, 2, 3)                        # silent; progress bar; a line per save; and TensorFlow's log
