"""The one seam between the app and whatever runs the network.

Two implementations offer the same four things, as NumPy arrays:

- ``forward(x)`` -> (logits (n, classes), penultimate features (n, d) or None);
- ``cam_pass(x, targets, layer)`` -> ``CamArrays``: one forward pass, the target
  layer's activations, d(target logit)/d(activations) and the same for the
  predicted class (what Grad-CAM, Grad-CAM++, LayerCAM and HiResCAM need);
- ``input_gradients(x, weights)`` -> (logits, d(sum_c weights[:, c] * logits[:, c])/dx)
  (what Integrated Gradients needs);
- ``n_classes``, ``input_shape``, ``default_cam_layer``, ``cam_layers``.

``core.litert_runtime`` runs the exported ``.tflite`` file (the app: no TensorFlow);
``core.keras_runtime`` runs a ``.keras`` model (training, tests, and the exporter's
reference); ``core.runtime_loader`` picks one. ``gradcam/`` and ``core.classifier``
never ask which one ran.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass
class CamArrays:
    activations: np.ndarray  # (n, h, w, k)
    gradients: np.ndarray  # (n, h, w, k): of the chosen class's logit
    logits: np.ndarray  # (n, classes)
    chosen: np.ndarray  # (n,) int: the target, or the predicted class where the target was negative
    reference_gradients: np.ndarray  # (n, h, w, k): of the predicted class's logit
    predicted: np.ndarray  # (n,) int
    features: np.ndarray | None  # (n, d), or None when the head is not a Dense layer


def targets_for(n: int, targets) -> np.ndarray:
    """``targets`` as an (n,) int32 array; None (or negative entries) means the predicted class."""
    if targets is None:
        return -np.ones(n, np.int32)
    return np.broadcast_to(np.asarray(targets, np.int32), (n,)).copy()
