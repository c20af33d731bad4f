"""The shipped recipe in PyTorch, for GPU machines that have PyTorch but no TensorFlow.

``graph`` is ``DfcVae`` built from the same ``VaeDefinition``s, ``objective`` the recipe's loss
(KL + FaceNet-stem features + pixels), ``train`` a training loop over a folder of faces. Weights
travel as ``.npz`` files keyed by slim variable names in Keras layouts: ``keras_bridge`` (the one
module here that needs TensorFlow) writes a Keras model's and the stem's, and reads trained ones
back into a ``DfcVae``. ``tests/test_torch_replica.py`` holds the replica to the Keras graph and
objective on the same weights and faces.
"""
