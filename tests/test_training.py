"""training/: leak-aware splits, augmentation, metrics by hand, a real 1-epoch smoke training."""

from __future__ import annotations

import json
import os

import numpy as np
import pytest
from PIL import Image

from training.dedup import dhash_bits, group_near_duplicates, leak_free_mask
from training.data import group_split

CLASSES = ["glioma", "meningioma", "notumor", "pituitary"]


def _random_scans(n, seed, size=64):
    rng = np.random.default_rng(seed)
    scans = []
    for _ in range(n):
        coarse = rng.random((8, 8)).astype(np.float32) * 255
        scans.append(np.kron(coarse, np.ones((size // 8, size // 8), np.float32)))
    return scans


def test_dhash_near_duplicates_grouped_and_distinct_images_not():
    scans = _random_scans(30, seed=1)
    planted = [scans[0] * 0.9 + 5, scans[0][:, ::-1].copy() * 0 + scans[0], scans[3] + np.random.default_rng(2).normal(0, 1, (64, 64))]
    bits = np.stack([dhash_bits(s) for s in scans + planted])
    groups = group_near_duplicates(bits)
    assert groups[30] == groups[0] and groups[31] == groups[0] and groups[32] == groups[3]
    assert len(np.unique(groups[:30])) == 30


def test_group_split_never_straddles_and_is_stratified():
    labels = np.repeat(np.arange(4), 50)
    groups = np.arange(200) // 2  # pairs of near-duplicates
    train_idx, val_idx = group_split(labels, groups, validation_fraction=0.2, seed=0)
    assert set(groups[train_idx]).isdisjoint(groups[val_idx])
    assert len(train_idx) + len(val_idx) == 200
    counts = np.bincount(labels[val_idx], minlength=4)
    assert np.all((counts >= 8) & (counts <= 12))


def test_leak_free_subset_excludes_planted_duplicates():
    train = _random_scans(40, seed=3)
    fresh = _random_scans(10, seed=4)
    leaked = [train[5] * 1.1, train[17] + 2.0]
    test = fresh + leaked
    mask = leak_free_mask(np.stack([dhash_bits(s) for s in test]), np.stack([dhash_bits(s) for s in train]))
    assert mask.tolist() == [True] * 10 + [False, False]


def test_augmentation_keeps_shape_and_range():
    from training.augment import augment_batch

    batch = np.random.default_rng(0).random((6, 48, 48, 1)).astype(np.float32)
    out = augment_batch(batch).numpy()
    assert out.shape == batch.shape and out.dtype == np.float32
    assert out.min() >= 0.0 and out.max() <= 1.0
    assert not np.allclose(out, batch)


def test_inversion_augmentation_flips_the_head_and_keeps_the_background_dark():
    from training.augment import AugmentConfig, augment_intensity

    size = 48
    yy, xx = np.mgrid[:size, :size]
    head = ((yy - 24) / 18.0) ** 2 + ((xx - 24) / 15.0) ** 2 < 1
    image = np.where(head, 0.1 + 0.9 * xx / size, 0.0).astype(np.float32)[None, :, :, None]
    only_inversion = AugmentConfig(
        inversion_probability=1.0, gamma_range=(1.0, 1.0), brightness_range=(1.0, 1.0), contrast_range=(1.0, 1.0),
        bias_field_probability=0.0, noise_probability=0.0, blur_probability=0.0, resample_probability=0.0,
    )
    out = augment_intensity(image, only_inversion).numpy()[0, :, :, 0]
    assert np.corrcoef(out[head], image[0, :, :, 0][head])[0, 1] < -0.99  # bright <-> dark inside the head
    assert out[~head].max() < 1e-5  # (the gamma step adds 1e-6)
    unchanged = augment_intensity(image, AugmentConfig(**{**only_inversion.__dict__, "inversion_probability": 0.0}))
    np.testing.assert_allclose(unchanged.numpy(), image, atol=1e-5)


def test_metrics_match_hand_computed_values():
    from training.metrics import classification_metrics, expected_calibration_error, fit_temperature

    labels = np.array([0, 0, 1, 1, 2, 3])
    probs = np.array([
        [0.9, 0.05, 0.03, 0.02],
        [0.6, 0.3, 0.05, 0.05],
        [0.2, 0.7, 0.05, 0.05],
        [0.5, 0.4, 0.05, 0.05],  # wrong: predicted 0
        [0.1, 0.1, 0.7, 0.1],
        [0.1, 0.1, 0.1, 0.7],
    ])
    m = classification_metrics(probs, labels, CLASSES)
    assert m["accuracy"] == pytest.approx(5 / 6)
    # class 0: precision 2/3, recall 1 -> F1 0.8; class 1: P 1, R 1/2 -> F1 2/3; classes 2, 3: 1
    assert m["macro_f1"] == pytest.approx((0.8 + 2 / 3 + 1 + 1) / 4)
    assert m["confusion_matrix"][1] == [1, 1, 0, 0]
    # ECE, 15 bins: confidences .9 .6 .7 .5 .7 .7 ; bins: [.5,.533) {.5 wrong}, [.6,.667) {.6 ok},
    # [.667,.733) {.7,.7,.7 all ok}, [.867,.933) {.9 ok}
    ece, _ = expected_calibration_error(probs, labels)
    expected = (1 / 6) * 0.5 + (1 / 6) * 0.4 + (3 / 6) * 0.3 + (1 / 6) * 0.1
    assert ece == pytest.approx(expected)
    # temperature: over-confident logits on a half-wrong set are softened (T > 1)
    logits = np.array([[4.0, 0.0], [4.0, 0.0], [0.0, 4.0], [4.0, 0.0]])
    assert fit_temperature(logits, np.array([0, 1, 1, 0])) > 1.5


@pytest.mark.parametrize("arch", ["xception", "resnet50", "efficientnetv2b0"])
def test_transfer_architectures_build_without_downloads(arch):
    from training.model import backbone_of, build_model

    model = build_model(arch, 32 if arch != "xception" else 71, 1, 4, weights=None)
    assert backbone_of(model) is not None
    assert model.layers[-1].name == "probabilities" and model.output_shape == (None, 4)


def test_transfer_weights_download_failure_gives_clear_message(monkeypatch, tmp_path):
    import keras

    from training.model import transfer_model

    def offline(*args, **kwargs):
        raise OSError("network is unreachable")

    monkeypatch.setattr(keras.applications, "Xception", offline)
    with pytest.raises(RuntimeError, match="could not load ImageNet weights"):
        transfer_model("xception", 71, 1, 4, weights="imagenet")


def _synthetic_dataset(root, per_class=8, size=40):
    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[:size, :size]
    for split in ("Training", "Testing"):
        for c, name in enumerate(CLASSES):
            folder = root / split / name
            folder.mkdir(parents=True)
            for i in range(per_class if split == "Training" else 3):
                head = (((yy - size / 2) / (size * 0.4)) ** 2 + ((xx - size / 2) / (size * 0.35)) ** 2 < 1) * 90.0
                cy, cx = rng.integers(12, size - 12, 2)
                head = head + (c + 1) * 30 * (((yy - cy) ** 2 + (xx - cx) ** 2) < 16)
                head = head + rng.normal(0, 8, head.shape)
                Image.fromarray(np.clip(head, 0, 255).astype(np.uint8)).save(folder / f"{split}_{name}_{i}.jpg")
    return root


@pytest.mark.parametrize("preprocessing", [None, "head-crop-square-pad-rank-v2"])
def test_one_epoch_smoke_training_exports_a_loadable_model_and_card(tmp_path, preprocessing):
    from core.classifier import Classifier
    from core.preprocess import PREPROCESSING_NAME
    from training.evaluate import evaluate
    from training.data import split_seed_of, validation_split_paths
    from training.train import TrainConfig, train

    data = _synthetic_dataset(tmp_path / "data")
    cfg = TrainConfig(
        data=str(data), out=str(tmp_path / "models"), epochs=1, img_size=32, batch_size=8,
        cache_dir=str(tmp_path / "cache"), log_dir=str(tmp_path / "runs"), name="smoke",
        preprocessing=preprocessing or PREPROCESSING_NAME, inversion_probability=0.25 if preprocessing else 0.0,
        # the second run: another initialisation seed, the default run's validation split
        seed=7 if preprocessing else 42, split_seed=42 if preprocessing else None,
    )
    result = train(cfg)
    card = json.load(open(result["card_path"]))
    assert card["classes"] == CLASSES and card["input_size"] == 32 and card["temperature"] > 0
    assert card["preprocessing"]["name"] == cfg.preprocessing
    assert ("inversion (p=0.25)" in card["training_data"]["augmentation"]) == bool(preprocessing)
    assert card["training_data"]["validation_split"].endswith("seed 42")
    assert split_seed_of(card["training"]["config"]) == 42
    validation_paths, _ = validation_split_paths(str(data), CLASSES, 32, cfg.cache_dir, cfg.validation_fraction,
                                                 split_seed_of(card["training"]["config"]), cfg.preprocessing)
    assert len(validation_paths) == card["training_data"]["validation_images"]
    assert os.path.exists(os.path.join(result["run_dir"], "epochs.csv"))
    classifier = Classifier.load(result["model_path"])
    assert len(classifier.predict_pixels([np.zeros((40, 40), np.float32)])) == 1
    # Training ends with the export the app runs: the .tflite file beside the model, same answers.
    lite = Classifier.load(result["model_path"].replace(".keras", ".tflite"))
    assert lite.runtime.kind == "litert"
    batch, _ = lite.preprocess([np.zeros((40, 40), np.float32), np.eye(40, dtype=np.float32) * 200])
    np.testing.assert_allclose(lite.probabilities(lite.logits(batch)), classifier.probabilities(classifier.logits(batch)),
                               atol=1e-5)
    assert classifier.preprocessing == cfg.preprocessing
    report = tmp_path / "report"
    metrics = evaluate(str(data), result["model_path"], str(report), str(tmp_path / "cache"), update_card=True, run_dir=result["run_dir"])
    assert metrics["full_test"]["n"] == 12
    for name in ("metrics.json", "confusion_matrix.png", "roc_curves.png", "reliability.png", "learning_curves.png"):
        assert (report / name).exists(), name
    assert "full_test" in json.load(open(result["card_path"]))["metrics"]


@pytest.mark.parametrize("method", ["head-crop-square-pad-percentile-v1", "head-crop-square-pad-rank-v2"])
def test_head_removed_blanks_the_head_the_model_would_see(method):
    from core.classifier import synthetic_head
    from core.preprocess import head_bounding_box
    from training.shortcuts import head_removed

    scan = synthetic_head(128) + 5.0
    blanked = head_removed(scan, method)
    x0, y0, x1, y1 = head_bounding_box(scan, method)
    assert (x1 - x0) < 128 and (y1 - y0) < 128  # a real box, not the whole frame
    assert np.all(blanked[y0:y1, x0:x1] == np.percentile(scan, 1))
    assert blanked.max() < scan.max() / 10  # nothing of the head is left
    outside = np.ones(scan.shape, bool)
    outside[y0:y1, x0:x1] = False
    np.testing.assert_array_equal(blanked[outside], scan[outside])


def test_split_seed_defaults_to_the_seed():
    from training.data import split_seed_of

    assert split_seed_of({"seed": 7}) == 7
    assert split_seed_of({"seed": 7, "split_seed": None}) == 7
    assert split_seed_of({"seed": 7, "split_seed": 42}) == 42
    assert split_seed_of({}) == 42  # cards written before the option: the default seed


def test_augmentation_description_follows_the_settings():
    from training.augment import AugmentConfig

    default = AugmentConfig().description()
    assert default.startswith("affine (rotation 20 deg, shift 15%, shear 8 deg, zoom 0.85-1.15, h-flip)")
    assert "gamma 0.7-1.4" in default and "inversion" not in default
    changed = AugmentConfig(rotation_degrees=30.0, flip_horizontal=False, inversion_probability=0.1).description()
    assert "rotation 30 deg" in changed and "h-flip" not in changed
    assert changed.endswith("full head-intensity inversion (p=0.1)")
    partial = AugmentConfig(inversion_probability=0.5, inversion_mix_range=(0.3, 0.7)).description()
    assert partial.endswith("partial (0.3-0.7) head-intensity inversion (p=0.5)")
