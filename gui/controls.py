"""The explanation controls: CAM method, opacity, colour map, class to explain, layout switch.

The Tk variables belong to the app (menus and keys share them); this panel
only lays out widgets bound to them.
"""

from __future__ import annotations

import tkinter as tk
from dataclasses import dataclass
from tkinter import ttk

from gui import theme

# Integrated Gradients is computed when first shown (a 32-step pass); the CAMs come with every analysis.
# LayerCAM first: the localisation benchmark's choice for the bundled model (docs/localisation.md).
METHODS = (("layercam", "LayerCAM"), ("gradcam", "Grad-CAM"), ("gradcam++", "Grad-CAM++"), ("ig", "Integrated Gradients"))
CAM_CYCLE = tuple(value for value, _ in METHODS if value != "ig")  # what G steps through: the CAMs
METHOD_NAMES = dict(METHODS)
PREDICTED = "Predicted class"


@dataclass
class ViewVars:
    """State shared by the controls panel, the View menu and the keyboard."""

    method: tk.StringVar
    opacity: tk.DoubleVar
    colormap: tk.StringVar
    target: tk.StringVar
    side_by_side: tk.BooleanVar


class ControlsPanel(ttk.LabelFrame):
    def __init__(self, master, app_vars, colormaps, on_target, **kwargs):
        super().__init__(master, text="Explanation", padding=theme.px(master, 10), **kwargs)
        self.columnconfigure(1, weight=1)
        gap, row_gap = theme.px(self, 12), theme.px(self, 3)

        def label(text, row, sticky="w"):  # every label the same gap from its control (none touches its drop-down)
            ttk.Label(self, text=text).grid(row=row, column=0, sticky=sticky, padx=(0, gap), pady=row_gap)

        label("Method", 0, sticky="nw")
        method_row = ttk.Frame(self)
        method_row.grid(row=0, column=1, columnspan=2, sticky="w")
        self.method_buttons = [
            ttk.Radiobutton(method_row, text=text, value=value, variable=app_vars.method)
            for value, text in METHODS
        ]
        # One per row: however many methods there are, they never widen (or get clipped by) the panel.
        for at, button in enumerate(self.method_buttons):
            button.grid(row=at, column=0, sticky="w")

        label("Opacity", 1)
        self.opacity_scale = ttk.Scale(self, from_=0.0, to=1.0, variable=app_vars.opacity, orient="horizontal")
        self.opacity_scale.grid(row=1, column=1, sticky="ew", pady=row_gap)
        self.opacity_text = tk.StringVar()
        ttk.Label(self, textvariable=self.opacity_text, width=5, anchor="e").grid(
            row=1, column=2, sticky="e", padx=(theme.px(self, 6), 0))
        app_vars.opacity.trace_add("write", lambda *_: self._show_opacity(app_vars.opacity))
        self._show_opacity(app_vars.opacity)

        label("Colour map", 2)
        self.colormap_box = ttk.Combobox(
            self, textvariable=app_vars.colormap, values=list(colormaps), state="readonly", width=12
        )
        self.colormap_box.grid(row=2, column=1, columnspan=2, sticky="ew", pady=row_gap)

        label("Explain class", 3)
        self.target_box = ttk.Combobox(
            self, textvariable=app_vars.target, values=[PREDICTED], state="readonly", width=16
        )
        self.target_box.grid(row=3, column=1, columnspan=2, sticky="ew", pady=row_gap)
        self.target_box.bind("<<ComboboxSelected>>", lambda _e: on_target())

        self.layout_check = ttk.Checkbutton(self, text="Side by side (scan | overlay)", variable=app_vars.side_by_side)
        self.layout_check.grid(row=4, column=0, columnspan=3, sticky="w", pady=(theme.px(self, 8), 0))

    def _show_opacity(self, var) -> None:
        try:
            self.opacity_text.set(f"{float(var.get()):.0%}")
        except (tk.TclError, ValueError):
            pass

    def set_target_choices(self, display_names) -> None:
        self.target_box.configure(values=[PREDICTED, *display_names])

    def set_state(self, cam_ready: bool, can_retarget: bool) -> None:
        cam = ["!disabled"] if cam_ready else ["disabled"]
        for widget in (*self.method_buttons, self.opacity_scale):
            widget.state(cam)
        self.colormap_box.state(["readonly", "!disabled"] if cam_ready else ["disabled"])
        self.target_box.state(["readonly", "!disabled"] if can_retarget else ["disabled"])
