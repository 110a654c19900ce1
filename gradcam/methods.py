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


NOT_CLASS_SPECIFIC = (
    "{method} cannot tell the classes apart: it keeps only the evidence for a class, "
    "never the evidence against it, so its map looks much the same whichever class is asked for. "
    "Use Grad-CAM to explain a class other than the predicted one."
)


class GradCAMPlusPlus(BaseCAM):
    """Chattopadhay et al. 2018, eq. 19, with scores taken before the softmax.

    alpha = g^2 / (2 g^2 + (sum_ab A_ab) g^3): the activation sum multiplies g^3
    per pixel. Writing the denominator as sum_ab(A_ab g^3) (a published mistake)
    gives different alphas wherever the gradient varies over space.

    Why the maps do not depend on the class (``class_specific = False``). Behind a
    global-average-pool -> Dense head, S_c = sum_k w_kc mean_ab(A^k_ab) + b_c, so
    g = dS_c/dA^k_ab = w_kc / Z at every pixel (Z = h w): constant over space. Then
    alpha = 1 / (2 + m_k w_kc), with m_k = mean_ab A^k, and the channel weight is
    sum_ab alpha relu(g) = relu(w_kc) / (2 + m_k w_kc):

    - m_k w_kc >> 2: the weight tends to 1 / m_k = Z / sum_ab A^k, the same for every
      channel with a positive gradient, whatever the class;
    - m_k w_kc << 2 (the model bundled when measured: median 0.008, 99th percentile 0.11): the
      weight tends to relu(w_kc) / 2, a class activation map without its negative terms.

    Either way the channels that count *against* the class are dropped, and the sum of
    the hundreds of non-negative, overlapping channels with a positive weight is much
    the same "where the network responds" picture for every class: on 100 test scans
    the predicted and runner-up maps correlate at r = 0.98 (Grad-CAM, which keeps the
    signed sum: -0.09; benchmarks/bench_cam_classes.py). The paper's exact form, with
    Y = exp(S) and its higher derivatives, changes nothing: the layers after the
    target are piecewise linear, so d2Y/dA2 = exp(S) g^2, d3Y/dA3 = exp(S) g^3 and
    exp(S) cancels in alpha (tests check this with automatic differentiation).
    Grad-CAM++ is therefore offered for the predicted class only.
    """

    name = "gradcam++"
    class_specific = False
    not_class_specific_reason = NOT_CLASS_SPECIFIC.format(method="Grad-CAM++")

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

    def evidence_scale(self, p):
        """The paper's score is Y = exp(S), so its weights carry a factor exp(S_target).
        Divided by exp(max logit), the same for every class of one scan (and finite):
        a class far less likely than the predicted one gets a proportionally weaker map."""
        logits = np.asarray(p.logits, np.float64)
        chosen = logits[np.arange(len(logits)), np.asarray(p.targets)]
        return np.exp(chosen - logits.max(axis=-1))


class LayerCAM(BaseCAM):
    """Jiang et al. 2021: per-pixel weights relu(g); no extra pass, so it comes free.

    Not class-specific for the same reason as Grad-CAM++: behind a global-average-pool
    -> Dense head relu(g) = relu(w_kc) / Z, a class activation map without its negative
    terms (predicted vs runner-up r = 0.98 on 100 test scans).
    """

    name = "layercam"
    class_specific = False
    not_class_specific_reason = NOT_CLASS_SPECIFIC.format(method="LayerCAM")

    @staticmethod
    def channel_weights(activations, gradients):
        raise NotImplementedError  # LayerCAM weights per pixel, see weighted_sum

    def weighted_sum(self, p):
        return (np.maximum(p.gradients, 0.0) * p.activations).sum(axis=-1)

    def cam_from_pass(self, p):
        return relu_normalise(self.weighted_sum(p))


METHODS = {cls.name: cls for cls in (GradCAM, GradCAMPlusPlus, LayerCAM)}


class HiResCAM(BaseCAM):
    """Draelos & Carin 2020: the gradient times the activation, element by element, summed over
    channels: M_ij = sum_k g^k_ij A^k_ij (Grad-CAM averages g over space first).

    In logit units: the sum of M over the grid is the first-order (Taylor) share of the score that
    flows through the target layer. Signed, so class-specific like Grad-CAM. At the last spatial
    layer behind a global-average-pool -> Dense head g is constant over space and HiResCAM *is*
    Grad-CAM; at an earlier, finer layer the gradient varies over space and the two differ.
    """

    name = "hirescam"

    @staticmethod
    def channel_weights(activations, gradients):
        raise NotImplementedError  # HiResCAM weights per pixel, see weighted_sum

    def weighted_sum(self, p):
        return (p.gradients * p.activations).sum(axis=-1)


METHODS["hirescam"] = HiResCAM
