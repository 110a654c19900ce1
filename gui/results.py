"""The results panel: predicted class in words, calibrated confidence, one bar per class, warnings."""

from __future__ import annotations

import tkinter as tk
from tkinter import font as tkfont
from tkinter import ttk

from gui import theme

LOW_CONFIDENCE_TEXT = "Low confidence: review by a specialist"
UNTRAINED_TEXT = "Untrained placeholder model: its predictions mean nothing"
# Shown in place of a class where the scan is not a brain MRI slice at all (core.ood abstains).
NOT_MRI_HEADLINE = "Not a brain MRI slice — no classification"
MODEL_WINDOW_ROW = 40  # below any number of class bars (they start at row 4)


class ResultsPanel(ttk.LabelFrame):
    def __init__(self, master, **kwargs):
        super().__init__(master, text="Result", padding=theme.px(master, 10), **kwargs)
        self.columnconfigure(1, weight=1)
        base = tkfont.nametofont("TkDefaultFont")
        size = max(14, base.actual("size") + 6)
        self._big = tkfont.Font(self, family=base.actual("family"), size=size, weight="bold")
        line = base.metrics("linespace")

        self.class_var = tk.StringVar(value="—")
        self.confidence_var = tk.StringVar(value="")
        self.warning_var = tk.StringVar(value="")
        self.notice_var = tk.StringVar(value="")

        # Headline, confidence and warnings wrap at the panel's width (never widen it, never clip).
        self.class_label = ttk.Label(self, textvariable=self.class_var, font=self._big, wraplength=theme.px(self, 270))
        self.class_label.grid(row=0, column=0, columnspan=3, sticky="w")
        self.confidence_label = ttk.Label(self, textvariable=self.confidence_var, style="Muted.TLabel",
                                          wraplength=theme.px(self, 270))
        self.confidence_label.grid(row=1, column=0, columnspan=3, sticky="w")
        # Warnings take their own rows and wrap, so a narrow window never clips them. The first row
        # keeps room for two lines even when empty, so the controls below do not jump when one appears.
        self.rowconfigure(2, minsize=2 * line + theme.px(self, 6))
        self.warning_label = ttk.Label(self, textvariable=self.warning_var, style="Warning.TLabel",
                                       wraplength=theme.px(self, 260))
        self.warning_label.grid(row=2, column=0, columnspan=3, sticky="nw", pady=(theme.px(self, 4), 0))
        self.notice_label = ttk.Label(self, textvariable=self.notice_var, style="Warning.TLabel",
                                      wraplength=theme.px(self, 260))
        self.notice_label.grid(row=3, column=0, columnspan=3, sticky="w")
        # An empty notice takes no room: grid keeps its place, shown again when it has text.
        for var, label in ((self.warning_var, self.warning_label), (self.notice_var, self.notice_label)):
            var.trace_add("write", lambda *_, v=var, w=label: w.grid() if v.get() else w.grid_remove())
            label.grid_remove()
        self.bind("<Configure>", self._rewrap)
        self._bars: dict[str, tuple[ttk.Progressbar, tk.StringVar]] = {}
        self._bar_widgets: list[tk.Widget] = []
        # Which window the classifier's input had (DICOM, NIfTI): below the bars, empty for other images.
        self.model_window_var = tk.StringVar(value="")
        self.model_window_label = ttk.Label(self, textvariable=self.model_window_var, style="Muted.TLabel",
                                            wraplength=theme.px(self, 260))
        self.model_window_label.grid(row=MODEL_WINDOW_ROW, column=0, columnspan=3, sticky="w",
                                     pady=(theme.px(self, 4), 0))
        self.model_window_var.trace_add("write", lambda *_: self.model_window_label.grid()
                                        if self.model_window_var.get() else self.model_window_label.grid_remove())
        self.model_window_label.grid_remove()

    def show_model_window(self, text: str | None) -> None:
        """``Model input: the file's window (center 900, width 1400)``; None or "" hides the line."""
        self.model_window_var.set(text or "")

    def _rewrap(self, event) -> None:
        for label in (self.class_label, self.confidence_label, self.warning_label, self.notice_label):
            label.configure(wraplength=max(150, event.width - theme.px(self, 28)))

    def set_classes(self, classes, display_name) -> None:
        """One labelled bar per class, in the model's order."""
        for widget in self._bar_widgets:
            widget.destroy()
        self._bars, self._bar_widgets = {}, []
        for row, name in enumerate(classes, start=4):
            label = ttk.Label(self, text=display_name(name))
            bar = ttk.Progressbar(
                self, orient="horizontal", mode="determinate", maximum=100, length=theme.px(self, 120),
                style="Probability.Horizontal.TProgressbar",
            )
            value = tk.StringVar(value="")
            number = ttk.Label(self, textvariable=value, width=7, anchor="e")
            label.grid(row=row, column=0, sticky="w", padx=(0, theme.px(self, 10)), pady=theme.px(self, 2))
            bar.grid(row=row, column=1, sticky="ew", pady=theme.px(self, 2))
            number.grid(row=row, column=2, sticky="e")
            self._bars[name] = (bar, value)
            self._bar_widgets += [label, bar, number]

    def set_untrained(self, untrained: bool) -> None:
        self.notice_var.set(UNTRAINED_TEXT if untrained else "")

    def show_message(self, text: str) -> None:
        """No prediction to show (no scan yet, analysing, preview only)."""
        self.class_var.set(text)
        self.confidence_var.set("")
        self.warning_var.set("")
        for bar, value in self._bars.values():
            bar["value"] = 0
            value.set("")

    def show_prediction(self, prediction, display_name, threshold: float, ood_warning: str | None = None,
                        abstain: bool = False) -> None:
        if abstain:
            self.class_var.set(NOT_MRI_HEADLINE)
            self.confidence_var.set("The model's scores are shown below, but they mean nothing for this image")
        else:
            self.class_var.set(display_name(prediction.label))
            self.confidence_var.set(f"Confidence {prediction.confidence:.1%} (calibrated)")
        if ood_warning:  # says more than low confidence: the answer itself is not meaningful
            self.warning_var.set(ood_warning[0].upper() + ood_warning[1:] + ".")
        else:
            self.warning_var.set(
                f"{LOW_CONFIDENCE_TEXT} (below {threshold:.0%})" if prediction.low_confidence else ""
            )
        for name, (bar, value) in self._bars.items():
            probability = float(prediction.probabilities.get(name, 0.0))
            bar["value"] = probability * 100
            value.set(f"{probability:.1%}")

    def bar_values(self) -> dict[str, float]:
        return {name: float(bar["value"]) for name, (bar, _) in self._bars.items()}
