"""Pretrained networks fetched from PyPI archives on first use (see ``registry`` and ``fetch``)."""
