"""The work done on the worker thread: load the model, read a scan, explain it, save an image.

Each function returns plain values and never touches a widget. TensorFlow is
imported here, lazily, inside ``load_model`` (via ``Classifier.load``).
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field

import numpy as np

from core.errors import ModelError, ScanError
from core.io import Scan, load_scan


class SaveError(Exception):
    """The overlay image could not be written; ``str(err)`` is one line."""


# Routine failures the window reports in words; anything else is a bug and also gets a traceback.
EXPECTED_ERRORS = (ScanError, ModelError, SaveError)


@dataclass
class LoadedModel:
    classifier: object  # core.classifier.Classifier
    engine: object | None  # gradcam.engine.CAMEngine, or None when Grad-CAM cannot run on this model
    cam_error: str | None = None

    @property
    def card(self):
        return self.classifier.card


@dataclass
class LoadedScan:
    scan: Scan
    display: np.ndarray  # uint8 (h, w), what the screen shows
    file_bytes: int


@dataclass
class Analysis:
    """One prediction plus the maps explaining ``target_class`` (empty without Grad-CAM)."""

    prediction: object  # core.classifier.Prediction, calibrated
    target_class: str
    heatmaps: dict = field(default_factory=dict)  # method -> (h, w) float32 in [0, 1]
    all_zero: dict = field(default_factory=dict)
    timings_ms: dict = field(default_factory=dict)
    ood_warning: str | None = None  # "this does not look like a brain MRI" and kin (core.ood)


def load_model(model_path: str | None) -> LoadedModel:
    from core.classifier import Classifier  # module import is light; load() brings in TensorFlow

    classifier = Classifier.load(model_path)
    try:
        from gradcam.engine import CAMEngine

        engine, cam_error = CAMEngine(classifier), None
    except Exception as err:  # a model CAM cannot handle still classifies
        engine, cam_error = None, f"Grad-CAM unavailable for this model ({type(err).__name__}: {err})"
    return LoadedModel(classifier, engine, cam_error)


def read_scan(path: str) -> LoadedScan:
    scan = load_scan(path)
    return LoadedScan(scan, scan.display_uint8(), os.path.getsize(path))


def analyse(model: LoadedModel, pixels: np.ndarray, target_class: str | None, chroma: float | None = None) -> Analysis:
    from core.ood import is_blank, warning_for

    if model.engine is None:
        started = time.perf_counter()
        prediction = model.classifier.predict_pixels([pixels])[0]
        timings = {"predict": (time.perf_counter() - started) * 1000}
        analysis = Analysis(prediction, target_class or prediction.label, timings_ms=timings)
    else:
        result = model.engine.explain(pixels, target_class=target_class)
        analysis = Analysis(
            result.prediction,
            result.target_class,
            dict(result.heatmaps),
            dict(result.all_zero),
            dict(result.timings_ms),
        )
    prediction = analysis.prediction
    analysis.ood_warning = warning_for(
        is_blank(pixels), chroma, np.asarray(prediction.logits), model.classifier.card.data, prediction.ood_distance
    )
    return analysis


def save_image(rgb: np.ndarray, path: str) -> str:
    from PIL import Image

    try:
        Image.fromarray(rgb).save(path)
    except ValueError as err:  # Pillow: unknown file extension
        raise SaveError(f"{path}: cannot save in this format ({err})") from None
    except OSError as err:
        raise SaveError(f"{path}: cannot write file ({err.strerror or err})") from None
    return path
