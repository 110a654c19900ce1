"""Controls for multi-slice and windowed scans: the slice slider and the window/level panel.

Both only lay out widgets and call back into the app; neither reads a file.
The slice bar is hidden for single images, the window panel for scans that
were not windowed (ordinary PNG/JPEG images).
"""

from __future__ import annotations

import tkinter as tk
from tkinter import ttk

FILE_PRESET = "File"
AUTO_PRESET = "Auto (percentile)"
# name -> window: None = the file's own (else percentile), "auto" = percentile, (center, width) = fixed
PRESETS = {FILE_PRESET: None, "Brain 40/80": (40.0, 80.0), AUTO_PRESET: "auto"}
SEES_TEXT = "The classifier sees this window"


class SliceBar(ttk.Frame):
    """``Slice [======o=====] slice 12 (0–23)  [Classify all slices]``; counted from 0, as ``--slice``."""

    def __init__(self, master, on_slice, on_all_slices, **kwargs):
        super().__init__(master, padding=(0, 6, 0, 0), **kwargs)
        self._on_slice = on_slice
        self.count = 1
        self.index = 0
        self.columnconfigure(1, weight=1)
        ttk.Label(self, text="Slice").grid(row=0, column=0, sticky="w", padx=(0, 8))
        self.scale = ttk.Scale(self, from_=0, to=1, orient="horizontal", command=self._moved)
        self.scale.grid(row=0, column=1, sticky="ew")
        self.text = tk.StringVar(self, "")
        ttk.Label(self, textvariable=self.text, width=18, anchor="e").grid(row=0, column=2, sticky="e", padx=(8, 8))
        self.all_button = ttk.Button(self, text="Classify all slices…", command=on_all_slices)
        self.all_button.grid(row=0, column=3, sticky="e")

    def show(self, index: int, count: int) -> None:
        self.count, self.index = count, index
        self.scale.configure(to=max(1, count - 1))
        self.scale.set(index)
        from gui.texts import slice_text

        self.text.set(slice_text(index, count))

    def _moved(self, value) -> None:
        index = int(round(float(value)))
        if index != self.index and 0 <= index < self.count:
            self._on_slice(index)


class WindowPanel(ttk.LabelFrame):
    """Center and width entries, presets, Apply and Reset; says the classifier sees this window."""

    def __init__(self, master, on_window, **kwargs):
        super().__init__(master, text="Window / level", padding=8, **kwargs)
        self._on_window = on_window
        self.columnconfigure(1, weight=1)
        self.center = tk.StringVar(self, "")
        self.width = tk.StringVar(self, "")
        self.preset = tk.StringVar(self, FILE_PRESET)
        self.source = tk.StringVar(self, "")
        for row, (label, var) in enumerate((("Center", self.center), ("Width", self.width))):
            ttk.Label(self, text=label).grid(row=row, column=0, sticky="w", padx=(0, 8), pady=2)
            entry = ttk.Spinbox(self, textvariable=var, from_=-1e6, to=1e6, increment=10, width=10,
                                command=self.apply)
            entry.grid(row=row, column=1, sticky="ew", pady=2)
            entry.bind("<Return>", lambda _e: self.apply())
            entry.bind("<KP_Enter>", lambda _e: self.apply())
            setattr(self, f"{label.lower()}_entry", entry)
        ttk.Button(self, text="Apply", command=self.apply, width=7).grid(row=0, column=2, padx=(6, 0))
        ttk.Button(self, text="Reset", command=self.reset, width=7).grid(row=1, column=2, padx=(6, 0))
        ttk.Label(self, text="Preset").grid(row=2, column=0, sticky="w", pady=2)
        self.preset_box = ttk.Combobox(self, textvariable=self.preset, values=list(PRESETS), state="readonly",
                                       width=16)
        self.preset_box.grid(row=2, column=1, columnspan=2, sticky="ew", pady=2)
        self.preset_box.bind("<<ComboboxSelected>>", lambda _e: self._on_window(PRESETS[self.preset.get()]))
        ttk.Label(self, textvariable=self.source, style="Warning.TLabel").grid(
            row=3, column=0, columnspan=3, sticky="w", pady=(4, 0))

    def show(self, window: dict) -> None:
        """Fill in the window applied to the slice on screen (``Scan.info["window"]``)."""
        center, width = window.get("center"), window.get("width")
        self.center.set("" if center is None else f"{center:g}")
        self.width.set("" if width is None else f"{width:g}")
        where = {"file": "from the file", "voi_lut": "the file's VOI LUT", "percentile": "0.5–99.5 percentile",
                 "user": "chosen here"}.get(window.get("source"), window.get("source") or "")
        self.source.set(f"{SEES_TEXT} ({where}).")

    def apply(self) -> bool:
        """Apply the typed center/width; False (and nothing done) when they are not numbers or width <= 0."""
        try:
            center, width = float(self.center.get()), float(self.width.get())
        except ValueError:
            return False
        if not width > 0:
            return False
        self._on_window((center, width))
        return True

    def reset(self) -> None:
        self.preset.set(FILE_PRESET)
        self._on_window(None)
