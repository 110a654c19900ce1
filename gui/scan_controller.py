"""The scan on screen: opening it (File ▸ Open scan…, Open folder…, Open recent, a drop, the
command line), reading it on the I/O worker, putting it or another of its slices on screen, and
what the screen does with it without touching the classifier's input: invert, fit, the pixel
under the pointer, right-drag window/level.

Owns the scan canvas, the shared zoom/pan view, the scan's title and the status bar's file,
size and pointer fields; keeps ``app.loaded`` and ``app.inverted``. Calls the volume
controller (slice bar, window panel) and the analysis controller (explain the new scan); neither
calls back. Runs on the Tk main loop only: results come through ``gui.worker.Jobs``.
"""

from __future__ import annotations

import os

from core.series import Series
from gui import jobs
from gui.controls import PREDICTED
from gui.texts import slice_text
from gui.volumepanel import window_words


class ScanController:
    def __init__(self, app):
        self.app = app  # the composition root: state (model, loaded), services, the lower controllers
        self._window_drag = None  # (center, width) when a right-drag started

    def handlers(self) -> dict:
        return {"scan": self._on_scan}

    # ----- opening ----------------------------------------------------------------

    def open_scan_dialog(self) -> None:
        path = self.app.dialogs.ask_open_scan(initialdir=self.app.prefs.last_dir)
        if path:
            self.open_scan(path)

    def open_scan(self, path) -> None:
        """Open a file, a DICOM series (``core.series.Series``), or a folder (its series)."""
        app = self.app
        if isinstance(path, Series):
            app.show_message(f"Opening {path.name} ({len(path)} files)…")
            app.jobs.submit(app.jobs.io, "scan", jobs.read_scan, path, context=(path, False))
            return
        path = str(path)
        if os.path.isdir(path) or os.path.basename(path).upper() == "DICOMDIR":  # a DICOMDIR: its series
            app.volumes.open_folder(path, as_scan=True)  # e.g. a series' folder from Open recent, or named at launch
            return
        app.show_message(f"Opening {os.path.basename(path)}…")
        # The same channel as a re-window: opening another scan makes a pending re-window stale.
        app.jobs.submit(app.jobs.io, "scan", jobs.read_scan, path, context=(path, False))

    def on_dropped_paths(self, paths) -> None:
        if len(paths) == 1 and not os.path.isdir(paths[0]):
            self.open_scan(paths[0])  # one scan on screen at a time
        elif paths:  # a folder, or several files (a series?): what they hold; else the first file
            first = next((p for p in paths if not os.path.isdir(p)), None)
            self.app.volumes.open_folder(*paths, fallback=first)

    def open_folder_dialog(self) -> None:
        folder = self.app.dialogs.ask_open_folder(initialdir=self.app.prefs.last_dir)
        if folder:
            self.app.volumes.open_folder(folder)

    def _on_scan(self, result, context) -> None:
        app = self.app
        path, rewindow = context
        if not result.ok:
            # Keep whatever was on screen: a bad file must not lose the previous scan.
            if rewindow:
                app.show_error(f"Cannot apply that window: {result.error}")
                return
            app.show_error(f"Cannot open scan: {result.error}")
            if app.loaded is None:  # nothing on screen (e.g. a scan named at launch): say it there too
                app.scan_canvas.set_placeholder(f"Cannot open scan:\n{result.error}\n\nFile ▸ Open scan… (Ctrl+O)")
            if isinstance(path, str) and not os.path.exists(path):
                app.recent.remove(path)  # a recent entry whose file has gone
            return
        if rewindow is True and not app.volumes.classify_shown:
            self._show_window(result.value)  # display only: the classifier's input and its analysis stay
            return
        if not rewindow:
            app.view_state.reset()  # another scan: fitted, not zoomed into where the last one was
        self.show(result.value, read_ms=result.elapsed_ms)
        scan = app.loaded.scan
        if rewindow:
            self._reclassified(scan.info["window"])
            return
        app.prefs.opened(scan.path)
        source = app.loaded.source
        app.recent.add(source.path if isinstance(source, Series) else scan.path)  # a series: its folder
        app.vars.target.set(PREDICTED)
        app.volumes.new_scan(scan.info.get("modality"))  # no CT windows for an MR
        notes = app.loaded.volume.info.get("notes") if app.loaded.volume is not None else None
        if notes:  # a series that is split, not parallel, or has gaps: say so
            app.show_message(f"{app.loaded.name}: " + "; ".join(notes) + ".", "warning")
        elif app.model is not None:
            app.show_message(f"Opened {app.loaded.name}; analysing…")
        if app.model is not None:
            app.analyses.explain(None, fresh=True)
        elif app.model_error:
            app.show_message(f"Opened {scan.name}. Preview only: no model.")
            app.analyses.placeholder("No model loaded: no heatmap")
        else:
            app.show_message(f"Opened {scan.name}. The model is still loading.")
            app.analyses.placeholder("Waiting for the model…")
        app.refresh_states()

    def _reclassified(self, window) -> None:
        """The same slice read again because the classifier's window changed: classify it again."""
        app = self.app
        text = f"center {window['center']:g}, width {window['width']:g}" if window["center"] is not None \
            else window["source"]
        if app.volumes.classify_shown:
            app.show_message(f"Window {text} ({window['source']}); the classifier sees this window, as asked.")
        else:  # "Classify the displayed window" was just cleared: back to the default window
            app.show_message(f"The classifier sees {window_words(window)} again; the display keeps its window.")
        if app.model is not None:
            app.analyses.explain(app.analyses.target(), fresh=True)
        app.refresh_states()

    # ----- on screen --------------------------------------------------------------

    def show(self, loaded: jobs.LoadedScan, read_ms: float | None = None) -> None:
        """Put a scan (or another slice / window of it) on screen; its old analysis is stale."""
        app = self.app
        app.loaded = loaded
        app.analyses.clear(read_ms)
        self.paint()
        scan = loaded.scan
        where = f" — {slice_text(loaded.index, loaded.slices)}" if loaded.slices > 1 else ""
        if loaded.volumes > 1:  # 4-D NIfTI: which volume is shown and classified
            where += f" — volume {loaded.volume_index} (0–{loaded.volumes - 1})"
        app.scan_title.set(f"Scan — {loaded.name}{where}")
        app.status.file_var.set(loaded.name)
        app.status.size_var.set(f"{scan.width}×{scan.height} px · {scan.format} · {loaded.file_bytes / 1024:.0f} KB")
        app.volumes.show(loaded)

    def _show_window(self, loaded: jobs.LoadedScan) -> None:
        """The same scan in another display window: the screen changes, the classifier's input does not."""
        app = self.app
        app.loaded = loaded
        self.paint()
        app.volumes.show_windows(loaded)
        app.analyses.render()  # the overlay drawn over the newly windowed image
        app.show_message(f"Showing {window_words(loaded.shown.info['window'])}; display only: the classifier "
                         f"still sees {window_words(loaded.scan.info['window'])}.")
        app.refresh_states()

    def paint(self, grey=None) -> None:
        self.app.scan_canvas.set_image(self.app.grey_levels() if grey is None else grey)

    def set_slice(self, index: int) -> None:
        """Show slice ``index`` of the volume on screen and classify that slice."""
        app, loaded = self.app, self.app.loaded
        if loaded is None or loaded.slices <= 1:
            return
        index = min(max(0, int(index)), loaded.slices - 1)
        if index == loaded.index:
            return
        self.show(loaded.at(index))
        if app.model is not None:
            app.analyses.explain(app.analyses.target(), fresh=True)
        app.refresh_states()

    def step_slice(self, delta: int) -> None:
        if self.app.loaded is not None:
            self.set_slice(self.app.loaded.index + delta)

    # ----- viewing (display only: nothing here reaches the classifier) ------------------

    def fit_view(self) -> None:
        """= / Space: the whole image, centred, in both panes."""
        self.app.view_state.fit()

    def invert_display(self) -> None:
        """I: invert the grey levels of both images on screen (the classifier's input is untouched)."""
        app = self.app
        app.inverted = not app.inverted
        if app.loaded is not None:
            self.paint()
            app.analyses.render()
        app.show_message("Display inverted (the classifier still sees the scan as read)." if app.inverted
                         else "Display no longer inverted.")

    def on_pointer(self, col, row) -> None:
        """The image pixel under the pointer, and its value, in the status bar."""
        loaded, cursor = self.app.loaded, self.app.status.cursor_var
        if col is None or loaded is None:
            cursor.set("")
            return
        pixels = loaded.scan.pixels
        if not (0 <= row < pixels.shape[0] and 0 <= col < pixels.shape[1]):
            cursor.set("")
            return
        value = pixels[row, col]
        shown = f"{float(value):.4g}" if getattr(value, "ndim", 0) == 0 else ", ".join(f"{v:.4g}" for v in value)
        where = f" · slice {loaded.index}" if loaded.slices > 1 else ""
        cursor.set(f"x {col}, y {row} · value {shown}{where}")

    def on_right_drag(self, phase: str, dx: int, dy: int) -> None:
        """Right drag = window/level (DICOM, NIfTI): left-right changes the width, up-down the level.

        While dragging only the screen changes (the displayed grey levels re-mapped); on release the
        window goes into the Window/level panel and is applied like a typed one.
        """
        app = self.app
        window = self._display_window()
        if window is None or window.get("center") is None or not window.get("width"):
            if phase == "start":
                app.show_message("Right-drag window/level works on DICOM and NIfTI scans with a numeric window.",
                                 "warning")
            return
        if phase == "start":
            self._window_drag = (float(window["center"]), float(window["width"]))
            return
        if self._window_drag is None:
            return
        center0, width0 = self._window_drag
        sensitivity = width0 / app.theme.px(300)  # a 300 px drag changes the width by its own size
        width = max(1e-6 * max(1.0, abs(width0)), width0 + dx * sensitivity)
        center = center0 + dy * sensitivity
        if phase == "move":
            self._preview_window(center, width)
            app.status.cursor_var.set(f"window center {center:.4g}, width {width:.4g}")
            return
        self._window_drag = None
        if dx == 0 and dy == 0:
            return
        app.volumes.apply_window(center, width)

    def _display_window(self) -> dict | None:
        """The window the screen shows (the display slice's, where the display has its own window)."""
        loaded = self.app.loaded
        if loaded is None or not loaded.windowed:
            return None
        shown = getattr(loaded, "shown", None) or loaded.scan
        return shown.info.get("window")

    def _preview_window(self, center: float, width: float) -> None:
        """Re-map the grey levels on screen as window (center, width) would show them (display only)."""
        import numpy as np

        current = self._display_window()
        c0, w0 = float(current["center"]), float(current["width"])
        values = (c0 - w0 / 2.0) + self.app.loaded.display.astype(np.float32) * (w0 / 255.0)  # to modality units
        shown = np.clip((values - (center - width / 2.0)) * (255.0 / width), 0, 255).astype(np.uint8)
        self.paint(255 - shown if self.app.inverted else shown)
