"""A shim for tools that still run ``python setup.py``: the metadata is in pyproject.toml, read by setuptools."""
from setuptools import setup

setup()
