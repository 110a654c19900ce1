"""A canvas that shows one image scaled to fit, centred, aspect ratio kept, re-fitted on resize."""

from __future__ import annotations

import tkinter as tk

import numpy as np
from PIL import Image, ImageTk

BACKGROUND = "#111111"  # dark, as radiology viewers are: grey levels read better on it
PLACEHOLDER_COLOUR = "#9a9a9a"
RESIZE_DELAY_MS = 40  # coalesce the burst of <Configure> events a window drag produces


def fit_size(image_w: int, image_h: int, box_w: int, box_h: int) -> tuple[int, int]:
    """Largest (w, h) with the image's aspect ratio that fits in the box; at least 1x1."""
    if image_w <= 0 or image_h <= 0 or box_w <= 0 or box_h <= 0:
        return 1, 1
    scale = min(box_w / image_w, box_h / image_h)
    return max(1, round(image_w * scale)), max(1, round(image_h * scale))


class ImageCanvas(tk.Canvas):
    def __init__(self, master, placeholder: str = "", **kwargs):
        kwargs.setdefault("width", 320)
        kwargs.setdefault("height", 320)
        super().__init__(master, background=BACKGROUND, highlightthickness=0, **kwargs)
        self.image: np.ndarray | None = None  # full-resolution array last set (uint8 HxW or HxWx3)
        self.shown: Image.Image | None = None  # the scaled copy actually on screen
        self._photo = None  # Tk drops an image with no Python reference: keep it alive
        self._placeholder = placeholder
        self._pending = None
        self.bind("<Configure>", self._on_configure)

    def set_image(self, image: np.ndarray | None) -> None:
        self.image = image
        self.redraw()

    def set_placeholder(self, text: str) -> None:
        self._placeholder = text
        if self.image is None:
            self.redraw()

    def redraw(self) -> None:
        self._pending = None
        self.delete("all")
        width, height = self.winfo_width(), self.winfo_height()
        if width < 2 or height < 2:  # not mapped yet; <Configure> will call back
            width, height = int(self["width"]), int(self["height"])
        if self.image is None:
            self.shown, self._photo = None, None
            self.create_text(
                width // 2, height // 2, text=self._placeholder, fill=PLACEHOLDER_COLOUR,
                width=max(50, width - 20), justify="center",
            )
            return
        pil = Image.fromarray(self.image)
        size = fit_size(pil.width, pil.height, width, height)
        # LANCZOS when shrinking keeps fine structure; BILINEAR is enough when enlarging.
        resample = Image.LANCZOS if size[0] < pil.width else Image.BILINEAR
        self.shown = pil.resize(size, resample)
        self._photo = ImageTk.PhotoImage(self.shown, master=self)
        self.create_image(width // 2, height // 2, image=self._photo, anchor="center")

    def _on_configure(self, _event) -> None:
        if self._pending is not None:
            self.after_cancel(self._pending)
        self._pending = self.after(RESIZE_DELAY_MS, self.redraw)

    def destroy(self) -> None:
        if self._pending is not None:
            self.after_cancel(self._pending)
            self._pending = None
        super().destroy()
