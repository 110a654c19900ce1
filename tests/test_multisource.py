"""Multi-source training data: manifests, held-out test rows, group splits, loss weights,
ImageNet initialisation from a local file, and the sequence-nuisance augmentation."""

from __future__ import annotations

import csv
import os

import numpy as np
import pytest
from PIL import Image

from tests.conftest import ROOT

CLASSES = ["glioma", "meningioma", "notumor", "pituitary"]
WEIGHTS_DIR = os.path.join(ROOT, "..", "shared", "weights")


def _head(rng, size=40, blob=0):
    yy, xx = np.mgrid[:size, :size]
    head = (((yy - size / 2) / (size * 0.4)) ** 2 + ((xx - size / 2) / (size * 0.35)) ** 2 < 1) * 90.0
    cy, cx = rng.integers(12, size - 12, 2)
    head = head + blob * (((yy - cy) ** 2 + (xx - cx) ** 2) < 16) + rng.normal(0, 8, head.shape)
    return np.clip(head, 0, 255).astype(np.uint8)


def _manifest_source(root, name="hospital-x", patients=6, test_patients=2):
    """A manifest source: glioma and notumor slices of several patients, some patients test."""
    rng = np.random.default_rng(1)
    rows = []
    for p in range(patients):
        split = "test" if p < test_patients else "train"
        for s, cls in enumerate(["glioma", "glioma", "notumor"]):
            rel = f"{cls}/p{p}_{s}.jpg"
            os.makedirs(root / cls, exist_ok=True)
            Image.fromarray(_head(rng, blob=80 if cls == "glioma" else 0)).save(root / rel)
            rows.append({"path": rel, "class": cls, "source": name, "sequence": "flair" if s else "t1",
                         "plane": "axial", "group": f"P{p}", "slice": s, "mask": "", "note": "", "split": split})
    with open(root / "manifest.csv", "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return root


def _kaggle(root, per_class=6):
    rng = np.random.default_rng(0)
    for split in ("Training", "Testing"):
        for c, name in enumerate(CLASSES):
            (root / split / name).mkdir(parents=True)
            for i in range(per_class if split == "Training" else 2):
                Image.fromarray(_head(rng, blob=30 * (c + 1))).save(root / split / name / f"{split}_{name}_{i}.jpg")
    return root


def test_manifest_test_rows_are_never_read_for_training(tmp_path):
    from training.sources import load_manifest

    source = _manifest_source(tmp_path / "src")
    train = load_manifest(str(source), CLASSES, "train")
    test = load_manifest(str(source), CLASSES, "test")
    assert len(train) == 12 and len(test) == 6
    assert not {s.path for s in train} & {s.path for s in test}
    assert {s.group for s in test} == {"hospital-x:P0", "hospital-x:P1"}
    assert all(s.source == "hospital-x" and s.sequence in ("t1", "flair") for s in train)
    with pytest.raises(ValueError, match="split must be"):
        load_manifest(str(source), CLASSES, "validation")
    with pytest.raises(ValueError, match="not one of"):
        load_manifest(str(source), ["glioma", "meningioma"], "train")
    with pytest.raises(FileNotFoundError, match="manifest.csv"):
        load_manifest(str(tmp_path), CLASSES, "train")


def test_source_class_weights_by_hand():
    from training.sources import source_class_weights

    # class 0: 3 from A, 1 from B; class 1: 2 from B
    sources = np.array(["A", "A", "A", "B", "B", "B"])
    labels = np.array([0, 0, 0, 0, 1, 1])
    w = source_class_weights(sources, labels, 2)
    # raw: class 0 -> A each 1/(2*3), B 1/(2*1); class 1 -> B each 1/(1*2); mean of raw = 2/6
    raw = np.array([1 / 6, 1 / 6, 1 / 6, 1 / 2, 1 / 2, 1 / 2])
    np.testing.assert_allclose(w, raw / raw.mean(), rtol=1e-6)
    assert w[labels == 0].sum() == pytest.approx(w[labels == 1].sum())  # classes weigh alike
    assert w[(labels == 0) & (sources == "A")].sum() == pytest.approx(w[(labels == 0) & (sources == "B")].sum())


def test_training_data_splits_by_group_and_holds_out_test_rows(tmp_path):
    from training.multisource import training_data
    from training.train import TrainConfig

    kaggle = _kaggle(tmp_path / "kaggle")
    source = _manifest_source(tmp_path / "src", patients=10, test_patients=2)
    cfg = TrainConfig(data=str(kaggle), sources=(str(source),), img_size=32, cache_dir=str(tmp_path / "cache"),
                      source_validation_fraction=0.25)
    data = training_data(cfg, CLASSES)
    used = set(np.concatenate([data.train_idx, data.val_idx]))
    assert len(used) == len(data.paths) == 24 + 24  # every Kaggle Training file + the 8 train patients x 3
    assert not any("/p0_" in p or "/p1_" in p for p in data.paths)  # test patients never loaded
    groups_train = set(data.groups[data.train_idx])
    groups_val = set(data.groups[data.val_idx])
    assert not groups_train & groups_val
    assert any(g.startswith("hospital-x:") for g in groups_val)
    assert set(data.sources) == {"kaggle", "hospital-x"}
    assert data.images.shape == (48, 32, 32, 1)


def test_mobilenet_weights_missing_gives_a_clear_message(tmp_path, monkeypatch):
    from training.model import WEIGHTS_DIR_ENV, mobilenet_weights_path

    assert mobilenet_weights_path(1.0, None) is None and mobilenet_weights_path(1.0, "none") is None
    with pytest.raises(FileNotFoundError, match="--weights none"):
        mobilenet_weights_path(1.0, str(tmp_path / "nowhere.h5"))
    monkeypatch.setenv(WEIGHTS_DIR_ENV, str(tmp_path))
    monkeypatch.chdir(tmp_path)  # ../shared/weights is not there either
    with pytest.raises(FileNotFoundError, match=WEIGHTS_DIR_ENV):
        mobilenet_weights_path(0.35, "imagenet")


def test_mobilenet_from_scratch_is_flat_and_explainable():
    from core.target_layer import find_target_layer
    from training.model import build_model

    model = build_model("mobilenetv2-0.35", 64, 1, 4, weights=None)
    nested, layer = find_target_layer(model)
    assert nested is None and layer.name == "out_relu"  # Grad-CAM reaches it directly
    assert model.layers[-2].name == "logits" and model.output_shape == (None, 4)


def test_mobilenet_imagenet_weights_are_copied_from_the_local_file():
    path = os.path.join(WEIGHTS_DIR, "mobilenet_v2_0.35_no_top_imagenet.weights.h5")
    if not os.path.isfile(path):
        pytest.skip("../shared/weights not present")
    import keras

    from training.model import build_model

    model = build_model("mobilenetv2-0.35", 64, 1, 4, weights=path)
    base = keras.applications.MobileNetV2(input_shape=(64, 64, 3), alpha=0.35, include_top=False, weights=path)
    for name in ("Conv1", "block_16_project", "Conv_1_bn"):
        for ours, theirs in zip(model.get_layer(name).get_weights(), base.get_layer(name).get_weights()):
            np.testing.assert_array_equal(ours, theirs)
    scratch = build_model("mobilenetv2-0.35", 64, 1, 4, weights=None)
    assert not np.allclose(scratch.get_layer("Conv1").get_weights()[0], base.get_layer("Conv1").get_weights()[0])


def test_rerank_equals_the_app_rank_preprocessing(head_image):
    import tensorflow as tf

    from core.preprocess import preprocess
    from training.augment import rerank_head

    tensor, _ = preprocess(head_image.astype(np.float32), 64)  # rank-v2, with ties from uint8 values
    x = tensor[np.newaxis]
    again = rerank_head(tf.constant(x), tf.constant(x > 1e-3)).numpy()
    np.testing.assert_allclose(again, x, atol=1e-6)
    # an increasing curve then re-ranking changes nothing; a non-monotone one reorders the head
    np.testing.assert_allclose(rerank_head(tf.constant(x ** 3), tf.constant(x > 1e-3)).numpy(), x, atol=1e-6)
    inside = x[0, ..., 0] > 1e-3
    values = 1.5 - x[0, ..., 0][inside]
    expected = np.searchsorted(np.sort(values), values, side="right") / values.size  # share of head pixels <= it
    flipped = rerank_head(tf.constant(np.where(x > 0, 1.5 - x, 0.0).astype(np.float32)), tf.constant(x > 1e-3)).numpy()
    np.testing.assert_allclose(flipped[0, ..., 0][inside], expected, atol=1e-6)



def test_random_curve_changes_only_the_head_and_output_is_rank_distributed(head_image):
    import tensorflow as tf

    from core.preprocess import preprocess
    from training.augment import AugmentConfig, augment_intensity, random_curve

    textured = head_image.astype(np.float32) + np.random.default_rng(0).normal(0, 6, head_image.shape) * (head_image > 0)
    tensor, _ = preprocess(textured, 64)
    x = np.repeat(tensor[np.newaxis], 8, axis=0)
    head = x > 1e-3
    tf.random.set_seed(0)
    curved = random_curve(tf.constant(x), tf.constant(head), probability=1.0).numpy()
    np.testing.assert_array_equal(curved[~head], x[~head])
    assert not np.allclose(curved[head], x[head])
    # curves differ between images of a batch
    assert np.abs(curved[0] - curved[1]).max() > 0.05
    out = augment_intensity(tf.constant(x), AugmentConfig(curve_probability=1.0, rerank=True)).numpy()
    assert np.all(out[~head] == 0.0)
    for image, inside in zip(out, head):
        values = image[inside]
        assert values.min() > 0 and values.max() == pytest.approx(1.0)
        assert abs(np.median(values) - 0.5) < 0.1  # ranks: spread evenly over (0, 1]


def test_augmentation_description_names_the_curve_and_rerank():
    from training.augment import AugmentConfig

    text = AugmentConfig(curve_probability=0.4, rerank=True, inversion_probability=0.1).description()
    assert "non-monotone intensity curve in the head (5 knots, strength 0.3-1, p=0.4)" in text
    assert "re-ranked" in text and text.endswith("full head-intensity inversion (p=0.1)")


def test_multisource_smoke_training_records_sources_in_the_card(tmp_path):
    import json

    from core.classifier import Classifier
    from training.train import TrainConfig, train

    kaggle = _kaggle(tmp_path / "kaggle")
    source = _manifest_source(tmp_path / "src", patients=8, test_patients=2)
    cfg = TrainConfig(data=str(kaggle), sources=(str(source),), out=str(tmp_path / "models"), epochs=1, img_size=32,
                      batch_size=8, cache_dir=str(tmp_path / "cache"), log_dir=str(tmp_path / "runs"), name="multi",
                      curve_probability=0.5, source_validation_fraction=0.25)
    result = train(cfg)
    card = json.load(open(result["card_path"]))
    counts = card["training_data"]["counts_by_source_sequence_class"]
    train_counts = counts["train"]["hospital-x"]
    assert sum(sum(c.values()) for c in train_counts.values()) + sum(
        sum(c.values()) for c in counts["validation"]["hospital-x"].values()) == 18  # 6 train patients x 3
    assert set(train_counts) <= {"t1", "flair"} and card["training_data"]["sources"] == ["src"]
    validation = json.load(open(os.path.join(result["run_dir"], "validation.json")))["paths"]
    assert len(validation) == card["training_data"]["validation_images"]
    assert Classifier.load(result["model_path"]).predict_pixels([np.zeros((40, 40), np.float32)])
