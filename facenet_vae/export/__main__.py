"""``python -m facenet_vae.export MODEL OUT_DIR [--format=...]``: the same as ``facenet-vae-export``."""
import sys

from facenet_vae.cli.export import main

if __name__ == "__main__":
    sys.exit(main())
