"""Per-slice class probabilities of a volume, plotted so the slices with a lesion stand out.

A bare matplotlib ``Figure`` in a ``FigureCanvasTkAgg`` (never pyplot, so no
global backend state), in the window's dark colours. Slices are numbered from
0, as the slice bar, ``--slice`` and the JSON ``"slice"`` number them.
Clicking the plot jumps the main window to that slice. Imported only when the
window is first asked for: matplotlib stays out of start-up.
"""

from __future__ import annotations

import tkinter as tk
from tkinter import ttk

from matplotlib.backends.backend_tkagg import FigureCanvasTkAgg
from matplotlib.figure import Figure

from gui import theme
from gui.texts import DISCLAIMER_SHORT
from gui.volumepanel import study_headline

LINE_COLOURS = ("#4c9aff", "#f5b84d", "#6cc28a", "#e86fb5", "#b39ddb", "#4dd0e1")


class SlicePlotWindow(tk.Toplevel):
    """``study``: the volume's study record (``gui.jobs.SliceResults.study``): its verdict is shown
    above the plot, its evidence slices shaded, and the buttons step through them."""

    def __init__(self, parent, title: str, predictions, classes, display_name, current: int, on_pick,
                 study: dict | None = None):
        super().__init__(parent)
        self.study = study
        self.current = current
        self.transient(parent)
        self.title(f"Every slice — {title}")
        self.configure(background=theme.BG)
        scale = theme.scale_factor(self)
        self.geometry(f"{round(760 * scale)}x{round(460 * scale)}")
        self.predictions = predictions
        self._on_pick = on_pick
        # Packed first, at the bottom: the disclaimer keeps its line whatever the window's size.
        ttk.Label(self, text=f"{DISCLAIMER_SHORT} Click the plot to show that slice in the main window.",
                  style="Muted.TLabel", padding=theme.px(self, 6)).pack(side="bottom", fill="x")
        self.verdict_var = tk.StringVar(self, "")
        self.evidence = sorted(study["evidence_slices"]) if study else []
        if study is not None:  # the study verdict above the per-slice plot
            header = ttk.Frame(self, padding=(theme.px(self, 8), theme.px(self, 6)))
            header.pack(side="top", fill="x")
            header.columnconfigure(0, weight=1)
            self.verdict_var.set(study_headline(study, display_name))
            ttk.Label(header, textvariable=self.verdict_var, style="Title.TLabel", wraplength=theme.px(self, 520)).grid(
                row=0, column=0, sticky="w")
            state = "normal" if self.evidence else "disabled"
            self.previous_button = ttk.Button(header, text="◀ Evidence", state=state, command=lambda: self.jump(-1))
            self.previous_button.grid(row=0, column=1, padx=(theme.px(self, 8), 0))
            self.next_button = ttk.Button(header, text="Evidence ▶", state=state, command=lambda: self.jump(+1))
            self.next_button.grid(row=0, column=2, padx=(theme.px(self, 4), 0))
        figure = Figure(figsize=(7.4, 3.9), dpi=round(96 * scale), layout="constrained", facecolor=theme.BG)
        self.axes = axes = figure.add_subplot(facecolor=theme.PANEL)
        x = list(range(len(predictions)))  # counted from 0, as everywhere else
        for colour, name in zip(LINE_COLOURS * 2, classes):
            axes.plot(x, [p.probabilities[name] for p in predictions], marker="o", markersize=3, color=colour,
                      label=display_name(name))
        axes.set_xlabel("slice (counted from 0, as --slice)", color=theme.TEXT)
        axes.set_ylabel("probability", color=theme.TEXT)
        axes.set_ylim(0, 1)
        axes.set_xlim(-0.5, len(predictions) - 0.5)
        axes.grid(alpha=0.25, color=theme.MUTED)
        axes.tick_params(colors=theme.MUTED)
        for spine in axes.spines.values():
            spine.set_color(theme.BORDER)
        legend = axes.legend(loc="upper right", fontsize=8, facecolor=theme.FIELD, edgecolor=theme.BORDER)
        for text in legend.get_texts():
            text.set_color(theme.TEXT)
        axes.set_title("Classifier output per slice", fontsize=10, color=theme.TEXT)
        for i in self.evidence:  # the slices the study verdict rests on
            axes.axvspan(i - 0.4, i + 0.4, color=theme.ACCENT, alpha=0.18, linewidth=0)
        for i in (study or {}).get("isolated_slices", []):  # tumour-looking slices the verdict does not count
            axes.axvspan(i - 0.4, i + 0.4, color=theme.WARNING, alpha=0.18, linewidth=0)
        self.marker = axes.axvline(current, color=theme.TEXT, linestyle="--", linewidth=1)
        self.canvas = FigureCanvasTkAgg(figure, master=self)
        widget = self.canvas.get_tk_widget()
        widget.configure(background=theme.BG, highlightthickness=0)
        widget.pack(side="top", fill="both", expand=True)
        self.canvas.mpl_connect("button_press_event", self._clicked)
        self.canvas.draw()
        self.bind("<Escape>", lambda _e: self.destroy())

    def mark(self, index: int) -> None:
        self.current = index
        self.marker.set_xdata([index, index])
        self.canvas.draw_idle()

    def jump(self, direction: int) -> None:
        """Show the next (+1) or previous (-1) evidence slice in the main window, wrapping round."""
        if not self.evidence:
            return
        later = [i for i in self.evidence if (i > self.current if direction > 0 else i < self.current)]
        target = (min(later) if direction > 0 else max(later)) if later else \
            (self.evidence[0] if direction > 0 else self.evidence[-1])
        self._on_pick(target)

    def _clicked(self, event) -> None:
        if event.inaxes is self.axes and event.xdata is not None:
            index = int(round(event.xdata))
            if 0 <= index < len(self.predictions):
                self._on_pick(index)
