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
# MobileNetV2 built flat (its layers inside our model, not nested), initialised from a
# local ImageNet weights file (../shared/weights/, no download): alpha 1.0 or 0.35.
MOBILENET_ARCHS = {"mobilenetv2": 1.0, "mobilenetv2-0.35": 0.35}
BN_MOMENTUM = 0.99
ARCHS = (DEFAULT_ARCH, *MOBILENET_ARCHS, *TRANSFER_ARCHS)
# Where training looks for the MobileNetV2 weights files when no --weights path is given.
WEIGHTS_DIR_ENV = "NEUROSCANCAM_WEIGHTS_DIR"
MOBILENET_WEIGHT_FILES = {1.0: "mobilenet_v2_1.0_no_top_imagenet.weights.h5",
                          0.35: "mobilenet_v2_0.35_no_top_imagenet.weights.h5"}


def build_model(arch: str, input_size: int, channels: int, num_classes: int, weights=None):
    if arch == DEFAULT_ARCH:
        return compact_xception(input_size, channels, num_classes)
    if arch in MOBILENET_ARCHS:
        return mobilenet_v2(input_size, channels, num_classes, MOBILENET_ARCHS[arch], weights)
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


def mobilenet_weights_path(alpha: float, weights) -> str | None:
    """The local ImageNet weights file for MobileNetV2 ``alpha``: ``weights`` may be a file,
    a folder holding it, 'imagenet' (look in $NEUROSCANCAM_WEIGHTS_DIR, then ../shared/weights)
    or None (from scratch). Raises FileNotFoundError with what to do when it is missing."""
    import os

    if weights is None or weights == "none":
        return None
    name = MOBILENET_WEIGHT_FILES[alpha]
    if weights == "imagenet":
        folders = [os.environ.get(WEIGHTS_DIR_ENV), os.path.join("..", "shared", "weights")]
        candidates = [os.path.join(f, name) for f in folders if f]
    elif os.path.isdir(weights):
        candidates = [os.path.join(weights, name)]
    else:
        candidates = [weights]
    for path in candidates:
        if os.path.isfile(path):
            return path
    raise FileNotFoundError(
        f"ImageNet weights for MobileNetV2 alpha {alpha:g} not found (looked for {', '.join(candidates)}). "
        f"Pass --weights FILE_OR_FOLDER, set {WEIGHTS_DIR_ENV} to the folder holding {name}, "
        "or train from scratch with --weights none. (Keras' own download cannot be used offline.)"
    )


def mobilenet_v2(input_size: int, channels: int, num_classes: int, alpha: float = 1.0, weights=None, dropout=0.3):
    """MobileNetV2 (no top) with our head, all layers in one flat model, so Grad-CAM reaches
    ``out_relu`` and the features directly. ImageNet weights are copied layer by layer from a
    base built on its own (the weights file matches that base, not our extra input layers)."""
    path = mobilenet_weights_path(alpha, weights)
    inputs = keras.Input((input_size, input_size, channels), name="scan")
    x = layers.Concatenate(name="grey_to_rgb")([inputs] * 3) if channels == 1 else inputs
    x = layers.Rescaling(2.0, offset=-1.0, name="to_signed")(x)  # MobileNetV2's x / 127.5 - 1
    body = keras.applications.MobileNetV2(
        input_tensor=x, alpha=alpha, include_top=False, weights=None
    )
    features = body.output  # out_relu: the last spatial map, Grad-CAM's target
    x = layers.GlobalAveragePooling2D(name="gap")(features)
    x = layers.Dropout(dropout, name="dropout")(x)
    logits = layers.Dense(num_classes, name="logits")(x)
    outputs = layers.Activation("softmax", name="probabilities")(logits)
    model = keras.Model(inputs, outputs, name=f"mobilenetv2_{alpha:g}")
    # Keras' MobileNetV2 keeps batch-norm statistics with momentum 0.999: while fine-tuning moves
    # the weights, those statistics lag ~1,000 steps behind, and validation swung from 59 % to 81 %
    # between epochs (candidate A). 0.99, Keras' default, follows within ~100 steps.
    for layer in model.layers:
        if isinstance(layer, layers.BatchNormalization):
            layer.momentum = BN_MOMENTUM
    if path:
        base = keras.applications.MobileNetV2(
            input_shape=(input_size, input_size, 3), alpha=alpha, include_top=False, weights=path
        )
        copied = 0
        for layer in base.layers:
            if layer.weights:
                model.get_layer(layer.name).set_weights(layer.get_weights())
                copied += 1
        print(f"ImageNet weights: {copied} layers copied from {path}")
    return model


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
