"""Gradients that TFLite's builtin ops can express, for the exported explanation signatures.

TensorFlow writes the backward pass of two forward ops as ops LiteRT lacks (no Flex:
the app must not need TensorFlow): ``ReluGrad``, ``Relu6Grad`` and ``DepthwiseConv2dNativeBackpropInput``. (``MaxPoolGrad``
has none either: a model with max pooling exports without input gradients, see
training/export.py.)
``OVERRIDES`` maps them, through ``gradient_override_map``, to these equivalents
built from builtins (equal to TensorFlow's gradients within float rounding; the
exporter measures it on every export).
"""

from __future__ import annotations

import tensorflow as tf

OVERRIDES = {"Relu": "NeuroScanCAM_Relu", "Relu6": "NeuroScanCAM_Relu6",
             "DepthwiseConv2dNative": "NeuroScanCAM_DepthwiseConv2dNative"}


def _register(name):
    """RegisterGradient that tolerates a second import (the registry is process-wide)."""
    def wrap(fn):
        try:
            tf.RegisterGradient(name)(fn)
        except KeyError:  # already registered by an earlier import of this module
            pass
        return fn
    return wrap


@_register("NeuroScanCAM_Relu")
def _relu_gradient(op, grad):
    return grad * tf.cast(op.outputs[0] > 0, grad.dtype)  # y > 0 exactly where x > 0


@_register("NeuroScanCAM_Relu6")
def _relu6_gradient(op, grad):
    # A mask multiply on the op's output: 0 < y < 6 exactly where 0 < x < 6.
    y = op.outputs[0]
    return grad * tf.cast(tf.logical_and(y > 0, y < 6), grad.dtype)


def _transposed_pads(size_in: int, size_out: int, kernel: int, stride: int, padding: str) -> list:
    """Padding of the zero-dilated gradient so that a VALID convolution with the flipped
    kernel gives back the input's size (SAME: TensorFlow puts the odd pixel at the end)."""
    before = max((size_out - 1) * stride + kernel - size_in, 0) // 2 if padding == "SAME" else 0
    return [kernel - 1 - before, size_in + before - (size_out - 1) * stride - 1]


@_register("NeuroScanCAM_DepthwiseConv2dNative")
def _depthwise_gradient(op, grad):
    # d input = depthwise convolution of the zero-dilated gradient with the flipped kernel.
    x, kernel = op.inputs
    strides, padding = op.get_attr("strides"), op.get_attr("padding").decode()
    if op.get_attr("data_format").decode() != "NHWC" or list(op.get_attr("dilations")) != [1, 1, 1, 1]:
        raise ValueError("export supports NHWC depthwise convolutions without dilation")
    n, h_in, w_in, channels = x.shape
    k_h, k_w, _, multiplier = kernel.shape
    if multiplier != 1 or None in (n, h_in, w_in):
        raise ValueError("export supports depthwise multiplier 1 at a fixed input shape")
    _, h_out, w_out, _ = grad.shape
    s_h, s_w = strides[1], strides[2]
    g = grad
    if s_h > 1 or s_w > 1:
        # Zero-dilate with rank-4 ops only (LiteRT's PAD and RESHAPE stop below rank 6):
        # columns first, then rows; no constant of the gradient's size enters the graph.
        g = tf.reshape(g, [n * h_out, w_out, 1, channels])
        g = tf.pad(g, [[0, 0], [0, 0], [0, s_w - 1], [0, 0]])
        g = tf.reshape(g, [n, h_out, 1, w_out * s_w * channels])
        g = tf.pad(g, [[0, 0], [0, 0], [0, s_h - 1], [0, 0]])
        g = tf.reshape(g, [n, h_out * s_h, w_out * s_w, channels])
        g = g[:, : (h_out - 1) * s_h + 1, : (w_out - 1) * s_w + 1]
    pads = [[0, 0], _transposed_pads(h_in, h_out, k_h, s_h, padding),
            _transposed_pads(w_in, w_out, k_w, s_w, padding), [0, 0]]
    if min(min(p) for p in pads) < 0:
        raise ValueError(f"unsupported depthwise geometry (pads {pads})")
    dx = tf.nn.depthwise_conv2d(tf.pad(g, pads), tf.reverse(kernel, [0, 1]), [1, 1, 1, 1], "VALID")
    return dx, None
