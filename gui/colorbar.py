"""The heatmap's colour bar: what a colour means, beside the overlay.

The bar is painted with the lookup table that paints the overlay
(``gradcam.overlay.colormap_lut``), 1 at the top, ticks from 0 to 1, the scale
in words along it (every map is shown relative to the predicted class's
strongest evidence on the scan: 1 = that peak), and a marker at the map's own
peak on that scale, so a class with weak evidence is seen to be weak.
"""

from __future__ import annotations

import tkinter as tk

from PIL import Image, ImageTk

from gradcam.overlay import TICKS, colormap_lut, tick_label
from gui import theme

WIDTH = 78  # at 100 % scaling
BAR_WIDTH = 14


def caption_for(scale: str, peak: float | None) -> str:
    """The words along the bar: the scale, and where this map's peak is on it when below 1."""
    if peak is None or peak >= 0.995:
        return scale
    return f"{scale} · this map's peak: {max(peak, 0.0):.2f}"


class ColorBar(tk.Canvas):
    def __init__(self, master, **kwargs):
        kwargs.setdefault("width", theme.px(master, WIDTH))
        super().__init__(master, background=theme.CANVAS, highlightthickness=0, **kwargs)
        self.colormap: str | None = None  # None: nothing shown (no map on screen)
        self.caption = ""
        self.peak: float | None = None
        self._photo = None  # Tk drops an image with no Python reference
        self.bind("<Configure>", lambda _e: self.redraw())

    @property
    def showing(self) -> bool:
        return self.colormap is not None

    def show(self, colormap: str, scale: str, peak: float | None = None) -> None:
        """Show the bar for ``colormap``; ``scale`` says what 1 means; ``peak``: the map's peak on it."""
        self.colormap, self.peak = colormap, peak
        self.caption = caption_for(scale, peak)
        self.redraw()

    def clear(self) -> None:
        self.colormap, self.caption, self.peak = None, "", None
        self.redraw()

    def bar_box(self) -> tuple[int, int, int, int]:
        """(x0, y0, x1, y1) of the coloured bar on the canvas: heat 1 at y0, 0 at y1."""
        height = max(self.winfo_height(), int(self["height"]))
        margin = theme.px(self, 12)
        x0 = theme.px(self, 12)
        return x0, margin, x0 + theme.px(self, BAR_WIDTH), max(margin + 2, height - margin)

    def redraw(self) -> None:
        self.delete("all")
        self._photo = None
        if self.colormap is None:
            return
        x0, y0, x1, y1 = self.bar_box()
        lut = colormap_lut(self.colormap)[::-1]  # row 0 = heat 1 (top)
        column = Image.fromarray(lut[:, None, :].repeat(x1 - x0, axis=1))
        self._photo = ImageTk.PhotoImage(column.resize((x1 - x0, y1 - y0), Image.BILINEAR), master=self)
        self.create_image(x0, y0, image=self._photo, anchor="nw", tags=("bar",))
        self.create_rectangle(x0, y0, x1, y1, outline=theme.BORDER)
        for tick in TICKS:
            y = y1 - tick * (y1 - y0)
            self.create_line(x1, y, x1 + theme.px(self, 4), y, fill=theme.TEXT)
            self.create_text(x1 + theme.px(self, 6), y, text=tick_label(tick), anchor="w", fill=theme.TEXT,
                             font="TkSmallCaptionFont", tags=("tick",))
        if self.peak is not None:  # the map's own peak on this scale: a marker left of the bar
            y = y1 - min(max(self.peak, 0.0), 1.0) * (y1 - y0)
            size = theme.px(self, 5)
            self.create_polygon(x0 - 1, y, x0 - 1 - size, y - size, x0 - 1 - size, y + size, fill=theme.TEXT,
                                outline="", tags=("peak",))
        width = max(self.winfo_width(), int(self["width"]))
        self.create_text(width - theme.px(self, 12), (y0 + y1) / 2, text=self.caption, angle=90, anchor="center",
                         fill=theme.MUTED, font="TkSmallCaptionFont", tags=("caption",))
