"""The image sets a model's realism is judged on, in the report's column order (no TensorFlow: the report and
bench tables import it)."""

# Reconstructions of the held-out faces; samples from a Gaussian fitted to the training latents; N(0, I) samples.
IMAGE_SETS = ("reconstructions", "fitted_samples", "prior_samples")
