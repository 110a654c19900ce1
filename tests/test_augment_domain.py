"""The domain-randomising augmentations of issue 23 (training.augment): random skull stripping and
random shallow convolution networks, on a head with a skull and a lesion, through real TF ops."""

from __future__ import annotations

import numpy as np
import pytest

tf = pytest.importorskip("tensorflow")

SIZE = 96


def _head_with_skull():
    """(1, SIZE, SIZE, 1) model-input-like head: a bright skull ring, grey brain, a lesion inside."""
    yy, xx = np.mgrid[:SIZE, :SIZE]
    r = np.hypot((yy - 47.5) / 44.0, (xx - 47.5) / 40.0)
    image = np.where(r < 1, 0.45, 0.0)
    image[(r < 1) & (r > 0.88)] = 0.95  # skull
    lesion = np.hypot(yy - 40, xx - 55) < 7
    image[lesion] = 0.8
    return image[None, ..., None].astype(np.float32), (r > 0.88) & (r < 1), lesion


def test_skull_stripping_removes_the_rim_keeps_the_lesion_and_fills_the_frame():
    from training.augment import random_skull_strip

    x, skull, lesion = _head_with_skull()
    tf.random.set_seed(1)
    batch = np.repeat(x, 6, axis=0)
    # deeper than this skull (6 % of the side); the default range starts shallower: imperfect extractions
    stripped = random_skull_strip(tf.constant(batch), probability=1.0, depth_range=(0.07, 0.12)).numpy()
    assert stripped.shape == batch.shape and stripped.min() >= 0 and stripped.max() <= 1
    for image in stripped[..., 0]:
        assert (image > 0.9).sum() < 0.05 * skull.sum()  # the bright skull is gone
        assert (image > 0.7).sum() > lesion.sum()  # the lesion survives (and is enlarged by the re-crop)
        rows, cols = np.nonzero(image > 1e-3)
        # re-cropped as core.preprocess crops a real stripped scan: the brain spans the frame again
        assert max(rows.max() - rows.min(), cols.max() - cols.min()) >= 0.9 * SIZE
    # the depth is random: not every image loses the same rim
    kept = [(image > 1e-3).sum() for image in random_skull_strip(tf.constant(batch), 1.0, (0.0, 0.12)).numpy()[..., 0]]
    assert len(set(kept)) > 1
    np.testing.assert_array_equal(random_skull_strip(tf.constant(batch), probability=0.0).numpy(), batch)
    # an image with no head to keep (a dark frame of noise) is left as it is, not blacked out
    faint = np.full((1, SIZE, SIZE, 1), 0.05, np.float32)
    np.testing.assert_array_equal(random_skull_strip(tf.constant(faint), probability=1.0).numpy(), faint)


def test_skull_stripping_finds_the_head_inside_a_noisy_background():
    """TCGA-LGG's model inputs keep their background speckle (dark, sparse, non-zero): the strip must
    take the skull off the head, not a rim off the frame of noise."""
    from training.augment import random_skull_strip

    x, skull, lesion = _head_with_skull()
    rng = np.random.default_rng(3)
    speckle = (rng.random(x.shape) < 0.5) * rng.uniform(0.01, 0.12, x.shape)
    noisy = np.where(x > 0, x, speckle).astype(np.float32)
    tf.random.set_seed(4)
    stripped = random_skull_strip(tf.constant(np.repeat(noisy, 4, axis=0)), 1.0, (0.07, 0.12)).numpy()
    for image in stripped[..., 0]:
        # most of it: the head reaches into the noise by up to the local window's radius (side / 32),
        # so a dense speckle halo keeps a little more skull than a clean background does
        assert (image > 0.9).sum() < 0.15 * skull.sum()
        assert (image > 0.7).sum() > lesion.sum()


def test_skull_stripping_fills_dark_tissue_inside_the_head():
    """Dark CSF inside the head (FLAIR, rank preprocessing) is brain: no hole is eroded around it."""
    from training.augment import random_skull_strip

    x, _, lesion = _head_with_skull()
    yy, xx = np.mgrid[:SIZE, :SIZE]
    ventricle = np.hypot(yy - 60, xx - 40) < 9
    dark = np.where(ventricle[None, ..., None], 0.02, x).astype(np.float32)
    tf.random.set_seed(5)
    stripped = random_skull_strip(tf.constant(np.repeat(dark, 4, axis=0)), 1.0).numpy()
    for image in stripped[..., 0]:
        rows, cols = np.nonzero(image > 1e-3)
        centre = image[(rows.min() + rows.max()) // 2 - 20:(rows.min() + rows.max()) // 2 + 20,
                       (cols.min() + cols.max()) // 2 - 20:(cols.min() + cols.max()) // 2 + 20]
        assert (centre > 1e-3).all()  # the middle of the brain, ventricle included, is all kept


def test_random_shallow_convolution_changes_the_head_only_and_differs_per_image():
    from training.augment import random_shallow_conv

    x, _, _ = _head_with_skull()
    textured = x + np.random.default_rng(0).normal(0, 0.05, x.shape).astype(np.float32) * (x > 0)
    batch = np.clip(np.repeat(textured, 8, axis=0), 0, 1)
    head = batch > 1e-3
    tf.random.set_seed(2)
    out = random_shallow_conv(tf.constant(batch), tf.constant(head), probability=1.0).numpy()
    assert out.min() >= 0 and out.max() <= 1
    np.testing.assert_array_equal(out[~head], batch[~head])
    changed = [np.abs(o - b)[h].mean() for o, b, h in zip(out, batch, head)]
    assert max(changed) > 0.05  # the network's output is mixed in by a random share
    assert np.abs(out[0] - out[1]).max() > 0.05  # fresh weights per image
    np.testing.assert_array_equal(random_shallow_conv(tf.constant(batch), tf.constant(head), 0.0).numpy(), batch)


def test_training_options_reach_the_augmentation_and_the_card_text():
    from training.augment import AugmentConfig, augment_batch
    from training.config import TrainConfig
    from training.train import augment_config

    cfg = augment_config(TrainConfig(data="unused", skull_strip_probability=0.3, random_conv_probability=0.4))
    assert cfg.skull_strip_probability == 0.3 and cfg.random_conv_probability == 0.4
    text = cfg.description()
    assert "random skull stripping (rim depth 0.04-0.12 of the image side, re-cropped, p=0.3)" in text
    assert "random shallow convolution network over the head (4 channels, mixed by a random share, p=0.4)" in text
    assert "skull" not in AugmentConfig().description()
    x, _, _ = _head_with_skull()
    out = augment_batch(np.repeat(x, 4, axis=0), AugmentConfig(skull_strip_probability=1.0, random_conv_probability=1.0,
                                                                 rerank=True)).numpy()
    assert out.shape == (4, SIZE, SIZE, 1) and out.min() >= 0 and out.max() <= 1
