"""The one helper behind the packages' lazy public names (PEP 562 module ``__getattr__``).

A package lists which module defines each public name; the name is imported on first use, so
``import facenet_vae`` and the command-line tools' flag checking do not load TensorFlow.
"""
import importlib
import sys


def lazy_names(package, module_of):
    """Return ``(__getattr__, __dir__)`` for ``package``, whose public names ``module_of`` maps to modules.

    A name is imported from its module on first use and kept in the package's namespace; any other
    name is an AttributeError naming the package.
    """
    def get_attribute(name):
        if name not in module_of:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(module_of[name]), name)
        setattr(sys.modules[package], name, value)
        return value

    def names():
        return sorted(set(vars(sys.modules[package])) | set(module_of))

    return get_attribute, names
