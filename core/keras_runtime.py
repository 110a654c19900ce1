"""The runtime seam (core.runtime) over a Keras model: training, tests, and the exporter.

The graph functions here are the single definition of what the app computes:
``KerasRuntime`` runs them under ``tf.function``, and ``training.export`` freezes the
very same functions into the ``.tflite`` file, so the two cannot drift apart.
Gradients use ``tf.gradients`` with ``grad_ys`` (a one-hot or weight row per item)
rather than a tape: it is what the exporter's gradient overrides apply to.
"""

from __future__ import annotations

import contextlib

import numpy as np

from core.keras_support import feature_tensor, import_keras, logits_model
from core.runtime import CamArrays, targets_for
from core.target_layer import find_target_layer

CAM_OUTPUTS = ("activations", "gradients", "logits", "chosen", "reference_gradients", "predicted", "features")


def _split_at_nested(keras, scores_model, nested, layer):
    """Forward function input -> (activations, logits) through a nested backbone.

    Keras 3 cannot wire an inner layer's output into the outer graph ("layer has
    never been called"), so run it in three parts: the outer graph up to the
    backbone, the backbone with two outputs, the outer graph after it.
    """
    node = nested._inbound_nodes[-1]
    prefix = keras.Model(scores_model.inputs[0], node.input_tensors[0])
    inner = keras.Model(nested.inputs[0], [layer.output, nested.outputs[0]])
    tail = keras.Model(node.output_tensors[0], scores_model.outputs[0])

    def forward(x):
        activations, features = inner(prefix(x, training=False), training=False)
        return activations, tail(features, training=False), None

    return forward


def _overriding(overrides):
    """A context that swaps op gradients (the exporter's TFLite-friendly ones), or nothing."""
    if not overrides:
        return contextlib.nullcontext()
    tf, _ = import_keras()
    return tf.compat.v1.get_default_graph().gradient_override_map(overrides)


def forward_function(model):
    """x -> {"logits", "features"?}."""
    _, keras = import_keras()
    scores = logits_model(model)
    features = feature_tensor(scores)
    outputs = {"logits": scores.outputs[0]}
    if features is not None:
        outputs["features"] = features
    both = keras.Model(scores.inputs[0], outputs)
    return lambda x: both(x, training=False)


def cam_function(model, layer_name: str | None, overrides=None):
    """(x, targets) -> the ``CAM_OUTPUTS`` for one target layer (features only with a Dense head)."""
    tf, keras = import_keras()
    scores = logits_model(model)
    nested, layer = find_target_layer(model, layer_name)
    if nested is None:
        features = feature_tensor(scores)
        outputs = [layer.output, scores.outputs[0]] + ([features] if features is not None else [])
        both = keras.Model(scores.inputs[0], outputs)

        def forward(x):
            a, logits, *extra = both(x, training=False)
            return a, logits, extra[0] if extra else None
    else:
        forward = _split_at_nested(keras, scores, nested, layer)
    n_classes = int(scores.outputs[0].shape[-1])

    def run(x, targets):
        with _overriding(overrides):
            a, logits, features = forward(x)
        predicted = tf.argmax(logits, axis=-1, output_type=tf.int32)
        chosen = tf.where(targets < 0, predicted, targets)  # negative: the predicted class
        # Backward passes only cross the layers after the target layer (the head): the
        # predicted class's gradients cost next to nothing.
        g = tf.gradients(logits, a, grad_ys=tf.one_hot(chosen, n_classes))[0]
        g_ref = tf.gradients(logits, a, grad_ys=tf.one_hot(predicted, n_classes))[0]
        out = {"activations": a, "gradients": g, "logits": logits, "chosen": chosen,
               "reference_gradients": g_ref, "predicted": predicted}
        if features is not None:
            out["features"] = features
        return out

    return run, layer.name


def input_gradient_function(model, overrides=None):
    """(x, w) -> {"logits", "gradients"}: d(sum_i sum_c w[i, c] logits[i, c]) / dx."""
    tf, _ = import_keras()
    scores = logits_model(model)

    def run(x, w):
        with _overriding(overrides):
            logits = scores(x, training=False)
        return {"logits": logits, "gradients": tf.gradients(logits, x, grad_ys=w)[0]}

    return run


class KerasRuntime:
    """``core.runtime``'s seam over a Keras model (TensorFlow required)."""

    kind = "keras"

    def __init__(self, model):
        tf, _ = import_keras()
        self.model = model
        self.scores_model = logits_model(model)
        self.n_classes = int(self.scores_model.outputs[0].shape[-1])
        self.input_shape = tuple(int(d) for d in model.inputs[0].shape[1:])
        self._spec = tf.TensorSpec([None, *self.input_shape], tf.float32)
        # Fixed signatures: one trace for every batch size, no retracing over a long session.
        self._forward = tf.function(forward_function(model), input_signature=[self._spec])
        self._cams = {}
        self._input_gradients = None

    @property
    def default_cam_layer(self) -> str:
        return find_target_layer(self.model)[1].name

    cam_layers = None  # any spatial layer can be explained through Keras
    has_input_gradients = True

    def forward(self, x):
        if len(x) == 0:
            return np.zeros((0, self.n_classes), np.float32), None
        out = self._forward(np.asarray(x, np.float32))
        features = out.get("features")
        return out["logits"].numpy(), features.numpy() if features is not None else None

    def cam_pass(self, x, targets=None, layer: str | None = None) -> CamArrays:
        tf, _ = import_keras()
        layer = layer or self.default_cam_layer
        if layer not in self._cams:
            run, _ = cam_function(self.model, layer)
            self._cams[layer] = tf.function(run, input_signature=[self._spec, tf.TensorSpec([None], tf.int32)])
        x = np.asarray(x, np.float32)
        out = {k: v.numpy() for k, v in self._cams[layer](x, targets_for(len(x), targets)).items()}
        return CamArrays(**{k: out.get(k) for k in CAM_OUTPUTS})

    def input_gradients(self, x, weights):
        tf, _ = import_keras()
        if self._input_gradients is None:
            w_spec = tf.TensorSpec([None, self.n_classes], tf.float32)
            self._input_gradients = tf.function(input_gradient_function(self.model),
                                                input_signature=[self._spec, w_spec])
        out = self._input_gradients(np.asarray(x, np.float32), np.asarray(weights, np.float32))
        return out["logits"].numpy(), out["gradients"].numpy()
