"""Shared work of every CAM method: one forward/backward pass, ReLU, normalisation.

Each method (gradcam/methods.py) only says how to weight the channels, as in
jacobgil/pytorch-grad-cam. Scores are the logits (before softmax): gradients
after a saturated softmax vanish and give empty maps.

A method says whether its maps can tell classes apart (``class_specific``): a
method that cannot is not offered for a class other than the predicted one
(see ``GradCAMPlusPlus`` for why, behind a global-average-pool -> Dense head).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from core.runtime import targets_for
from core.runtime_loader import as_runtime
from core.target_layer import find_target_layer
from gradcam.maps import upsample


@dataclass
class Pass:
    """Activations A (n, h, w, k), gradients dS/dA (same shape), logits (n, classes), targets (n,),
    and the penultimate features (n, d) where the head ends in a Dense layer (else None).

    ``reference_gradients`` / ``reference_targets``: the same for the predicted class,
    from the same forward pass, so that a map can be put on the scale of the
    predicted class's evidence (``ActivationsAndGradients.run`` fills them).
    """

    activations: np.ndarray
    gradients: np.ndarray
    logits: np.ndarray
    targets: np.ndarray
    features: np.ndarray | None = None
    reference_gradients: np.ndarray | None = None
    reference_targets: np.ndarray | None = None

    def reference(self) -> "Pass":
        """This pass as if the predicted class had been asked for."""
        if self.reference_gradients is None:
            if np.array_equal(self.targets, np.argmax(self.logits, axis=-1)):
                return self
            raise ValueError("this pass has no gradients for the predicted class")
        return Pass(self.activations, self.reference_gradients, self.logits, self.reference_targets, self.features)


class ActivationsAndGradients:
    """One forward pass and the backward passes for the targets and for the predicted classes,
    through whichever runtime runs the model (core.runtime: LiteRT in the app, Keras in training).

    ``model``: a runtime, or a Keras model (wrapped in ``core.keras_runtime.KerasRuntime``).
    """

    def __init__(self, model, target_layer: str | None = None):
        self.runtime = as_runtime(model)
        self.layer_name = target_layer or self.runtime.default_cam_layer
        if self.runtime.cam_layers is not None and self.layer_name not in self.runtime.cam_layers:
            raise ValueError(f"layer {self.layer_name!r} is not available in this model "
                             f"(exported: {', '.join(self.runtime.cam_layers)})")
        if self.runtime.kind == "keras":
            find_target_layer(self.runtime.model, self.layer_name)  # a wrong name fails here, not at the first scan

    def run(self, batch: np.ndarray, targets=None) -> Pass:
        """One forward and backward pass; ``Pass.reference()`` gives the predicted class's."""
        batch = np.asarray(batch, dtype=np.float32)
        out = self.runtime.cam_pass(batch, targets_for(len(batch), targets), self.layer_name)
        return Pass(out.activations, out.gradients, out.logits, out.chosen, out.features,
                    out.reference_gradients, out.predicted)


def relu_normalise(cams: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """ReLU, then scale each map to [0, 1]. A map with no positive evidence stays all zero.

    Returns (maps, all_zero flags). A maximum below a tiny fraction of the map's
    own scale is float noise, not evidence, and is not stretched to [0, 1].
    """
    cams = np.maximum(cams, 0.0).astype(np.float32)
    peak = cams.reshape(len(cams), -1).max(axis=1)
    all_zero = peak <= 1e-12
    scale = np.where(all_zero, 1.0, peak)[:, None, None]
    maps = np.where(all_zero[:, None, None], 0.0, cams / scale).astype(np.float32)
    return maps, all_zero


class BaseCAM:
    """Subclasses implement ``channel_weights(A, G) -> (n, k)``.

    ``class_specific``: whether maps of different classes differ where the evidence
    for them differs. False means a caller must not show this method's map as the
    explanation of a class other than the predicted one; ``not_class_specific_reason``
    says why, in words for the user.
    """

    name = "base"
    class_specific = True
    not_class_specific_reason = ""

    def __init__(self, model, target_layer: str | None = None, passes: ActivationsAndGradients | None = None):
        self.passes = passes or ActivationsAndGradients(model, target_layer)

    @staticmethod
    def channel_weights(activations: np.ndarray, gradients: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def weighted_sum(self, p: Pass) -> np.ndarray:
        """(n, h, w) map before ReLU and before any stretching, on the target layer's grid."""
        weights = self.channel_weights(p.activations, p.gradients)  # (n, k)
        return np.einsum("nhwk,nk->nhw", p.activations, weights)

    def evidence_scale(self, p: Pass) -> np.ndarray:
        """(n,) factor that puts ``weighted_sum`` maps of different classes on one scan on one scale.

        1 where ``weighted_sum`` is already in logit units (Grad-CAM, LayerCAM).
        """
        return np.ones(len(p.logits), np.float64)

    @staticmethod
    def input_map(grid_map: np.ndarray, size: int) -> np.ndarray:
        """A ``weighted_sum`` map (target layer grid) over the model input: smooth, still signed."""
        return upsample(grid_map, size)

    def cam_from_pass(self, p: Pass) -> tuple[np.ndarray, np.ndarray]:
        return relu_normalise(self.weighted_sum(p))

    def __call__(self, batch, targets=None) -> np.ndarray:
        """(n, h, w) heatmaps in [0, 1] over the target layer's grid."""
        maps, _ = self.cam_from_pass(self.passes.run(batch, targets))
        return maps
