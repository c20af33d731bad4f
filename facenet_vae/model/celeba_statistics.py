"""facenet's CelebA per-channel pixel mean and variance (numpy only, so TensorFlow-free code can share them)."""
import numpy as np

IMG_MEAN = np.array([134.10714722, 102.52040863, 87.15436554], dtype=np.float32)
IMG_STDDEV = np.sqrt(np.array([3941.30175781, 2856.94287109, 2519.35791016], dtype=np.float64)).astype(np.float32)
