"""Shared fixtures: the dataset location, tiny real Keras models saved with their cards."""

from __future__ import annotations

import os
import sys

import numpy as np
import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

DATA_ENV = "BRAIN_MRI_DATA"


def dataset_dir():
    path = os.environ.get(DATA_ENV)
    return path if path and os.path.isdir(os.path.join(path, "Testing")) else None


@pytest.fixture(scope="session")
def data_dir():
    path = dataset_dir()
    if not path:
        pytest.skip(f"dataset not found: set {DATA_ENV} to the brain-tumor-mri folder")
    return path


def save_with_card(model, folder, name="tiny", input_size=None, classes=None, temperature=1.0, trained=True):
    """Save a Keras model as ``folder/name.keras`` with a valid card beside it; return the path."""
    from core.modelcard import sha256_of, write_card

    os.makedirs(folder, exist_ok=True)
    model_path = os.path.join(str(folder), f"{name}.keras")
    model.save(model_path)
    write_card(
        os.path.join(str(folder), f"{name}.json"),
        {
            "name": name,
            "trained": trained,
            "classes": classes or ["glioma", "meningioma", "notumor", "pituitary"],
            "input_size": input_size or int(model.inputs[0].shape[1]),
            "channels": int(model.inputs[0].shape[-1]),
            "preprocessing": {"name": "head-crop-square-pad-percentile-v1"},
            "temperature": temperature,
            "low_confidence_threshold": 0.7,
            "metrics": {},
            "sha256": sha256_of(model_path),
        },
    )
    return model_path


def tiny_classifier_model(input_size=32, seed=0):
    import keras

    from training.model import compact_xception

    keras.utils.set_random_seed(seed)
    return compact_xception(input_size, 1, 4, widths=(8, 16, 32), exit_width=32, stem_width=8)


@pytest.fixture(scope="session")
def tiny_model_path(tmp_path_factory):
    return save_with_card(tiny_classifier_model(), tmp_path_factory.mktemp("tiny_model"))


@pytest.fixture()
def head_image():
    """A synthetic 'scan': black background, bright elliptical head, a brighter blob."""
    yy, xx = np.mgrid[:180, :240]
    img = ((((yy - 90) / 70.0) ** 2 + ((xx - 120) / 90.0) ** 2) < 1).astype(np.float32) * 110
    img += 120 * np.exp(-(((yy - 70) / 10.0) ** 2 + ((xx - 150) / 10.0) ** 2))
    return img.astype(np.uint8)
