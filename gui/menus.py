"""The menu bar. Every item calls a controller of the App (or the App itself: Quit) or shares one of its
Tk variables."""

from __future__ import annotations

import os
import tkinter as tk

from gui.controls import METHODS


class MenuBar:
    def __init__(self, app, colormaps):
        self.app = app
        root = app.root
        self.bar = tk.Menu(root, tearoff=False)
        self.file = tk.Menu(self.bar, tearoff=False)
        self.recent = tk.Menu(self.file, tearoff=False, postcommand=self.rebuild_recent)
        self.file.add_command(label="Open scan…", accelerator="Ctrl+O", command=app.scans.open_scan_dialog)
        # A folder of DICOM files (or a DICOMDIR): its series, each as one volume (a chooser if several).
        self.file.add_command(label="Open folder…", command=app.scans.open_folder_dialog)
        self.file.add_cascade(label="Open recent", menu=self.recent)
        self.file.add_command(label="Save overlay image…", accelerator="Ctrl+S", command=app.reports.save_overlay)
        self.save_index = self.file.index("end")
        self.file.add_command(label="Export report…", command=app.reports.export_report)
        self.report_index = self.file.index("end")
        self.file.add_separator()
        self.file.add_command(label="Classify folder…", command=app.batch.classify_folder_dialog)
        self.folder_index = self.file.index("end")
        self.file.add_separator()
        self.file.add_command(label="Quit", accelerator="Ctrl+Q", command=app.close)

        view = tk.Menu(self.bar, tearoff=False)
        for value, label in METHODS:
            view.add_radiobutton(label=label, value=value, variable=app.vars.method)
        view.add_command(label="Next heatmap method", accelerator="G", command=app.analyses.toggle_method)
        view.add_separator()
        view.add_command(label="More opacity", accelerator="+", command=lambda: app.analyses.adjust_opacity(+1))
        view.add_command(label="Less opacity", accelerator="-", command=lambda: app.analyses.adjust_opacity(-1))
        colormap_menu = tk.Menu(view, tearoff=False)
        for name in colormaps:
            colormap_menu.add_radiobutton(label=name, value=name, variable=app.vars.colormap)
        view.add_cascade(label="Colour map", menu=colormap_menu)
        view.add_separator()
        view.add_checkbutton(label="Side by side", variable=app.vars.side_by_side)
        view.add_separator()
        view.add_command(label="Fit to window", accelerator="= / Space", command=app.scans.fit_view)
        view.add_command(label="Invert display", accelerator="I", command=app.scans.invert_display)
        view.add_separator()
        view.add_command(label="Previous slice", accelerator="←", command=lambda: app.scans.step_slice(-1))
        view.add_command(label="Next slice", accelerator="→", command=lambda: app.scans.step_slice(+1))
        view.add_command(label="Classify all slices…", command=app.volumes.classify_all_slices)
        self.slice_indices = [view.index("end") - 2, view.index("end") - 1, view.index("end")]
        self.presets = tk.Menu(view, tearoff=False, postcommand=self.rebuild_presets)
        view.add_cascade(label="Window preset", menu=self.presets)
        view.add_command(label="Reset window", accelerator="R", command=app.volumes.reset_window)
        self.window_indices = [view.index("end") - 1, view.index("end")]

        model = tk.Menu(self.bar, tearoff=False)
        model.add_command(label="Open model…", command=app.models.open_model_dialog)
        model.add_command(label="Model information", command=app.models.show_model_info)

        help_menu = tk.Menu(self.bar, tearoff=False)
        help_menu.add_command(label="Keyboard shortcuts", accelerator="F1", command=app.windows.shortcuts)
        help_menu.add_command(label="Heatmaps: colours and methods", command=app.windows.heatmaps)
        help_menu.add_command(label="Disclaimer", command=app.windows.disclaimer)
        help_menu.add_command(label="About", command=app.windows.about)

        for label, menu in (("File", self.file), ("View", view), ("Model", model), ("Help", help_menu)):
            self.bar.add_cascade(label=label, menu=menu)
        self.view, self.model, self.help = view, model, help_menu
        root.configure(menu=self.bar)
        self.rebuild_recent()

    def rebuild_recent(self) -> None:
        """Refill "Open recent" each time it opens, so it always shows the saved list."""
        self.recent.delete(0, "end")
        paths = self.app.recent.paths
        for path in paths:
            # The folder name disambiguates same-named scans from different classes.
            label = os.path.join(os.path.basename(os.path.dirname(path)), os.path.basename(path))
            self.recent.add_command(label=label, command=lambda p=path: self.app.scans.open_scan(p))
        if paths:
            self.recent.add_separator()
            self.recent.add_command(label="Clear list", command=self.app.recent.clear)
        else:
            self.recent.add_command(label="(none yet)", state="disabled")

    def set_save_enabled(self, enabled: bool) -> None:
        self.file.entryconfigure(self.save_index, state="normal" if enabled else "disabled")

    def set_report_enabled(self, enabled: bool) -> None:
        self.file.entryconfigure(self.report_index, state="normal" if enabled else "disabled")

    def set_model_enabled(self, enabled: bool) -> None:
        self.file.entryconfigure(self.folder_index, state="normal" if enabled else "disabled")

    def rebuild_presets(self) -> None:
        """The scan's own preset list (CT has more), numbered as keys 1-5 choose them."""
        from gui.volumepanel import PRESETS

        self.presets.delete(0, "end")
        names = list(getattr(self.app.window_panel, "presets", PRESETS))
        for number, name in enumerate(names, start=1):
            self.presets.add_command(label=name, accelerator=str(number) if number <= 5 else "",
                                     command=lambda n=number: self.app.volumes.apply_preset(n))

    def set_scan_state(self, slices: bool, windowed: bool) -> None:
        """Slice items only for multi-slice scans, window items only for DICOM/NIfTI (never for a JPEG)."""
        for index in self.slice_indices:
            self.view.entryconfigure(index, state="normal" if slices else "disabled")
        for index in self.window_indices:
            self.view.entryconfigure(index, state="normal" if windowed else "disabled")
