"""What the GUI and the CLI call: a scan in, prediction plus every heatmap out, in one pass.

Each CAM map is upsampled smoothly from the target layer's grid (gradcam/maps.py);
an Integrated Gradients map (gradcam/integrated_gradients.py) is already over the
model input and only lightly smoothed. Every map is kept to the head, then offered
on three scales (all on the scan's pixel grid):

- ``heatmaps``: stretched so that the map's own peak is 1 (every map looks equally
  "hot", whatever the class's probability; kept for faithfulness checks);
- ``raw_heatmaps``: the evidence before any stretching, in the method's units
  (Grad-CAM, LayerCAM: contribution to the target class's logit, per target-layer
  cell; Grad-CAM++: the paper's exp(score) weights divided by exp(highest logit);
  Integrated Gradients: contribution to the logit per model-input pixel);
- ``relative_heatmaps``: raw evidence over the predicted class's strongest evidence
  on the same scan (same method), clipped to [0, 1]: the predicted class reaches 1,
  a class with a small fraction of that evidence looks that weak. ``relative_peak``
  is the ratio of the peaks before clipping. This is what the window, ``explain``'s
  overlays and the PDF report show, with a colour bar saying so.

``not_class_specific`` names the methods whose map must not be shown as the
explanation of a class other than the predicted one, with the reason.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np

from core.classifier import Classifier, Prediction
from core.ood import neighbour_correlation
from core.preprocess import Geometry
from gradcam.base import ActivationsAndGradients, relu_normalise
from gradcam.integrated_gradients import IntegratedGradients
from gradcam.maps import head_mask
from gradcam.methods import GradCAM, GradCAMPlusPlus, LayerCAM

DEFAULT_METHODS = ("gradcam", "gradcam++", "layercam")  # default_methods puts the card's choice first
CAM_METHODS = {cls.name: cls for cls in (GradCAM, GradCAMPlusPlus, LayerCAM)}
AVAILABLE = (*CAM_METHODS, IntegratedGradients.name)


@dataclass
class Explanation:
    prediction: Prediction  # for the predicted class, calibrated
    target_class: str
    heatmaps: dict  # method -> (scan height, scan width) float32 in [0, 1]
    input_heatmaps: dict  # method -> (input size, input size): for faithfulness checks
    all_zero: dict  # method -> bool: no positive evidence for the target class
    geometry: Geometry
    timings_ms: dict = field(default_factory=dict)
    raw_peak: dict = field(default_factory=dict)  # method -> the unstretched map's maximum (method's units)
    relative_peak: dict = field(default_factory=dict)  # method -> raw peak / the predicted class's raw peak
    not_class_specific: dict = field(default_factory=dict)  # method -> why it cannot explain this target

    @property
    def raw_heatmaps(self) -> dict:
        """method -> (scan height, scan width) float32 >= 0: the evidence before stretching."""
        return {m: h * np.float32(self.raw_peak.get(m, 1.0)) for m, h in self.heatmaps.items()}

    @property
    def relative_heatmaps(self) -> dict:
        """method -> (scan height, scan width) float32 in [0, 1], relative to the predicted
        class's strongest evidence on this scan (the honest display scale)."""
        out = {}
        for m, h in self.heatmaps.items():
            factor = self.relative_peak.get(m, 1.0)
            factor = factor if np.isfinite(factor) else 1.0  # the predicted class has no evidence at all
            out[m] = np.minimum(h * np.float32(factor), np.float32(1.0))
        return out


class CAMEngine:
    """``methods``: the maps every ``explain`` call computes by default. Integrated Gradients
    (``"ig"``) needs its own batched pass (32 path points), so it is built on first use and a
    caller asks for it when wanted (``explain(..., methods=("ig",))``).

    Each CAM method runs at its own target layer: the card's ``explanations.layers`` (chosen
    by the localisation benchmark, docs/localisation.md), else the model's last spatial layer.
    ``target_layer`` forces one layer for every method.
    """

    def __init__(self, classifier: Classifier, target_layer: str | None = None, methods=None):
        self.classifier = classifier
        self.passes = ActivationsAndGradients(classifier.runtime, target_layer)
        self._layer_passes = {self.passes.layer_name: self.passes}
        self.method_layers = {} if target_layer else card_layers(classifier)
        methods = default_methods(classifier.card) if methods is None else tuple(methods)
        self._check(methods)
        self.default_methods = tuple(methods)
        self.methods = {}
        for m in methods:
            if m in CAM_METHODS:
                self.method(m)
        self._ig = None

    @staticmethod
    def _check(methods) -> None:
        unknown = [m for m in methods if m not in AVAILABLE]
        if unknown:
            raise ValueError(f"unknown CAM method(s) {unknown}; choose from {sorted(AVAILABLE)}")

    @property
    def layer_name(self) -> str:
        return self.passes.layer_name

    def layer_of(self, name: str) -> str:
        """The target layer of CAM method ``name``."""
        return self.method_layers.get(name, self.passes.layer_name)

    def _passes_at(self, layer: str) -> ActivationsAndGradients:
        if layer not in self._layer_passes:
            self._layer_passes[layer] = ActivationsAndGradients(self.classifier.runtime, layer)
        return self._layer_passes[layer]

    def method(self, name: str):
        """The method object for ``name`` (built on first use)."""
        if name == IntegratedGradients.name:
            if self._ig is None:
                self._ig = IntegratedGradients(self.classifier.runtime)
            return self._ig
        if name not in self.methods:
            self._check([name])
            self.methods[name] = CAM_METHODS[name](self.classifier.runtime, passes=self._passes_at(self.layer_of(name)))
        return self.methods[name]

    def explain(self, pixels: np.ndarray, target_class: str | None = None, methods=None) -> Explanation:
        """Prediction plus the maps of ``methods`` (default: the engine's) for ``target_class``."""
        methods = self.default_methods if methods is None else tuple(methods)
        self._check(methods)
        started = time.perf_counter()
        batch, geometries = self.classifier.preprocess([pixels])
        preprocessed = time.perf_counter()
        target = -1 if target_class is None else self.classifier.classes.index(target_class)
        p = self.passes.run(batch, [target])  # the prediction, the features, and the maps at the default layer
        reference = p.reference()
        other_class = int(reference.targets[0]) != int(p.targets[0])
        layer_passes = {self.passes.layer_name: (p, reference)}
        for name in methods:
            layer = self.layer_of(name)
            if name in CAM_METHODS and layer not in layer_passes:
                extra = self.method(name).passes.run(batch, [target])
                layer_passes[layer] = (extra, extra.reference())
        passed = time.perf_counter()
        heatmaps, input_maps, zero, raw_peak, relative_peak, refused = {}, {}, {}, {}, {}, {}
        timings = {}
        size = self.classifier.input_size
        mask = head_mask(batch[0])
        for name in methods:
            method = self.method(name)
            began = time.perf_counter()
            if name == IntegratedGradients.name:
                # the target (and the predicted class, for the relative scale) in one batched call
                path = method.run(batch, [int(p.targets[0])], with_reference=other_class)
                heat, peak = _evidence(method, path, mask, size)
                reference_peak = _evidence(method, path, mask, size, item=1)[1] if other_class else peak
                timings["ig"] = (time.perf_counter() - began) * 1000
            else:
                own, own_reference = layer_passes[self.layer_of(name)]
                heat, peak = _evidence(method, own, mask, size)
                reference_peak = _evidence(method, own_reference, mask, size)[1] if other_class else peak
            maps, all_zero = relu_normalise(heat[None])
            heatmaps[name] = geometries[0].to_scan_grid(maps[0])
            input_maps[name] = maps[0]
            zero[name] = bool(all_zero[0])
            raw_peak[name] = peak
            relative_peak[name] = peak / reference_peak if reference_peak > 0 else (float("inf") if peak > 0 else 0.0)
            if other_class and not method.class_specific:
                refused[name] = method.not_class_specific_reason
        prediction = self.classifier.prediction_from_logits(p.logits[0])
        prediction.structure = neighbour_correlation(batch[0])
        if self.classifier.feature_density is not None or self.classifier.sequence_probe is not None:
            # The out-of-distribution and sequence checks need the penultimate features: the pass
            # above returns them unless the target layer sits inside a nested backbone.
            features = p.features
            if features is None:
                features = self.classifier.logits_and_features(batch)[1]
            if features is not None:
                prediction.ood_distance = self.classifier.distances_of(features)[0]
                self.classifier.add_sequence([prediction], features)
        done = time.perf_counter()
        timings.update({
            "preprocess": (preprocessed - started) * 1000,
            "forward_backward": (passed - preprocessed) * 1000,
            "maps": (done - passed) * 1000,
            "total": (done - started) * 1000,
        })
        return Explanation(
            prediction=prediction,
            target_class=self.classifier.classes[int(p.targets[0])],
            heatmaps=heatmaps,
            input_heatmaps=input_maps,
            all_zero=zero,
            geometry=geometries[0],
            raw_peak=raw_peak,
            relative_peak=relative_peak,
            not_class_specific=refused,
            timings_ms=timings,
        )


def card_layers(classifier: Classifier) -> dict:
    """method -> target layer from the card's ``explanations.layers``, where the runtime has that layer."""
    layers = dict((classifier.card.data.get("explanations") or {}).get("layers") or {})
    available = classifier.runtime.cam_layers
    return {m: layer for m, layer in layers.items() if m in CAM_METHODS and (available is None or layer in available)}


def default_methods(card) -> tuple:
    """The maps an analysis computes: the card's default overlay (the localisation benchmark's
    choice) first, then Grad-CAM and Grad-CAM++."""
    first = (card.data.get("explanations") or {}).get("default")
    return ((first,) if first in CAM_METHODS else ()) + tuple(m for m in DEFAULT_METHODS if m != first)


def _evidence(method, p, mask: np.ndarray, size: int, item: int = 0) -> tuple[np.ndarray, float]:
    """(item ``item``'s map over the model input: smooth, ReLU, inside the head;
    its peak in the method's units, ``evidence_scale`` applied)."""
    heat = np.maximum(method.input_map(method.weighted_sum(p)[item], size), 0.0) * mask
    return heat, float(heat.max()) * float(method.evidence_scale(p)[item])
