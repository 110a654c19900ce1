"""Saving what is on screen: File ▸ Save overlay image… (PNG with its labelled colour bar) and
File ▸ Export report… (one-page PDF), written on the I/O worker; and the "saved" messages of
every save (a folder table's CSV too).

Reads what is on screen (``app.loaded``, ``app.analysis``, ``app.overlay_image``); owns no widget.
Runs on the Tk main loop only: results come through ``gui.worker.Jobs``.
"""

from __future__ import annotations

import functools
import os

from gradcam.overlay import with_colorbar
from gui import jobs
from gui.controls import METHOD_NAMES


class ReportController:
    """The saved files of one ``App`` (its composition root: the scan and analysis on screen)."""

    def __init__(self, app):
        self.app = app

    def handlers(self) -> dict:
        return {"save": self._on_saved, "report": self._on_saved, "csv": self._on_saved}

    def save_overlay(self) -> None:
        if self.app.overlay_image is None:
            self.app.show_error("Nothing to save yet: open a scan and wait for its heatmap.")
            return
        stem = os.path.splitext(self.app.loaded.scan.name)[0]
        method = self.app.vars.method.get().replace("++", "pp")
        suggested = f"{stem}_{method}_{self.app.analysis.target_class}.png"
        path = self.app.dialogs.ask_save_image(initialfile=suggested, initialdir=self.app.prefs.save_dir())
        if not path:
            return
        self.app.prefs.saved_to(path)
        channel = self.app.jobs.own_channel("save")  # each save its own channel: a second never cancels the first
        # labelled scale
        image = with_colorbar(self.app.overlay_image, self.app.vars.colormap.get(), self.app.analyses.scale_caption())
        self.app.jobs.submit(self.app.jobs.io, channel, jobs.save_image, image, path, context=path)

    def _on_saved(self, result, path) -> None:
        what = {"report": "report", "csv": "table"}.get(result.channel.split(":")[0], "overlay image")
        if result.ok:
            self.app.show_message(f"Saved {what} to {path}")
            if what == "table":
                self.app.batch.mark_exported(path)  # closing the table no longer asks
        else:
            self.app.show_error(f"Could not save: {result.error}")

    def _stem(self) -> str:
        name = self.app.loaded.scan.name
        stem = name[: -len(".nii.gz")] if name.lower().endswith(".nii.gz") else os.path.splitext(name)[0]
        return stem + (f".slice{self.app.loaded.index:03d}" if self.app.loaded.slices > 1 else "")

    def export_report(self) -> None:
        """File ▸ Export report…: a one-page PDF of the scan, overlay and prediction on screen."""
        if self.app.analysis is None or self.app.loaded is None:
            self.app.show_error("Nothing to report yet: open a scan and wait for its analysis.")
            return
        path = self.app.dialogs.ask_save_report(initialfile=f"{self._stem()}.report.pdf",
                                                initialdir=self.app.prefs.save_dir())
        if not path:
            return
        self.app.prefs.saved_to(path)
        overlay_rgb = self.app.overlay_image
        if overlay_rgb is None:  # no Grad-CAM for this model: the report shows the scan twice
            import numpy as np

            overlay_rgb = np.stack([self.app.loaded.display] * 3, axis=-1)
        method = METHOD_NAMES[self.app.vars.method.get()] if self.app.overlay_image is not None else "No heatmap"
        # the overlay's colour bar in the report too (none when the report shows the scan twice)
        bar = {"colormap": self.app.vars.colormap.get(), "scale_label": self.app.analyses.scale_caption()} \
            if self.app.overlay_image is not None else {}
        self.app.jobs.submit(
            self.app.jobs.io, self.app.jobs.own_channel("report"), functools.partial(jobs.save_report, **bar), path,
            self.app.loaded, overlay_rgb, self.app.analysis, self.app.model.classifier, method,
            self.app.volumes.study_for(self.app.loaded), self.app.volumes.classify_shown, context=path,
        )
