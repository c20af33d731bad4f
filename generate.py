"""Generate faces with a trained facenet DFC-VAE: a thin shim for ``facenet_vae.cli.generate``.

See ``python generate.py --help`` (or the ``facenet-vae-generate`` command) for the modes and flags.
"""
from facenet_vae.cli.generate import __doc__ as __doc__, main  # noqa: F401 (the doc is --help's usage text)

if __name__ == "__main__":
    main()
