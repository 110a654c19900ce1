"""The main window: assembles the panels, hands work to the workers, paints what comes back.

Only this thread touches widgets. Workers return results on queues that
``_poll`` drains every few milliseconds with ``after()`` (the Thonny pattern).
"""

from __future__ import annotations

import os
import queue
import sys
import threading
import tkinter as tk
from dataclasses import dataclass
from tkinter import ttk

from core.paths import resource_path
from core.version import APP_NAME, __version__
from gradcam.overlay import COLORMAPS, overlay
from gui import jobs
from gui.canvas import ImageCanvas
from gui.controls import METHOD_NAMES, PREDICTED, ControlsPanel
from gui.dialogs import FileDialogs, InfoWindow, ModelInfoWindow
from gui.dnd import enable_file_drop
from gui.menus import MenuBar
from gui.recent import RecentFiles
from gui.results import NOT_MRI_HEADLINE, ResultsPanel
from gui.statusbar import DisclaimerBar, MessageBar, StatusBar
from gui.texts import DISCLAIMER, about_text, shortcuts_text
from gui.volumepanel import SliceBar, WindowPanel
from gui.worker import Worker

POLL_MS = 30
MIN_SIZE = (960, 620)
START_SIZE = (1240, 780)
OPACITY_STEP = 0.1
DEFAULT_OPACITY = 0.4
DEFAULT_COLORMAP = "jet"


@dataclass
class FolderRun:
    """One "Classify folder" run: the files still to do, the cancel flag, its window."""

    folder: str
    window: object  # gui.batch.BatchWindow
    cancel: threading.Event
    todo: list
    done: bool = False


@dataclass
class ViewVars:
    """State shared by the controls panel, the View menu and the keyboard."""

    method: tk.StringVar
    opacity: tk.DoubleVar
    colormap: tk.StringVar
    target: tk.StringVar
    side_by_side: tk.BooleanVar


class App:
    def __init__(self, root: tk.Tk, model_path: str | None = None, dialogs=None, recent: RecentFiles | None = None):
        self.root = root
        self.dialogs = dialogs or FileDialogs(root)
        self.recent = recent or RecentFiles()
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
        self._last_dir = None
        self._read_ms = 0.0
        self._handlers = {
            "model": self._on_model, "scan": self._on_scan, "explain": self._on_analysis, "save": self._on_saved,
            "report": self._on_saved, "csv": self._on_saved, "listed": self._on_listed,
            "folder": self._on_folder_batch, "slices": self._on_slices,
        }
        self.folder_run: FolderRun | None = None
        self.slice_predictions = None  # the last "Classify all slices" result (one Prediction per slice)

        self._setup_root()
        self.colormaps = list(COLORMAPS)
        self.vars = ViewVars(
            method=tk.StringVar(root, "gradcam"),
            opacity=tk.DoubleVar(root, DEFAULT_OPACITY),
            colormap=tk.StringVar(root, DEFAULT_COLORMAP if DEFAULT_COLORMAP in self.colormaps else self.colormaps[0]),
            target=tk.StringVar(root, PREDICTED),
            side_by_side=tk.BooleanVar(root, True),
        )
        self._build()
        self.menus = MenuBar(self, self.colormaps)
        self._bind_keys()
        for var in (self.vars.method, self.vars.opacity, self.vars.colormap):
            var.trace_add("write", lambda *_: self._render_heatmap())
        self.vars.side_by_side.trace_add("write", lambda *_: self._apply_layout())
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
        root.minsize(*MIN_SIZE)
        # Start large but inside the screen (leave room for panels and the menu bar).
        width = min(START_SIZE[0], root.winfo_screenwidth() - 40)
        height = min(START_SIZE[1], root.winfo_screenheight() - 90)
        root.geometry(f"{max(width, MIN_SIZE[0])}x{max(height, MIN_SIZE[1])}")
        style = ttk.Style(root)
        if "clam" in style.theme_names():
            style.theme_use("clam")
        style.configure("Error.TLabel", foreground="#b00020")
        style.configure("Warning.TLabel", foreground="#a04a00")
        style.configure("Disclaimer.TFrame", background="#fff4d6")
        style.configure("Disclaimer.TLabel", background="#fff4d6", foreground="#5a3d00", font="TkHeadingFont")
        style.configure("Title.TLabel", font="TkHeadingFont")
        # clam's default bar is pale grey on grey: give probabilities a colour that reads at a glance.
        style.configure(
            "Probability.Horizontal.TProgressbar", background="#3a78c2", lightcolor="#5b93d6",
            darkcolor="#2c5e9c", bordercolor="#9a9a9a", troughcolor="#ececec",
        )

    def _build(self) -> None:
        root = self.root
        root.columnconfigure(0, weight=1)
        root.rowconfigure(0, weight=1)
        body = ttk.Frame(root, padding=(8, 8, 8, 0))
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
        self.scan_canvas = ImageCanvas(self.scan_pane, placeholder="Open a scan: File ▸ Open scan… (Ctrl+O)")
        self.heatmap_canvas = ImageCanvas(self.heatmap_pane, placeholder="The heatmap appears here")
        for canvas in (self.scan_canvas, self.heatmap_canvas):
            canvas.grid(row=1, column=0, sticky="nsew")
        self._apply_layout()
        self.slice_bar = SliceBar(body, on_slice=self.set_slice, on_all_slices=self.classify_all_slices)
        self.slice_bar.grid(row=1, column=0, sticky="ew")
        self.slice_bar.grid_remove()  # single images have no slices to move through

        side = ttk.Frame(body, padding=(10, 0, 0, 0), width=310)
        side.grid(row=0, column=1, sticky="ns")
        body.columnconfigure(1, minsize=310)
        self.results = ResultsPanel(side)
        self.results.grid(row=0, column=0, sticky="new")
        side.columnconfigure(0, weight=1)
        self.controls = ControlsPanel(side, self.vars, self.colormaps, on_target=self.on_target_selected)
        self.controls.grid(row=1, column=0, sticky="new", pady=(10, 0))
        self.window_panel = WindowPanel(side, on_window=self.set_window)
        self.window_panel.grid(row=2, column=0, sticky="new", pady=(10, 0))
        self.window_panel.grid_remove()  # only DICOM/NIfTI scans are windowed
        self.results.show_message("Loading model…")

        self.message = MessageBar(root)
        self.message.grid(row=1, column=0, sticky="ew")
        DisclaimerBar(root).grid(row=2, column=0, sticky="ew")
        self.status = StatusBar(root)
        self.status.grid(row=3, column=0, sticky="ew")

    @staticmethod
    def _pane(parent, column: int, title_var) -> ttk.Frame:
        pane = ttk.Frame(parent, padding=(0, 0, 6 if column == 0 else 0, 0))
        pane.grid(row=0, column=column, rowspan=2, sticky="nsew")
        pane.rowconfigure(1, weight=1)
        pane.columnconfigure(0, weight=1)
        ttk.Label(pane, textvariable=title_var, style="Title.TLabel").grid(row=0, column=0, sticky="w", pady=(0, 4))
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
        keys = {
            ("<Control-o>", "<Control-O>"): self.open_scan_dialog,
            ("<Control-s>", "<Control-S>"): self.save_overlay,
            ("<Control-q>", "<Control-Q>"): self.close,
            ("<F1>",): self.show_shortcuts,
            ("<g>", "<G>"): self.toggle_method,
            ("<plus>", "<equal>", "<KP_Add>"): lambda: self.adjust_opacity(+1),
            ("<minus>", "<KP_Subtract>"): lambda: self.adjust_opacity(-1),
            ("<Left>",): lambda: self.step_slice(-1),
            ("<Right>",): lambda: self.step_slice(+1),
            ("<r>", "<R>"): self.reset_window,
        }
        # Bound on the main window only, so typing in another window never triggers them.
        for sequences, command in keys.items():
            for sequence in sequences:
                self.root.bind(sequence, lambda e, c=command, s=sequence: self._key(e, c, s))

    @staticmethod
    def _key(event, command, sequence):
        # Plain keys belong to a text field that has the focus (typing "-40" as a window center).
        if isinstance(event.widget, (tk.Entry, ttk.Entry)) and "Control" not in sequence and "F1" not in sequence:
            return None
        if isinstance(event.widget, ttk.Scale) and sequence in ("<Left>", "<Right>"):
            return None  # a focused slider moves itself (and the slice) already
        command()
        return "break"

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
        path = str(path)
        self.show_message(f"Opening {os.path.basename(path)}…")
        # The same channel as a re-window: opening another scan makes a pending re-window stale.
        self._submit(self.io_worker, "scan", jobs.read_scan, path, context=(path, False))

    def on_dropped_paths(self, paths) -> None:
        if paths:
            self.open_scan(paths[0])  # one scan on screen at a time: the first dropped file

    def _on_scan(self, result, context) -> None:
        path, rewindow = context
        if not result.ok:
            # Keep whatever was on screen: a bad file must not lose the previous scan.
            if rewindow:
                self.show_error(f"Cannot apply that window: {result.error}")
                return
            self.show_error(f"Cannot open scan: {result.error}")
            if not os.path.exists(path):
                self.recent.remove(path)  # a recent entry whose file has gone
            return
        self._show_loaded(result.value)
        scan = self.loaded.scan
        self._read_ms = result.elapsed_ms
        self.status.timing_var.set(f"read {result.elapsed_ms:.0f} ms")
        if rewindow:
            window = scan.info["window"]
            text = f"center {window['center']:g}, width {window['width']:g}" if window["center"] is not None \
                else window["source"]
            self.show_message(f"Window {text} ({window['source']}); the classifier sees this window.")
            if self.model is not None:
                self._explain(self._current_target(), fresh=True)
            self._refresh_states()
            return
        self._last_dir = os.path.dirname(os.path.abspath(scan.path))
        self.recent.add(scan.path)
        self.vars.target.set(PREDICTED)
        self.window_panel.preset.set("File")
        if self.model is not None:
            self.show_message(f"Opened {scan.name}; analysing…")
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
        self.scan_canvas.set_image(loaded.display)
        self.heatmap_canvas.set_image(None)
        scan = loaded.scan
        where = f" — slice {loaded.index + 1} / {loaded.slices}" if loaded.slices > 1 else ""
        self.scan_title.set(f"Scan — {scan.name}{where}")
        self.heatmap_title.set("Heatmap")
        self.status.file_var.set(scan.name)
        self.status.size_var.set(f"{scan.width}×{scan.height} px · {scan.format} · {loaded.file_bytes / 1024:.0f} KB")
        if loaded.slices > 1:
            self.slice_bar.show(loaded.index, loaded.slices)
            self.slice_bar.grid()
        else:
            self.slice_bar.grid_remove()
        if loaded.windowed:
            self.window_panel.show(scan.info["window"])
            self.window_panel.grid()
        else:
            self.window_panel.grid_remove()
        plot = self.windows.get("slices")
        if plot is not None and plot.winfo_exists() and loaded.slices == len(plot.predictions):
            plot.mark(loaded.index)

    # ----- slices and window ------------------------------------------------

    def set_slice(self, index: int) -> None:
        """Show slice ``index`` of the volume on screen and classify that slice."""
        loaded = self.loaded
        if loaded is None or loaded.slices <= 1:
            return
        index = min(max(0, int(index)), loaded.slices - 1)
        if index == loaded.index:
            return
        self._show_loaded(loaded.at(index))
        if self.model is not None:
            self._explain(self._current_target(), fresh=True)
        self._refresh_states()

    def step_slice(self, delta: int) -> None:
        if self.loaded is not None:
            self.set_slice(self.loaded.index + delta)

    def set_window(self, window) -> None:
        """Re-read the volume with ``window`` ((center, width), None = the file's, "auto") and re-classify."""
        if self.loaded is None or not self.loaded.windowed:
            return
        path = self.loaded.scan.path
        self.show_message("Applying the window…")
        self._submit(self.io_worker, "scan", jobs.read_scan, path, window, self.loaded.index, context=(path, True))

    def reset_window(self) -> None:
        if self.loaded is not None and self.loaded.windowed:
            self.window_panel.reset()

    def classify_all_slices(self) -> None:
        if self.model is None or self.loaded is None or self.loaded.slices <= 1:
            self.show_error("Classify all slices needs a multi-slice scan (DICOM multi-frame, NIfTI) and a model.")
            return
        volume = self.loaded.volume
        self.show_message(f"Classifying all {len(volume)} slices…")
        self._submit(self.model_worker, "slices", jobs.classify_slices, self.model, volume.pixels, context=volume)

    def _on_slices(self, result, volume) -> None:
        if self.loaded is None or self.loaded.volume is not volume:
            return  # another scan or window since: these numbers describe something no longer shown
        if not result.ok:
            self.show_error(f"Classify all slices failed: {result.error}")
            return
        from gui.sliceplot import SlicePlotWindow  # matplotlib only when first asked for

        self.slice_predictions = result.value
        old = self.windows.get("slices")
        if old is not None and old.winfo_exists():
            old.destroy()
        card = self.model.card
        self.windows["slices"] = SlicePlotWindow(
            self.root, self.loaded.scan.name, result.value, self.model.classifier.classes, card.display_name,
            self.loaded.index, on_pick=self.set_slice,
        )
        self.show_message(f"Classified {len(result.value)} slices in {result.elapsed_ms / 1000:.1f} s; "
                          "click the plot to show a slice.")

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
            self.loaded.scan.info.get("chroma"), context=self._scan_serial,
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
            self.menus.set_save_enabled(False)
            return
        method = self.vars.method.get()
        target = self.model.card.display_name(analysis.target_class)
        refusal = analysis.not_class_specific.get(method)
        if refusal:  # this method's map would look the same for any class: say so instead of showing it
            self.overlay_image = None
            self.heatmap_canvas.set_image(None)
            self.heatmap_canvas.set_placeholder(refusal)
            self.heatmap_title.set(f"{METHOD_NAMES[method]} — {target}: not available")
            self.show_message(refusal, "warning")
            self.menus.set_save_enabled(False)
            return
        alpha = min(1.0, max(0.0, float(self.vars.opacity.get())))
        heatmap = analysis.heatmaps[method]
        self.overlay_image = overlay(self.loaded.display, heatmap, alpha=alpha, colormap=self.vars.colormap.get())
        self.heatmap_canvas.set_image(self.overlay_image)
        self.heatmap_title.set(f"{METHOD_NAMES[method]} — {target}")
        if self.message.text_var.get() in analysis.not_class_specific.values():  # another method's refusal
            self.show_message(f"{METHOD_NAMES[method]} explains {target}.")
        if analysis.all_zero.get(method):
            self.show_message(
                f"The {METHOD_NAMES[method]} map is empty: nothing in this scan raised the score for {target}.",
                "warning",
            )
        self.menus.set_save_enabled(True)

    def toggle_method(self) -> None:
        self.vars.method.set("gradcam++" if self.vars.method.get() == "gradcam" else "gradcam")

    def adjust_opacity(self, direction: int) -> None:
        value = round(float(self.vars.opacity.get()) + direction * OPACITY_STEP, 2)
        self.vars.opacity.set(min(1.0, max(0.0, value)))

    # ----- saving --------------------------------------------------------

    def save_overlay(self) -> None:
        if self.overlay_image is None:
            self.show_error("Nothing to save yet: open a scan and wait for its heatmap.")
            return
        stem = os.path.splitext(self.loaded.scan.name)[0]
        method = self.vars.method.get().replace("++", "pp")
        suggested = f"{stem}_{method}_{self.analysis.target_class}.png"
        path = self.dialogs.ask_save_image(initialfile=suggested, initialdir=self._last_dir)
        if not path:
            return
        self._save_count += 1  # each save its own channel: a second save never cancels the first
        channel = f"save:{self._save_count}"
        self._submit(self.io_worker, channel, jobs.save_image, self.overlay_image, path, context=path)

    def _on_saved(self, result, path) -> None:
        what = {"report": "report", "csv": "table"}.get(result.channel.split(":")[0], "overlay image")
        if result.ok:
            self.show_message(f"Saved {what} to {path}")
        else:
            self.show_error(f"Could not save: {result.error}")

    def _stem(self) -> str:
        name = self.loaded.scan.name
        stem = name[: -len(".nii.gz")] if name.lower().endswith(".nii.gz") else os.path.splitext(name)[0]
        return stem + (f".slice{self.loaded.index:03d}" if self.loaded.slices > 1 else "")

    def export_report(self) -> None:
        """File ▸ Export report…: a one-page PDF of the scan, overlay and prediction on screen."""
        if self.analysis is None or self.loaded is None:
            self.show_error("Nothing to report yet: open a scan and wait for its analysis.")
            return
        path = self.dialogs.ask_save_report(initialfile=f"{self._stem()}.report.pdf", initialdir=self._last_dir)
        if not path:
            return
        overlay_rgb = self.overlay_image
        if overlay_rgb is None:  # no Grad-CAM for this model: the report shows the scan twice
            import numpy as np

            overlay_rgb = np.stack([self.loaded.display] * 3, axis=-1)
        self._save_count += 1
        method = METHOD_NAMES[self.vars.method.get()] if self.overlay_image is not None else "No heatmap"
        self._submit(
            self.io_worker, f"report:{self._save_count}", jobs.save_report, path, self.loaded, overlay_rgb,
            self.analysis, self.model.classifier, method, context=path,
        )

    # ----- folders -------------------------------------------------------

    def classify_folder_dialog(self) -> None:
        if self.model is None:
            self.show_error("Classify folder needs a model: " + (self.model_error or "it is still loading."))
            return
        folder = self.dialogs.ask_directory(initialdir=self._last_dir)
        if folder:
            self.classify_folder(folder)

    def classify_folder(self, folder: str) -> None:
        """Classify every file under ``folder`` on the model worker, a batch at a time, into a table."""
        from gui.batch import BatchWindow

        if self.folder_run is not None and not self.folder_run.done:
            self.cancel_folder()
        old = self.windows.get("batch")
        if old is not None and old.winfo_exists():
            old.destroy()
        folder = str(folder)
        window = BatchWindow(self.root, folder, self.model.card.display_name, on_cancel=self.cancel_folder,
                             on_export=self.export_csv, on_open=self.open_scan)
        window.protocol("WM_DELETE_WINDOW", lambda: (self.cancel_folder(), window.destroy()))
        self.windows["batch"] = window
        run = self.folder_run = FolderRun(folder, window, threading.Event(), [])
        self.show_message(f"Classifying the files in {folder}…")
        self._submit(self.io_worker, "listed", jobs.list_scans, folder, context=run)

    def cancel_folder(self) -> None:
        run = self.folder_run
        if run is not None and not run.done:
            run.cancel.set()  # the model worker checks it before each batch
            self._finish_folder(run)

    def _on_listed(self, result, run) -> None:
        if run is not self.folder_run or run.done:
            return
        if not result.ok:
            self.show_error(f"Cannot read that folder: {result.error}")
            self._finish_folder(run)
            return
        run.todo = list(result.value)
        if run.window.winfo_exists():
            run.window.set_total(len(run.todo))
        self._next_folder_batch(run)

    def _next_folder_batch(self, run) -> None:
        if not run.todo or run.cancel.is_set():
            self._finish_folder(run)
            return
        batch, run.todo = run.todo[: jobs.FOLDER_BATCH], run.todo[jobs.FOLDER_BATCH:]
        self._submit(self.model_worker, "folder", jobs.classify_files, self.model, batch, run.cancel, context=run)

    def _on_folder_batch(self, result, run) -> None:
        if run is not self.folder_run:
            return
        if not result.ok:
            self.show_error(f"Classify folder stopped: {type(result.error).__name__}: {result.error}")
            self._finish_folder(run)
            return
        if run.window.winfo_exists():
            run.window.add(result.value)
            if run.done:  # the batch in flight when Cancel was pressed: keep its rows, say so again
                run.window.finish(cancelled=True)
        if not run.done:
            self._next_folder_batch(run)

    def _finish_folder(self, run) -> None:
        if run.done:
            return
        run.done = True
        if run.window.winfo_exists():
            run.window.finish(cancelled=run.cancel.is_set())
            done, total = len(run.window.records), run.window.total
            self.show_message(("Cancelled" if run.cancel.is_set() else "Classified") + f" {done} / {total} files.")

    def export_csv(self) -> None:
        run = self.folder_run
        if run is None or not run.window.winfo_exists() or not run.window.records:
            return
        name = os.path.basename(os.path.normpath(run.folder)) or "results"
        path = self.dialogs.ask_save_csv(initialfile=f"{name}.csv", initialdir=self._last_dir)
        if not path:
            return
        self._save_count += 1
        self._submit(self.io_worker, f"csv:{self._save_count}", jobs.write_csv, path, list(run.window.records),
                     list(self.model.classifier.classes), context=path)

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
            "shortcuts", lambda: InfoWindow(self.root, "Keyboard shortcuts", shortcuts_text(), width=50, height=10)
        )

    def show_disclaimer(self) -> tk.Toplevel:
        return self._window("disclaimer", lambda: InfoWindow(self.root, "Disclaimer", DISCLAIMER))

    def show_about(self) -> tk.Toplevel:
        return self._window("about", lambda: InfoWindow(self.root, f"About {APP_NAME}", about_text(), height=9))

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

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
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
