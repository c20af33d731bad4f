"""Generate faces with a trained facenet DFC-VAE: a thin shim for ``facenet_vae.cli.generate``
(the ``facenet-vae-generate`` command); ``python generate.py --help`` lists the modes and flags."""
import sys

from facenet_vae.cli.generate import main

if __name__ == "__main__":
    sys.exit(main())
