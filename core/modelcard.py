"""The model card: a JSON file beside the model saying what the model is and how to feed it."""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass

from core.errors import ModelError
from core.preprocess import PERCENTILE_V1

REQUIRED_FIELDS = ("classes", "input_size", "channels", "preprocessing", "sha256")
DEFAULT_LOW_CONFIDENCE = 0.70


def sha256_of(path: str) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


@dataclass(frozen=True)
class ModelCard:
    data: dict
    path: str

    @property
    def classes(self) -> list[str]:
        return list(self.data["classes"])

    @property
    def input_size(self) -> int:
        return int(self.data["input_size"])

    @property
    def channels(self) -> int:
        return int(self.data["channels"])

    @property
    def preprocessing(self) -> str:
        """The preprocessing name the model was trained with; cards written before v2 had one kind."""
        section = self.data.get("preprocessing") or {}
        return str(section.get("name", PERCENTILE_V1))

    @property
    def temperature(self) -> float:
        return float(self.data.get("temperature", 1.0))

    @property
    def low_confidence_threshold(self) -> float:
        return float(self.data.get("low_confidence_threshold", DEFAULT_LOW_CONFIDENCE))

    @property
    def name(self) -> str:
        return str(self.data.get("name", os.path.basename(self.path)))

    @property
    def trained(self) -> bool:
        return bool(self.data.get("trained", True))

    @property
    def sha256(self) -> str:
        return str(self.data["sha256"])

    def display_name(self, class_name: str) -> str:
        names = self.data.get("display_names", {})
        return names.get(class_name, class_name.replace("notumor", "no tumour").capitalize())


def read_card(card_path: str) -> ModelCard:
    if not os.path.exists(card_path):
        raise ModelError(f"model card not found: {card_path}")
    try:
        with open(card_path, encoding="utf-8") as handle:
            data = json.load(handle)
    except (OSError, ValueError) as err:
        raise ModelError(f"model card {card_path} is not valid JSON ({err})") from None
    if not isinstance(data, dict):
        raise ModelError(f"model card {card_path} is not a JSON object")
    missing = [name for name in REQUIRED_FIELDS if name not in data]
    if missing:
        raise ModelError(f"model card {card_path} lacks {', '.join(missing)}")
    if not data["classes"] or int(data["input_size"]) < 8:
        raise ModelError(f"model card {card_path} has no classes or an invalid input size")
    return ModelCard(data, card_path)


def verify_checksum(model_path: str, card: ModelCard) -> str:
    """Raise ModelError unless the model file's SHA-256 equals the card's (``sha256`` for the
    ``.keras`` file, ``litert.sha256`` for the exported ``.tflite`` one)."""
    if not os.path.exists(model_path):
        raise ModelError(f"model file not found: {model_path}")
    expected = card.sha256
    if model_path.lower().endswith(".tflite"):
        litert = card.data.get("litert") or {}
        if not litert.get("sha256"):
            raise ModelError(f"the card of {os.path.basename(model_path)} has no litert.sha256: re-export the "
                             "model with 'python -m training export MODEL.keras'")
        expected = str(litert["sha256"])
    actual = sha256_of(model_path)
    if actual != expected.lower():
        raise ModelError(
            f"model file {os.path.basename(model_path)} does not match its card "
            f"(SHA-256 {actual[:12]}… vs {expected[:12]}…): it was changed, truncated or replaced"
        )
    return actual


def write_card(card_path: str, data: dict) -> None:
    with open(card_path, "w", encoding="utf-8") as handle:
        json.dump(data, handle, indent=2, sort_keys=False)
        handle.write("\n")
