"""Shared work of every CAM method: one forward/backward pass, ReLU, normalisation.

Each method (gradcam/methods.py) only says how to weight the channels, as in
jacobgil/pytorch-grad-cam. Scores are the logits (before softmax): gradients
after a saturated softmax vanish and give empty maps.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from core.keras_support import feature_tensor, import_keras, logits_model
from gradcam.target_layer import find_target_layer


@dataclass
class Pass:
    """Activations A (n, h, w, k), gradients dS/dA (same shape), logits (n, classes), targets (n,),
    and the penultimate features (n, d) where the head ends in a Dense layer (else None)."""

    activations: np.ndarray
    gradients: np.ndarray
    logits: np.ndarray
    targets: np.ndarray
    features: np.ndarray | None = None


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
        return activations, tail(features, training=False)

    return forward


class ActivationsAndGradients:
    """Builds the graph once; ``run(batch, targets)`` does one forward and one backward pass."""

    def __init__(self, model, target_layer: str | None = None):
        tf, keras = import_keras()
        self.model = model
        scores_model = logits_model(model)
        nested, layer = find_target_layer(model, target_layer)
        self.layer_name = layer.name
        features = feature_tensor(scores_model)
        if nested is None:
            # The penultimate features ride along (the out-of-distribution check needs
            # them), so an explanation costs one forward pass, not two.
            outputs = [layer.output, scores_model.outputs[0]] + ([features] if features is not None else [])
            both = keras.Model(scores_model.inputs[0], outputs)
            forward = lambda x: both(x, training=False)  # noqa: E731
        else:
            forward = _split_at_nested(keras, scores_model, nested, layer)
        shape = [None, *model.inputs[0].shape[1:]]

        def run(x, targets):
            with tf.GradientTape() as tape:
                activations, logits, *extra = forward(x)
                tape.watch(activations)
                # A negative target means "the predicted class".
                chosen = tf.where(targets < 0, tf.argmax(logits, axis=-1, output_type=tf.int32), targets)
                score = tf.reduce_sum(tf.gather(logits, chosen, axis=1, batch_dims=1))
            return (activations, tape.gradient(score, activations), logits, chosen, *extra)

        self._run = tf.function(
            run, input_signature=[tf.TensorSpec(shape, tf.float32), tf.TensorSpec([None], tf.int32)]
        )

    def run(self, batch: np.ndarray, targets=None) -> Pass:
        batch = np.asarray(batch, dtype=np.float32)
        if targets is None:
            targets = -np.ones(len(batch), np.int32)
        targets = np.broadcast_to(np.asarray(targets, np.int32), (len(batch),)).copy()
        a, g, logits, chosen, *features = self._run(batch, targets)
        return Pass(a.numpy(), g.numpy(), logits.numpy(), chosen.numpy(), features[0].numpy() if features else None)


def relu_normalise(cams: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """ReLU, then scale each map to [0, 1]. A map with no positive evidence stays all zero.

    Returns (maps, all_zero flags). A maximum below a tiny fraction of the map's
    own scale is float noise, not evidence, and is not stretched to [0, 1].
    """
    cams = np.maximum(cams, 0.0).astype(np.float32)
    peak = cams.reshape(len(cams), -1).max(axis=1)
    all_zero = peak <= 1e-12
    scale = np.where(all_zero, 1.0, peak)[:, None, None]
    maps = np.where(all_zero[:, None, None], 0.0, cams / scale).astype(np.float32)
    return maps, all_zero


class BaseCAM:
    """Subclasses implement ``channel_weights(A, G) -> (n, k)``."""

    name = "base"

    def __init__(self, model, target_layer: str | None = None, passes: ActivationsAndGradients | None = None):
        self.passes = passes or ActivationsAndGradients(model, target_layer)

    @staticmethod
    def channel_weights(activations: np.ndarray, gradients: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def cam_from_pass(self, p: Pass) -> tuple[np.ndarray, np.ndarray]:
        weights = self.channel_weights(p.activations, p.gradients)  # (n, k)
        cams = np.einsum("nhwk,nk->nhw", p.activations, weights)
        return relu_normalise(cams)

    def __call__(self, batch, targets=None) -> np.ndarray:
        """(n, h, w) heatmaps in [0, 1] over the target layer's grid."""
        maps, _ = self.cam_from_pass(self.passes.run(batch, targets))
        return maps
