from setuptools import find_packages, setup

setup(
    name="facenet-vae",
    version="0.1.0",
    description="TensorFlow 2 / Keras 3 port of facenet's Deep Feature Consistent VAE (DFC-VAE)",
    packages=find_packages(include=["facenet_vae", "facenet_vae.*"]),
    py_modules=["train_vae", "generate"],
    python_requires=">=3.10",
    install_requires=[
        "tensorflow>=2.21,<2.22",
        "keras>=3.10",
        "tensorflow-datasets",
        "numpy",
        "absl-py",
        "matplotlib",
        "h5py",
        "tensorboard",
    ],
    extras_require={
        # tf2onnx 1.17 installs beside tensorflow 2.21 without touching its numpy/protobuf.
        "export": ["tf2onnx>=1.17", "onnx>=1.17", "onnxruntime>=1.20", "ai-edge-litert>=2.0"],
        "test": ["pytest>=8", "hypothesis", "tf2onnx>=1.17", "onnx>=1.17", "onnxruntime>=1.20",
                 "ai-edge-litert>=2.0"],
        "eval": ["scikit-learn"],
    },
)
