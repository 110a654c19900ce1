"""Find the layer whose activations Grad-CAM explains, including inside a nested backbone."""

from __future__ import annotations


def _is_spatial(layer) -> bool:
    try:
        shape = layer.output.shape
    except (AttributeError, ValueError):
        return False
    return len(shape) == 4 and (shape[1] is None or shape[1] > 1) and (shape[2] is None or shape[2] > 1)


def _is_nested_model(layer) -> bool:
    return hasattr(layer, "layers") and hasattr(layer, "inputs")


def find_target_layer(model, name: str | None = None):
    """(nested_model_or_None, layer): the named layer, or the last spatial 4-D layer feeding the head."""
    if name:
        for layer in model.layers:
            if layer.name == name:
                return None, layer
        for layer in model.layers:
            if _is_nested_model(layer):
                for inner in layer.layers:
                    if inner.name == name:
                        return layer, inner
        raise ValueError(f"no layer named {name!r} in model {model.name!r}")
    for layer in reversed(model.layers):
        if _is_nested_model(layer):
            for inner in reversed(layer.layers):
                if _is_spatial(inner):
                    return layer, inner
        elif _is_spatial(layer):
            return None, layer
    raise ValueError(f"model {model.name!r} has no layer with a spatial 4-D output to explain")
