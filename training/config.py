"""A training run's settings: one small dataclass (keras-io style), read by every step.

    training.config (TrainConfig) -> training.multisource (data) -> training.model -> training.train (fit,
    calibrate, export) -> training.evaluate

Its own module so the data step and the fit step both read it without importing each other.
"""

from __future__ import annotations

from dataclasses import dataclass

from core.preprocess import PREPROCESSING_NAME
from training.data import DEFAULT_CACHE_DIR
from training.model import DEFAULT_ARCH


@dataclass
class TrainConfig:
    data: str
    out: str = "models"
    arch: str = DEFAULT_ARCH
    preprocessing: str = PREPROCESSING_NAME  # a core.preprocess.METHODS name
    inversion_probability: float = 0.0  # chance of a full T1 <-> T2-like inversion per training image
    curve_probability: float = 0.0  # chance of a random non-monotone intensity curve in the head
    skull_strip_probability: float = 0.0  # chance of a random brain extraction (rim removed, re-cropped)
    random_conv_probability: float = 0.0  # chance of a random shallow convolution network over the head
    # Manifest sources (folders with manifest.csv) trained on beside the Kaggle Training/ folder;
    # only their split == "train" rows are read.
    sources: tuple = ()
    # Share of each manifest source's groups (patients / examinations) held out for validation.
    source_validation_fraction: float = 0.15
    epochs: int = 40
    img_size: int = 128
    batch_size: int = 32
    learning_rate: float = 2e-3
    weight_decay: float = 1e-4
    label_smoothing: float = 0.05
    validation_fraction: float = 0.12
    patience: int = 10
    seed: int = 42
    # Seed of the validation split alone (None = ``seed``): another initialisation and
    # shuffling can then be compared with earlier runs on the very same validation scans.
    split_seed: int | None = None
    deterministic: bool = False
    max_minutes: float = 0.0  # 0 = no time limit
    fine_tune_epochs: int = 10  # transfer archs only: second stage
    weights: str | None = "imagenet"  # transfer archs only
    cache_dir: str = DEFAULT_CACHE_DIR
    log_dir: str = "runs"
    name: str = "brain_tumor_classifier"
    limit_per_class: int = 0  # for smoke tests: use at most this many images per class

