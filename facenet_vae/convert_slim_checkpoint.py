"""Moved to ``facenet_vae.model.convert_slim_checkpoint``; this alias keeps imports written before the move working (remove once none is left)."""
import importlib
import sys

sys.modules[__name__] = importlib.import_module("facenet_vae.model.convert_slim_checkpoint")
