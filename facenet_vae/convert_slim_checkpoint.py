"""Moved to ``facenet_vae.model.convert_slim_checkpoint``; this alias keeps old imports and ``python -m`` working."""
import importlib
import sys

if __name__ == "__main__":
    importlib.import_module("facenet_vae.model.convert_slim_checkpoint").run()
else:
    sys.modules[__name__] = importlib.import_module("facenet_vae.model.convert_slim_checkpoint")
