"""``python -m facenet_vae.evaluate ...``: the same as ``facenet-vae-evaluate`` (see ``facenet_vae.cli.evaluate``)."""
import sys

from facenet_vae.cli.evaluate import main

if __name__ == "__main__":
    sys.exit(main())
