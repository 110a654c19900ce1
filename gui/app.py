"""The main window: assembles the panels, hands work to the workers, paints what comes back.

``App`` is the composition root; each concern has its own controller module (Thonny's split):
``gui.batch_controller`` (Classify folder), ``gui.volume_controller`` (series, slices, window,
Classify all slices), ``gui.report_controller`` (Save overlay image, Export report).

Only this thread touches widgets. Workers return results on queues that
``_poll`` drains every few milliseconds with ``after()`` (the Thonny pattern).
"""

from __future__ import annotations

import os
import queue
import sys
import tkinter as tk
from dataclasses import dataclass
from tkinter import ttk

from core.paths import resource_path
from core.series import Series
from core.version import APP_NAME, __version__
from gradcam.overlay import COLORMAPS, overlay, scale_caption
from gui import jobs, keys, theme
from gui.batch_controller import BatchController, FolderRun  # noqa: F401 (FolderRun: importable here too)
from gui.canvas import ImageCanvas, ViewState
from gui.colorbar import ColorBar
from gui.controls import METHOD_NAMES, PREDICTED, ControlsPanel
from gui.dialogs import FileDialogs, InfoWindow, ModelInfoWindow
from gui.dnd import enable_file_drop
from gui.menus import MenuBar
from gui.recent import RecentFiles
from gui.report_controller import ReportController
from gui.results import NOT_MRI_HEADLINE, ResultsPanel
from gui.settings import Settings
from gui.statusbar import DisclaimerBar, MessageBar, StatusBar
from gui.texts import DISCLAIMER, about_text, shortcuts_text, slice_text
from gui.volumepanel import PRESETS, SliceBar, WindowPanel, window_words
from gui.volume_controller import VolumeController
from gui.widgets import ElidedLabel, ScrollFrame
from gui.worker import Worker

POLL_MS = 30
MIN_SIZE = (960, 620)
START_SIZE = (1240, 780)
OPACITY_STEP = 0.1
DEFAULT_OPACITY = 0.4
DEFAULT_COLORMAP = "jet"


@dataclass
class ViewVars:
    """State shared by the controls panel, the View menu and the keyboard."""

    method: tk.StringVar
    opacity: tk.DoubleVar
    colormap: tk.StringVar
    target: tk.StringVar
    side_by_side: tk.BooleanVar


class App:
    def __init__(self, root: tk.Tk, model_path: str | None = None, dialogs=None, recent: RecentFiles | None = None,
                 settings: Settings | None = None):
        self.root = root
        # One controller per concern (this class composes them; all run on the Tk main loop).
        self.batch = BatchController(self)  # File > Classify folder
        self.volumes = VolumeController(self)  # slices, series, window, Classify all slices
        self.reports = ReportController(self)  # Save overlay image, Export report
        self.dialogs = dialogs or FileDialogs(root)
        self.recent = recent or RecentFiles()
        self.settings = settings or Settings()  # the user's config folder, never next to the scans
        # Two threads: TensorFlow work on one, file reading/writing on the other, so a
        # scan previews at once even while the model is still loading.
        self.model_worker = Worker(jobs.EXPECTED_ERRORS, name="model-worker")
        self.io_worker = Worker(jobs.EXPECTED_ERRORS, name="io-worker")
        self.model: jobs.LoadedModel | None = None
        self.model_error: str | None = None
        self.loaded: jobs.LoadedScan | None = None  # the scan on screen
        self.analysis: jobs.Analysis | None = None  # the explanation of that scan
        self.overlay_image = None  # full-resolution RGB of the heatmap canvas (what Save writes)
        self.windows: dict[str, tk.Toplevel] = {}
        self._scan_serial = 0  # bumped per scan shown; an explanation for an older one is stale
        self._contexts: dict[tuple[str, int], object] = {}
        self._pending = 0
        self._save_count = 0
        self._closed = False
        self._last_dir = self.settings.folder("last_open_dir")  # open dialogs start here
        self._last_save_dir = self.settings.folder("last_save_dir")  # save dialogs start here, never the dataset
        self._read_ms = 0.0
        self.inverted = False  # "I": grey levels inverted on screen only
        self._window_drag = None  # (center, width) when a right-drag started
        self._settings_after = None
        self._handlers = {
            "model": self._on_model, "scan": self._on_scan, "explain": self._on_analysis,
            "save": self.reports._on_saved, "report": self.reports._on_saved, "csv": self.reports._on_saved,
            "listed": self.batch._on_listed,
            "folder": self.batch._on_folder_batch, "slices": self.volumes._on_slices,
        }
        self._handlers["maps"] = self._on_method_maps  # a map computed on demand (Integrated Gradients)
        self._maps_asked = set()  # (scan serial, class, method) on the worker now: asked once
        self._handlers["volumes"] = self.volumes._on_volumes_listed  # File > Open folder: the series found

        self._setup_root()
        self.colormaps = list(COLORMAPS)
        saved = self.settings
        colormap = saved["colormap"] if saved["colormap"] in self.colormaps else DEFAULT_COLORMAP
        self.vars = ViewVars(
            method=tk.StringVar(root, saved["method"]),
            opacity=tk.DoubleVar(root, saved["opacity"]),
            colormap=tk.StringVar(root, colormap if colormap in self.colormaps else self.colormaps[0]),
            target=tk.StringVar(root, PREDICTED),
            side_by_side=tk.BooleanVar(root, saved["side_by_side"]),
        )
        self._build()
        self.menus = MenuBar(self, self.colormaps)
        self._bind_keys()
        for var in (self.vars.method, self.vars.opacity, self.vars.colormap):
            var.trace_add("write", lambda *_: self._render_heatmap())
        self.vars.side_by_side.trace_add("write", lambda *_: self._apply_layout())
        for var in (self.vars.method, self.vars.opacity, self.vars.colormap, self.vars.side_by_side):
            var.trace_add("write", lambda *_: self._remember_view())
        self.drop_enabled = enable_file_drop(root, [self.scan_canvas, self.heatmap_canvas], self.on_dropped_paths)
        root.protocol("WM_DELETE_WINDOW", self.close)
        self._refresh_states()
        self._poll_id = root.after(POLL_MS, self._poll)
        self.load_model(model_path)

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
                                       view=self.view_state, on_pointer=self._on_pointer,
                                       on_right_drag=self._on_right_drag)
        self.heatmap_canvas = ImageCanvas(self.heatmap_pane, placeholder="The heatmap appears here",
                                          view=self.view_state, on_pointer=self._on_pointer,
                                          on_right_drag=self._on_right_drag)
        for canvas in (self.scan_canvas, self.heatmap_canvas):
            canvas.grid(row=1, column=0, sticky="nsew")
        # The heatmap's colour bar (gui/colorbar.py) goes in this slot, a column of its own outside the two
        # equal image columns, so both images keep the same size with or without it.
        self.colorbar_slot = ttk.Frame(self.view)
        self.colorbar_slot.grid(row=1, column=2, sticky="ns", padx=(px(6), 0))
        self.colorbar = ColorBar(self.colorbar_slot)
        self.colorbar.pack(fill="y", expand=True)
        self._apply_layout()
        self.slice_bar = SliceBar(body, on_slice=self.set_slice, on_all_slices=self.classify_all_slices,
                                  on_volume=self.set_volume)
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
        self.controls = ControlsPanel(side, self.vars, self.colormaps, on_target=self.on_target_selected)
        self.controls.grid(row=1, column=0, sticky="new", pady=(px(10), 0))
        self.window_panel = WindowPanel(side, on_window=self.set_window,
                                        on_classify_shown=self.volumes._classify_shown_changed)
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
        commands = {
            "open": self.open_scan_dialog, "save": self.save_overlay, "quit": self.close,
            "shortcuts": self.show_shortcuts, "toggle_method": self.toggle_method,
            "opacity_up": lambda: self.adjust_opacity(+1), "opacity_down": lambda: self.adjust_opacity(-1),
            "previous_slice": lambda: self.step_slice(-1), "next_slice": lambda: self.step_slice(+1),
            "fit": self.fit_view, "invert": self.invert_display, "reset_window": self.reset_window,
            **{f"preset_{n}": (lambda n=n: self.apply_preset(n)) for n in range(1, 6)},
        }
        # Bound on the main window only, so typing in another window never triggers them.
        keys.bind(self.root, commands)

    # ----- jobs ----------------------------------------------------------

    def _submit(self, worker: Worker, channel: str, fn, *args, context=None) -> int:
        job_id = worker.submit(channel, fn, *args)
        self._contexts[(channel, job_id)] = context
        self._pending += 1
        self.status.set_busy(True)
        return job_id

    def _poll(self) -> None:
        try:
            for worker in (self.io_worker, self.model_worker):
                while True:
                    try:
                        result = worker.results.get_nowait()
                    except queue.Empty:
                        break
                    self._pending -= 1
                    context = self._contexts.pop((result.channel, result.job_id), None)
                    if result.skipped or not worker.is_current(result):
                        continue  # the user has moved on: drop it, never paint it
                    self._handlers[result.channel.split(":")[0]](result, context)
            self.status.set_busy(self._pending > 0)
        finally:
            if not self._closed:
                self._poll_id = self.root.after(POLL_MS, self._poll)

    @property
    def busy(self) -> bool:
        return self._pending > 0

    @property
    def folder_run(self):
        """The last "Classify folder" run (``gui.batch_controller.FolderRun``), or None."""
        return self.batch.run

    @property
    def study(self):
        """(classifier volume, study record) of the last "Classify all slices", or None."""
        return self.volumes.study

    @property
    def slice_predictions(self):
        """The last "Classify all slices" result (one Prediction per slice), or None."""
        return self.volumes.slice_predictions

    # ----- model ---------------------------------------------------------

    def load_model(self, model_path: str | None) -> None:
        self.status.model_var.set("Loading model…")
        if self.model is None:
            self.results.show_message("Loading model…")
        self._submit(self.model_worker, "model", jobs.load_model, model_path, context=model_path)

    def _on_model(self, result, model_path) -> None:
        if not result.ok:
            if self.model is None:
                self.model_error = str(result.error)
                self.show_error(
                    f"Model not loaded: {result.error}. Scans open for viewing only; "
                    "load a model with Model ▸ Open model…"
                )
                self.results.show_message("No model: preview only")
                self.status.model_var.set("No model (preview only)")
                self.heatmap_canvas.set_placeholder("No model loaded: no heatmap")
            else:
                self.show_error(f"Could not load that model: {result.error}. Still using {self.model.card.name}.")
                self.status.model_var.set(self._model_label())
            self._refresh_states()
            return
        self.model, self.model_error = result.value, None
        card = self.model.card
        self.results.set_classes(self.model.classifier.classes, card.display_name)
        self.results.set_untrained(not card.trained)
        self.controls.set_target_choices([card.display_name(c) for c in self.model.classifier.classes])
        self.vars.target.set(PREDICTED)
        self.status.model_var.set(self._model_label())
        self.heatmap_canvas.set_placeholder("The heatmap appears here")
        if self.model.cam_error:
            self.show_message(self.model.cam_error, "warning")
        elif self.loaded is None and self.message.kind == "error":
            pass  # e.g. the scan named at launch does not exist: that message stays; the status bar names the model
        else:
            self.show_message(f"Model ready: {card.name} ({result.elapsed_ms / 1000:.1f} s to load).")
        if self.loaded is not None:
            self._explain(None, fresh=True)
        else:
            self.results.show_message("Open a scan")
        self._refresh_states()

    def _model_label(self) -> str:
        card = self.model.card
        return f"Model: {card.name}" + ("" if card.trained else " (untrained)")

    def open_model_dialog(self) -> None:
        path = self.dialogs.ask_open_model(initialdir=self._last_dir)
        if path:
            self.load_model(path)

    # ----- scans ---------------------------------------------------------

    def open_scan_dialog(self) -> None:
        path = self.dialogs.ask_open_scan(initialdir=self._last_dir)
        if path:
            self.open_scan(path)

    def open_scan(self, path) -> None:
        """Open a file, a DICOM series (``core.series.Series``), or a folder (its series)."""
        if isinstance(path, Series):
            self.show_message(f"Opening {path.name} ({len(path)} files)…")
            self._submit(self.io_worker, "scan", jobs.read_scan, path, context=(path, False))
            return
        path = str(path)
        if os.path.isdir(path) or os.path.basename(path).upper() == "DICOMDIR":  # a DICOMDIR: its series
            self.open_folder(path, as_scan=True)  # e.g. a series' folder from Open recent, or named at launch
            return
        self.show_message(f"Opening {os.path.basename(path)}…")
        # The same channel as a re-window: opening another scan makes a pending re-window stale.
        self._submit(self.io_worker, "scan", jobs.read_scan, path, context=(path, False))

    def on_dropped_paths(self, paths) -> None:
        if len(paths) == 1 and not os.path.isdir(paths[0]):
            self.open_scan(paths[0])  # one scan on screen at a time
        elif paths:  # a folder, or several files (a series?): what they hold; else the first file
            first = next((p for p in paths if not os.path.isdir(p)), None)
            self.open_folder(*paths, fallback=first)

    def open_folder_dialog(self) -> None:
        folder = self.dialogs.ask_open_folder(initialdir=self._last_dir)
        if folder:
            self.open_folder(folder)

    def open_folder(self, *paths, fallback: str | None = None, as_scan: bool = False) -> None:
        self.volumes.open_folder(*paths, fallback=fallback, as_scan=as_scan)

    def _on_scan(self, result, context) -> None:
        path, rewindow = context
        if not result.ok:
            # Keep whatever was on screen: a bad file must not lose the previous scan.
            if rewindow:
                self.show_error(f"Cannot apply that window: {result.error}")
                return
            self.show_error(f"Cannot open scan: {result.error}")
            if self.loaded is None:  # nothing on screen (e.g. a scan named at launch): say it there too
                self.scan_canvas.set_placeholder(f"Cannot open scan:\n{result.error}\n\nFile ▸ Open scan… (Ctrl+O)")
            if isinstance(path, str) and not os.path.exists(path):
                self.recent.remove(path)  # a recent entry whose file has gone
            return
        if rewindow is True and not self.window_panel.classify_shown.get():
            self.volumes._show_window(result.value)  # display only: the classifier's input and its analysis stay
            return
        if not rewindow:
            self.view_state.reset()  # another scan: fitted, not zoomed into where the last one was
        self._show_loaded(result.value)
        scan = self.loaded.scan
        self._read_ms = result.elapsed_ms
        self.status.timing_var.set(f"read {result.elapsed_ms:.0f} ms")
        if rewindow:
            window = scan.info["window"]
            text = f"center {window['center']:g}, width {window['width']:g}" if window["center"] is not None \
                else window["source"]
            if self.window_panel.classify_shown.get():
                self.show_message(f"Window {text} ({window['source']}); the classifier sees this window, as asked.")
            else:  # "Classify the displayed window" was just cleared: back to the default window
                self.show_message(f"The classifier sees {window_words(window)} again; the display keeps its window.")
            if self.model is not None:
                self._explain(self._current_target(), fresh=True)
            self._refresh_states()
            return
        self._last_dir = os.path.dirname(os.path.abspath(scan.path))
        self.settings.update(last_open_dir=self._last_dir)
        source = self.loaded.source
        self.recent.add(source.path if isinstance(source, Series) else scan.path)  # a series: its folder
        self.vars.target.set(PREDICTED)
        self.window_panel.preset.set("File")
        self.window_panel.set_modality(scan.info.get("modality"))  # no CT windows for an MR
        notes = self.loaded.volume.info.get("notes") if self.loaded.volume is not None else None
        if notes:  # a series that is split, not parallel, or has gaps: say so
            self.show_message(f"{self.loaded.name}: " + "; ".join(notes) + ".", "warning")
        elif self.model is not None:
            self.show_message(f"Opened {self.loaded.name}; analysing…")
        if self.model is not None:
            self._explain(None, fresh=True)
        else:
            if self.model_error:
                self.show_message(f"Opened {scan.name}. Preview only: no model.")
                self.heatmap_canvas.set_placeholder("No model loaded: no heatmap")
            else:
                self.show_message(f"Opened {scan.name}. The model is still loading.")
                self.heatmap_canvas.set_placeholder("Waiting for the model…")
        self._refresh_states()

    def _show_loaded(self, loaded: jobs.LoadedScan) -> None:
        """Put a scan (or another slice / window of it) on screen; its old analysis is stale."""
        self.loaded = loaded
        self._scan_serial += 1
        self.analysis, self.overlay_image = None, None
        self.scan_canvas.set_image(self._display())
        self.heatmap_canvas.set_image(None)
        scan = loaded.scan
        where = f" — {slice_text(loaded.index, loaded.slices)}" if loaded.slices > 1 else ""
        if loaded.volumes > 1:  # 4-D NIfTI: which volume is shown and classified
            where += f" — volume {loaded.volume_index} (0–{loaded.volumes - 1})"
        self.scan_title.set(f"Scan — {loaded.name}{where}")
        self.heatmap_title.set("Heatmap")
        self.status.file_var.set(loaded.name)
        self.status.size_var.set(f"{scan.width}×{scan.height} px · {scan.format} · {loaded.file_bytes / 1024:.0f} KB")
        if loaded.slices > 1:
            self.slice_bar.show(loaded.index, loaded.slices)
            self.slice_bar.show_volume(loaded.volume_index, loaded.volumes)
            self.slice_bar.show_study(*self.volumes._study_line())
            self.slice_bar.grid()
        else:
            self.slice_bar.grid_remove()
        self.volumes._show_windows()
        plot = self.windows.get("slices")
        if plot is not None and plot.winfo_exists() and loaded.slices == len(plot.predictions):
            plot.mark(loaded.index)

    # ----- slices and window ------------------------------------------------

    def set_slice(self, index: int) -> None:
        """Show slice ``index`` of the volume on screen and classify that slice."""
        self.volumes.set_slice(index)

    def step_slice(self, delta: int) -> None:
        self.volumes.step_slice(delta)

    def set_window(self, window) -> None:
        """Show the volume in ``window`` ((center, width), None = the file's, "auto", "full")."""
        self.volumes.set_window(window)

    def set_volume(self, volume_index: int) -> None:
        """4-D NIfTI: show and classify volume ``volume_index`` (same slice, default window)."""
        self.volumes.set_volume(volume_index)

    def reset_window(self) -> None:
        self.volumes.reset_window()

    # ----- viewing (display only: nothing here reaches the classifier) ------------

    def _display(self):
        """The grey levels on screen: the scan's display image, inverted when "I" says so."""
        display = self.loaded.display
        return 255 - display if self.inverted else display

    def fit_view(self) -> None:
        """= / Space: the whole image, centred, in both panes."""
        self.view_state.fit()

    def invert_display(self) -> None:
        """I: invert the grey levels of both images on screen (the classifier's input is untouched)."""
        self.inverted = not self.inverted
        if self.loaded is not None:
            self.scan_canvas.set_image(self._display())
            self._render_heatmap()
        self.show_message("Display inverted (the classifier still sees the scan as read)." if self.inverted
                          else "Display no longer inverted.")

    def apply_preset(self, number: int) -> None:
        """1-5: the window preset at that place in the Preset list (DICOM and NIfTI only)."""
        if self.loaded is None or not self.loaded.windowed:
            self.show_message("Window presets apply to DICOM and NIfTI scans.", "warning")
            return
        presets = self.window_panel.presets  # this scan's modality's presets (CT windows only for CT)
        names = list(presets)
        if not 1 <= number <= len(names):
            self.show_message(f"There is no window preset {number}: the Preset list has {len(names)}.", "warning")
            return
        self.window_panel.preset.set(names[number - 1])
        self.set_window(presets[names[number - 1]])

    def _on_pointer(self, col, row) -> None:
        """The image pixel under the pointer, and its value, in the status bar."""
        loaded = self.loaded
        if col is None or loaded is None:
            self.status.cursor_var.set("")
            return
        pixels = loaded.scan.pixels
        if not (0 <= row < pixels.shape[0] and 0 <= col < pixels.shape[1]):
            self.status.cursor_var.set("")
            return
        value = pixels[row, col]
        shown = f"{float(value):.4g}" if getattr(value, "ndim", 0) == 0 else ", ".join(f"{v:.4g}" for v in value)
        where = f" · slice {loaded.index}" if loaded.slices > 1 else ""
        self.status.cursor_var.set(f"x {col}, y {row} · value {shown}{where}")

    def _on_right_drag(self, phase: str, dx: int, dy: int) -> None:
        """Right drag = window/level (DICOM, NIfTI): left-right changes the width, up-down the level.

        While dragging only the screen changes (the displayed grey levels re-mapped); on release the
        window goes into the Window/level panel and is applied through ``set_window`` like a typed one.
        """
        loaded = self.loaded
        window = self._display_window()
        if window is None or window.get("center") is None or not window.get("width"):
            if phase == "start":
                self.show_message("Right-drag window/level works on DICOM and NIfTI scans with a numeric window.",
                                  "warning")
            return
        if phase == "start":
            self._window_drag = (float(window["center"]), float(window["width"]))
            return
        if self._window_drag is None:
            return
        center0, width0 = self._window_drag
        sensitivity = width0 / self.theme.px(300)  # a 300 px drag changes the width by its own size
        width = max(1e-6 * max(1.0, abs(width0)), width0 + dx * sensitivity)
        center = center0 + dy * sensitivity
        if phase == "move":
            self._preview_window(center, width)
            self.status.cursor_var.set(f"window center {center:.4g}, width {width:.4g}")
            return
        self._window_drag = None
        if dx == 0 and dy == 0:
            return
        self.window_panel.center.set(f"{center:.6g}")
        self.window_panel.width.set(f"{width:.6g}")
        self.window_panel.apply()

    def _display_window(self) -> dict | None:
        """The window the screen shows (the display slice's, where the display has its own window)."""
        loaded = self.loaded
        if loaded is None or not loaded.windowed:
            return None
        shown = getattr(loaded, "shown", None) or loaded.scan
        return shown.info.get("window")

    def _preview_window(self, center: float, width: float) -> None:
        """Re-map the grey levels on screen as window (center, width) would show them (display only)."""
        import numpy as np

        current = self._display_window()
        c0, w0 = float(current["center"]), float(current["width"])
        values = (c0 - w0 / 2.0) + self.loaded.display.astype(np.float32) * (w0 / 255.0)  # back to modality units
        shown = np.clip((values - (center - width / 2.0)) * (255.0 / width), 0, 255).astype(np.uint8)
        self.scan_canvas.set_image(255 - shown if self.inverted else shown)

    def _remember_view(self) -> None:
        """Method, colour map, opacity and layout are kept for the next launch (written a moment later)."""
        if self._settings_after is not None:
            self.root.after_cancel(self._settings_after)
        self._settings_after = self.root.after(400, self._write_view_settings)

    def _write_view_settings(self) -> None:
        self._settings_after = None
        try:
            opacity = round(min(1.0, max(0.0, float(self.vars.opacity.get()))), 3)
        except (tk.TclError, ValueError):
            opacity = None
        self.settings.update(method=self.vars.method.get(), colormap=self.vars.colormap.get(),
                             side_by_side=bool(self.vars.side_by_side.get()),
                             **({"opacity": opacity} if opacity is not None else {}))

    def _save_dir(self) -> str:
        """Where save dialogs start: the last folder saved to, else the home folder (never the dataset)."""
        return self._last_save_dir or os.path.expanduser("~")

    def _saved_to(self, path: str) -> None:
        self._last_save_dir = os.path.dirname(os.path.abspath(path))
        self.settings.update(last_save_dir=self._last_save_dir)

    def classify_all_slices(self) -> None:
        self.volumes.classify_all_slices()

    # ----- explanation ---------------------------------------------------

    def _current_target(self) -> str | None:
        choice = self.vars.target.get()
        if self.model is None or choice == PREDICTED:
            return None
        return {self.model.card.display_name(c): c for c in self.model.classifier.classes}.get(choice)

    def _explain(self, target_class: str | None, fresh: bool) -> None:
        if fresh:
            self.results.show_message("Analysing…")
            self.heatmap_canvas.set_placeholder("Analysing…")
        self._submit(
            self.model_worker, "explain", jobs.analyse, self.model, self.loaded.scan.pixels, target_class,
            self.loaded.scan.info.get("chroma"), self.loaded.scan.info.get("modality"), context=self._scan_serial,
        )

    def on_target_selected(self) -> None:
        if self.model is None or self.loaded is None:
            return
        choice = self.vars.target.get()
        names = {self.model.card.display_name(c): c for c in self.model.classifier.classes}
        self.show_message(f"Explaining {choice.lower() if choice == PREDICTED else choice}…")
        self._explain(names.get(choice), fresh=False)

    def _on_analysis(self, result, serial) -> None:
        if serial != self._scan_serial:
            return  # computed for a scan no longer on screen
        if not result.ok:
            self.show_error(f"Analysis failed: {type(result.error).__name__}: {result.error}")
            self.results.show_message("Analysis failed")
            self.heatmap_canvas.set_placeholder("No heatmap")
            return
        analysis = self.analysis = result.value
        card = self.model.card
        self.results.show_prediction(
            analysis.prediction, card.display_name, card.low_confidence_threshold, analysis.ood_warning,
            abstain=analysis.abstain,
        )
        self.status.timing_var.set(f"read {self._read_ms:.0f} ms · analysis {result.elapsed_ms:.0f} ms")
        verdict = NOT_MRI_HEADLINE if analysis.abstain else card.display_name(analysis.prediction.label)
        self.show_message(f"{self.loaded.scan.name}: {verdict}.")
        if not analysis.heatmaps:
            self.heatmap_canvas.set_placeholder(self.model.cam_error or "No heatmap")
        self._render_heatmap()
        self._refresh_states()

    def _render_heatmap(self) -> None:
        """Repaint the overlay from the kept maps: method, opacity and colour map need no new job."""
        analysis = self.analysis
        if analysis is None or not analysis.heatmaps or self.loaded is None:
            self.overlay_image = None
            self.heatmap_canvas.set_image(None)
            self.colorbar.clear()
            self.menus.set_save_enabled(False)
            return
        method = self.vars.method.get()
        target = self.model.card.display_name(analysis.target_class)
        if method not in analysis.heatmaps and method not in analysis.not_class_specific:
            self._ask_method_maps(method)  # Integrated Gradients: computed when first shown, on the worker
            return
        refusal = analysis.not_class_specific.get(method)
        if refusal:  # this method's map would look the same for any class: say so instead of showing it
            self.overlay_image = None
            self.colorbar.clear()
            self.heatmap_canvas.set_image(None)
            self.heatmap_canvas.set_placeholder(refusal)
            self.heatmap_title.set(f"{METHOD_NAMES[method]} — {target}: not available")
            self.show_message(refusal, "warning")
            self.menus.set_save_enabled(False)
            return
        alpha = min(1.0, max(0.0, float(self.vars.opacity.get())))
        heatmap = analysis.heatmaps[method]
        self.overlay_image = overlay(self._display(), heatmap, alpha=alpha, colormap=self.vars.colormap.get())
        self.heatmap_canvas.set_image(self.overlay_image)
        self.colorbar.show(self.vars.colormap.get(), self._scale_caption(), analysis.relative_peak.get(method))
        self.heatmap_title.set(f"{METHOD_NAMES[method]} — {target}")
        if self.message.text_var.get() in analysis.not_class_specific.values():  # another method's refusal
            self.show_message(f"{METHOD_NAMES[method]} explains {target}.")
        if analysis.all_zero.get(method):
            self.show_message(
                f"The {METHOD_NAMES[method]} map is empty: nothing in this scan raised the score for {target}.",
                "warning",
            )
        self.menus.set_save_enabled(True)

    def _scale_caption(self) -> str:
        """What 1 means on the colour bar: the predicted class's strongest evidence on this scan."""
        return scale_caption(self.model.card.display_name(self.analysis.prediction.label))

    def _ask_method_maps(self, method: str) -> None:
        """Compute ``method``'s map for the class on screen on the model worker (once per scan and class)."""
        analysis = self.analysis
        self.overlay_image = None
        self.heatmap_canvas.set_image(None)
        self.colorbar.clear()
        self.menus.set_save_enabled(False)
        self.heatmap_canvas.set_placeholder(f"Computing {METHOD_NAMES[method]}…")
        key = (self._scan_serial, analysis.target_class, method)
        if key not in self._maps_asked:
            self._maps_asked.add(key)
            self._submit(self.model_worker, "maps", jobs.explain_method, self.model, self.loaded.scan.pixels,
                         analysis.target_class, method, context=key)

    def _on_method_maps(self, result, key) -> None:
        self._maps_asked.discard(key)
        serial, target_class, method = key
        analysis = self.analysis
        if serial != self._scan_serial or analysis is None or analysis.target_class != target_class:
            return  # another scan, slice or class since
        if not result.ok:
            self.show_error(f"{METHOD_NAMES[method]} failed: {type(result.error).__name__}: {result.error}")
            self.heatmap_canvas.set_placeholder(f"No {METHOD_NAMES[method]} map")
            return
        maps = result.value
        if maps["refusal"]:
            analysis.not_class_specific[method] = maps["refusal"]
        else:
            analysis.heatmaps[method] = maps["heatmap"]
            analysis.all_zero[method] = maps["all_zero"]
            analysis.relative_peak[method] = maps["relative_peak"]
            analysis.timings_ms[method] = maps["ms"]
            self.show_message(f"{METHOD_NAMES[method]} computed in {maps['ms']:.0f} ms.")
        if self.vars.method.get() == method:
            self._render_heatmap()

    def toggle_method(self) -> None:
        self.vars.method.set("gradcam++" if self.vars.method.get() == "gradcam" else "gradcam")

    def adjust_opacity(self, direction: int) -> None:
        value = round(float(self.vars.opacity.get()) + direction * OPACITY_STEP, 2)
        self.vars.opacity.set(min(1.0, max(0.0, value)))

    # ----- saving --------------------------------------------------------

    def save_overlay(self) -> None:
        self.reports.save_overlay()

    def export_report(self) -> None:
        """File ▸ Export report…: a one-page PDF of the scan, overlay and prediction on screen."""
        self.reports.export_report()

    # ----- folders -------------------------------------------------------

    def classify_folder_dialog(self) -> None:
        self.batch.classify_folder_dialog()

    def classify_folder(self, folder: str) -> None:
        """Classify every file under ``folder`` on the model worker, a batch at a time, into a table."""
        self.batch.classify_folder(folder)

    def cancel_folder(self) -> None:
        self.batch.cancel_folder()

    def export_csv(self) -> None:
        self.batch.export_csv()

    # ----- messages, windows, state ---------------------------------------

    def show_message(self, text: str, kind: str = "info") -> None:
        self.message.show(text, kind)

    def show_error(self, text: str) -> None:
        self.message.show(text, "error")

    def _window(self, key: str, make) -> tk.Toplevel:
        """One window per kind: asking again raises the open one instead of stacking copies."""
        window = self.windows.get(key)
        if window is not None and window.winfo_exists():
            window.lift()
            return window
        window = self.windows[key] = make()
        return window

    def show_shortcuts(self) -> tk.Toplevel:
        return self._window(
            "shortcuts", lambda: InfoWindow(self.root, "Keyboard shortcuts", shortcuts_text(), width=78, height=19,
                                            tabs=True)
        )

    def show_disclaimer(self) -> tk.Toplevel:
        return self._window("disclaimer", lambda: InfoWindow(self.root, "Disclaimer", DISCLAIMER))

    def show_about(self) -> tk.Toplevel:
        return self._window("about", lambda: InfoWindow(self.root, f"About {APP_NAME}", about_text(), height=8))

    def show_model_info(self) -> tk.Toplevel:
        if self.model is None:
            text = self.model_error or "The model is still loading."
            return self._window("model", lambda: InfoWindow(self.root, "Model information", text, height=6))
        existing = self.windows.get("model")
        if existing is not None and existing.winfo_exists() and not isinstance(existing, ModelInfoWindow):
            existing.destroy()  # it described a model that failed or was still loading
        classifier = self.model.classifier
        return self._window(
            "model", lambda: ModelInfoWindow(self.root, classifier.card, classifier.checksum, classifier.model_path)
        )

    def clear_recent(self) -> None:
        self.recent.clear()

    def _refresh_states(self) -> None:
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
        if self._settings_after is not None:  # a view change not written yet
            self.root.after_cancel(self._settings_after)
            self._write_view_settings()
        if self.folder_run is not None:
            self.folder_run.cancel.set()
        self.root.after_cancel(self._poll_id)
        for worker in (self.model_worker, self.io_worker):
            worker.stop()
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
