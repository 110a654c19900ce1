"""Keras helpers shared by the classifier and Grad-CAM. TensorFlow/Keras are imported lazily."""

from __future__ import annotations

import os

from core.errors import ModelError


def import_keras():
    """Import TensorFlow + Keras quietly; only called from a worker thread or CLI."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    os.environ.setdefault("KERAS_BACKEND", "tensorflow")
    import keras  # noqa: WPS433 (lazy by design: the window must appear before TF loads)
    import tensorflow as tf

    return tf, keras


def load_keras_model(model_path: str):
    """Load a .keras file with safe_mode on (refuses Lambda layers and other arbitrary code)."""
    _, keras = import_keras()
    try:
        return keras.saving.load_model(model_path, compile=False, safe_mode=True)
    except ValueError as err:
        text = str(err)
        if "safe_mode" in text or "Lambda" in text or "lambda" in text:
            raise ModelError(
                f"{os.path.basename(model_path)} contains custom code (e.g. a Lambda layer); "
                "refused because safe mode is on"
            ) from None
        raise ModelError(f"cannot load model {os.path.basename(model_path)}: {text.splitlines()[0]}") from None
    except Exception as err:  # zip/HDF5/deserialisation failures come in many types
        first_line = (str(err).splitlines() or [type(err).__name__])[0]
        raise ModelError(
            f"cannot load model {os.path.basename(model_path)}: {type(err).__name__}: {first_line[:200]}"
        ) from None


def feature_tensor(scores_model):
    """The input of the final Dense layer (the penultimate features), or None."""
    _, keras = import_keras()
    last = scores_model.layers[-1]
    return last.input if isinstance(last, keras.layers.Dense) else None


def logits_model(model):
    """A model sharing ``model``'s weights that outputs the scores before the final softmax.

    Handles a final softmax ``Activation`` layer (strip it) and a final ``Dense``
    with softmax activation (rebuild it linear with the same weights). A model
    whose last layer is linear is returned unchanged.
    """
    _, keras = import_keras()
    last = model.layers[-1]
    activation = getattr(last, "activation", None)
    activation_name = getattr(activation, "__name__", str(activation))
    if isinstance(last, keras.layers.Activation) and "softmax" in activation_name:
        return keras.Model(model.inputs, last.input, name=f"{model.name}_logits")
    if isinstance(last, keras.layers.Softmax):
        return keras.Model(model.inputs, last.input, name=f"{model.name}_logits")
    if isinstance(last, keras.layers.Dense) and "softmax" in activation_name:
        linear = keras.layers.Dense(last.units, activation=None, name=f"{last.name}_linear")
        outputs = linear(last.input)
        linear.set_weights(last.get_weights())
        return keras.Model(model.inputs, outputs, name=f"{model.name}_logits")
    return model
