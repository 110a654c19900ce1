"""core.preprocess: crop the background, keep aspect ratio, map back exactly."""

from __future__ import annotations

import numpy as np
import pytest

from core.preprocess import METHODS, PERCENTILE_V1, RANK_V2, head_bounding_box, method_for, preprocess

both_methods = pytest.mark.parametrize("method", list(METHODS))


def _disc_on_black(height=200, width=300, centre=(120, 180), radius=50, value=120.0):
    """A textured disc (like tissue: few equal intensities) on a black background."""
    yy, xx = np.mgrid[:height, :width]
    image = np.zeros((height, width), np.float32)
    inside = (yy - centre[0]) ** 2 + (xx - centre[1]) ** 2 <= radius**2
    texture = 1.0 + 0.3 * np.sin(xx / 5.0) * np.cos(yy / 7.0)
    image[inside] = (value * texture)[inside]
    return image


@both_methods
def test_black_border_is_cropped_to_the_head(method):
    x0, y0, x1, y1 = head_bounding_box(_disc_on_black(), method)
    # disc spans x 130..230, y 70..170; a small margin is allowed
    assert 120 <= x0 <= 131 and 229 <= x1 <= 241
    assert 60 <= y0 <= 71 and 169 <= y1 <= 181


@both_methods
def test_aspect_ratio_is_kept_by_padding_not_stretching(method):
    image = np.zeros((100, 300), np.float32)
    image[20:80, 30:270] = 100.0  # a 60 x 240 rectangle: aspect 4:1
    tensor, geometry = preprocess(image, 64, method)
    assert tensor.shape == (64, 64, 1) and tensor.dtype == np.float32
    rows = np.nonzero(tensor[..., 0].max(axis=1) > 0.5)[0]
    cols = np.nonzero(tensor[..., 0].max(axis=0) > 0.5)[0]
    width, height = np.ptp(cols) + 1, np.ptp(rows) + 1
    assert 3.3 < width / height < 4.8
    assert geometry.side == max(geometry.crop[2] - geometry.crop[0], geometry.crop[3] - geometry.crop[1])


@both_methods
def test_a_circle_stays_a_circle(method):
    tensor, _ = preprocess(_disc_on_black(), 64, method)
    mask = tensor[..., 0] > 0
    rows, cols = np.nonzero(mask)
    assert abs((np.ptp(rows) + 1) - (np.ptp(cols) + 1)) <= 2


@both_methods
def test_intensities_normalised_and_independent_of_scale(method):
    image = _disc_on_black()
    image[100:110, 170:180] = 200.0
    a, _ = preprocess(image, 64, method)
    b, _ = preprocess(image * 37.0, 64, method)
    assert a.min() >= 0 and a.max() <= 1 and a.max() > 0.99
    assert np.abs(a - b).max() < 0.05


def test_rank_method_ignores_a_gamma_curve_where_percentile_does_not():
    """Another scanner's intensity curve: v2 gives the model the same input, v1 does not."""
    image = _disc_on_black()
    unit = image / image.max()
    for gamma in (0.6, 1 / 0.6):
        curved = 255.0 * unit**gamma
        rank = [preprocess(x, 64, RANK_V2)[0] for x in (image, curved)]
        percentile = [preprocess(x, 64, PERCENTILE_V1)[0] for x in (image, curved)]
        assert np.abs(rank[0] - rank[1]).mean() < 0.01
        assert np.abs(percentile[0] - percentile[1]).mean() > 0.03


def test_rank_method_zeroes_background_noise():
    """Equalisation would lift each source's background noise into view; v2 keeps it at 0
    as long as the noise is under a quarter of the non-black pixels (JPEG speckle, not a grey field)."""
    rng = np.random.default_rng(0)
    image = _disc_on_black()
    speckle = (image == 0) & (rng.random(image.shape) < 0.03)
    noisy = image + speckle * rng.integers(1, 6, image.shape).astype(np.float32)
    tensor, geometry = preprocess(noisy, 64, RANK_V2)
    back = geometry.to_scan_grid(tensor[..., 0])
    assert (back[image == 0] > 0).mean() < 0.01
    assert (back[image > 0] > 0).mean() > 0.6


def test_unknown_preprocessing_is_refused():
    with pytest.raises(ValueError, match="unknown preprocessing"):
        method_for("something-v9")


@both_methods
def test_blank_image_does_not_fail(method):
    tensor, _ = preprocess(np.zeros((50, 50), np.float32), 32, method)
    assert np.all(tensor == 0)


@both_methods
def test_to_scan_grid_undoes_crop_pad_and_resize(method):
    image = _disc_on_black()
    tensor, geometry = preprocess(image, 64, method)
    back = geometry.to_scan_grid(tensor[..., 0])
    assert back.shape == image.shape
    inside = image > 0
    # v2 counts the darkest quarter of the non-black pixels as background, by design.
    covered = {PERCENTILE_V1: 0.95, RANK_V2: 0.7}[method]
    assert (back[inside] > 0).mean() > covered
    assert (back[~inside] > 0.1).mean() < 0.01


def test_extreme_strips_stay_small_in_memory():
    """Regression: a 3 x 100,000 image was padded to a 100,000^2 float square (40 GB ->
    MemoryError); a 600 x 40,000 one would have allocated 6.4 GB."""
    import tracemalloc

    for shape in ((100_000, 3), (3, 100_000), (40_000, 600)):
        image = np.zeros(shape, np.float32)
        image[: shape[0] // 2, : shape[1] // 2] = 50.0
        tracemalloc.start()
        tensor, geometry = preprocess(image, 32)
        back = geometry.to_scan_grid(tensor[..., 0])
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        assert tensor.shape == (32, 32, 1) and np.isfinite(tensor).all()
        assert back.shape == shape and np.isfinite(back).all()
        assert peak < 20 * image.nbytes + 300 * 2**20, (shape, peak)


@both_methods
def test_strip_path_maps_back_like_cv2(monkeypatch, method):
    """The huge-square path of to_scan_grid samples exactly as cv2.resize would."""
    import core.preprocess as module

    image = _disc_on_black(120, 400, centre=(60, 150), radius=40)
    tensor, geometry = preprocess(image, 32, method)
    expected = geometry.to_scan_grid(tensor[..., 0])
    monkeypatch.setattr(module, "MAX_SQUARE_SIDE", 64)
    np.testing.assert_allclose(geometry.to_scan_grid(tensor[..., 0]), expected, atol=1e-5)
    shrunk, _ = preprocess(image, 32, method)  # shrunk before padding: close to, not equal to, the full path
    assert np.abs(shrunk - tensor).mean() < 0.02


@pytest.mark.parametrize("size", [16, 17, 100, 1001, 65536])
def test_rank_head_threshold_is_numpys_lower_percentile(size):
    """The head mask's partial-sort threshold equals np.percentile(..., method="lower")."""
    from core.preprocess import RANK_BACKGROUND_PERCENTILE, _rank_head_mask

    rng = np.random.default_rng(size)
    image = np.zeros(size + 5, np.float32)
    image[5:] = rng.integers(1, 50, size).astype(np.float32) * rng.random(size).astype(np.float32)
    above = image[image > image.min()]
    expected = image >= np.percentile(above, RANK_BACKGROUND_PERCENTILE, method="lower")
    np.testing.assert_array_equal(_rank_head_mask(image), expected)
