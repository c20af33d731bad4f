"""The explorer's settings (``python -m facenet_vae.explore --help``), declared once with ``settings.setting``.

No TensorFlow here: flags are checked before the model loads.
"""
import dataclasses

from facenet_vae.settings import setting

LOCAL_HOSTS = ("127.0.0.1", "localhost", "::1")


@dataclasses.dataclass
class ExploreOptions:
    """What one explorer server is started with (the flags, by the same names)."""
    model: str = setting(None, "Training run folder or model.keras file (default: the trained CelebA model "
                               "shipped in checkpoints/celeba64).", group="model")
    attribute_vectors_file: str = setting(None, "HDF5 attribute vectors for the sliders (default: the model's own "
                                                "attribute_vectors.h5, found as generate.py finds it).",
                                          group="generation")
    host: str = setting("127.0.0.1", "Address to listen on. Anything but 127.0.0.1/localhost/::1 makes the page "
                                     "reachable from the network (a warning says so).", group="run")
    port: int = setting(8000, "Port to listen on (0: any free port; the URL printed says which).", group="run",
                        minimum=0)
    verbose: bool = setting(False, "Log every request and TensorFlow's start-up messages.", group="run")

    def is_local(self):
        """Return True when ``host`` only accepts connections from this machine."""
        return self.host in LOCAL_HOSTS
