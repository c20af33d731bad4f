"""The feature layers each feature network offers, and what a ``--loss_features`` value selects (no TensorFlow)."""
from facenet_vae.training.choices import DEFAULT_VGG_LAYERS, FACENET_LAYERS, FACENET_STEM_LAYERS, FEATURE_NETWORKS

# relu1_1, relu2_1, relu3_1 of the DFC-VAE paper (Hou et al. 2016), and its deeper variant.
VGG_LAYER_PRESETS = {
    "vgg123": ("block1_conv1", "block2_conv1", "block3_conv1"),
    "vgg345": ("block3_conv1", "block4_conv1", "block5_conv1"),
}
_VGG_CONVS_PER_BLOCK = {"vgg16": (2, 2, 3, 3, 3), "vgg19": (2, 2, 4, 4, 4)}


def _check_network(network):
    if network not in FEATURE_NETWORKS:
        raise ValueError(f"Unknown feature network {network!r}; choose one of {list(FEATURE_NETWORKS)}")


def valid_layer_names(network):
    """Return the feature layer names ``network`` offers, in network order (list[str])."""
    _check_network(network)
    if network == "facenet":
        return list(FACENET_LAYERS)
    names = []
    for block, convs in enumerate(_VGG_CONVS_PER_BLOCK[network], start=1):
        names += [f"block{block}_conv{i}" for i in range(1, convs + 1)]
        names.append(f"block{block}_pool")
    return names


def resolve_layer_names(network, layers=None):
    """Return the list of layer names that ``layers`` selects in ``network``.

    ``layers`` is None (the network's default: ``vgg123`` for VGG, the three stem layers for
    facenet), a preset name from ``VGG_LAYER_PRESETS`` (VGG only), a comma-separated string or a
    list of layer names. Raises ValueError, listing the valid choices, for unknown names.
    """
    _check_network(network)
    valid = valid_layer_names(network)
    if layers is None:
        layers = list(FACENET_STEM_LAYERS) if network == "facenet" else DEFAULT_VGG_LAYERS
    if isinstance(layers, str):
        if layers in VGG_LAYER_PRESETS:
            if network == "facenet":
                raise ValueError(f"Layer preset {layers!r} is for VGG networks; facenet layers are "
                                 f"{valid}")
            return list(VGG_LAYER_PRESETS[layers])
        layers = layers.split(",")
    names = [str(name).strip() for name in layers]
    names = [name for name in names if name]
    if not names:
        raise ValueError(f"No feature layers given for {network}; choose from {valid}"
                         + (f" or a preset {list(VGG_LAYER_PRESETS)}" if network != "facenet" else ""))
    unknown = [name for name in names if name not in valid]
    if unknown:
        presets = f", or a preset {list(VGG_LAYER_PRESETS)}" if network != "facenet" else ""
        raise ValueError(f"Unknown {network} feature layer(s) {unknown}; valid layers are {valid}{presets}")
    duplicates = sorted({name for name in names if names.count(name) > 1})
    if duplicates:
        raise ValueError(f"Feature layer(s) {duplicates} given more than once")
    return names
