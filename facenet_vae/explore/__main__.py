"""``python -m facenet_vae.explore``: serve the face explorer (see ``facenet_vae.cli.explore``)."""
import sys

from facenet_vae.cli.explore import main

if __name__ == "__main__":
    sys.exit(main())
