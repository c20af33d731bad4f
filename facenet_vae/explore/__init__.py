"""The face explorer: a local web page that decodes faces in the browser while you drag attribute sliders.

``python -m facenet_vae.explore [--model=...]`` (``cli/explore.py``) starts ``server.ExplorerServer``
with an ``backend.Explorer``: the model's decoder exported to ONNX and run in the page by
onnxruntime-web (wasm), its attribute vectors as sliders, and photo uploads encoded by the server
with the model's own framing. The page lives in ``static/``; everything it loads is vendored there.
Nothing is imported here, so ``--help`` and flag checks do not load TensorFlow.
"""
