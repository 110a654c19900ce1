"""Draw the application icon with Pillow: a scan of a head with a heatmap hot spot.

    .venv/bin/python scripts/make_icon.py

Writes gui/assets/icon.png (256 px, the window's iconphoto on every platform),
gui/assets/icon.ico (Windows executable) and gui/assets/icon.icns (macOS app).
The outputs are committed; rerun only to change the design.
"""

from __future__ import annotations

import os

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

SIZE = 256
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT_DIR = os.path.join(ROOT, "gui", "assets")


def _jet(values: np.ndarray) -> np.ndarray:
    """The 'jet' colour map (blue → cyan → yellow → red) for values in [0, 1]."""
    v = np.clip(values, 0.0, 1.0)
    red = np.clip(1.5 - np.abs(4 * v - 3), 0, 1)
    green = np.clip(1.5 - np.abs(4 * v - 2), 0, 1)
    blue = np.clip(1.5 - np.abs(4 * v - 1), 0, 1)
    return np.stack([red, green, blue], axis=-1)


def draw_icon(size: int = SIZE) -> Image.Image:
    scale = 4  # draw large, then downsample: smooth edges without an anti-aliasing API
    big = size * scale
    icon = Image.new("RGBA", (big, big), (0, 0, 0, 0))
    draw = ImageDraw.Draw(icon)
    draw.rounded_rectangle((0, 0, big - 1, big - 1), radius=big // 6, fill=(18, 28, 48, 255))

    # The head: a grey ellipse with a darker brain inside and a bright skull rim.
    yy, xx = np.mgrid[:big, :big].astype(np.float32) / big
    head = ((xx - 0.5) / 0.34) ** 2 + ((yy - 0.52) / 0.40) ** 2
    brain = ((xx - 0.5) / 0.29) ** 2 + ((yy - 0.52) / 0.35) ** 2
    grey = np.zeros((big, big), np.float32)
    grey[head < 1] = 235  # skull
    grey[brain < 1] = 120  # brain tissue
    folds = 0.5 + 0.5 * np.sin(34 * xx + 6 * np.sin(20 * yy)) * np.sin(30 * yy)
    grey[brain < 1] += (folds[brain < 1] * 45).astype(np.float32)

    # The heatmap: a hot spot in the upper right of the brain, as Grad-CAM would draw it.
    heat = np.exp(-(((xx - 0.60) / 0.13) ** 2 + ((yy - 0.42) / 0.11) ** 2))
    heat[brain >= 1] = 0
    colour = _jet(heat) * 255
    alpha = np.clip(heat * 1.3, 0, 0.8)[..., None]
    rgb = grey[..., None] * (1 - alpha) + colour * alpha
    inside = head < 1
    pixels = np.asarray(icon).copy()
    pixels[inside, :3] = rgb[inside].astype(np.uint8)
    icon = Image.fromarray(pixels, "RGBA")
    icon = icon.filter(ImageFilter.GaussianBlur(radius=scale * 0.5))
    # Blur bleeds transparent corners into the rounded square; re-cut it.
    mask = Image.new("L", (big, big), 0)
    ImageDraw.Draw(mask).rounded_rectangle((0, 0, big - 1, big - 1), radius=big // 6, fill=255)
    icon.putalpha(mask)
    return icon.resize((size, size), Image.LANCZOS)


def main() -> None:
    os.makedirs(OUT_DIR, exist_ok=True)
    icon = draw_icon()
    icon.save(os.path.join(OUT_DIR, "icon.png"), optimize=True)
    icon.save(os.path.join(OUT_DIR, "icon.ico"), sizes=[(16, 16), (24, 24), (32, 32), (48, 48), (64, 64), (128, 128), (256, 256)])
    icon.save(os.path.join(OUT_DIR, "icon.icns"))
    for name in ("icon.png", "icon.ico", "icon.icns"):
        path = os.path.join(OUT_DIR, name)
        print(f"{os.path.relpath(path, ROOT)}  {os.path.getsize(path):,} bytes")


if __name__ == "__main__":
    main()
