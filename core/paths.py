"""Where bundled files live: inside the PyInstaller bundle when frozen, next to the code otherwise."""

from __future__ import annotations

import os
import sys

DEFAULT_MODEL_FILE = "brain_tumor_classifier.tflite"  # LiteRT: the app needs no TensorFlow


def resource_root() -> str:
    if getattr(sys, "frozen", False) and hasattr(sys, "_MEIPASS"):
        return sys._MEIPASS  # set by PyInstaller's bootloader
    return os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def resource_path(*parts: str) -> str:
    return os.path.join(resource_root(), *parts)


def default_model_path() -> str:
    return resource_path("models", DEFAULT_MODEL_FILE)


def card_path_for(model_path: str) -> str:
    """The model card sits beside the model: same name, ``.json`` suffix."""
    base, _ = os.path.splitext(model_path)
    return base + ".json"
