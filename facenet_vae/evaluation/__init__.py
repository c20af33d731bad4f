"""Quality evaluation of a trained DFC-VAE: reconstruction, attribute prediction, editing, latent health.

The functions here work on numpy arrays and injected callables, so they can be tested without a
trained model; ``pipeline`` wires them to a loaded model and a data set (``config`` holds the settings,
``facenet_vae.cli.evaluate`` is the command line).
"""
