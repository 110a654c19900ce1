"""core.preprocess: crop the background, keep aspect ratio, map back exactly."""

from __future__ import annotations

import numpy as np

from core.preprocess import head_bounding_box, preprocess


def _disc_on_black(height=200, width=300, centre=(120, 180), radius=50, value=120.0):
    yy, xx = np.mgrid[:height, :width]
    image = np.zeros((height, width), np.float32)
    image[(yy - centre[0]) ** 2 + (xx - centre[1]) ** 2 <= radius**2] = value
    return image


def test_black_border_is_cropped_to_the_head():
    x0, y0, x1, y1 = head_bounding_box(_disc_on_black())
    # disc spans x 130..230, y 70..170; a small margin is allowed
    assert 120 <= x0 <= 131 and 229 <= x1 <= 241
    assert 60 <= y0 <= 71 and 169 <= y1 <= 181


def test_aspect_ratio_is_kept_by_padding_not_stretching():
    image = np.zeros((100, 300), np.float32)
    image[20:80, 30:270] = 100.0  # a 60 x 240 rectangle: aspect 4:1
    tensor, geometry = preprocess(image, 64)
    assert tensor.shape == (64, 64, 1) and tensor.dtype == np.float32
    rows = np.nonzero(tensor[..., 0].max(axis=1) > 0.5)[0]
    cols = np.nonzero(tensor[..., 0].max(axis=0) > 0.5)[0]
    width, height = np.ptp(cols) + 1, np.ptp(rows) + 1
    assert 3.3 < width / height < 4.8
    assert geometry.side == max(geometry.crop[2] - geometry.crop[0], geometry.crop[3] - geometry.crop[1])


def test_a_circle_stays_a_circle():
    tensor, _ = preprocess(_disc_on_black(), 64)
    mask = tensor[..., 0] > 0.5
    rows, cols = np.nonzero(mask)
    assert abs((np.ptp(rows) + 1) - (np.ptp(cols) + 1)) <= 2


def test_intensities_normalised_and_independent_of_scale():
    image = _disc_on_black()
    image[100:110, 170:180] = 200.0
    a, _ = preprocess(image, 64)
    b, _ = preprocess(image * 37.0 + 5.0 * (image > 0), 64)
    assert a.min() >= 0 and a.max() <= 1 and a.max() > 0.99
    assert np.abs(a - b).max() < 0.05


def test_blank_image_does_not_fail():
    tensor, _ = preprocess(np.zeros((50, 50), np.float32), 32)
    assert np.all(tensor == 0)


def test_to_scan_grid_undoes_crop_pad_and_resize():
    image = _disc_on_black()
    tensor, geometry = preprocess(image, 64)
    back = geometry.to_scan_grid(tensor[..., 0])
    assert back.shape == image.shape
    inside = image > 0
    assert (back[inside] > 0.5).mean() > 0.95
    assert (back[~inside] > 0.5).mean() < 0.01


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


def test_strip_path_maps_back_like_cv2(monkeypatch):
    """The huge-square path of to_scan_grid samples exactly as cv2.resize would."""
    import core.preprocess as module

    image = _disc_on_black(120, 400, centre=(60, 150), radius=40)
    tensor, geometry = preprocess(image, 32)
    expected = geometry.to_scan_grid(tensor[..., 0])
    monkeypatch.setattr(module, "MAX_SQUARE_SIDE", 64)
    np.testing.assert_allclose(geometry.to_scan_grid(tensor[..., 0]), expected, atol=1e-5)
    shrunk, _ = preprocess(image, 32)  # shrunk before padding: close to, not equal to, the full path
    assert np.abs(shrunk - tensor).mean() < 0.02
