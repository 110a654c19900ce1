"""Per-slice class probabilities of a volume, plotted so the slices with a lesion stand out.

A bare matplotlib ``Figure`` in a ``FigureCanvasTkAgg`` (never pyplot, so no
global backend state). Clicking the plot jumps the main window to that slice.
Imported only when the window is first asked for: matplotlib stays out of start-up.
"""

from __future__ import annotations

import tkinter as tk
from tkinter import ttk

from matplotlib.backends.backend_tkagg import FigureCanvasTkAgg
from matplotlib.figure import Figure


class SlicePlotWindow(tk.Toplevel):
    def __init__(self, parent, title: str, predictions, classes, display_name, current: int, on_pick):
        super().__init__(parent)
        self.title(f"Every slice — {title}")
        self.geometry("760x440")
        self.predictions = predictions
        self._on_pick = on_pick
        figure = Figure(figsize=(7.4, 3.9), dpi=100, layout="constrained")
        self.axes = axes = figure.add_subplot()
        x = [i + 1 for i in range(len(predictions))]  # slices counted from 1, as the slice bar shows them
        for name in classes:
            axes.plot(x, [p.probabilities[name] for p in predictions], marker="o", markersize=3,
                      label=display_name(name))
        axes.set_xlabel("slice (click to show it)")
        axes.set_ylabel("probability")
        axes.set_ylim(0, 1)
        axes.set_xlim(0.5, len(predictions) + 0.5)
        axes.grid(alpha=0.3)
        axes.legend(loc="upper right", fontsize=8)
        axes.set_title("Classifier output per slice, with the window shown in the main window", fontsize=10)
        self.marker = axes.axvline(current + 1, color="#333333", linestyle="--", linewidth=1)
        self.canvas = FigureCanvasTkAgg(figure, master=self)
        self.canvas.get_tk_widget().pack(fill="both", expand=True)
        self.canvas.mpl_connect("button_press_event", self._clicked)
        ttk.Label(self, text="Research and education only — not a diagnosis.", padding=4).pack(anchor="w")
        self.canvas.draw()
        self.bind("<Escape>", lambda _e: self.destroy())

    def mark(self, index: int) -> None:
        self.marker.set_xdata([index + 1, index + 1])
        self.canvas.draw_idle()

    def _clicked(self, event) -> None:
        if event.inaxes is self.axes and event.xdata is not None:
            index = int(round(event.xdata)) - 1
            if 0 <= index < len(self.predictions):
                self._on_pick(index)
