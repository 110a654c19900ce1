"""Pick the runtime (core.runtime) for a model file, or wrap a Keras model in one."""

from __future__ import annotations

import os

from core.errors import ModelError

LITERT_SUFFIX = ".tflite"
KERAS_SUFFIXES = (".keras", ".h5")


def is_runtime(obj) -> bool:
    return hasattr(obj, "cam_pass") and hasattr(obj, "input_gradients")


def as_runtime(model_or_runtime):
    """A runtime as is; a Keras model wrapped in ``KerasRuntime`` (TensorFlow needed)."""
    if is_runtime(model_or_runtime):
        return model_or_runtime
    from core.keras_runtime import KerasRuntime

    return KerasRuntime(model_or_runtime)


def load_runtime(model_path: str, card_data: dict):
    """The runtime for ``model_path``: ``.tflite`` runs on LiteRT, ``.keras`` needs TensorFlow."""
    suffix = os.path.splitext(model_path)[1].lower()
    if suffix == LITERT_SUFFIX:
        from core.litert_runtime import LiteRTRuntime

        return LiteRTRuntime(model_path, card_data.get("litert") or {})
    if suffix in KERAS_SUFFIXES:
        try:
            import tensorflow  # noqa: F401  (only to say clearly what is missing)
        except ImportError:
            raise ModelError(
                f"{os.path.basename(model_path)} is a Keras model and TensorFlow is not installed: export it "
                "with 'python -m training export MODEL.keras' where TensorFlow is installed, or install the "
                "training requirements (pip install -r requirements-training.txt)"
            ) from None
        from core.keras_runtime import KerasRuntime
        from core.keras_support import load_keras_model

        return KerasRuntime(load_keras_model(model_path))
    raise ModelError(f"{os.path.basename(model_path)}: not a model file (expected .tflite or .keras)")
