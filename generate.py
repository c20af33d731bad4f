"""Generate faces with a trained facenet DFC-VAE: a thin shim for ``facenet_vae.cli.generate``."""
import sys

from facenet_vae.cli.generate import __doc__, main  # noqa: F401 (absl's --help prints __main__'s docstring)

if __name__ == "__main__":
    sys.exit(main())
