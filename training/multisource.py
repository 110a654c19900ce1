"""The arrays one training run learns from: Kaggle ``Training/`` plus any manifest sources.

Validation is split by group on each side: Kaggle by near-duplicate group (as before), each
manifest source by patient / examination group. Test rows of manifest sources are never read.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields

import numpy as np

from training.data import group_split, load_images, load_split, near_duplicate_groups, split_seed_of
from training.sources import kaggle_samples, load_manifest


@dataclass
class TrainingData:
    paths: list
    images: np.ndarray  # (n, size, size, 1) float16
    labels: np.ndarray
    sources: np.ndarray  # str per sample
    sequences: np.ndarray
    groups: np.ndarray
    train_idx: np.ndarray
    val_idx: np.ndarray
    seed: int  # the split seed


def config_from_card(card: dict, data_dir: str, cache_dir: str):
    """The TrainConfig a trained model's card records (its data, sources and split), for the
    post-training steps that must see exactly its training / validation split."""
    from training.config import TrainConfig

    config = card.get("training", {}).get("config", {})
    known = {f.name for f in fields(TrainConfig)} - {"data", "cache_dir", "log_dir", "limit_per_class"}
    settings = {k: (tuple(v) if k == "sources" else v) for k, v in config.items() if k in known}
    return TrainConfig(data=data_dir, cache_dir=cache_dir, **settings)


def model_and_training_data(model_path, data_dir: str, cache_dir: str):
    """(classifier, class names, its TrainingData): what the post-training steps (training.ood,
    training.sequence) start from: the model and exactly its own training / validation split."""
    from core.classifier import Classifier
    from training.data import class_names

    classifier = Classifier.load(model_path)
    names = class_names(data_dir)
    return classifier, names, training_data(config_from_card(classifier.card.data, data_dir, cache_dir), names)


def _limited(indices_by_label, per_class, seed):
    """At most ``per_class`` indices of each label (smoke tests)."""
    rng = np.random.default_rng(seed)
    keep = [rng.permutation(np.nonzero(indices_by_label == c)[0])[:per_class] for c in np.unique(indices_by_label)]
    return np.sort(np.concatenate(keep))


def training_data(cfg, names) -> TrainingData:
    """Everything ``training.train`` needs from ``cfg.data`` and ``cfg.sources`` (train rows only)."""
    seed = split_seed_of(asdict(cfg))
    kaggle = load_split(cfg.data, "Training", names, cfg.img_size, cfg.cache_dir, method=cfg.preprocessing)
    keep = np.arange(len(kaggle.paths))
    if cfg.limit_per_class:
        keep = _limited(kaggle.labels, cfg.limit_per_class, seed)
    groups = near_duplicate_groups(kaggle)[keep]
    labels = kaggle.labels[keep]
    k_train, k_val = group_split(labels, groups, cfg.validation_fraction, seed)
    samples = kaggle_samples([kaggle.paths[i] for i in keep], labels, groups)
    parts = [kaggle.images[keep]]
    train_idx, val_idx = [k_train], [k_val]
    for folder in cfg.sources:
        rows = load_manifest(folder, names, split="train")
        if cfg.limit_per_class:
            rows = [rows[i] for i in _limited(np.array([r.label for r in rows]), cfg.limit_per_class, seed)]
        if not rows:
            continue
        images, _ = load_images([r.path for r in rows], cfg.img_size, cfg.cache_dir, method=cfg.preprocessing,
                                tag=f"{rows[0].source}-train")
        s_train, s_val = group_split(np.array([r.label for r in rows]), np.array([r.group for r in rows]),
                                     cfg.source_validation_fraction, seed)
        offset = len(samples)
        train_idx.append(s_train + offset)
        val_idx.append(s_val + offset)
        samples += rows
        parts.append(images)
    return TrainingData(
        paths=[s.path for s in samples],
        images=np.concatenate(parts),
        labels=np.array([s.label for s in samples], np.int64),
        sources=np.array([s.source for s in samples]),
        sequences=np.array([s.sequence for s in samples]),
        groups=np.array([s.group for s in samples]),
        train_idx=np.concatenate(train_idx),
        val_idx=np.concatenate(val_idx),
        seed=seed,
    )
