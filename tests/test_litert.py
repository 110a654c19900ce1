"""LiteRT (the app's runtime) against Keras (the training framework), and the app without TensorFlow.

The equality tests need TensorFlow (requirements-dev.txt has it); they skip with a
clear message where it is absent. The no-TensorFlow tests block its import in a
child process, so they prove the app path never reaches it.
"""

from __future__ import annotations

import glob
import json
import os
import shutil
import subprocess
import sys

import numpy as np
import pytest

from tests.conftest import ROOT, save_with_card

CLASSES = ["glioma", "meningioma", "notumor", "pituitary"]
SHIPPED = os.path.join(ROOT, "models", "brain_tumor_classifier.tflite")
SHIPPED_KERAS = os.path.join(ROOT, "models", "brain_tumor_classifier.keras")
CAMS = ("gradcam", "gradcam++", "layercam")
# Integrated Gradients sums gradients through ~50 ReLU6 kinks at 32 path points: a unit
# within float rounding of a kink switches its gradient on or off. Keras itself, given the
# same scans times (1 + 1e-6), moves the shipped model's IG maps by 2e-4 to 9e-3 of their
# peak (measured, docs/build.md); LiteRT vs Keras differ by as much, no more.
IG_TOLERANCE = 2e-2


def _tensorflow():
    return pytest.importorskip("tensorflow", reason="TensorFlow not installed: the LiteRT-vs-Keras equality tests "
                                                    "need requirements-training.txt")


def _mobile_model(size=32, seed=0):
    """A tiny MobileNetV2-shaped network: every op kind the exporter must handle (strided and
    depthwise convolutions, batch norm, ReLU6, global pooling, a softmax Dense head)."""
    import keras

    keras.utils.set_random_seed(seed)
    inputs = keras.Input((size, size, 1))
    x = keras.layers.Conv2D(8, 3, strides=2, padding="same", use_bias=False)(inputs)
    x = keras.layers.BatchNormalization()(x)
    x = keras.layers.ReLU(6.0)(x)
    x = keras.layers.DepthwiseConv2D(3, strides=2, padding="same", use_bias=False)(x)
    x = keras.layers.BatchNormalization()(x)
    x = keras.layers.ReLU(6.0, name="early")(x)
    x = keras.layers.Conv2D(16, 1)(x)
    x = keras.layers.DepthwiseConv2D(3, padding="same")(x)
    x = keras.layers.ReLU(6.0, name="late")(x)
    x = keras.layers.GlobalAveragePooling2D()(x)
    outputs = keras.layers.Dense(4, activation="softmax")(x)
    model = keras.Model(inputs, outputs)
    # Weights away from the initialiser's symmetry, and BN statistics that are not the identity.
    rng = np.random.default_rng(seed)
    model.set_weights([w + rng.normal(0, 0.1, w.shape).astype(w.dtype) if w.ndim > 1 else
                       np.abs(w + rng.normal(0, 0.1, w.shape)).astype(w.dtype) + 0.5 for w in model.get_weights()])
    return model


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    """(.keras path, .tflite path, export summary) of the tiny model, exported with both CAM layers."""
    _tensorflow()
    from training.export import export

    folder = tmp_path_factory.mktemp("litert")
    keras_path = save_with_card(_mobile_model(), folder, name="mobile")
    summary = export(keras_path, cam_layers=["early"], ig_batch=16)
    return keras_path, os.path.join(str(folder), "mobile.tflite"), summary


def _heads(n=4, size=96):
    from core.classifier import synthetic_head

    rng = np.random.default_rng(1)
    return [np.roll(synthetic_head(size + 8 * i), 5 * i, axis=0) + rng.normal(0, 3, (size + 8 * i,) * 2) for i in range(n)]


def _real_scans(per_class=2):
    data = os.environ.get("BRAIN_MRI_DATA")
    if not data or not os.path.isdir(os.path.join(data, "Testing")):
        return []
    return [path for c in CLASSES for path in sorted(glob.glob(os.path.join(data, "Testing", c, "*.jpg")))[:per_class]]


def _peak_diff(a, b) -> float:
    return float(np.abs(a - b).max() / max(float(np.abs(a).max()), 1e-12))


def test_export_writes_the_file_and_its_card_section(exported):
    from core.modelcard import read_card, sha256_of

    keras_path, tflite_path, summary = exported
    card = read_card(keras_path.replace(".keras", ".json"))
    section = card.data["litert"]
    assert section["sha256"] == sha256_of(tflite_path) and section["source_sha256"] == card.sha256
    assert section["signatures"] == ["forward", "cam_late", "cam_early", "input_gradients"]
    assert section["default_cam_layer"] == "late" and section["ig_batch"] == 16
    assert max(section["max_relative_difference_vs_keras"].values()) < 1e-3
    assert summary["file"] == "mobile.tflite"


def test_litert_equals_keras_on_the_tiny_model(exported):
    from core.classifier import Classifier
    from gradcam.engine import CAMEngine

    keras_path, tflite_path, _ = exported
    k, lite = Classifier.load(keras_path), Classifier.load(tflite_path)
    assert k.runtime.kind == "keras" and lite.runtime.kind == "litert"
    heads = _heads()
    batch, _ = k.preprocess(heads)
    np.testing.assert_allclose(lite.probabilities(lite.logits(batch)), k.probabilities(k.logits(batch)), atol=1e-5)
    for layer in ("late", "early"):
        ek, el = CAMEngine(k, layer, CAMS), CAMEngine(lite, layer, CAMS)
        for pixels in heads[:2]:
            for target in (None, "meningioma"):
                a, b = ek.explain(pixels, target), el.explain(pixels, target)
                assert a.prediction.label == b.prediction.label
                for m in CAMS:
                    assert _peak_diff(a.raw_heatmaps[m], b.raw_heatmaps[m]) < 1e-4, (layer, target, m)
    # Integrated Gradients with a step count that is not a multiple of the signature's batch
    # (the last chunk is padded), for the predicted class and another one.
    from gradcam.integrated_gradients import IntegratedGradients, PathGradients

    ig_k = IntegratedGradients(k.runtime, passes=PathGradients(k.runtime, 20))
    ig_l = IntegratedGradients(lite.runtime, passes=PathGradients(lite.runtime, 20))
    for targets in (None, [1, 2, 3, 0]):
        mk = ig_k.weighted_sum(ig_k.run(batch, targets, with_reference=True))
        ml = ig_l.weighted_sum(ig_l.run(batch, targets, with_reference=True))
        for i in range(len(mk)):
            assert _peak_diff(mk[i], ml[i]) < IG_TOLERANCE


def test_litert_equals_keras_on_the_shipped_model_and_real_scans(tmp_path):
    _tensorflow()
    from core.classifier import Classifier
    from core.io import load_scan
    from gradcam.engine import AVAILABLE, CAMEngine

    if not (os.path.exists(SHIPPED) and os.path.exists(SHIPPED_KERAS)):
        pytest.skip("no bundled model in models/")
    k, lite = Classifier.load(SHIPPED_KERAS), Classifier.load(SHIPPED)
    files = _real_scans()
    scans = [load_scan(f).pixels for f in files] or _heads()
    batch, _ = k.preprocess(scans)
    np.testing.assert_allclose(lite.probabilities(lite.logits(batch)), k.probabilities(k.logits(batch)), atol=1e-5)
    pk, pl = k.predict_batch(batch), lite.predict_batch(batch)
    for a, b in zip(pk, pl):
        assert a.label == b.label and a.sequence == b.sequence and a.low_confidence == b.low_confidence
        assert b.ood_distance == pytest.approx(a.ood_distance, rel=1e-4)
    ek, el = CAMEngine(k), CAMEngine(lite)
    for pixels in scans[::2]:
        for target in (None, "meningioma"):
            a, b = ek.explain(pixels, target, AVAILABLE), el.explain(pixels, target, AVAILABLE)
            for m in AVAILABLE:
                tolerance = IG_TOLERANCE if m == "ig" else 1e-4
                # The shown (relative) maps: 1 is the predicted class's strongest evidence.
                assert float(np.abs(a.relative_heatmaps[m] - b.relative_heatmaps[m]).max()) < tolerance, (m, target)


def test_the_study_verdict_is_the_same_on_both_runtimes(tmp_path, capsys):
    _tensorflow()
    import nibabel as nib

    from cli import run_cli
    from core.io import load_scan

    files = _real_scans(per_class=3)
    if not files or not os.path.exists(SHIPPED_KERAS):
        pytest.skip("needs the dataset (BRAIN_MRI_DATA) and the bundled model")
    slices = [np.asarray(load_scan(f).pixels, np.float32) for f in files]
    side = min(min(s.shape) for s in slices)
    volume = np.stack([s[:side, :side] for s in slices], axis=-1)  # 12 real slices, every class
    path = tmp_path / "study.nii.gz"
    nib.save(nib.Nifti1Image(volume, np.eye(4)), str(path))
    records = []
    for model in (SHIPPED_KERAS, SHIPPED):
        assert run_cli(["predict", str(path), "--model", model]) in (0, 1)
        records.append(json.loads(capsys.readouterr().out.splitlines()[0]))
    for key in ("label", "slices", "evidence_slices", "isolated_slices", "abstained_slices"):
        assert records[0].get(key) == records[1].get(key), key
    for c in CLASSES:
        assert records[1]["probabilities"][c] == pytest.approx(records[0]["probabilities"][c], abs=1e-5)


# ----- the app without TensorFlow ------------------------------------------------------

BLOCK_TENSORFLOW = """
import importlib.abc, runpy, sys
class Block(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in ("tensorflow", "keras", "tf_keras"):
            raise ImportError("No module named " + repr(name) + " (blocked by the test)")
        return None
sys.meta_path.insert(0, Block())
sys.argv = ["main.py", *sys.argv[1:]]
try:
    runpy.run_path("main.py", run_name="__main__")
finally:
    loaded = sorted(m for m in sys.modules if m.split(".")[0] in ("tensorflow", "keras"))
    print("LOADED:" + ",".join(loaded), file=sys.stderr)
"""


def _without_tensorflow(*argv):
    return subprocess.run([sys.executable, "-c", BLOCK_TENSORFLOW, *argv], cwd=ROOT, capture_output=True,
                          text=True, timeout=300)


def _loaded(result) -> str:
    return [line for line in result.stderr.splitlines() if line.startswith("LOADED:")][-1]


def test_predict_explain_and_self_test_never_import_tensorflow(tmp_path, head_image):
    from PIL import Image

    if not os.path.exists(SHIPPED):
        pytest.skip("no bundled model in models/")
    scan = tmp_path / "head.png"
    Image.fromarray(head_image).save(scan)
    result = _without_tensorflow("--self-test")
    assert result.returncode == 0 and "self-test ok" in result.stdout, result.stderr
    assert _loaded(result) == "LOADED:"
    result = _without_tensorflow("predict", str(scan))
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["label"] in CLASSES
    assert _loaded(result) == "LOADED:"
    out = tmp_path / "maps"
    result = _without_tensorflow("explain", str(scan), "--method", "all", "--out", str(out))
    assert result.returncode == 0, result.stderr
    written = json.loads(result.stdout.splitlines()[0])["files"]
    assert {os.path.basename(f) for f in written} >= {"head.gradcam.png", "head.gradcam++.png", "head.ig.png"}
    assert _loaded(result) == "LOADED:"
    assert "Traceback" not in result.stderr and "XNNPACK" not in result.stderr


def test_a_keras_model_without_tensorflow_is_one_clear_line(tmp_path, tiny_model_path, head_image):
    from PIL import Image

    scan = tmp_path / "head.png"
    Image.fromarray(head_image).save(scan)
    result = _without_tensorflow("predict", str(scan), "--model", tiny_model_path)
    assert result.returncode == 3
    lines = [line for line in result.stderr.splitlines() if not line.startswith("LOADED:")]
    assert len(lines) == 1 and "TensorFlow is not installed" in lines[0]
    assert "python -m training export" in lines[0] and "requirements-training.txt" in lines[0]


def test_a_changed_tflite_file_is_refused(tmp_path):
    from core.classifier import Classifier
    from core.errors import ModelError

    if not os.path.exists(SHIPPED):
        pytest.skip("no bundled model in models/")
    for name in ("brain_tumor_classifier.json", "brain_tumor_classifier.ood.npz", "brain_tumor_classifier.sequence.npz"):
        if os.path.exists(os.path.join(ROOT, "models", name)):
            shutil.copy(os.path.join(ROOT, "models", name), tmp_path / name)
    data = bytearray(open(SHIPPED, "rb").read())
    data[len(data) // 2] ^= 0xFF
    (tmp_path / "brain_tumor_classifier.tflite").write_bytes(bytes(data))
    with pytest.raises(ModelError, match="does not match its card"):
        Classifier.load(str(tmp_path / "brain_tumor_classifier.tflite"))
    (tmp_path / "garbage.tflite").write_bytes(b"not a flatbuffer at all" * 10)
    card = json.load(open(tmp_path / "brain_tumor_classifier.json"))
    from core.modelcard import sha256_of

    card["litert"]["sha256"] = sha256_of(str(tmp_path / "garbage.tflite"))
    json.dump(card, open(tmp_path / "garbage.json", "w"))
    with pytest.raises(ModelError, match="cannot load garbage.tflite"):
        Classifier.load(str(tmp_path / "garbage.tflite"))


def test_each_cam_method_runs_at_the_layer_its_card_names(exported, tmp_path):
    """The card's explanations section (the localisation benchmark's choice) sets the default overlay
    and its layer; a layer the .tflite file lacks falls back to the default one."""
    from core.classifier import Classifier
    from core.modelcard import write_card
    from gradcam.base import ActivationsAndGradients
    from gradcam.engine import CAMEngine
    from gradcam.methods import LayerCAM

    keras_path, tflite_path, _ = exported
    card = json.load(open(keras_path.replace(".keras", ".json")))
    card["explanations"] = {"default": "layercam", "layers": {"layercam": "early", "gradcam++": "absent"}}
    shutil.copy(tflite_path, tmp_path / "m.tflite")
    write_card(str(tmp_path / "m.json"), card)
    classifier = Classifier.load(str(tmp_path / "m.tflite"))
    engine = CAMEngine(classifier)
    assert engine.default_methods == ("layercam", "gradcam", "gradcam++")
    assert engine.layer_of("layercam") == "early" and engine.layer_of("gradcam++") == "late"
    pixels = _heads(1)[0]
    result = engine.explain(pixels)
    batch, _ = classifier.preprocess([pixels])
    direct = LayerCAM(classifier.runtime, passes=ActivationsAndGradients(classifier.runtime, "early"))
    p = direct.passes.run(batch)
    grid_map = direct.weighted_sum(p)[0]
    assert grid_map.shape == (8, 8)  # the early layer's grid, not the late one's 4x4
    from gradcam.engine import _evidence
    from gradcam.maps import head_mask

    heat, _ = _evidence(direct, p, head_mask(batch[0]), classifier.input_size)
    np.testing.assert_allclose(result.input_heatmaps["layercam"], heat / heat.max(), atol=1e-6)
    assert CAMEngine(classifier, target_layer="late").layer_of("layercam") == "late"  # a forced layer wins
