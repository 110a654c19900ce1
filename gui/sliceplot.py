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

LINE_COLOURS = ("#4c9aff", "#f5b84d", "#6cc28a", "#e86fb5", "#b39ddb", "#4dd0e1")


class SlicePlotWindow(tk.Toplevel):
    def __init__(self, parent, title: str, predictions, classes, display_name, current: int, on_pick):
        super().__init__(parent)
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
        self.marker = axes.axvline(current, color=theme.TEXT, linestyle="--", linewidth=1)
        self.canvas = FigureCanvasTkAgg(figure, master=self)
        widget = self.canvas.get_tk_widget()
        widget.configure(background=theme.BG, highlightthickness=0)
        widget.pack(side="top", fill="both", expand=True)
        self.canvas.mpl_connect("button_press_event", self._clicked)
        self.canvas.draw()
        self.bind("<Escape>", lambda _e: self.destroy())

    def mark(self, index: int) -> None:
        self.marker.set_xdata([index, index])
        self.canvas.draw_idle()

    def _clicked(self, event) -> None:
        if event.inaxes is self.axes and event.xdata is not None:
            index = int(round(event.xdata))
            if 0 <= index < len(self.predictions):
                self._on_pick(index)
