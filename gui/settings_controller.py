"""What the window remembers between launches (``gui.settings.Settings``): the view choices
(method, colour map, opacity, layout), written a moment after they change, and the folders
where open and save dialogs start (the last scan's folder; the last folder saved to, never the
dataset).

Runs on the Tk main loop only.
"""

from __future__ import annotations

import os
import tkinter as tk

from gui.controls import PREDICTED, ViewVars

DEFAULT_COLORMAP = "jet"
WRITE_DELAY_MS = 400  # a dragged opacity slider writes the file once, not per step


class SettingsController:
    def __init__(self, root, settings):
        self.root = root
        self.settings = settings
        self.last_dir = settings.folder("last_open_dir")  # open dialogs start here
        self.last_save_dir = settings.folder("last_save_dir")  # save dialogs start here
        self.vars: ViewVars | None = None
        self._after = None

    def view_vars(self, colormaps) -> ViewVars:
        """The view's Tk variables, as the last session left them; every change is remembered."""
        saved, root = self.settings, self.root
        colormap = saved["colormap"] if saved["colormap"] in colormaps else DEFAULT_COLORMAP
        self.vars = ViewVars(
            method=tk.StringVar(root, saved["method"]),
            opacity=tk.DoubleVar(root, saved["opacity"]),
            colormap=tk.StringVar(root, colormap if colormap in colormaps else colormaps[0]),
            target=tk.StringVar(root, PREDICTED),
            side_by_side=tk.BooleanVar(root, saved["side_by_side"]),
        )
        for var in (self.vars.method, self.vars.opacity, self.vars.colormap, self.vars.side_by_side):
            var.trace_add("write", lambda *_: self.remember_view())
        return self.vars

    def remember_view(self) -> None:
        """Method, colour map, opacity and layout are kept for the next launch (written a moment later)."""
        if self._after is not None:
            self.root.after_cancel(self._after)
        self._after = self.root.after(WRITE_DELAY_MS, self._write_view)

    def flush(self) -> None:
        """Write a view change not written yet (the window is closing)."""
        if self._after is not None:
            self.root.after_cancel(self._after)
            self._write_view()

    def _write_view(self) -> None:
        self._after = None
        try:
            opacity = round(min(1.0, max(0.0, float(self.vars.opacity.get()))), 3)
        except (tk.TclError, ValueError):
            opacity = None
        self.settings.update(method=self.vars.method.get(), colormap=self.vars.colormap.get(),
                             side_by_side=bool(self.vars.side_by_side.get()),
                             **({"opacity": opacity} if opacity is not None else {}))

    def opened(self, path: str) -> None:
        """A scan was opened from ``path``: open dialogs start in its folder from now on."""
        self.last_dir = os.path.dirname(os.path.abspath(path))
        self.settings.update(last_open_dir=self.last_dir)

    def save_dir(self) -> str:
        """Where save dialogs start: the last folder saved to, else the home folder (never the dataset)."""
        return self.last_save_dir or os.path.expanduser("~")

    def saved_to(self, path: str) -> None:
        self.last_save_dir = os.path.dirname(os.path.abspath(path))
        self.settings.update(last_save_dir=self.last_save_dir)
