"""Moved to ``facenet_vae.training.batch_norm_calibration``; this alias keeps imports written before the move working (remove once none is left)."""
import importlib
import sys

sys.modules[__name__] = importlib.import_module("facenet_vae.training.batch_norm_calibration")
