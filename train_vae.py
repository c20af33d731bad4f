"""Train a facenet DFC-VAE: a thin shim for ``facenet_vae.cli.train`` (also the ``facenet-vae-train`` command).

See ``python train_vae.py --help`` for the settings, grouped.
"""
import sys

from facenet_vae.cli.train import __doc__ as __doc__, main  # noqa: F401, A004 (the doc is --help's usage text)

if __name__ == "__main__":
    sys.exit(main())
