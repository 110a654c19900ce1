"""What the GUI and the CLI call: a scan in, prediction plus every heatmap out, in one pass."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np

from core.classifier import Classifier, Prediction
from core.preprocess import Geometry
from gradcam.base import ActivationsAndGradients
from gradcam.methods import GradCAM, GradCAMPlusPlus, LayerCAM

DEFAULT_METHODS = ("gradcam", "gradcam++")


@dataclass
class Explanation:
    prediction: Prediction  # for the predicted class, calibrated
    target_class: str
    heatmaps: dict  # method -> (scan height, scan width) float32 in [0, 1]
    input_heatmaps: dict  # method -> (input size, input size): for faithfulness checks
    all_zero: dict  # method -> bool: no positive evidence for the target class
    geometry: Geometry
    timings_ms: dict = field(default_factory=dict)


class CAMEngine:
    def __init__(self, classifier: Classifier, target_layer: str | None = None, methods=DEFAULT_METHODS):
        self.classifier = classifier
        self.passes = ActivationsAndGradients(classifier.model, target_layer)
        available = {"gradcam": GradCAM, "gradcam++": GradCAMPlusPlus, "layercam": LayerCAM}
        unknown = [m for m in methods if m not in available]
        if unknown:
            raise ValueError(f"unknown CAM method(s) {unknown}; choose from {sorted(available)}")
        self.methods = {m: available[m](classifier.model, passes=self.passes) for m in methods}

    @property
    def layer_name(self) -> str:
        return self.passes.layer_name

    def explain(self, pixels: np.ndarray, target_class: str | None = None) -> Explanation:
        started = time.perf_counter()
        batch, geometries = self.classifier.preprocess([pixels])
        preprocessed = time.perf_counter()
        target = -1 if target_class is None else self.classifier.classes.index(target_class)
        p = self.passes.run(batch, [target])
        passed = time.perf_counter()
        heatmaps, input_maps, zero = {}, {}, {}
        size = self.classifier.input_size
        for name, method in self.methods.items():
            maps, all_zero = method.cam_from_pass(p)
            heatmaps[name] = geometries[0].to_scan_grid(maps[0])
            input_maps[name] = _resize(maps[0], size)
            zero[name] = bool(all_zero[0])
        prediction = self.classifier.prediction_from_logits(p.logits[0])
        if self.classifier.feature_density is not None:
            # The out-of-distribution check needs the penultimate features: the pass above
            # returns them unless the target layer sits inside a nested backbone.
            if p.features is not None:
                prediction.ood_distance = self.classifier.distances_of(p.features)[0]
            else:
                prediction.ood_distance = self.classifier.ood_distances(batch)[1][0]
        done = time.perf_counter()
        return Explanation(
            prediction=prediction,
            target_class=self.classifier.classes[int(p.targets[0])],
            heatmaps=heatmaps,
            input_heatmaps=input_maps,
            all_zero=zero,
            geometry=geometries[0],
            timings_ms={
                "preprocess": (preprocessed - started) * 1000,
                "forward_backward": (passed - preprocessed) * 1000,
                "maps": (done - passed) * 1000,
                "total": (done - started) * 1000,
            },
        )


def _resize(cam: np.ndarray, size: int) -> np.ndarray:
    import cv2

    return cv2.resize(cam.astype(np.float32), (size, size), interpolation=cv2.INTER_LINEAR)
