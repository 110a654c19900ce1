"""Controls for multi-slice and windowed scans: the slice slider and the window/level panel.

Both only lay out widgets and call back into the app; neither reads a file.
Window/level is display only: the classifier sees each scan's default window
(the file's VOI LUT or window, else the percentile window) unless the user
ticks "Classify the displayed window".
The slice bar is hidden for single images, the window panel for scans that
were not windowed (ordinary PNG/JPEG images).
"""

from __future__ import annotations

import tkinter as tk
from tkinter import ttk

FILE_PRESET = "File"
AUTO_PRESET = "Auto (percentile)"
FULL_PRESET = "Full range"
# name -> window: None = the file's own (else percentile), "auto" = percentile, "full" = min..max,
# (center, width) = fixed. These suit any modality; CT adds its Hounsfield windows (never offered for MR).
PRESETS = {FILE_PRESET: None, AUTO_PRESET: "auto", FULL_PRESET: "full"}
CT_PRESETS = {"Brain 40/80": (40.0, 80.0), "Subdural 75/215": (75.0, 215.0), "Stroke 40/40": (40.0, 40.0),
              "Bone 600/2800": (600.0, 2800.0)}
SEES_TEXT = "The classifier sees this window"
DISPLAY_ONLY_TEXT = "Display only: the classifier sees"
CLASSIFY_SHOWN_TEXT = "Classify the displayed window"


def presets_for(modality: str | None) -> dict:
    """The window presets for a scan of this DICOM modality (``None``: NIfTI, unknown)."""
    return {**PRESETS, **CT_PRESETS} if (modality or "").upper() == "CT" else dict(PRESETS)


def study_headline(study: dict, display_name) -> str:
    """``Study: Glioma 94.9 % — evidence slices 2, 5, 8 (of 10, from 0)``."""
    if study["label"] is None:
        return f"Study: no classification — no slice looks like a brain MRI slice ({study['slices']} slices)"
    evidence = ", ".join(str(i) for i in study["evidence_slices"])
    words = (f"Study: {display_name(study['label'])} {study['confidence']:.1%} — evidence slices {evidence} "
             f"(of {study['slices']}, from 0)")
    if study.get("isolated_slices"):
        words += "; other tumour slices, to review: " + ", ".join(str(i) for i in study["isolated_slices"])
    return words


def window_words(window: dict | None) -> str:
    """A window in words: ``the file's window (center 900, width 1400)``."""
    if not window:
        return "the image as stored (no window)"
    kind = {"file": "the file's window", "voi_lut": "the file's VOI LUT", "percentile": "the 0.5–99.5 percentile window",
            "user": "the window chosen here"}.get(window.get("source"), f"a {window.get('source')} window")
    if window.get("per_slice"):
        return f"{kind}, each slice its own"
    if window.get("center") is None:
        return kind
    return f"{kind} (center {window['center']:g}, width {window['width']:g})"


class SliceBar(ttk.Frame):
    """``Slice [======o=====] slice 12 (0–23)  [Classify all slices]``; counted from 0, as ``--slice``.

    A 4-D NIfTI adds ``Volume [0 ▴▾] of 2`` (which volume is shown and classified); after "Classify
    all slices" a second row gives the study verdict and steps through its evidence slices."""

    def __init__(self, master, on_slice, on_all_slices, on_volume=None, **kwargs):
        super().__init__(master, padding=(0, 6, 0, 0), **kwargs)
        self._on_slice = on_slice
        self._on_volume = on_volume
        self.count = 1
        self.index = 0
        self.evidence: list[int] = []
        self.columnconfigure(1, weight=1)
        ttk.Label(self, text="Slice").grid(row=0, column=0, sticky="w", padx=(0, 8))
        self.scale = ttk.Scale(self, from_=0, to=1, orient="horizontal", command=self._moved)
        self.scale.grid(row=0, column=1, sticky="ew")
        self.text = tk.StringVar(self, "")
        ttk.Label(self, textvariable=self.text, width=18, anchor="e").grid(row=0, column=2, sticky="e", padx=(8, 8))
        self.volume_frame = ttk.Frame(self)
        self.volume_frame.grid(row=0, column=3, sticky="e", padx=(0, 8))
        ttk.Label(self.volume_frame, text="Volume").grid(row=0, column=0, padx=(0, 4))
        self.volume_var = tk.StringVar(self, "0")
        self.volume_box = ttk.Spinbox(self.volume_frame, textvariable=self.volume_var, from_=0, to=0, width=4,
                                      state="readonly", command=self._volume_chosen)
        self.volume_box.grid(row=0, column=1)
        self.volume_text = tk.StringVar(self, "")
        ttk.Label(self.volume_frame, textvariable=self.volume_text).grid(row=0, column=2, padx=(4, 0))
        self.volume_frame.grid_remove()  # only 4-D files have volumes to choose
        self.all_button = ttk.Button(self, text="Classify all slices…", command=on_all_slices)
        self.all_button.grid(row=0, column=4, sticky="e")
        self.study_frame = ttk.Frame(self)
        self.study_frame.grid(row=1, column=0, columnspan=5, sticky="ew", pady=(4, 0))
        self.study_frame.columnconfigure(0, weight=1)
        self.study_text = tk.StringVar(self, "")
        from gui.widgets import ElidedLabel  # a long verdict is cut with "…", the whole of it in a tooltip

        ElidedLabel(self.study_frame, textvariable=self.study_text, where="end").grid(row=0, column=0, sticky="ew")
        self.previous_evidence = ttk.Button(self.study_frame, text="◀ Evidence", command=lambda: self.jump(-1))
        self.previous_evidence.grid(row=0, column=1, padx=(8, 0))
        self.next_evidence = ttk.Button(self.study_frame, text="Evidence ▶", command=lambda: self.jump(+1))
        self.next_evidence.grid(row=0, column=2, padx=(4, 0))
        self.study_frame.grid_remove()  # until "Classify all slices" has a study verdict

    def show_volume(self, index: int | None, count: int) -> None:
        """Which volume of a 4-D file is on screen (and classified); hidden for 3-D files."""
        if index is None or count <= 1:
            self.volume_frame.grid_remove()
            return
        self.volume_box.configure(to=count - 1)
        self.volume_var.set(str(index))
        self.volume_text.set(f"of {count} (0–{count - 1})")
        self.volume_frame.grid()

    def _volume_chosen(self) -> None:
        if self._on_volume is not None:
            self._on_volume(int(self.volume_var.get()))

    def show_study(self, text: str | None, evidence=()) -> None:
        """The study verdict line and the evidence slices the arrows step through (None: hide)."""
        self.evidence = sorted(evidence)
        if not text:
            self.study_frame.grid_remove()
            return
        self.study_text.set(text)
        state = "normal" if self.evidence else "disabled"
        self.previous_evidence.configure(state=state)
        self.next_evidence.configure(state=state)
        self.study_frame.grid()

    def jump(self, direction: int) -> None:
        """To the next (+1) or previous (-1) evidence slice from the one shown, wrapping round."""
        if not self.evidence:
            return
        later = [i for i in self.evidence if (i > self.index if direction > 0 else i < self.index)]
        target = (min(later) if direction > 0 else max(later)) if later else \
            (self.evidence[0] if direction > 0 else self.evidence[-1])
        self._on_slice(target)

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
    """Center and width entries, presets (by modality), Apply and Reset, and which window the
    classifier sees: the scan's default one (display only), unless "Classify the displayed window"."""

    def __init__(self, master, on_window, on_classify_shown=None, **kwargs):
        super().__init__(master, text="Window / level", padding=8, **kwargs)
        self._on_window = on_window
        self.presets = dict(PRESETS)
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
        self.preset_box.bind("<<ComboboxSelected>>", lambda _e: self._on_window(self.presets[self.preset.get()]))
        self.classify_shown = tk.BooleanVar(self, False)
        self.classify_shown_button = ttk.Checkbutton(self, text=CLASSIFY_SHOWN_TEXT, variable=self.classify_shown,
                                                     command=on_classify_shown or (lambda: None))
        self.classify_shown_button.grid(row=3, column=0, columnspan=3, sticky="w", pady=(4, 0))
        self.source_label = ttk.Label(self, textvariable=self.source, style="Warning.TLabel", wraplength=260)
        self.source_label.grid(row=4, column=0, columnspan=3, sticky="w", pady=(4, 0))
        self.bind("<Configure>", lambda e: self.source_label.configure(wraplength=max(150, e.width - 24)))

    def set_modality(self, modality: str | None) -> None:
        """Offer the presets of this modality (CT windows only for CT); back to the file's window."""
        self.presets = presets_for(modality)
        self.preset_box.configure(values=list(self.presets))
        if self.preset.get() not in self.presets:
            self.preset.set(FILE_PRESET)

    def show(self, window: dict, model_window: dict | None = None) -> None:
        """Fill in the window of the slice on screen (``LoadedScan.shown.info["window"]``) and say
        which one the classifier sees (``model_window``; ``None``: the same one)."""
        center, width = window.get("center"), window.get("width")
        self.center.set("" if center is None else f"{center:g}")
        self.width.set("" if width is None else f"{width:g}")
        if self.classify_shown.get():
            self.source.set(f"{SEES_TEXT}: {window_words(window)}, as asked.")
        else:
            self.source.set(f"{DISPLAY_ONLY_TEXT} {window_words(model_window or window)}.")

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
