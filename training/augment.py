"""On-the-fly augmentation for training batches (tf ops, used inside tf.data).

Geometry: rotation, shift, shear, zoom and horizontal flip combined into one
affine transform per image (one resampling, no accumulated blur). Intensity:
brightness, contrast, gamma, head-intensity inversion (T1 <-> T2-like), a smooth bias
field, blur, noise and down/up-sampling, which imitate other scanners and sequences so the model
cannot lean on one source's look. Output stays in [0, 1] with the input shape.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import tensorflow as tf


@dataclass(frozen=True)
class AugmentConfig:
    rotation_degrees: float = 20.0
    shift_fraction: float = 0.15
    shear_degrees: float = 8.0
    zoom_range: tuple = (0.85, 1.15)
    flip_horizontal: bool = True
    brightness_range: tuple = (0.85, 1.15)
    contrast_range: tuple = (0.85, 1.15)
    gamma_range: tuple = (0.7, 1.4)
    # Inverted head intensities (T1 <-> T2-like), blended by a mix drawn from inversion_mix_range:
    # tumour classes are almost all T1 here, so without it "looks like T2" can mean "notumor".
    inversion_probability: float = 0.0
    inversion_mix_range: tuple = (1.0, 1.0)
    # A random smooth, generally non-monotone intensity curve inside the head (a generalisation
    # of the inversion): tissues swap brightness order as between T1, T2 and FLAIR, so that
    # "which sequence" stops being a cue for "which class". Knot values mix the identity with
    # uniform noise by a strength drawn from curve_strength_range.
    curve_probability: float = 0.0
    curve_knots: int = 5
    curve_strength_range: tuple = (0.3, 1.0)
    # Re-rank the head's intensities after all intensity changes, so every training input is
    # distributed like a real rank-preprocessed (head-crop-square-pad-rank-v2) input.
    rerank: bool = False
    bias_field_strength: float = 0.15
    bias_field_probability: float = 0.3
    noise_std_max: float = 0.03
    noise_probability: float = 0.3
    blur_probability: float = 0.15
    resample_probability: float = 0.2

    def description(self) -> str:
        """What the model card says about augmentation: written from these settings, so it cannot drift."""
        low, high = self.zoom_range
        affine = (f"rotation {self.rotation_degrees:g} deg, shift {self.shift_fraction:.0%}, "
                  f"shear {self.shear_degrees:g} deg, zoom {low:g}-{high:g}" + (", h-flip" if self.flip_horizontal else ""))
        parts = [
            f"affine ({affine})",
            "brightness {:g}-{:g}".format(*self.brightness_range),
            "contrast {:g}-{:g}".format(*self.contrast_range),
            "gamma {:g}-{:g}".format(*self.gamma_range),
            f"bias field (p={self.bias_field_probability:g})",
            f"blur (p={self.blur_probability:g})",
            f"noise (p={self.noise_probability:g})",
            f"down/up-sampling (p={self.resample_probability:g})",
        ]
        if self.curve_probability:
            low, high = self.curve_strength_range
            parts.append(f"random smooth non-monotone intensity curve in the head ({self.curve_knots} knots, "
                         f"strength {low:g}-{high:g}, p={self.curve_probability:g})")
        if self.rerank:
            parts.append("head intensities re-ranked after all intensity changes (as the rank preprocessing does)")
        if self.inversion_probability:
            low, high = self.inversion_mix_range
            kind = "full" if low == high == 1.0 else f"partial ({low:g}-{high:g})"
            parts.append(f"{kind} head-intensity inversion (p={self.inversion_probability:g})")
        return ", ".join(parts)


def _affine_matrices(batch, size, cfg: AugmentConfig):
    """Per-image 8-parameter projective transforms (output -> input coordinates)."""
    angle = tf.random.uniform([batch], -1.0, 1.0) * cfg.rotation_degrees * math.pi / 180
    shear = tf.random.uniform([batch], -1.0, 1.0) * cfg.shear_degrees * math.pi / 180
    zoom = tf.random.uniform([batch], cfg.zoom_range[0], cfg.zoom_range[1])
    shift = tf.random.uniform([batch, 2], -1.0, 1.0) * cfg.shift_fraction * size
    flip = tf.ones([batch])
    if cfg.flip_horizontal:
        flip = tf.where(tf.random.uniform([batch]) < 0.5, -1.0, 1.0)
    center = (size - 1) / 2.0
    cos, sin = tf.cos(angle), tf.sin(angle)
    # Inverse mapping: input = R(-a) . Shear . (1/zoom) . Flip . (output - centre) + centre - shift
    a0 = cos * flip / zoom
    a1 = (-sin + cos * tf.tan(shear)) / zoom
    b0 = sin * flip / zoom
    b1 = (cos + sin * tf.tan(shear)) / zoom
    a2 = center - a0 * center - a1 * center - shift[:, 0]
    b2 = center - b0 * center - b1 * center - shift[:, 1]
    zeros = tf.zeros([batch])
    return tf.stack([a0, a1, a2, b0, b1, b2, zeros, zeros], axis=1)


def augment_geometry(images, cfg: AugmentConfig):
    shape = tf.shape(images)
    batch, size = shape[0], tf.cast(shape[1], tf.float32)
    transforms = _affine_matrices(batch, size, cfg)
    return tf.raw_ops.ImageProjectiveTransformV3(
        images=images,
        transforms=transforms,
        output_shape=shape[1:3],
        fill_value=0.0,
        interpolation="BILINEAR",
        fill_mode="CONSTANT",
    )


def _per_image(batch, low, high):
    return tf.random.uniform([batch, 1, 1, 1], low, high)


def _chance(batch, probability):
    return tf.cast(tf.random.uniform([batch, 1, 1, 1]) < probability, tf.float32)


def random_curve(x, head, probability, knots=5, strength_range=(0.3, 1.0)):
    """Apply a random smooth curve (cosine-interpolated knots on [0, 1]) to the head pixels of
    a random ``probability`` share of the batch; the background stays as it is."""
    batch = tf.shape(x)[0]
    identity = tf.linspace(0.0, 1.0, knots)[None]
    strength = tf.random.uniform([batch, 1], strength_range[0], strength_range[1])
    values = (1 - strength) * identity + strength * tf.random.uniform([batch, knots])
    # the darkest head pixels (rim, partial volume with air) stay dark, as in every sequence
    values = values * tf.concat([[0.3], tf.ones([knots - 1])], axis=0)[None]
    position = tf.clip_by_value(x, 0.0, 1.0) * (knots - 1)
    low = tf.minimum(tf.cast(tf.floor(position), tf.int32), knots - 2)
    frac = position - tf.cast(low, tf.float32)
    frac = (1.0 - tf.cos(math.pi * frac)) / 2.0  # smooth at the knots
    flat_low = tf.reshape(low, [batch, -1])
    v0 = tf.reshape(tf.gather(values, flat_low, batch_dims=1), tf.shape(x))
    v1 = tf.reshape(tf.gather(values, flat_low + 1, batch_dims=1), tf.shape(x))
    curved = v0 + (v1 - v0) * frac
    apply = _chance(batch, probability) * tf.cast(head, tf.float32)
    return apply * curved + (1 - apply) * x


def rerank_head(x, head):
    """Each head pixel -> the share of head pixels <= it (ties share the highest rank, as
    core.preprocess.rank_intensity); background -> 0."""
    shape = tf.shape(x)
    batch = shape[0]
    flat = tf.reshape(x, [batch, -1])
    inside = tf.reshape(head, [batch, -1])
    values = tf.where(inside, flat, -1.0)  # background sorts first
    ordered = tf.sort(values, axis=1)
    at_or_below = tf.searchsorted(ordered, values, side="right")
    background = tf.reduce_sum(tf.cast(~inside, tf.int32), axis=1, keepdims=True)
    n_head = tf.maximum(tf.shape(flat)[1] - background, 1)
    ranks = tf.cast(at_or_below - background, tf.float32) / tf.cast(n_head, tf.float32)
    return tf.reshape(tf.where(inside, ranks, 0.0), shape)


def augment_intensity(images, cfg: AugmentConfig):
    shape = tf.shape(images)
    batch, height, width = shape[0], shape[1], shape[2]
    x = tf.clip_by_value(images, 0.0, 1.0)
    # The head as the preprocessing left it (background and geometric fill are 0).
    in_head = x > 1e-3
    if cfg.curve_probability:
        x = random_curve(x, in_head, cfg.curve_probability, cfg.curve_knots, cfg.curve_strength_range)
    gamma = _per_image(batch, cfg.gamma_range[0], cfg.gamma_range[1])
    x = tf.pow(x + 1e-6, gamma)
    # Sequence-like remapping: the head's intensities partly inverted, background kept dark.
    head = tf.cast(x > 0.05, tf.float32)
    inverted = head * (1.05 - x) + (1 - head) * x
    mix = _per_image(batch, *cfg.inversion_mix_range) * _chance(batch, cfg.inversion_probability)
    x = (1 - mix) * x + mix * inverted
    mean = tf.reduce_mean(x, axis=[1, 2, 3], keepdims=True)
    x = (x - mean) * _per_image(batch, *cfg.contrast_range) + mean
    x = x * _per_image(batch, *cfg.brightness_range)
    # Smooth multiplicative bias field, as from coil inhomogeneity.
    coarse = tf.random.uniform([batch, 4, 4, 1], -1.0, 1.0) * cfg.bias_field_strength
    field = tf.image.resize(coarse, [height, width], method="bicubic")
    x = x * (1.0 + field * _chance(batch, cfg.bias_field_probability))
    # Blur: a 3x3 binomial kernel on a random subset.
    kernel = tf.constant([[1.0, 2.0, 1.0], [2.0, 4.0, 2.0], [1.0, 2.0, 1.0]]) / 16.0
    blurred = tf.nn.conv2d(x, kernel[:, :, None, None], strides=1, padding="SAME")
    blur_mask = _chance(batch, cfg.blur_probability)
    x = blur_mask * blurred + (1 - blur_mask) * x
    # Down- then up-sampling: lower-resolution acquisitions.
    factor = tf.random.uniform([], 0.5, 0.85)
    low_h = tf.cast(tf.cast(height, tf.float32) * factor, tf.int32)
    low_w = tf.cast(tf.cast(width, tf.float32) * factor, tf.int32)
    resampled = tf.image.resize(tf.image.resize(x, [low_h, low_w], antialias=True), [height, width])
    resample_mask = _chance(batch, cfg.resample_probability)
    x = resample_mask * resampled + (1 - resample_mask) * x
    noise_std = _per_image(batch, 0.0, cfg.noise_std_max) * _chance(batch, cfg.noise_probability)
    x = x + tf.random.normal(shape) * noise_std
    x = tf.clip_by_value(x, 0.0, 1.0)
    return rerank_head(x, in_head) if cfg.rerank else x


def augment_batch(images, cfg: AugmentConfig = AugmentConfig()):
    """(batch, h, w, c) float32 in [0, 1] -> same shape, augmented, in [0, 1]."""
    images = tf.convert_to_tensor(images, tf.float32)
    return augment_intensity(augment_geometry(images, cfg), cfg)
