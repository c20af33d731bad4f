"""One run of ``generate.py``: check the options, load the model when the mode needs one, run the mode.

The modes themselves live in ``generation.modes`` (``MODE_TABLE``); this module only dispatches.
"""
from facenet_vae import settings
from facenet_vae.data.errors import DataError
from facenet_vae.generation.loading import load_vae
from facenet_vae.generation.modes import MODE_TABLE
from facenet_vae.generation.options import OptionError
from facenet_vae.generation.paths import output_dir_of


def check_options(options):
    """Raise OptionError naming the flag for a value outside its choices or bounds; return ``options``."""
    try:
        settings.check_choices(options)
    except ValueError as error:
        raise OptionError(str(error)) from None
    return options


def load_model(options):
    """Return the ``LoadedVae`` that ``--model`` names (the shipped model by default); prints what was loaded."""
    vae = load_vae(options.model)
    print(vae.source)
    return vae


def run(options, vae=None):
    """Run one ``generate.py`` mode as configured by ``options`` (GenerateOptions); returns the paths written.

    ``vae`` (a LoadedVae) is used instead of loading ``options.model``. ``list_attributes`` prints
    the names and returns [] (it needs no model).
    """
    mode = MODE_TABLE[check_options(options).mode]
    if mode.needs_data_dir and not options.data_dir:
        raise DataError(f"--mode={options.mode} needs --data_dir (a face folder)")
    if mode.needs_model and vae is None:
        vae = load_model(options)
    return mode.run(vae, options, output_dir_of(options))
