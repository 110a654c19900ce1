"""Shared work of every CAM method: one forward/backward pass, ReLU, normalisation.

Each method (gradcam/methods.py) only says how to weight the channels, as in
jacobgil/pytorch-grad-cam. Scores are the logits (before softmax): gradients
after a saturated softmax vanish and give empty maps.

A method says whether its maps can tell classes apart (``class_specific``): a
method that cannot is not offered for a class other than the predicted one
(see ``GradCAMPlusPlus`` for why, behind a global-average-pool -> Dense head).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from core.keras_support import feature_tensor, import_keras, logits_model
from gradcam.maps import upsample
from gradcam.target_layer import find_target_layer


@dataclass
class Pass:
    """Activations A (n, h, w, k), gradients dS/dA (same shape), logits (n, classes), targets (n,),
    and the penultimate features (n, d) where the head ends in a Dense layer (else None).

    ``reference_gradients`` / ``reference_targets``: the same for the predicted class,
    from the same forward pass, so that a map can be put on the scale of the
    predicted class's evidence (``ActivationsAndGradients.run`` fills them).
    """

    activations: np.ndarray
    gradients: np.ndarray
    logits: np.ndarray
    targets: np.ndarray
    features: np.ndarray | None = None
    reference_gradients: np.ndarray | None = None
    reference_targets: np.ndarray | None = None

    def reference(self) -> "Pass":
        """This pass as if the predicted class had been asked for."""
        if self.reference_gradients is None:
            if np.array_equal(self.targets, np.argmax(self.logits, axis=-1)):
                return self
            raise ValueError("this pass has no gradients for the predicted class")
        return Pass(self.activations, self.reference_gradients, self.logits, self.reference_targets, self.features)


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
    """Builds the graph once; ``run(batch, targets)`` does one forward pass and the backward
    passes for the targets and for the predicted classes."""

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
            # One forward pass; the gradients of the target's score and of the predicted
            # class's. The backward passes only cross the layers after the target layer
            # (the head), so the second costs next to nothing.
            with tf.GradientTape(persistent=True) as tape:
                activations, logits, *extra = forward(x)
                tape.watch(activations)
                predicted = tf.argmax(logits, axis=-1, output_type=tf.int32)
                # A negative target means "the predicted class".
                chosen = tf.where(targets < 0, predicted, targets)
                score = tf.reduce_sum(tf.gather(logits, chosen, axis=1, batch_dims=1))
                reference = tf.reduce_sum(tf.gather(logits, predicted, axis=1, batch_dims=1))
            gradients = tape.gradient(score, activations)
            reference_gradients = tape.gradient(reference, activations)
            del tape
            return (activations, gradients, logits, chosen, reference_gradients, predicted, *extra)

        self._run = tf.function(
            run, input_signature=[tf.TensorSpec(shape, tf.float32), tf.TensorSpec([None], tf.int32)]
        )

    @staticmethod
    def _targets(batch, targets):
        if targets is None:
            targets = -np.ones(len(batch), np.int32)
        return np.broadcast_to(np.asarray(targets, np.int32), (len(batch),)).copy()

    def run(self, batch: np.ndarray, targets=None) -> Pass:
        """One forward and backward pass; ``Pass.reference()`` gives the predicted class's."""
        batch = np.asarray(batch, dtype=np.float32)
        a, g, logits, chosen, g_ref, predicted, *features = self._run(batch, self._targets(batch, targets))
        return Pass(
            a.numpy(), g.numpy(), logits.numpy(), chosen.numpy(), features[0].numpy() if features else None,
            g_ref.numpy(), predicted.numpy(),
        )


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
    """Subclasses implement ``channel_weights(A, G) -> (n, k)``.

    ``class_specific``: whether maps of different classes differ where the evidence
    for them differs. False means a caller must not show this method's map as the
    explanation of a class other than the predicted one; ``not_class_specific_reason``
    says why, in words for the user.
    """

    name = "base"
    class_specific = True
    not_class_specific_reason = ""

    def __init__(self, model, target_layer: str | None = None, passes: ActivationsAndGradients | None = None):
        self.passes = passes or ActivationsAndGradients(model, target_layer)

    @staticmethod
    def channel_weights(activations: np.ndarray, gradients: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def weighted_sum(self, p: Pass) -> np.ndarray:
        """(n, h, w) map before ReLU and before any stretching, on the target layer's grid."""
        weights = self.channel_weights(p.activations, p.gradients)  # (n, k)
        return np.einsum("nhwk,nk->nhw", p.activations, weights)

    def evidence_scale(self, p: Pass) -> np.ndarray:
        """(n,) factor that puts ``weighted_sum`` maps of different classes on one scan on one scale.

        1 where ``weighted_sum`` is already in logit units (Grad-CAM, LayerCAM).
        """
        return np.ones(len(p.logits), np.float64)

    @staticmethod
    def input_map(grid_map: np.ndarray, size: int) -> np.ndarray:
        """A ``weighted_sum`` map (target layer grid) over the model input: smooth, still signed."""
        return upsample(grid_map, size)

    def cam_from_pass(self, p: Pass) -> tuple[np.ndarray, np.ndarray]:
        return relu_normalise(self.weighted_sum(p))

    def __call__(self, batch, targets=None) -> np.ndarray:
        """(n, h, w) heatmaps in [0, 1] over the target layer's grid."""
        maps, _ = self.cam_from_pass(self.passes.run(batch, targets))
        return maps
