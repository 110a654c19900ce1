"""Model architectures. The default is a compact Xception-style network trained from scratch.

Every model ends in a Dense layer named ``logits`` followed by a softmax
Activation named ``probabilities``, so Grad-CAM can take scores before the
softmax and calibration can divide the logits by a temperature.
"""

from __future__ import annotations

import keras
from keras import layers

DEFAULT_ARCH = "compact-xception"
TRANSFER_ARCHS = ("xception", "resnet50", "efficientnetv2b0")
ARCHS = (DEFAULT_ARCH, *TRANSFER_ARCHS)


def build_model(arch: str, input_size: int, channels: int, num_classes: int, weights=None):
    if arch == DEFAULT_ARCH:
        return compact_xception(input_size, channels, num_classes)
    if arch in TRANSFER_ARCHS:
        return transfer_model(arch, input_size, channels, num_classes, weights=weights)
    raise ValueError(f"unknown architecture {arch!r}; choose one of {', '.join(ARCHS)}")


def _separable_block(x, filters, name):
    """Xception entry-flow block: two separable convs, strided max-pool, 1x1 strided shortcut."""
    shortcut = layers.Conv2D(filters, 1, strides=2, padding="same", use_bias=False, name=f"{name}_skip")(x)
    shortcut = layers.BatchNormalization(name=f"{name}_skip_bn")(shortcut)
    x = layers.Activation("relu", name=f"{name}_relu1")(x)
    x = layers.SeparableConv2D(filters, 3, padding="same", use_bias=False, name=f"{name}_sep1")(x)
    x = layers.BatchNormalization(name=f"{name}_bn1")(x)
    x = layers.Activation("relu", name=f"{name}_relu2")(x)
    x = layers.SeparableConv2D(filters, 3, padding="same", use_bias=False, name=f"{name}_sep2")(x)
    x = layers.BatchNormalization(name=f"{name}_bn2")(x)
    x = layers.MaxPooling2D(3, strides=2, padding="same", name=f"{name}_pool")(x)
    return layers.Add(name=f"{name}_add")([x, shortcut])


def _middle_block(x, filters, name):
    """Xception middle-flow block: same resolution, identity shortcut."""
    shortcut = x
    for i in (1, 2):
        x = layers.Activation("relu", name=f"{name}_relu{i}")(x)
        x = layers.SeparableConv2D(filters, 3, padding="same", use_bias=False, name=f"{name}_sep{i}")(x)
        x = layers.BatchNormalization(name=f"{name}_bn{i}")(x)
    return layers.Add(name=f"{name}_add")([x, shortcut])


def compact_xception(
    input_size: int,
    channels: int,
    num_classes: int,
    widths=(64, 128, 256),
    exit_width=384,
    stem_width=32,
    dropout=0.3,
):
    inputs = keras.Input((input_size, input_size, channels), name="scan")
    x = layers.Conv2D(stem_width, 3, strides=2, padding="same", use_bias=False, name="stem_conv1")(inputs)
    x = layers.BatchNormalization(name="stem_bn1")(x)
    x = layers.Activation("relu", name="stem_relu1")(x)
    x = layers.Conv2D(stem_width * 2 // 1, 3, padding="same", use_bias=False, name="stem_conv2")(x)
    x = layers.BatchNormalization(name="stem_bn2")(x)
    x = layers.Activation("relu", name="stem_relu2")(x)
    for i, width in enumerate(widths):
        x = _separable_block(x, width, name=f"block{i + 1}")
    x = _middle_block(x, widths[-1], name="middle")
    x = layers.SeparableConv2D(exit_width, 3, padding="same", use_bias=False, name="exit_sep")(x)
    x = layers.BatchNormalization(name="exit_bn")(x)
    # The last spatial feature map: Grad-CAM's default target layer.
    x = layers.Activation("relu", name="last_conv")(x)
    x = layers.GlobalAveragePooling2D(name="gap")(x)
    x = layers.Dropout(dropout, name="dropout")(x)
    logits = layers.Dense(num_classes, name="logits")(x)
    outputs = layers.Activation("softmax", name="probabilities")(logits)
    return keras.Model(inputs, outputs, name="compact_xception")


def _application(arch: str, input_shape, weights):
    apps = keras.applications
    constructors = {
        "xception": apps.Xception,
        "resnet50": apps.ResNet50,
        "efficientnetv2b0": apps.EfficientNetV2B0,
    }
    kwargs = {"include_top": False, "weights": weights, "input_shape": input_shape}
    if arch == "efficientnetv2b0":
        kwargs["include_preprocessing"] = False  # we feed [0, 1] inputs scaled below
    return constructors[arch](**kwargs)


def transfer_model(arch: str, input_size: int, channels: int, num_classes: int, weights="imagenet"):
    """An ImageNet backbone nested inside a Model (the seeds' design), 3-channel input.

    Greyscale inputs are repeated to 3 channels and scaled to [-1, 1], the range
    these backbones were trained on (close enough for fine-tuning).
    """
    inputs = keras.Input((input_size, input_size, channels), name="scan")
    x = inputs
    if channels == 1:
        x = layers.Concatenate(name="grey_to_rgb")([x, x, x])
    x = layers.Rescaling(2.0, offset=-1.0, name="to_signed")(x)
    try:
        base = _application(arch, (input_size, input_size, 3), weights)
    except Exception as err:  # download failures surface as many exception types
        if weights is None:
            raise
        raise RuntimeError(
            f"could not load ImageNet weights for {arch} ({type(err).__name__}: {err}). "
            "This needs internet access once (Keras caches them in ~/.keras/models); "
            "copy the weights file there by hand, or train the default architecture "
            "(--arch compact-xception), which needs no download."
        ) from err
    base._name = f"{arch}_base"
    x = base(x)
    x = layers.GlobalAveragePooling2D(name="gap")(x)
    x = layers.Dropout(0.3, name="dropout")(x)
    logits = layers.Dense(num_classes, name="logits")(x)
    outputs = layers.Activation("softmax", name="probabilities")(logits)
    return keras.Model(inputs, outputs, name=f"{arch}_transfer")


def backbone_of(model):
    """The nested application model of a transfer model, or None."""
    for layer in model.layers:
        if isinstance(layer, keras.Model):
            return layer
    return None
