"""Load the model (checksum-verified, safe mode) and turn scans into calibrated probabilities."""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field

import numpy as np

from core.errors import ModelError
from core.modelcard import ModelCard, read_card, verify_checksum
from core.paths import card_path_for, default_model_path
from core.preprocess import method_for, preprocess_batch
from core.runtime_loader import as_runtime, load_runtime


def softmax(logits: np.ndarray, temperature: float = 1.0) -> np.ndarray:
    scaled = np.asarray(logits, dtype=np.float64) / temperature
    scaled -= scaled.max(axis=-1, keepdims=True)
    exp = np.exp(scaled)
    return (exp / exp.sum(axis=-1, keepdims=True)).astype(np.float32)


@dataclass
class Prediction:
    label: str
    confidence: float
    probabilities: dict
    low_confidence: bool
    logits: list = field(default_factory=list)
    ood_distance: float | None = None  # Mahalanobis distance of the features, when the card has statistics
    structure: float | None = None  # core.ood.neighbour_correlation of the model input
    sequence: str | None = None  # the sequence the scan looks like (core.sequence), where the card has a probe
    sequence_probability: float = 0.0
    rarity_warning: str | None = None  # few training scans of this class in that sequence (core.sequence)

    def as_json(self, path: str) -> dict:
        return {
            "path": path,
            "label": self.label,
            "confidence": round(float(self.confidence), 6),
            "probabilities": {k: round(float(v), 6) for k, v in self.probabilities.items()},
        }


class Classifier:
    """A loaded model plus its card. Thread-compatible: use from one worker thread.

    ``runtime``: what runs the network (core.runtime): LiteRT for a ``.tflite`` file,
    Keras for a ``.keras`` one; a Keras model passed here is wrapped in a Keras runtime.
    """

    def __init__(self, runtime, card: ModelCard, model_path: str, checksum: str):
        self.runtime = as_runtime(runtime)
        self.card = card
        self.model_path = model_path
        self.checksum = checksum
        self.classes = card.classes
        self.input_size = card.input_size
        self.channels = card.channels
        self.temperature = card.temperature
        if self.runtime.n_classes != len(self.classes):
            raise ModelError(f"model has {self.runtime.n_classes} outputs but its card names {len(self.classes)} classes")
        self.feature_density = load_feature_density(model_path, card)
        self.sequence_probe = load_sequence_probe(model_path, card)

    @property
    def model(self):
        """The Keras model behind a Keras runtime (None on LiteRT): for training and benchmarks."""
        return getattr(self.runtime, "model", None)

    @classmethod
    def load(cls, model_path: str | None = None) -> "Classifier":
        """``.tflite`` (LiteRT, no TensorFlow) or ``.keras`` (TensorFlow), each beside its card."""
        model_path = model_path or default_model_path()
        card = read_card(card_path_for(model_path))
        checksum = verify_checksum(model_path, card)
        runtime = load_runtime(model_path, card.data)
        expected = (card.input_size, card.input_size, card.channels)
        if tuple(runtime.input_shape) != expected:
            raise ModelError(f"model input {tuple(runtime.input_shape)} does not match its card {expected}")
        try:
            method_for(card.preprocessing)
        except ValueError as err:
            raise ModelError(f"model card: {err}; a newer version of the app is needed") from None
        return cls(runtime, card, model_path, checksum)

    @property
    def name(self) -> str:
        return self.card.name

    def preprocess(self, pixel_arrays):
        return preprocess_batch(pixel_arrays, self.input_size, self.preprocessing)

    @property
    def preprocessing(self) -> str:
        return self.card.preprocessing

    def logits(self, batch: np.ndarray) -> np.ndarray:
        return self.runtime.forward(batch)[0]

    def logits_and_features(self, batch: np.ndarray):
        """(logits, penultimate features) in one pass; features None if the head is not a Dense layer."""
        return self.runtime.forward(batch)

    def ood_distances(self, batch: np.ndarray):
        """Per-image Mahalanobis distance to the training features (None without statistics)."""
        logits, distances, _ = self._logits_distances_features(batch)
        return logits, distances

    def _logits_distances_features(self, batch: np.ndarray):
        if self.feature_density is None and self.sequence_probe is None:
            return self.logits(batch), [None] * len(batch), None
        logits, features = self.logits_and_features(batch)
        return logits, self.distances_of(features) if features is not None else [None] * len(batch), features

    def add_sequence(self, predictions, features) -> None:
        """Set each prediction's estimated sequence and, where it applies, the rarity warning."""
        if self.sequence_probe is None or features is None:
            return
        from core.sequence import rarity_warning

        probs = self.sequence_probe.probabilities(features)
        for prediction, row in zip(predictions, probs):
            best = int(np.argmax(row))
            prediction.sequence = self.sequence_probe.names[best]
            prediction.sequence_probability = float(row[best])
            prediction.rarity_warning = rarity_warning(self.card.data, prediction.label, prediction.sequence,
                                                       prediction.sequence_probability)

    def distances_of(self, features: np.ndarray) -> list:
        """``ood_distances`` from penultimate features already computed (e.g. by a Grad-CAM pass)."""
        if self.feature_density is None:
            return [None] * len(features)
        return [float(d) for d in self.feature_density.distance(features)]

    def probabilities(self, logits: np.ndarray) -> np.ndarray:
        return softmax(logits, self.temperature)

    def prediction_from_logits(self, logits_row: np.ndarray) -> Prediction:
        probs = self.probabilities(logits_row[np.newaxis])[0]
        best = int(np.argmax(probs))
        return Prediction(
            label=self.classes[best],
            confidence=float(probs[best]),
            probabilities=dict(zip(self.classes, map(float, probs))),
            low_confidence=bool(probs[best] < self.card.low_confidence_threshold),
            logits=[float(v) for v in logits_row],
        )

    def predict_batch(self, batch: np.ndarray) -> list[Prediction]:
        logits, distances, features = self._logits_distances_features(batch)
        predictions = [self.prediction_from_logits(row) for row in logits]
        self.add_sequence(predictions, features)
        from core.ood import neighbour_correlation

        for prediction, distance, image in zip(predictions, distances, batch):
            prediction.ood_distance = distance
            prediction.structure = neighbour_correlation(image)
        return predictions

    def predict_pixels(self, pixel_arrays) -> list[Prediction]:
        batch, _ = self.preprocess(pixel_arrays)
        return self.predict_batch(batch)

    def self_test(self) -> float:
        """Run the model on a generated head-like image; return the milliseconds taken."""
        started = time.perf_counter()
        predictions = self.predict_pixels([synthetic_head()])
        elapsed = (time.perf_counter() - started) * 1000
        total = sum(predictions[0].probabilities.values())
        if not np.isfinite(total) or abs(total - 1.0) > 1e-3:
            raise ModelError(f"self-test produced invalid probabilities (sum {total})")
        return elapsed


def synthetic_head(size: int = 256) -> np.ndarray:
    """A generated head-like image (ellipse plus a bright blob): no patient data, always at hand."""
    yy, xx = np.mgrid[:size, :size]
    centre = size / 2
    head = (((yy - centre) / (0.39 * size)) ** 2 + ((xx - centre) / (0.33 * size)) ** 2 < 1).astype(np.float32) * 120
    head += 60 * np.exp(-(((yy - 0.39 * size) / 15.0) ** 2 + ((xx - 0.59 * size) / 15.0) ** 2))
    return head


def _card_file(model_path: str, card: ModelCard, section: str, file_key: str, sha_key: str, what: str):
    """The path of a file beside the model that the card's ``section`` names, checksum-verified; else None."""
    from core.modelcard import sha256_of

    info = card.data.get(section) or {}
    name = info.get(file_key)
    if not name:
        return None
    path = os.path.join(os.path.dirname(model_path), name)
    if not os.path.exists(path):
        raise ModelError(f"{what} {name} named in the card is missing")
    if sha256_of(path) != info.get(sha_key):
        raise ModelError(f"{what} {name} does not match the card's checksum")
    return path


def load_feature_density(model_path: str, card: ModelCard):
    """The out-of-distribution statistics file named in the card, checksum-verified; else None."""
    from core.ood import FeatureDensity

    path = _card_file(model_path, card, "ood", "stats_file", "stats_sha256", "out-of-distribution statistics file")
    return FeatureDensity.load(path) if path else None


def load_sequence_probe(model_path: str, card: ModelCard):
    """The sequence probe named in the card (core.sequence), checksum-verified; else None."""
    from core.sequence import SequenceProbe

    path = _card_file(model_path, card, "sequence_probe", "file", "sha256", "sequence probe")
    return SequenceProbe.load(path) if path else None


def describe_model_path(model_path: str | None) -> str:
    return os.path.abspath(model_path or default_model_path())
