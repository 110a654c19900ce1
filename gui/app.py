"""The main window's composition root: builds the panels, creates one controller per concern
and wires them together; it holds no logic of its own.

    App ──▶ ScanController (gui.scan_controller: open, read, show a scan; invert, fit, pointer, right drag)
        ──▶ ModelController (gui.model_controller: load the model, Model information)
        ──▶ ReportController (gui.report_controller: Save overlay image, Export report)
        ──▶ BatchController (gui.batch_controller: File ▸ Classify folder)
        ──▶ VolumeController (gui.volume_controller: slices, series, window/level, Classify all slices)
        ──▶ AnalysisController (gui.analysis_controller: prediction, heatmap, colour bar, class to explain)
        ──▶ SettingsController (gui.settings_controller: what is remembered, where dialogs start)

Calls go down this list, never back up: a lower controller that must open a scan or show a slice
gets a callback from here. Each controller paints only its own widgets. What is on screen
(``model``, ``loaded``, ``analysis``, ``overlay_image``) lives here, read by all.

Only this thread touches widgets. Workers return results on queues that ``gui.worker.Jobs``
drains every few milliseconds with ``after()`` (the Thonny pattern).
"""

from __future__ import annotations

import os
import sys
import tkinter as tk
from tkinter import ttk

from core.paths import resource_path
from core.version import APP_NAME, __version__
from gradcam.overlay import COLORMAPS
from gui import jobs, keys, theme
from gui.analysis_controller import AnalysisController
from gui.batch_controller import BatchController, FolderRun  # noqa: F401 (FolderRun: importable here too)
from gui.canvas import ImageCanvas, ViewState
from gui.colorbar import ColorBar
from gui.controls import ControlsPanel
from gui.dialogs import FileDialogs
from gui.dnd import enable_file_drop
from gui.menus import MenuBar
from gui.model_controller import ModelController
from gui.recent import RecentFiles
from gui.report_controller import ReportController
from gui.results import ResultsPanel
from gui.scan_controller import ScanController
from gui.settings import Settings
from gui.settings_controller import SettingsController
from gui.statusbar import DisclaimerBar, MessageBar, StatusBar
from gui.volume_controller import VolumeController
from gui.volumepanel import SliceBar, WindowPanel
from gui.widgets import ElidedLabel, ScrollFrame
from gui.windows import Windows
from gui.worker import Jobs

MIN_SIZE = (960, 620)
START_SIZE = (1240, 780)


class App:
    def __init__(self, root: tk.Tk, model_path: str | None = None, dialogs=None, recent: RecentFiles | None = None,
                 settings: Settings | None = None):
        self.root = root
        self.dialogs = dialogs or FileDialogs(root)
        self.recent = recent or RecentFiles()
        self.settings = settings or Settings()  # the user's config folder, never next to the scans
        self.windows = Windows(root)  # one secondary window per kind
        # What is on screen, shared by the controllers (each writes only its own part).
        self.model: jobs.LoadedModel | None = None  # ModelController
        self.model_error: str | None = None  # ModelController
        self.loaded: jobs.LoadedScan | None = None  # ScanController: the scan on screen
        self.inverted = False  # ScanController: "I", grey levels inverted on screen only
        self.analysis: jobs.Analysis | None = None  # AnalysisController: the explanation of that scan
        self.overlay_image = None  # AnalysisController: full-resolution RGB of the heatmap canvas (what Save writes)
        self._closed = False

        # One controller per concern, top to bottom (a controller calls only those below it).
        self.scans = ScanController(self)
        self.models = ModelController(self)
        self.reports = ReportController(self)
        self.batch = BatchController(self, open_scan=self.open_scan)
        self.volumes = VolumeController(self, open_scan=self.open_scan, show_slice=self.scans.set_slice)
        self.analyses = AnalysisController(self)
        self.prefs = SettingsController(root, self.settings)

        self._setup_root()
        self.colormaps = list(COLORMAPS)
        self.vars = self.prefs.view_vars(self.colormaps)
        self._build()
        # Two workers (TensorFlow; files), polled on this thread; each result to its controller.
        self.jobs = Jobs(root, jobs.EXPECTED_ERRORS, on_busy=self.status.set_busy)
        for controller in (self.scans, self.models, self.reports, self.batch, self.volumes, self.analyses):
            self.jobs.handlers.update(controller.handlers())
        self.menus = MenuBar(self, self.colormaps)
        self._bind_keys()
        self.analyses.watch(self.vars)
        self.vars.side_by_side.trace_add("write", lambda *_: self._apply_layout())
        self.drop_enabled = enable_file_drop(root, [self.scan_canvas, self.heatmap_canvas],
                                             self.scans.on_dropped_paths)
        root.protocol("WM_DELETE_WINDOW", self.close)
        self.refresh_states()
        self.models.load_model(model_path)

    # ----- window assembly -------------------------------------------------

    def _setup_root(self) -> None:
        root = self.root
        root.title(f"{APP_NAME} {__version__}")
        icon = resource_path("gui", "assets", "icon.png")
        if os.path.exists(icon):  # same path from source and from the frozen bundle
            self._icon = tk.PhotoImage(master=root, file=icon)
            root.iconphoto(True, self._icon)
        # The dark viewer theme (gui/theme.py); sizes follow the display's scaling (100 %, 150 %, ...).
        self.theme = theme.apply(root)
        min_w, min_h = (self.theme.px(v) for v in MIN_SIZE)
        root.minsize(min(min_w, root.winfo_screenwidth()), min(min_h, root.winfo_screenheight()))
        # Start large but inside the screen (leave room for panels and the menu bar).
        width = min(self.theme.px(START_SIZE[0]), root.winfo_screenwidth() - 40)
        height = min(self.theme.px(START_SIZE[1]), root.winfo_screenheight() - 90)
        root.geometry(f"{max(width, min(min_w, root.winfo_screenwidth()))}x"
                      f"{max(height, min(min_h, root.winfo_screenheight()))}")

    def _build(self) -> None:
        root = self.root
        root.columnconfigure(0, weight=1)
        root.rowconfigure(0, weight=1)
        px = self.theme.px
        body = ttk.Frame(root, padding=(px(10), px(10), px(10), 0))
        body.grid(row=0, column=0, sticky="nsew")
        body.columnconfigure(0, weight=1)
        body.rowconfigure(0, weight=1)

        self.view = ttk.Frame(body)
        self.view.grid(row=0, column=0, sticky="nsew")
        self.view.rowconfigure(1, weight=1)
        self.scan_title = tk.StringVar(root, "Scan")
        self.heatmap_title = tk.StringVar(root, "Heatmap")
        self.scan_pane = self._pane(self.view, 0, self.scan_title)
        self.heatmap_pane = self._pane(self.view, 1, self.heatmap_title)
        # One view (zoom, pan) for both images: scan and overlay always show the same region.
        self.view_state = ViewState()
        self.scan_canvas = ImageCanvas(self.scan_pane, placeholder="Open a scan: File ▸ Open scan… (Ctrl+O)",
                                       view=self.view_state, on_pointer=self.scans.on_pointer,
                                       on_right_drag=self.scans.on_right_drag)
        self.heatmap_canvas = ImageCanvas(self.heatmap_pane, placeholder="The heatmap appears here",
                                          view=self.view_state, on_pointer=self.scans.on_pointer,
                                          on_right_drag=self.scans.on_right_drag)
        for canvas in (self.scan_canvas, self.heatmap_canvas):
            canvas.grid(row=1, column=0, sticky="nsew")
        # The heatmap's colour bar (gui/colorbar.py) goes in this slot, a column of its own outside the two
        # equal image columns, so both images keep the same size with or without it.
        self.colorbar_slot = ttk.Frame(self.view)
        self.colorbar_slot.grid(row=1, column=2, sticky="ns", padx=(px(6), 0))
        self.colorbar = ColorBar(self.colorbar_slot)
        self.colorbar.pack(fill="y", expand=True)
        self._apply_layout()
        self.slice_bar = SliceBar(body, on_slice=self.scans.set_slice, on_all_slices=self.volumes.classify_all_slices,
                                  on_volume=self.volumes.set_volume)
        self.slice_bar.grid(row=1, column=0, sticky="ew")
        self.slice_bar.grid_remove()  # single images have no slices to move through

        side_width = px(336)
        # A fixed width (no text or control in it ever resizes the images), the body's full height (beside
        # the slice bar too), and a scroll bar only when its panels are taller than that (150 %, short window).
        self.side_panel = ScrollFrame(body, width=side_width - px(12), padding=(px(12), 0, 0, 0))
        self.side_panel.grid(row=0, column=1, rowspan=10, sticky="ns")
        side = self.side_panel.inner
        body.columnconfigure(1, minsize=side_width)
        self.results = ResultsPanel(side)
        self.results.grid(row=0, column=0, sticky="new")
        side.columnconfigure(0, weight=1)
        self.controls = ControlsPanel(side, self.vars, self.colormaps, on_target=self.analyses.on_target_selected)
        self.controls.grid(row=1, column=0, sticky="new", pady=(px(10), 0))
        self.window_panel = WindowPanel(side, on_window=self.volumes.set_window,
                                        on_classify_shown=self.volumes.classify_shown_changed)
        self.window_panel.grid(row=2, column=0, sticky="new", pady=(px(10), 0))
        self.window_panel.grid_remove()  # only DICOM/NIfTI scans are windowed
        self.results.show_message("Loading model…")

        self.message = MessageBar(root)
        self.message.grid(row=1, column=0, sticky="ew")
        DisclaimerBar(root).grid(row=2, column=0, sticky="ew")
        self.status = StatusBar(root)
        self.status.grid(row=3, column=0, sticky="ew")

    def _pane(self, parent, column: int, title_var) -> ttk.Frame:
        # The same padding on both panes (half the gap each), so the two equal columns hold equal images.
        gap = self.theme.px(4)
        pane = ttk.Frame(parent, padding=(0 if column == 0 else gap, 0, gap if column == 0 else 0, 0))
        pane.grid(row=0, column=column, rowspan=2, sticky="nsew")
        pane.rowconfigure(1, weight=1)
        pane.columnconfigure(0, weight=1)
        # A long file name is elided in the middle (full name in a tooltip) and never widens the pane.
        title = ElidedLabel(pane, textvariable=title_var, style="Title.TLabel")
        title.grid(row=0, column=0, sticky="ew", pady=(0, self.theme.px(5)))
        pane.title_label = title
        return pane

    def _apply_layout(self) -> None:
        """Side by side: scan | overlay, equal halves. Overlay only: the overlay takes the width."""
        if self.vars.side_by_side.get():
            self.scan_pane.grid()
            self.view.columnconfigure(0, weight=1, uniform="half")
            self.view.columnconfigure(1, weight=1, uniform="half")
        else:
            self.scan_pane.grid_remove()
            self.view.columnconfigure(0, weight=0, uniform="")
            self.view.columnconfigure(1, weight=1, uniform="")

    def _bind_keys(self) -> None:
        """Every shortcut, whatever widget of the main window has the focus (rules in gui/keys.py)."""
        scans, analyses, volumes = self.scans, self.analyses, self.volumes
        commands = {
            "open": scans.open_scan_dialog, "save": self.reports.save_overlay, "quit": self.close,
            "shortcuts": self.windows.shortcuts, "toggle_method": analyses.toggle_method,
            "previous_method": lambda: analyses.toggle_method(-1),
            "opacity_up": lambda: analyses.adjust_opacity(+1), "opacity_down": lambda: analyses.adjust_opacity(-1),
            "previous_slice": lambda: scans.step_slice(-1), "next_slice": lambda: scans.step_slice(+1),
            "fit": scans.fit_view, "invert": scans.invert_display, "reset_window": volumes.reset_window,
            **{f"preset_{n}": (lambda n=n: volumes.apply_preset(n)) for n in range(1, 6)},
        }
        # Bound on the main window only, so typing in another window never triggers them.
        keys.bind(self.root, commands)

    # ----- what every controller uses --------------------------------------------

    @property
    def busy(self) -> bool:
        return self.jobs.busy

    @property
    def folder_run(self):
        """The last "Classify folder" run (``gui.batch_controller.FolderRun``), or None."""
        return self.batch.run

    def open_scan(self, path) -> None:
        """Open a file, a DICOM series (``core.series.Series``), or a folder (its series)."""
        self.scans.open_scan(path)

    def grey_levels(self):
        """The grey levels on screen: the scan's display image, inverted when "I" says so."""
        display = self.loaded.display
        return 255 - display if self.inverted else display

    def show_message(self, text: str, kind: str = "info") -> None:
        self.message.show(text, kind)

    def show_error(self, text: str) -> None:
        self.message.show(text, "error")

    def refresh_states(self) -> None:
        """Menus and controls enabled for what is on screen."""
        cam_ready = self.model is not None and self.model.engine is not None
        self.controls.set_state(cam_ready=cam_ready, can_retarget=cam_ready and self.loaded is not None)
        self.menus.set_save_enabled(self.overlay_image is not None)
        self.menus.set_report_enabled(self.analysis is not None)
        self.menus.set_model_enabled(self.model is not None)
        loaded = self.loaded
        self.menus.set_scan_state(slices=loaded is not None and loaded.slices > 1,
                                  windowed=loaded is not None and loaded.windowed)

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self.prefs.flush()  # a view change not written yet
        if self.folder_run is not None:
            self.folder_run.cancel.set()
        self.jobs.stop()
        self.root.destroy()


def run(scan_path: str | None = None, model_path: str | None = None) -> int:
    """Open the window (and ``scan_path`` if given); return an exit status when it closes."""
    try:
        root = tk.Tk(className=APP_NAME)
    except tk.TclError as err:
        print(f"{APP_NAME}: cannot open a window ({err}). Is a graphical display available?", file=sys.stderr)
        return 2
    app = App(root, model_path=model_path)
    if scan_path:
        app.open_scan(scan_path)
    root.mainloop()
    return 0
