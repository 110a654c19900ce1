"""A canvas that shows one image, fitted and centred, with zoom and pan; linked canvases move in step.

Mouse: the wheel zooms around the pointer, a left drag pans, a double click fits
the image again; a right drag reports its movement (the app turns it into
window/level); moving reports the image pixel under the pointer. The scan and
the overlay canvases share one :class:`ViewState`, so they always show the same
region at the same scale.

The view is display only: it never changes the image handed to ``set_image``.
"""

from __future__ import annotations

import math
import tkinter as tk

import numpy as np
from PIL import Image, ImageTk

from gui import theme

BACKGROUND = theme.CANVAS  # near black, as radiology viewers are: grey levels read better on it
PLACEHOLDER_COLOUR = theme.PLACEHOLDER
RESIZE_DELAY_MS = 40  # coalesce the burst of <Configure> events a window drag produces
MIN_ZOOM, MAX_ZOOM = 1.0, 32.0  # relative to "fit": 1 shows the whole image
ZOOM_STEP = 1.25  # per wheel notch
NEAREST_FROM = 4.0  # screen pixels per image pixel from which pixels are drawn as squares


def fit_size(image_w: int, image_h: int, box_w: int, box_h: int) -> tuple[int, int]:
    """Largest (w, h) with the image's aspect ratio that fits in the box; at least 1x1."""
    if image_w <= 0 or image_h <= 0 or box_w <= 0 or box_h <= 0:
        return 1, 1
    scale = min(box_w / image_w, box_h / image_h)
    return max(1, round(image_w * scale)), max(1, round(image_h * scale))


class ViewState:
    """Zoom (relative to fit) and the image point at the canvas centre, shared by linked canvases."""

    def __init__(self):
        self.zoom = 1.0
        self.center: tuple[float, float] | None = None  # image (x, y) at the canvas centre; None: the image's
        self.canvases: list[ImageCanvas] = []
        self._pending = None

    @property
    def is_fit(self) -> bool:
        return self.zoom == 1.0 and self.center is None

    def link(self, canvas: "ImageCanvas") -> None:
        self.canvases.append(canvas)

    def common_box(self, canvas: "ImageCanvas") -> tuple[int, int]:
        """The room every shown canvas has (the smallest width and height among them): the images are
        fitted into it, so both are drawn at exactly the same scale even when the panes differ by a pixel."""
        sizes = [c.size() for c in self.canvases if c is canvas or _shown(c)]
        return min(w for w, _ in sizes), min(h for _, h in sizes)

    def reset(self) -> None:
        """Back to fit without repainting (the caller sets a new image next)."""
        self.zoom, self.center = 1.0, None

    def fit(self) -> None:
        self.reset()
        self.redraw_now()

    def zoom_at(self, canvas: "ImageCanvas", x: float, y: float, factor: float) -> None:
        """Zoom by ``factor`` keeping the image point under canvas pixel (x, y) where it is."""
        if canvas.image is None:
            return
        zoom = min(MAX_ZOOM, max(MIN_ZOOM, self.zoom * factor))
        if zoom == self.zoom:
            return
        if zoom == MIN_ZOOM:
            self.zoom, self.center = zoom, None  # all the way out: fitted and centred again
        else:
            point = canvas.to_image(x, y)
            width, height = canvas.size()
            self.zoom = zoom
            scale = canvas.fit_scale() * zoom
            self.center = self._clamped(canvas, point[0] - (x - width / 2) / scale,
                                        point[1] - (y - height / 2) / scale)
        self.redraw_later()

    def pan(self, canvas: "ImageCanvas", dx: float, dy: float) -> None:
        """Move the image by (dx, dy) screen pixels of ``canvas``."""
        if canvas.image is None or (dx == 0 and dy == 0):
            return
        scale = canvas.fit_scale() * self.zoom
        cx, cy = self.center or canvas.image_center()
        self.center = self._clamped(canvas, cx - dx / scale, cy - dy / scale)
        self.redraw_later()

    @staticmethod
    def _clamped(canvas, x, y):
        height, width = canvas.image.shape[:2]
        return min(max(0.0, x), float(width)), min(max(0.0, y), float(height))

    def redraw_later(self) -> None:
        """Coalesce a burst of wheel/drag events into one repaint per idle moment."""
        if self._pending is None and self.canvases:
            self._pending = self.canvases[0].after_idle(self.redraw_now)

    def redraw_now(self) -> None:
        self._pending = None
        for canvas in self.canvases:
            try:
                if canvas.winfo_exists():
                    canvas.redraw()
            except tk.TclError:
                pass


def _shown(canvas) -> bool:
    try:
        return bool(canvas.winfo_exists() and canvas.winfo_ismapped())
    except tk.TclError:
        return False


class ImageCanvas(tk.Canvas):
    def __init__(self, master, placeholder: str = "", view: ViewState | None = None, on_pointer=None,
                 on_right_drag=None, **kwargs):
        kwargs.setdefault("width", 320)
        kwargs.setdefault("height", 320)
        super().__init__(master, background=BACKGROUND, highlightthickness=0, **kwargs)
        self.image: np.ndarray | None = None  # full-resolution array last set (uint8 HxW or HxWx3)
        self.shown: Image.Image | None = None  # the scaled copy actually on screen (the visible part when zoomed)
        self._pil: Image.Image | None = None
        self._photo = None  # Tk drops an image with no Python reference: keep it alive
        self._placeholder = placeholder
        self._pending = None
        self.view = view or ViewState()
        self.view.link(self)
        self.on_pointer = on_pointer  # (x, y) of the image pixel under the pointer, or (None, None)
        self.on_right_drag = on_right_drag  # ("start" | "move" | "end", dx, dy) in screen pixels
        self._drag = None
        self._right = None
        self.bind("<Configure>", self._on_configure)
        self.bind("<ButtonPress-1>", self._press)
        self.bind("<B1-Motion>", self._drag_to)
        self.bind("<ButtonRelease-1>", lambda _e: setattr(self, "_drag", None))
        self.bind("<Double-Button-1>", lambda _e: self.view.fit())
        self.bind("<Motion>", self._moved)
        self.bind("<Leave>", lambda _e: self._report(None, None))
        self.bind("<MouseWheel>", self._wheel)  # Windows, macOS
        self.bind("<Button-4>", lambda e: self._wheel(e, +1))  # X11
        self.bind("<Button-5>", lambda e: self._wheel(e, -1))
        # The right button is 3 on X11 and Windows, 2 on macOS.
        right = 2 if self.tk.call("tk", "windowingsystem") == "aqua" else 3
        self.bind(f"<ButtonPress-{right}>", self._right_press)
        self.bind(f"<B{right}-Motion>", self._right_move)
        self.bind(f"<ButtonRelease-{right}>", self._right_release)

    # ----- image and geometry ------------------------------------------------

    def set_image(self, image: np.ndarray | None) -> None:
        self.image = image
        self._pil = None if image is None else Image.fromarray(image)
        self.redraw()

    def set_placeholder(self, text: str) -> None:
        self._placeholder = text
        if self.image is None:
            self.redraw()

    def size(self) -> tuple[int, int]:
        width, height = self.winfo_width(), self.winfo_height()
        if width < 2 or height < 2:  # not mapped yet; <Configure> will call back
            width, height = int(self["width"]), int(self["height"])
        return width, height

    def fit_scale(self) -> float:
        height, width = self.image.shape[:2]
        box_w, box_h = self.view.common_box(self)
        return min(box_w / width, box_h / height) if width and height else 1.0

    def image_center(self) -> tuple[float, float]:
        height, width = self.image.shape[:2]
        return width / 2.0, height / 2.0

    def _transform(self) -> tuple[float, float, float]:
        """(scale, offset_x, offset_y): canvas = offset + image * scale."""
        box_w, box_h = self.size()
        scale = self.fit_scale() * self.view.zoom
        cx, cy = self.view.center or self.image_center()
        return scale, box_w / 2.0 - cx * scale, box_h / 2.0 - cy * scale

    def to_image(self, x: float, y: float) -> tuple[float, float]:
        scale, ox, oy = self._transform()
        return (x - ox) / scale, (y - oy) / scale

    def pixel_at(self, x: float, y: float) -> tuple[int, int] | None:
        """The (column, row) of the image pixel under canvas point (x, y), or None outside the image."""
        if self.image is None:
            return None
        ix, iy = self.to_image(x, y)
        height, width = self.image.shape[:2]
        col, row = math.floor(ix), math.floor(iy)
        return (col, row) if 0 <= col < width and 0 <= row < height else None

    def visible_box(self) -> tuple[int, int, int, int] | None:
        """(x0, y0, x1, y1): the part of the image on screen, in image pixels."""
        if self.image is None:
            return None
        height, width = self.image.shape[:2]
        scale, ox, oy = self._transform()
        box_w, box_h = self.size()
        x0, y0 = max(0, math.floor(-ox / scale)), max(0, math.floor(-oy / scale))
        x1, y1 = min(width, math.ceil((box_w - ox) / scale)), min(height, math.ceil((box_h - oy) / scale))
        return (x0, y0, x1, y1) if x1 > x0 and y1 > y0 else None

    def redraw(self) -> None:
        self._pending = None
        self.delete("all")
        width, height = self.size()
        if self.image is None:
            self.shown, self._photo = None, None
            self.create_text(
                width // 2, height // 2, text=self._placeholder, fill=PLACEHOLDER_COLOUR,
                width=max(50, width - 20), justify="center", font="TkDefaultFont",
            )
            return
        pil = self._pil
        if self.view.is_fit:
            size = fit_size(pil.width, pil.height, *self.view.common_box(self))
            # LANCZOS when shrinking keeps fine structure; BILINEAR is enough when enlarging.
            resample = Image.LANCZOS if size[0] < pil.width else Image.BILINEAR
            self.shown = pil.resize(size, resample)
            self._photo = ImageTk.PhotoImage(self.shown, master=self)
            self.create_image(width // 2, height // 2, image=self._photo, anchor="center")
            return
        box = self.visible_box()
        if box is None:
            self.shown, self._photo = None, None
            return
        scale, ox, oy = self._transform()
        x0, y0, x1, y1 = box
        size = (max(1, round((x1 - x0) * scale)), max(1, round((y1 - y0) * scale)))
        if scale < 1:
            resample = Image.LANCZOS
        elif scale < NEAREST_FROM:
            resample = Image.BILINEAR
        else:
            resample = Image.NEAREST  # zoomed far in: each pixel a square, as its value reads
        self.shown = pil.crop(box).resize(size, resample)
        self._photo = ImageTk.PhotoImage(self.shown, master=self)
        self.create_image(round(ox + x0 * scale), round(oy + y0 * scale), image=self._photo, anchor="nw")

    # ----- mouse ---------------------------------------------------------------

    def _press(self, event) -> None:
        self.focus_set()  # a click on the image takes the focus from a text field: the keys work again
        self._drag = (event.x, event.y)

    def _drag_to(self, event) -> None:
        if self._drag is None:
            return
        dx, dy = event.x - self._drag[0], event.y - self._drag[1]
        self._drag = (event.x, event.y)
        self.view.pan(self, dx, dy)
        self._moved(event)

    def _wheel(self, event, direction: int | None = None) -> str:
        if direction is None:
            direction = 1 if event.delta > 0 else -1
        self.view.zoom_at(self, event.x, event.y, ZOOM_STEP if direction > 0 else 1 / ZOOM_STEP)
        return "break"

    def _moved(self, event) -> None:
        pixel = self.pixel_at(event.x, event.y)
        self._report(*(pixel or (None, None)))

    def _report(self, col, row) -> None:
        if self.on_pointer is not None:
            self.on_pointer(col, row)

    def _right_press(self, event) -> None:
        self.focus_set()
        self._right = (event.x, event.y)
        if self.on_right_drag is not None and self.image is not None:
            self.on_right_drag("start", 0, 0)

    def _right_move(self, event) -> None:
        if self._right is not None and self.on_right_drag is not None and self.image is not None:
            self.on_right_drag("move", event.x - self._right[0], event.y - self._right[1])

    def _right_release(self, event) -> None:
        if self._right is not None and self.on_right_drag is not None and self.image is not None:
            self.on_right_drag("end", event.x - self._right[0], event.y - self._right[1])
        self._right = None

    def _on_configure(self, _event) -> None:
        if self._pending is not None:
            self.after_cancel(self._pending)
        self._pending = self.after(RESIZE_DELAY_MS, self.redraw)

    def destroy(self) -> None:
        if self._pending is not None:
            self.after_cancel(self._pending)
            self._pending = None
        if self in self.view.canvases:
            self.view.canvases.remove(self)
        super().destroy()
