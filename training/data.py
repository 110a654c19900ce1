"""Dataset reading, caching and leak-aware splitting.

Layout: ``DIR/Training/<class>/*`` and ``DIR/Testing/<class>/*``. Files are
opened by content (``core.io.load_scan``) and preprocessed with ``core``'s one
preprocessing function.
"""

from __future__ import annotations

import hashlib
import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np

from core.io import load_scan
from core.preprocess import PREPROCESSING_NAME, preprocess
from training.dedup import HASH_NAME, dhash_bits, group_near_duplicates, leak_free_mask

# Where preprocessed splits are cached between runs (training, OOD fitting, model selection).
DEFAULT_CACHE_DIR = os.path.join(os.path.expanduser("~"), ".cache", "neuroscancam")


@dataclass
class Split:
    """Preprocessed images of one split, with labels and dHash bits."""

    paths: list
    images: np.ndarray  # (n, size, size, 1) float16 in [0, 1]
    labels: np.ndarray  # (n,) int
    hash_bits: np.ndarray  # (n, 256) bool


def class_names(data_dir: str) -> list[str]:
    train_dir = os.path.join(data_dir, "Training")
    if not os.path.isdir(train_dir):
        raise FileNotFoundError(f"{data_dir} has no Training/ folder (expected Training/<class>/...)")
    names = sorted(d for d in os.listdir(train_dir) if os.path.isdir(os.path.join(train_dir, d)))
    if len(names) < 2:
        raise ValueError(f"{train_dir} needs at least two class folders, found {names}")
    return names


def list_split(data_dir: str, split: str, names: list[str]):
    paths, labels = [], []
    for label, name in enumerate(names):
        folder = os.path.join(data_dir, split, name)
        if not os.path.isdir(folder):
            continue
        for file_name in sorted(os.listdir(folder)):
            if not file_name.startswith("."):
                paths.append(os.path.join(folder, file_name))
                labels.append(label)
    return paths, np.array(labels, dtype=np.int64)


def _load_one(path: str, input_size: int, method: str):
    scan = load_scan(path)
    tensor, _ = preprocess(scan.pixels, input_size, method)
    return tensor.astype(np.float16), dhash_bits(scan.pixels)


def load_images(paths, input_size, cache_dir=None, progress=True, method=PREPROCESSING_NAME, tag="images"):
    """(images, dhash bits) of ``paths``, preprocessed; cached under ``tag`` (keyed by file list and preprocessing)."""
    key = hashlib.sha256(
        "\n".join([method, HASH_NAME, str(input_size), *paths]).encode()
    ).hexdigest()[:16]
    cache_file = os.path.join(cache_dir, f"{tag}-{input_size}-{key}.npz") if cache_dir else None
    if cache_file and os.path.exists(cache_file):
        cached = np.load(cache_file)
        return cached["images"], cached["hash_bits"]
    images, bits = [], []
    iterator = ThreadPoolExecutor(max_workers=os.cpu_count() or 2).map(
        lambda p: _load_one(p, input_size, method), paths
    )
    if progress:
        from tqdm import tqdm

        iterator = tqdm(iterator, total=len(paths), desc=f"loading {tag}", unit="img")
    for tensor, hash_bits in iterator:
        images.append(tensor)
        bits.append(hash_bits)
    images, bits = np.stack(images), np.stack(bits)
    if cache_file:
        os.makedirs(cache_dir, exist_ok=True)
        np.savez(cache_file, images=images, hash_bits=bits)
    return images, bits


def load_split(data_dir, split, names, input_size, cache_dir=None, progress=True,
               method=PREPROCESSING_NAME) -> Split:
    """Load and preprocess a split of the Kaggle layout, caching the arrays."""
    paths, labels = list_split(data_dir, split, names)
    if not paths:
        raise FileNotFoundError(f"no images under {os.path.join(data_dir, split)}")
    images, bits = load_images(paths, input_size, cache_dir, progress, method, tag=split)
    return Split(paths, images, labels, bits)


def group_split(labels, groups, validation_fraction=0.12, seed=0):
    """Indices (train, validation): whole near-duplicate groups go to one side, per class.

    A group is assigned the class of its most common label; groups of each class
    are shuffled and taken into validation until that class's quota is met.
    """
    rng = np.random.default_rng(seed)
    labels = np.asarray(labels)
    groups = np.asarray(groups)
    group_ids = np.unique(groups)
    group_class = {g: np.bincount(labels[groups == g]).argmax() for g in group_ids}
    validation_groups = set()
    for cls in np.unique(labels):
        candidates = [g for g in group_ids if group_class[g] == cls]
        rng.shuffle(candidates)
        quota = validation_fraction * np.sum(labels == cls)
        taken = 0
        for g in candidates:
            if taken >= quota:
                break
            validation_groups.add(g)
            taken += np.sum(groups == g)
    in_validation = np.array([g in validation_groups for g in groups])
    return np.nonzero(~in_validation)[0], np.nonzero(in_validation)[0]


def leak_free_test_indices(test: Split, train: Split) -> np.ndarray:
    return np.nonzero(leak_free_mask(test.hash_bits, train.hash_bits))[0]


def near_duplicate_groups(split: Split) -> np.ndarray:
    return group_near_duplicates(split.hash_bits)


def train_validation_indices(split: Split, fraction: float, seed: int, groups=None):
    """(train, validation) indices of Training as ``training.train`` splits it: by near-duplicate
    group. ``groups``: ``near_duplicate_groups(split)`` if the caller has them already."""
    groups = near_duplicate_groups(split) if groups is None else groups
    return group_split(split.labels, groups, fraction, seed)


def split_seed_of(config: dict) -> int:
    """The seed that chose a trained model's validation split, from its card's training config."""
    seed = config.get("split_seed")
    return int(config.get("seed", 42) if seed is None else seed)


def validation_split_paths(data_dir, names, input_size, cache_dir=None, fraction=0.12, seed=42,
                           method=PREPROCESSING_NAME):
    """The file paths and labels of the validation split that ``train`` holds out with these settings."""
    split = load_split(data_dir, "Training", names, input_size, cache_dir, progress=False, method=method)
    _, val_idx = train_validation_indices(split, fraction, seed)
    return [split.paths[i] for i in val_idx], split.labels[val_idx]
