"""On-the-fly augmentation for training batches (tf ops, used inside tf.data).

Geometry: rotation, shift, shear, zoom and horizontal flip combined into one
affine transform per image (one resampling, no accumulated blur). Intensity:
brightness, contrast, gamma, head-intensity inversion (T1 <-> T2-like), a smooth bias
field, blur, noise and down/up-sampling, which imitate other scanners and sequences so the model
cannot lean on one source's look. Optional (issue 23): random skull stripping (so "no skull"
never means "no tumour") and random shallow convolution networks over the head (GIN-style
domain randomisation: textures and contrasts no sequence owns). Output stays in [0, 1] with
the input shape.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import tensorflow as tf

from core.preprocess import CROP_MARGIN


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
    # Random brain extraction: the outer rim of the head (scalp, skull, a random depth of it)
    # set to background, then re-cropped to fill the frame as core.preprocess crops a real
    # skull-stripped scan. Depth is a share of the image side drawn from skull_strip_depth_range.
    skull_strip_probability: float = 0.0
    skull_strip_depth_range: tuple = (0.04, 0.12)
    # A random shallow convolution network (3x3 -> leaky ReLU -> 1x1 -> leaky ReLU -> 1x1, fresh
    # weights per image) over the head, mixed with the image by a random share: Ouyang et al.'s
    # GIN (2022), which makes texture and contrast unreliable cues.
    random_conv_probability: float = 0.0
    random_conv_channels: int = 4
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
        if self.skull_strip_probability:
            low, high = self.skull_strip_depth_range
            parts.append(f"random skull stripping (rim depth {low:g}-{high:g} of the image side, re-cropped, "
                         f"p={self.skull_strip_probability:g})")
        if self.random_conv_probability:
            parts.append(f"random shallow convolution network over the head ({self.random_conv_channels} channels, "
                         f"mixed by a random share, p={self.random_conv_probability:g})")
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


def _blurred_mask(mask, size):
    """Mean of ``mask`` (or of intensities) over a ``size`` x ``size`` window (pixels outside the
    image do not count)."""
    return tf.nn.avg_pool2d(mask, ksize=size, strides=1, padding="SAME")


def _fill_frame(x, keep, margin=CROP_MARGIN):
    """Crop each image to the bounding box of ``keep`` (padded to a square with ``margin`` of its
    side, as core.preprocess does) and resize back to the input size: a stripped brain fills the
    frame as it would in a real skull-stripped scan. Images with nothing kept stay as they are."""
    shape = tf.shape(x)
    height, width = tf.cast(shape[1], tf.float32), tf.cast(shape[2], tf.float32)
    rows = tf.reduce_any(keep > 0.5, axis=[2, 3])
    cols = tf.reduce_any(keep > 0.5, axis=[1, 3])

    def extent(hits, length):
        index = tf.range(tf.shape(hits)[1], dtype=tf.float32)[None]
        first = tf.reduce_min(tf.where(hits, index, length), axis=1)
        last = tf.reduce_max(tf.where(hits, index, -1.0), axis=1)
        return first, last

    y0, y1 = extent(rows, height)
    x0, x1 = extent(cols, width)
    empty = y1 < y0
    side = tf.maximum(y1 - y0, x1 - x0) + 1.0
    side = side * (1.0 + 2.0 * margin)
    cy, cx = (y0 + y1) / 2.0, (x0 + x1) / 2.0
    boxes = tf.stack([(cy - side / 2) / (height - 1), (cx - side / 2) / (width - 1),
                      (cy + side / 2) / (height - 1), (cx + side / 2) / (width - 1)], axis=1)
    boxes = tf.where(empty[:, None], tf.constant([[0.0, 0.0, 1.0, 1.0]]), boxes)
    cropped = tf.image.crop_and_resize(x * keep, boxes, tf.range(shape[0]), shape[1:3], extrapolation_value=0.0)
    return tf.where(empty[:, None, None, None], x, tf.clip_by_value(cropped, 0.0, 1.0))


HEAD_LEVEL = 0.15  # local mean (over 1/16 of the side) above which a pixel belongs to the head


def _filled(mask):
    """``mask`` with its holes filled: a pixel is inside when head lies on both sides of it along its
    row and along its column (exact for convex heads, and a head is nearly convex)."""
    def spans(m, axis):
        forward = tf.cumsum(m, axis=axis) > 0
        backward = tf.cumsum(m, axis=axis, reverse=True) > 0
        return forward & backward

    return tf.cast(spans(mask, 1) & spans(mask, 2), tf.float32)


def random_skull_strip(x, probability, depth_range=(0.04, 0.12)):
    """Remove a random-depth rim of the head (background = 0) from a ``probability`` share of the
    batch, with a wavy edge (low-frequency noise on the erosion), then re-crop to fill the frame."""
    shape = tf.shape(x)
    batch, height, width = shape[0], shape[1], shape[2]
    side = x.shape[1] or 224  # pooling windows must be static; training batches have a static size
    # The head, not the frame: background noise that the rank preprocessing keeps (TCGA-LGG's speckled
    # backgrounds) is sparse and dark, so its local mean stays under HEAD_LEVEL while the head's,
    # ventricles included, is mostly above it (0.3-0.8 on real model inputs of every source). Dark
    # tissue inside (CSF on FLAIR) is filled back in, so the erosion never eats into the brain.
    local = _blurred_mask(x, max(3, side // 16 // 2 * 2 + 1))
    head = _filled(tf.cast((local > HEAD_LEVEL) & (x > 1e-3), tf.float32))
    # Erosion of depth d: a pixel stays where its window of side ~4d is almost all head.
    window = max(3, int(side * depth_range[1] * 2.0) // 2 * 2 + 1)
    inside = _blurred_mask(head, window)
    depth = tf.random.uniform([batch, 1, 1, 1], depth_range[0], depth_range[1]) / depth_range[1]
    wave = tf.image.resize(tf.random.uniform([batch, 5, 5, 1], -0.08, 0.08), [height, width], method="bicubic")
    # inside ~ 0.5 at the head's edge and -> 1 a half window deep; the threshold sets the depth
    threshold = 0.5 + 0.5 * depth + wave
    keep = tf.cast(inside >= tf.minimum(threshold, 0.995), tf.float32) * head * tf.cast(x > 1e-3, tf.float32)
    stripped = _fill_frame(x, keep)
    apply = _chance(batch, probability)
    return apply * stripped + (1 - apply) * x


def random_shallow_conv(x, head, probability, channels=4):
    """GIN (Ouyang et al. 2022): a random 3-layer convolution network with fresh weights per image,
    its output min-max scaled inside the head and mixed with the input by a random share."""
    shape = tf.shape(x)
    batch, height, width = shape[0], shape[1], shape[2]
    # Per-image 3x3 kernels through one depthwise convolution: images become channels.
    stacked = tf.transpose(x, [3, 1, 2, 0])  # (1, h, w, batch)
    kernels = tf.random.normal([3, 3, batch, channels]) / 3.0
    y = tf.nn.depthwise_conv2d(stacked, kernels, strides=[1, 1, 1, 1], padding="SAME")  # (1, h, w, batch*channels)
    y = tf.transpose(tf.reshape(y, [height, width, batch, channels]), [2, 0, 1, 3])  # (batch, h, w, channels)
    y = tf.nn.leaky_relu(y, 0.2)
    mix = tf.random.normal([batch, channels, channels]) / tf.sqrt(float(channels))
    y = tf.nn.leaky_relu(tf.einsum("bhwc,bcd->bhwd", y, mix), 0.2)
    out = tf.einsum("bhwc,bc->bhw", y, tf.random.normal([batch, channels]))[..., None]
    inside = tf.cast(head, tf.float32)
    big = tf.constant(1e9)
    low = tf.reduce_min(tf.where(head, out, big), axis=[1, 2, 3], keepdims=True)
    high = tf.reduce_max(tf.where(head, out, -big), axis=[1, 2, 3], keepdims=True)
    scaled = (out - low) / tf.maximum(high - low, 1e-6)
    share = _per_image(batch, 0.0, 1.0)
    randomised = inside * tf.clip_by_value(share * scaled + (1 - share) * x, 0.0, 1.0) + (1 - inside) * x
    apply = _chance(batch, probability)
    return apply * randomised + (1 - apply) * x


def augment_intensity(images, cfg: AugmentConfig):
    shape = tf.shape(images)
    batch, height, width = shape[0], shape[1], shape[2]
    x = tf.clip_by_value(images, 0.0, 1.0)
    # The head as the preprocessing left it (background and geometric fill are 0).
    in_head = x > 1e-3
    if cfg.curve_probability:
        x = random_curve(x, in_head, cfg.curve_probability, cfg.curve_knots, cfg.curve_strength_range)
    if cfg.random_conv_probability:
        x = random_shallow_conv(x, in_head, cfg.random_conv_probability, cfg.random_conv_channels)
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
    images = augment_geometry(images, cfg)
    if cfg.skull_strip_probability:  # before the intensity changes, which find the head afresh
        images = random_skull_strip(images, cfg.skull_strip_probability, cfg.skull_strip_depth_range)
    return augment_intensity(images, cfg)
