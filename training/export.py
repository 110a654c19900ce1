"""Export a ``.keras`` model to the ``.tflite`` file the app runs on LiteRT (no TensorFlow).

    python -m training export models/brain_tumor_classifier.keras [--cam-layer NAME ...]

One file, one set of weights, several signatures (see core/litert_runtime.py): the
forward pass, one CAM pass per target layer and the input gradients of Integrated
Gradients. The graph functions are core/keras_runtime.py's own, frozen (variables
become constants: READ_VARIABLE is no builtin) with training.tflite_gradients'
builtin-only gradients. Every export is checked against Keras on generated heads
and the largest differences go into the card's ``litert`` section with the file's
SHA-256. Training calls this at its end, so every trained model ships both files.
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
import time

import numpy as np

from core.classifier import synthetic_head
from core.keras_runtime import KerasRuntime, cam_function, forward_function, input_gradient_function
from core.keras_support import import_keras, load_keras_model
from core.litert_runtime import CAM_PREFIX, FORWARD, INPUT_GRADIENTS, LiteRTRuntime
from core.modelcard import read_card, sha256_of, verify_checksum, write_card
from core.paths import card_path_for
from core.preprocess import preprocess_batch

IG_BATCH = 32  # Integrated Gradients' default number of path points: one call per scan


def _frozen(tf, fn, signature):
    """``fn`` traced at ``signature``, variables folded to constants, as a tf.function again."""
    from tensorflow.python.framework.convert_to_constants import convert_variables_to_constants_v2

    traced = tf.function(fn, input_signature=signature).get_concrete_function()
    frozen = convert_variables_to_constants_v2(traced)
    names = sorted(traced.structured_outputs)  # a dict's outputs flatten in sorted key order

    def call(*args):
        result = frozen(*args)
        return result if isinstance(result, dict) else dict(zip(names, result))

    return tf.function(call, input_signature=signature).get_concrete_function()


def _to_tflite(tf, signatures: dict) -> bytes:
    folder = tempfile.mkdtemp(prefix="neuroscancam-export-")
    try:
        # The overrides live in the graphs already; saving them as custom gradients would retrace them.
        options = tf.saved_model.SaveOptions(experimental_custom_gradients=False)
        tf.saved_model.save(tf.Module(), folder, signatures=signatures, options=options)
        converter = tf.lite.TFLiteConverter.from_saved_model(folder, signature_keys=list(signatures))
        converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS]  # no Flex: no TensorFlow at run time
        return converter.convert()
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _unsupported(err) -> str:
    """The TensorFlow ops a converter error names as having no LiteRT builtin."""
    ops = sorted(set(re.findall(r"'tf\.(\w+)' op is neither a custom op nor a flex op", str(err))))
    return ", ".join(ops) or str(err).splitlines()[0][:200]


def convert(model, cam_layers, ig_batch: int = IG_BATCH) -> tuple[bytes, dict]:
    """(the ``.tflite`` bytes, {signature: why it is left out}). Signatures: forward, cam_<layer> per
    layer, input_gradients. Input gradients cross every layer; where one of them has no builtin
    gradient (max pooling: ``MaxPoolGrad``) the file is written without them and says why."""
    tf, _ = import_keras()
    from training.tflite_gradients import OVERRIDES

    shape = [int(d) for d in model.inputs[0].shape[1:]]
    n_classes = KerasRuntime(model).n_classes
    signatures = {FORWARD: _frozen(tf, forward_function(model), [tf.TensorSpec([None, *shape], tf.float32, "x")])}
    one = [tf.TensorSpec([1, *shape], tf.float32, "x"), tf.TensorSpec([1], tf.int32, "targets")]
    for layer in cam_layers:
        run, name = cam_function(model, layer, OVERRIDES)
        signatures[CAM_PREFIX + name] = _frozen(tf, run, one)
    path = [tf.TensorSpec([ig_batch, *shape], tf.float32, "x"), tf.TensorSpec([ig_batch, n_classes], tf.float32, "w")]
    with_gradients = dict(signatures)
    with_gradients[INPUT_GRADIENTS] = _frozen(tf, input_gradient_function(model, OVERRIDES), path)
    try:
        return _to_tflite(tf, with_gradients), {}
    except Exception as err:  # the converter's errors have several types
        reason = f"no LiteRT builtin for {_unsupported(err)}"
    return _to_tflite(tf, signatures), {INPUT_GRADIENTS: reason}


def check_inputs(size: int, preprocessing: str, n: int = 4) -> np.ndarray:
    """Generated heads (no patient data) of different sizes and blob positions, preprocessed."""
    rng = np.random.default_rng(0)
    heads = []
    for i in range(n):
        head = synthetic_head(192 + 32 * i)
        head += rng.normal(0, 4, head.shape).astype(np.float32)
        heads.append(np.roll(head, 9 * i, axis=1))
    return preprocess_batch(heads, size, preprocessing)[0]


def differences(keras_runtime, litert_runtime, x: np.ndarray, layers) -> dict:
    """Largest |LiteRT - Keras| of every output, each over the Keras output's own peak."""
    def rel(a, b):
        return float(np.abs(np.asarray(a) - np.asarray(b)).max() / max(float(np.abs(b).max()), 1e-12))

    out = {}
    logits_l, features_l = litert_runtime.forward(x)
    logits_k, features_k = keras_runtime.forward(x)
    out["logits"] = rel(logits_l, logits_k)
    if features_k is not None:
        out["features"] = rel(features_l, features_k)
    for layer in layers:
        lit, ker = litert_runtime.cam_pass(x, None, layer), keras_runtime.cam_pass(x, None, layer)
        out[f"{layer}.activations"] = rel(lit.activations, ker.activations)
        out[f"{layer}.gradients"] = rel(lit.gradients, ker.gradients)
    if litert_runtime.has_input_gradients:
        w = np.eye(keras_runtime.n_classes, dtype=np.float32)[np.arange(len(x)) % keras_runtime.n_classes]
        out["input_gradients"] = rel(litert_runtime.input_gradients(x, w)[1], keras_runtime.input_gradients(x, w)[1])
    return out


def export(model_path: str, cam_layers=(), ig_batch: int = IG_BATCH, out_path: str | None = None) -> dict:
    """Write ``<model>.tflite`` beside ``model_path`` and its ``litert`` section into the card."""
    started = time.perf_counter()
    card = read_card(card_path_for(model_path))
    keras_sha = verify_checksum(model_path, card)
    model = load_keras_model(model_path)
    keras_runtime = KerasRuntime(model)
    default_layer = keras_runtime.default_cam_layer
    layers = list(dict.fromkeys([default_layer, *cam_layers]))
    data, left_out = convert(model, layers, ig_batch)
    out_path = out_path or os.path.splitext(model_path)[0] + ".tflite"
    with open(out_path + ".part", "wb") as handle:  # never leave a half-written model behind
        handle.write(data)
    os.replace(out_path + ".part", out_path)
    litert_runtime = LiteRTRuntime(out_path, {"default_cam_layer": default_layer})
    x = check_inputs(card.input_size, card.preprocessing)
    diffs = differences(keras_runtime, litert_runtime, x, layers)
    import tensorflow as tf

    section = {
        "file": os.path.basename(out_path),
        "sha256": sha256_of(out_path),
        "bytes": len(data),
        "source": os.path.basename(model_path),
        "source_sha256": keras_sha,
        "default_cam_layer": default_layer,
        "cam_layers": layers,
        "ig_batch": ig_batch,
        "signatures": [FORWARD, *(CAM_PREFIX + layer for layer in layers)] + ([] if left_out else [INPUT_GRADIENTS]),
        "left_out": left_out,
        "max_relative_difference_vs_keras": {k: float(f"{v:.3g}") for k, v in diffs.items()},
        "check_inputs": f"{len(x)} generated heads (core.classifier.synthetic_head, shifted, noisy)",
        "exported_with": f"TensorFlow {tf.__version__}",
    }
    card.data["litert"] = section
    write_card(card.path, card.data)
    section["seconds"] = round(time.perf_counter() - started, 1)
    return section
