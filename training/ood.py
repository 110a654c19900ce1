"""Choose and validate the two out-of-distribution tiers: abstain (not a brain MRI) and warn (unfamiliar MRI).

    python -m training.ood --data DIR [--model FILE] [--false-alarm 0.02] [--update-card]

Fits class means and a shared covariance of the penultimate features on the model's own
training part (Kaggle plus the manifest sources its card names; saved beside the model as
``<name>.ood.npz``, checksum in the card). Then, on its *validation* images only:
  * warn: the Mahalanobis distance and the energy score each flag half of ``false-alarm``;
  * abstain: ABSTAIN_MARGIN x the largest distance a brain MRI reached (clean validation, or
    the 99.9th percentile under strong sequence/scanner-like augmentation), so that another
    sequence or scanner is warned about, never refused.
It then reports, without tuning on them, the rates on the Kaggle test split and on a non-MRI
set: generated images (noise, blank, gradients, stripes, a chest-X-ray-like picture, shapes)
and the sample pictures matplotlib ships (photo, logos, terrain).
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import sys

import cv2
import numpy as np
from PIL import Image

from core.modelcard import sha256_of
from core.ood import COLOUR_CHROMA_LIMIT, FeatureDensity, energy, is_blank, neighbour_correlation, verdict_for
from training.data import DEFAULT_CACHE_DIR


def _chroma(rgb: np.ndarray) -> float:
    rgb = rgb.astype(np.float32)
    return float((rgb.max(axis=2) - rgb.min(axis=2)).mean())


def non_mri_images(seed: int = 0):
    """(name, greyscale float32 pixels, chroma or None) for images that are not brain MRIs."""
    rng = np.random.default_rng(seed)
    out = []
    for i in range(5):
        out.append((f"uniform-noise-{i}", rng.uniform(0, 255, (256, 256)).astype(np.float32), None))
        out.append((f"gaussian-noise-{i}", np.clip(rng.normal(128, 40, (300, 240)), 0, 255).astype(np.float32), None))
    for value in (0, 128, 255):
        out.append((f"blank-{value}", np.full((200, 200), value, np.float32), None))
    yy, xx = np.mgrid[:256, :256].astype(np.float32)
    out.append(("gradient-horizontal", xx, None))
    out.append(("gradient-radial", 255 - np.hypot(yy - 128, xx - 128), None))
    out.append(("stripes", 127 + 127 * np.sin(xx / 6.0), None))
    out.append(("checkerboard", ((yy // 32 + xx // 32) % 2) * 255.0, None))
    # chest-X-ray-like: bright body, two dark lung fields, rib arcs, spine
    chest = np.full((320, 320), 40.0, np.float32)
    cv2.ellipse(chest, (160, 170), (140, 150), 0, 0, 360, 190, -1)
    for cx in (100, 220):
        cv2.ellipse(chest, (cx, 160), (50, 100), 0, 0, 360, 60, -1)
    for y in range(80, 270, 22):
        cv2.ellipse(chest, (160, y), (120, 25), 0, 180, 360, 210, 4)
    cv2.rectangle(chest, (150, 40), (170, 300), 220, -1)
    out.append(("chest-xray-like", cv2.GaussianBlur(chest, (0, 0), 3), None))
    shapes = np.zeros((256, 256), np.float32)
    for _ in range(12):
        cv2.circle(shapes, tuple(int(v) for v in rng.integers(0, 256, 2)), int(rng.integers(5, 40)), float(rng.integers(50, 255)), -1)
    out.append(("random-discs", shapes, None))
    text = np.full((200, 400), 255, np.uint8)  # putText draws on 8-bit images only
    for row in range(6):
        cv2.putText(text, "Lorem ipsum dolor sit amet", (10, 30 + 30 * row), cv2.FONT_HERSHEY_SIMPLEX, 0.7, 0, 2)
    out.append(("text-document", text.astype(np.float32), None))
    out += _matplotlib_samples()
    return out


def _matplotlib_samples():
    import matplotlib.cbook as cbook

    out = []
    for name in ("grace_hopper.jpg", "Minduka_Present_Blue_Pack.png", "logo2.png"):
        with cbook.get_sample_data(name) as handle:
            image = Image.open(handle)
            image.load()
        rgb = np.asarray(image.convert("RGB"))
        grey = np.asarray(image.convert("L"), np.float32)
        out.append((f"matplotlib-{name}", grey, _chroma(rgb)))
    for name, key in (("jacksboro_fault_dem.npz", "elevation"), ("topobathy.npz", "topo")):
        data = cbook.get_sample_data(name)  # matplotlib opens .npz files itself
        data = data if hasattr(data, "files") else np.load(data)
        arr = data[key].astype(np.float32)
        out.append((f"matplotlib-{name}", (arr - arr.min()) / (np.ptp(arr) + 1e-6) * 255, None))
    return out


def matplotlib_mri_slice() -> np.ndarray:
    """The 256x256 sagittal MRI slice matplotlib ships: a real head MRI from another source."""
    import matplotlib.cbook as cbook

    with cbook.get_sample_data("s1045.ima.gz") as handle:
        raw = handle.read()
    if raw[:2] == b"\x1f\x8b":
        raw = gzip.decompress(raw)
    return np.frombuffer(raw, np.uint16).astype(np.float32).reshape(256, 256)


# The abstention threshold: this factor above the largest distance a brain MRI reached on the
# validation split, clean or under strong sequence/scanner-like augmentation (99.9th percentile).
ABSTAIN_MARGIN = 1.1


def _stressed(images, preprocessing, seed=0):
    """Validation inputs under strong training-style augmentation: other sequences (random
    non-monotone curves, inversion), scanners (bias field, noise, blur, resampling) and poses."""
    import tensorflow as tf

    from core.preprocess import RANK_V2
    from training.augment import AugmentConfig, augment_batch

    tf.random.set_seed(seed)
    cfg = AugmentConfig(curve_probability=0.6, inversion_probability=0.3, rerank=preprocessing == RANK_V2,
                        bias_field_probability=0.6, noise_probability=0.6, blur_probability=0.3, resample_probability=0.4)
    return np.concatenate([augment_batch(images[i : i + 256].astype(np.float32), cfg).numpy()
                           for i in range(0, len(images), 256)])


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m training.ood")
    parser.add_argument("--data", required=True)
    parser.add_argument("--model", default=None)
    parser.add_argument("--false-alarm", type=float, default=0.02,
                        help="target 'unfamiliar scan' warning rate on validation (half per score)")
    parser.add_argument("--update-card", action="store_true")
    parser.add_argument("--cache-dir", default=DEFAULT_CACHE_DIR)
    args = parser.parse_args(argv)

    from core.io import load_scan
    from core.modelcard import write_card
    from training.data import list_split
    from training.multisource import model_and_training_data

    # the model's own training / validation split (train rows only)
    classifier, names, data = model_and_training_data(args.model, args.data, args.cache_dir)
    card = classifier.card.data
    train_idx, val_idx = data.train_idx, data.val_idx

    def logits_features(images):
        parts = [classifier.logits_and_features(images[i : i + 256].astype(np.float32)) for i in range(0, len(images), 256)]
        return np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts])

    _, train_features = logits_features(data.images[train_idx])
    density = FeatureDensity.fit(train_features, data.labels[train_idx])
    stats_name = os.path.splitext(os.path.basename(classifier.model_path))[0] + ".ood.npz"
    stats_path = os.path.join(os.path.dirname(classifier.model_path), stats_name)
    density.save(stats_path)
    classifier.feature_density = density = FeatureDensity.load(stats_path)
    val_logits, val_features = logits_features(data.images[val_idx])
    val_distance = density.distance(val_features)
    _, stressed_features = logits_features(_stressed(data.images[val_idx], classifier.preprocessing))
    stressed_distance = density.distance(stressed_features)
    # Warn: each score flags half of the false-alarm budget on clean validation scans.
    energy_threshold = float(np.quantile(energy(val_logits, classifier.temperature), args.false_alarm / 2))
    unfamiliar_distance = float(np.quantile(val_distance, 1 - args.false_alarm / 2))
    abstain_distance = ABSTAIN_MARGIN * float(max(val_distance.max(), np.quantile(stressed_distance, 0.999)))
    ood_card = {
        "energy_threshold": energy_threshold,
        "unfamiliar_distance": unfamiliar_distance,
        "abstain_distance": abstain_distance,
        "stats_file": stats_name,
        "stats_sha256": sha256_of(stats_path),
    }
    card_with = dict(card, ood=ood_card)
    test_paths, _ = list_split(args.data, "Testing", names)

    def judged(pixels, chroma=None):
        batch = classifier.preprocess([pixels])[0]
        logits, distances = classifier.ood_distances(batch)
        verdict = verdict_for(is_blank(pixels), chroma, logits[0], card_with, distances[0],
                              structure=neighbour_correlation(batch[0]), shape=np.shape(pixels)[:2])
        return verdict, logits[0]

    test_verdicts = [judged(s.pixels, s.info.get("chroma"))[0] for s in map(load_scan, test_paths)]
    detected = {name: judged(pixels, chroma)[0].abstain for name, pixels, chroma in non_mri_images()}
    mri_verdict, mri_logits = judged(matplotlib_mri_slice())
    result = {
        **ood_card,
        "score": "Mahalanobis distance of the penultimate features (class means, shared Ledoit-Wolf covariance, "
        "fitted on the training part) and energy T*logsumexp(logits/T)",
        "rule": f"abstain (not a brain MRI: no label) if distance > abstain_distance = {ABSTAIN_MARGIN:g} x the "
        "largest of: the largest clean validation distance, the 99.9th percentile on strongly augmented validation "
        "scans (random non-monotone curves, inversion, bias field, noise, blur, resampling, affine); warn (unfamiliar "
        f"scan, label kept) if distance > unfamiliar_distance or energy < energy_threshold ({args.false_alarm:.0%} of "
        "clean validation scans, half per score). DICOM files whose Modality is not MR/OT/SC abstain too.",
        "chosen_on": f"validation split ({len(val_idx)} images: Kaggle and manifest sources' train rows)",
        "validation_distance_max": float(val_distance.max()),
        "stressed_validation_distance_p999": float(np.quantile(stressed_distance, 0.999)),
        "stressed_validation_warned": float(np.mean(stressed_distance > unfamiliar_distance)),
        "colour_chroma_limit": COLOUR_CHROMA_LIMIT,
        "kaggle_test_abstained": float(np.mean([v.abstain for v in test_verdicts])),
        # the names earlier cards used (the window's model card reads them): the abstain tier's rates
        "test_false_alarm_rate": float(np.mean([v.abstain for v in test_verdicts])),
        "non_mri_detection_rate": float(np.mean(list(detected.values()))),
        "kaggle_test_warned": float(np.mean([v.warning is not None and not v.abstain for v in test_verdicts])),
        "non_mri_abstained": float(np.mean(list(detected.values()))),
        "non_mri_set_size": len(detected),
        "missed_non_mri": [k for k, v in detected.items() if not v],
        "matplotlib_sagittal_mri_abstained": bool(mri_verdict.abstain),
        "matplotlib_sagittal_mri_prediction": classifier.prediction_from_logits(mri_logits).label,
    }
    print(json.dumps(result, indent=2))
    if args.update_card:
        write_card(classifier.card.path, dict(card, ood=result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
