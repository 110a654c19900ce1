"""Integrated Gradients (Sundararajan et al. 2017): attribution per input pixel.

    IG_i(x) = (x_i - x'_i) * integral_0^1 dS(x' + a (x - x')) / dx_i da

with S the target class's logit (before the softmax, as for the CAMs) and x' a
baseline: a black head (all zeros: the preprocessing's background, so the head
itself is what is explained) or the scan blurred. The integral is a midpoint
Riemann sum over ``steps`` points (at least 32) on the straight path, in batched
forward/backward calls; its error falls as 1/steps^2, and for a model that
is linear in its input it is exact: IG = (x - x') * w.

Shaped like the CAMs: ``PathGradients`` is the shared pass (the gradients along
the path), ``IntegratedGradients`` the method (``weighted_sum`` gives the signed
map over the model input, in logit units: it sums to S(x) - S(x'), the
"completeness" property). Unlike Grad-CAM++ it is class-specific: the gradient
of another class's logit is another gradient, with its sign.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from core.runtime import targets_for
from core.runtime_loader import as_runtime
from gradcam.base import relu_normalise

DEFAULT_STEPS = 32
BASELINES = ("black", "blur")
# The blurred baseline: a Gaussian of this fraction of the input's side (8 px at 128 px).
BLUR_SIGMA_FRACTION = 1 / 16
# Pixel attributions are speckled (one pixel's gradient is noisy): the displayed map is
# the signed map under a light Gaussian of this fraction of the input's side (2 px at
# 128 px) before the ReLU, so that a region's evidence shows as a region.
SMOOTH_SIGMA_FRACTION = 1 / 64


@dataclass
class PathPass:
    """inputs and baselines (n, h, w, c); mean_gradients (n, h, w, c): the path average of
    dS_target/dx; logits (n, classes) at the inputs; targets (n,)."""

    inputs: np.ndarray
    baselines: np.ndarray
    mean_gradients: np.ndarray
    logits: np.ndarray
    targets: np.ndarray


class PathGradients:
    """``run(batch, baselines, targets)``: the gradients at n x steps path points, in batched calls
    of the runtime (core.runtime: LiteRT in the app, Keras in training), plus the n inputs'
    own logits, which pick the predicted class where a target is negative.

    ``model``: a runtime, or a Keras model (wrapped in ``core.keras_runtime.KerasRuntime``).
    """

    def __init__(self, model, steps: int = DEFAULT_STEPS):
        if steps < 1:
            raise ValueError("steps must be at least 1")
        self.runtime = as_runtime(model)
        self.steps = int(steps)
        self.alphas = ((np.arange(self.steps, dtype=np.float32) + 0.5) / self.steps).astype(np.float32)

    def _mean_gradients(self, batch, baselines, classes) -> np.ndarray:
        n, shape = len(batch), batch.shape[1:]
        path = baselines[:, None] + self.alphas[None, :, None, None, None] * (batch - baselines)[:, None]
        weights = np.eye(self.runtime.n_classes, dtype=np.float32)[np.repeat(classes, self.steps)]
        _, gradients = self.runtime.input_gradients(path.reshape(n * self.steps, *shape), weights)
        return gradients.reshape(n, self.steps, *shape).mean(axis=1)

    def run(self, batch, baselines, targets=None, with_reference: bool = False) -> PathPass:
        """``with_reference``: also the predicted class's gradients along the same paths: the
        pass then holds 2n items, the targets' first."""
        batch = np.asarray(batch, np.float32)
        baselines = np.ascontiguousarray(np.broadcast_to(np.asarray(baselines, np.float32), batch.shape))
        targets = targets_for(len(batch), targets)
        logits, _ = self.runtime.forward(batch)
        predicted = np.argmax(logits, axis=-1).astype(np.int32)
        chosen = np.where(targets < 0, predicted, targets).astype(np.int32)
        mean = self._mean_gradients(batch, baselines, chosen)
        if with_reference:
            mean = np.concatenate([mean, self._mean_gradients(batch, baselines, predicted)])
            logits, chosen = np.concatenate([logits, logits]), np.concatenate([chosen, predicted])
            batch, baselines = np.concatenate([batch, batch]), np.concatenate([baselines, baselines])
        return PathPass(batch, baselines, mean, logits, chosen)


class IntegratedGradients:
    """``weighted_sum`` = sum over channels of (x - x') * mean path gradient: (n, h, w), signed."""

    name = "ig"
    class_specific = True
    not_class_specific_reason = ""

    def __init__(self, model, steps: int = DEFAULT_STEPS, baseline: str = "black",
                 passes: PathGradients | None = None):
        if baseline not in BASELINES:
            raise ValueError(f"unknown baseline {baseline!r}; choose from {', '.join(BASELINES)}")
        self.baseline = baseline
        self.passes = passes or PathGradients(model, steps)

    @property
    def steps(self) -> int:
        return self.passes.steps

    def baselines(self, batch: np.ndarray) -> np.ndarray:
        """The baseline image of each input: zeros (a black head), or the input blurred."""
        batch = np.asarray(batch, np.float32)
        if self.baseline == "black":
            return np.zeros_like(batch)
        sigma = BLUR_SIGMA_FRACTION * max(batch.shape[1:3])
        out = np.empty_like(batch)
        for i, item in enumerate(batch):
            blurred = cv2.GaussianBlur(item, (0, 0), sigma, borderType=cv2.BORDER_REFLECT)
            out[i] = blurred.reshape(item.shape)
        return out

    def run(self, batch, targets=None, with_reference: bool = False) -> PathPass:
        return self.passes.run(batch, self.baselines(batch), targets, with_reference)

    @staticmethod
    def attributions(p: PathPass) -> np.ndarray:
        """(n, h, w, c): (x - x') * the path average of the gradient."""
        return (p.inputs - p.baselines) * p.mean_gradients

    def weighted_sum(self, p: PathPass) -> np.ndarray:
        """(n, h, w) signed map over the model input, in logit units (sums to about S(x) - S(x'))."""
        return self.attributions(p).sum(axis=-1)

    def evidence_scale(self, p: PathPass) -> np.ndarray:
        return np.ones(len(p.logits), np.float64)

    @staticmethod
    def input_map(signed_map: np.ndarray, size: int) -> np.ndarray:
        """The signed map (already over the model input) lightly smoothed, as ``maps.upsample``
        does for a CAM: the engine then applies the ReLU and the head mask."""
        signed_map = np.asarray(signed_map, np.float32)
        if signed_map.shape != (size, size):
            signed_map = cv2.resize(signed_map, (size, size), interpolation=cv2.INTER_LINEAR)
        sigma = SMOOTH_SIGMA_FRACTION * size
        if sigma >= 0.5:
            signed_map = cv2.GaussianBlur(signed_map, (0, 0), sigma, borderType=cv2.BORDER_REPLICATE)
        return signed_map.astype(np.float32)

    def __call__(self, batch, targets=None) -> np.ndarray:
        """(n, h, w) maps in [0, 1] over the model input (unsmoothed, ReLU, stretched)."""
        maps, _ = relu_normalise(self.weighted_sum(self.run(batch, targets)))
        return maps
