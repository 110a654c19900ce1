"""The CAM methods: each only defines how channels are weighted."""

from __future__ import annotations

import numpy as np

from gradcam.base import BaseCAM, relu_normalise


class GradCAM(BaseCAM):
    """Selvaraju et al. 2017: weight = spatial mean of the gradients."""

    name = "gradcam"

    @staticmethod
    def channel_weights(activations, gradients):
        return gradients.mean(axis=(1, 2))


class GradCAMPlusPlus(BaseCAM):
    """Chattopadhay et al. 2018, eq. 19, with scores taken before the softmax.

    alpha = g^2 / (2 g^2 + (sum_ab A_ab) g^3): the activation sum multiplies g^3
    per pixel. Writing the denominator as sum_ab(A_ab g^3) (a published mistake)
    gives different alphas wherever the gradient varies over space.
    """

    name = "gradcam++"

    @staticmethod
    def alphas(activations, gradients):
        g2 = gradients**2
        g3 = g2 * gradients
        activation_sum = activations.sum(axis=(1, 2), keepdims=True)
        denominator = 2.0 * g2 + activation_sum * g3
        safe = np.where(denominator != 0.0, denominator, 1.0)
        return np.where(denominator != 0.0, g2 / safe, 0.0)

    @staticmethod
    def channel_weights(activations, gradients):
        alpha = GradCAMPlusPlus.alphas(activations, gradients)
        return (alpha * np.maximum(gradients, 0.0)).sum(axis=(1, 2))


class LayerCAM(BaseCAM):
    """Jiang et al. 2021: per-pixel weights relu(g); no extra pass, so it comes free."""

    name = "layercam"

    @staticmethod
    def channel_weights(activations, gradients):
        raise NotImplementedError  # LayerCAM weights per pixel, see cam_from_pass

    def cam_from_pass(self, p):
        return relu_normalise((np.maximum(p.gradients, 0.0) * p.activations).sum(axis=-1))


METHODS = {cls.name: cls for cls in (GradCAM, GradCAMPlusPlus, LayerCAM)}
