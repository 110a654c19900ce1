"""Multi-slice scans: folders of DICOM series (the chooser), the slice bar, the display window
and its presets (and which window the classifier sees), the volume of a 4-D NIfTI, and
"Classify all slices" (the study verdict and its per-slice plot).

Owns the slice bar, the window/level panel, the series chooser and the slice plot. It never
calls the scan controller: a scan to open or a slice to show goes to the callbacks the
composition root hands it (``open_scan``, ``show_slice``); a re-read scan comes back on the
"scan" channel. Runs on the Tk main loop only: results come through ``gui.worker.Jobs``.
"""

from __future__ import annotations

from gui import jobs
from gui.volumepanel import window_words


class VolumeController:
    """The volumes of one ``App`` (its composition root: the scan on screen, workers, panels)."""

    def __init__(self, app, open_scan, show_slice):
        self.app = app  # the composition root: state (model, loaded), services, the analysis controller
        self.open_scan = open_scan  # open a path or a core.series.Series
        self.show_slice = show_slice  # show (and classify) slice N of the scan on screen
        self.slice_predictions = None  # the last "Classify all slices" result (one Prediction per slice)
        self.study = None  # (classifier volume, study record) of the last "Classify all slices"

    def handlers(self) -> dict:
        return {"volumes": self._on_volumes_listed, "slices": self._on_slices}

    def open_folder(self, *paths, fallback: str | None = None, as_scan: bool = False) -> None:
        """The DICOM series and volumes in ``paths`` (folders, files, a DICOMDIR): one opens at once,
        several are offered in a chooser; with none, ``fallback`` (a file) opens as a scan.
        ``as_scan``: a folder given where a scan was asked for (its failure says "Cannot open scan")."""
        paths = [str(p) for p in paths]
        where = paths[0] if len(paths) == 1 else f"{len(paths)} files"
        self.app.show_message(f"Looking for DICOM series in {where}…")
        self.app.jobs.submit(self.app.jobs.io, "volumes", jobs.list_volumes, paths,
                         context=(where, fallback, as_scan))

    def _on_volumes_listed(self, result, context) -> None:
        where, fallback, as_scan = context
        if not result.ok and as_scan or (result.ok and not result.value and as_scan):
            self.app.show_error(f"Cannot open scan: {where}: a folder with no DICOM series, DICOM or NIfTI file in it "
                                "(File ▸ Classify folder… classifies a folder of images)")
            return
        if not result.ok:
            self.app.show_error(f"Cannot read {where}: {result.error}")
            return
        choices = result.value
        if not choices and fallback is not None:
            self.open_scan(fallback)  # dropped images: the first one, as always
            return
        if not choices:
            self.app.show_error(f"No DICOM series, DICOM or NIfTI file in {where} (File ▸ Classify folder… "
                                "classifies a folder of images).")
            return
        if len(choices) == 1:
            self.open_scan(choices[0][0])
            return
        from gui.serieschooser import SeriesChooser

        old = self.app.windows.get("series")
        if old is not None and old.winfo_exists():
            old.destroy()
        self.app.windows["series"] = SeriesChooser(self.app.root, where, choices, on_open=self.open_scan)
        self.app.show_message(f"{len(choices)} series and volumes in {where}: choose one.")

    def set_window(self, window) -> None:
        """Show the volume in ``window`` ((center, width), None = the file's, "auto", "full").

        Display only: the classifier keeps each slice's default window (and the analysis stays),
        unless "Classify the displayed window" is ticked; then the slice is classified again."""
        loaded = self.app.loaded
        if loaded is None or not loaded.windowed:
            return
        source = loaded.source if loaded.source is not None else loaded.scan.path
        self.app.show_message("Applying the window…")
        shown = self.classify_shown
        self.app.jobs.submit(self.app.jobs.io, "scan", jobs.read_scan, source, window, loaded.index,
                             loaded.volume_index, None if shown else loaded.volume, shown, context=(source, True))

    def show(self, loaded) -> None:
        """A scan, or another slice of it, is on screen: the slice bar, the window panel, the plot's marker."""
        bar = self.app.slice_bar
        if loaded.slices > 1:
            bar.show(loaded.index, loaded.slices)
            bar.show_volume(loaded.volume_index, loaded.volumes)
            bar.show_study(*self._study_line())
            bar.grid()
        else:
            bar.grid_remove()
        self.show_windows(loaded)
        plot = self.app.windows.get("slices")
        if plot is not None and plot.winfo_exists() and loaded.slices == len(plot.predictions):
            plot.mark(loaded.index)

    def show_windows(self, loaded) -> None:
        """The window panel (display window, which window the classifier sees) and the results' line."""
        panel = self.app.window_panel
        if loaded.windowed:
            panel.show(loaded.shown.info["window"], loaded.scan.info["window"])
            panel.grid()
            asked = " (the displayed window, as asked)" if panel.classify_shown.get() else ""
            self.app.analyses.show_model_input(f"Model input: {window_words(loaded.scan.info['window'])}{asked}")
        else:
            panel.grid_remove()
            self.app.analyses.show_model_input(None)

    def new_scan(self, modality: str | None) -> None:
        """Another scan opened: the presets of its modality (no CT windows for an MR), the file's window."""
        self.app.window_panel.preset.set("File")
        self.app.window_panel.set_modality(modality)

    @property
    def classify_shown(self) -> bool:
        """Is "Classify the displayed window" ticked?"""
        return bool(self.app.window_panel.classify_shown.get())

    def apply_window(self, center: float, width: float) -> None:
        """A window chosen on screen (right drag): into the panel, applied like a typed one."""
        self.app.window_panel.center.set(f"{center:.6g}")
        self.app.window_panel.width.set(f"{width:.6g}")
        self.app.window_panel.apply()

    def apply_preset(self, number: int) -> None:
        """1-5: the window preset at that place in the Preset list (DICOM and NIfTI only)."""
        loaded = self.app.loaded
        if loaded is None or not loaded.windowed:
            self.app.show_message("Window presets apply to DICOM and NIfTI scans.", "warning")
            return
        presets = self.app.window_panel.presets  # this scan's modality's presets (CT windows only for CT)
        names = list(presets)
        if not 1 <= number <= len(names):
            self.app.show_message(f"There is no window preset {number}: the Preset list has {len(names)}.",
                                  "warning")
            return
        self.app.window_panel.preset.set(names[number - 1])
        self.set_window(presets[names[number - 1]])

    def classify_shown_changed(self) -> None:
        """The option "Classify the displayed window" was ticked or cleared: read and classify again."""
        loaded = self.app.loaded
        if loaded is None or not loaded.windowed:
            return
        window = loaded.shown.info["window"]
        chosen = (window["center"], window["width"]) if window.get("source") == "user" else None
        source = loaded.source if loaded.source is not None else loaded.scan.path
        shown = self.classify_shown
        self.app.show_message("Classifying the displayed window…" if shown else "Classifying the default window…")
        # "reclassify": the classifier's input changes either way, so the slice is classified again.
        self.app.jobs.submit(self.app.jobs.io, "scan", jobs.read_scan, source, chosen, loaded.index,
                             loaded.volume_index, None, shown, context=(source, "reclassify"))

    def set_volume(self, volume_index: int) -> None:
        """4-D NIfTI: show and classify volume ``volume_index`` (same slice, default window)."""
        loaded = self.app.loaded
        if loaded is None or loaded.volume_index is None or volume_index == loaded.volume_index:
            return
        self.app.show_message(f"Reading volume {volume_index} of {loaded.volumes}…")
        self.app.jobs.submit(self.app.jobs.io, "scan", jobs.read_scan, loaded.source, None, loaded.index,
                             int(volume_index), context=(loaded.source, False))

    def study_for(self, loaded) -> dict | None:
        """The study record of ``loaded``'s volume, if "Classify all slices" ran on it."""
        if self.study is None or loaded is None or self.study[0] is not loaded.volume:
            return None
        return self.study[1]

    def _study_line(self) -> tuple:
        """(text, evidence slices) for the slice bar's second row: the study verdict, else series notes."""
        from gui.volumepanel import study_headline

        study = self.study_for(self.app.loaded)
        if study is not None:
            return study_headline(study, self.app.model.card.display_name), study["evidence_slices"]
        notes = self.app.loaded.volume.info.get("notes") if self.app.loaded.volume is not None else None
        return ("Series: " + "; ".join(notes) if notes else None), ()

    def reset_window(self) -> None:
        if self.app.loaded is not None and self.app.loaded.windowed:
            self.app.window_panel.reset()

    def classify_all_slices(self) -> None:
        if self.app.model is None or self.app.loaded is None or self.app.loaded.slices <= 1:
            self.app.show_error("Classify all slices needs a multi-slice scan (DICOM series or multi-frame, NIfTI) "
                                "and a model.")
            return
        volume = self.app.loaded.volume  # the classifier's: default windows (or the displayed one, if asked)
        self.app.show_message(f"Classifying all {len(volume)} slices…")
        self.app.jobs.submit(self.app.jobs.model, "slices", jobs.classify_slices, self.app.model, volume,
                             context=volume)

    def _on_slices(self, result, volume) -> None:
        if self.app.loaded is None or self.app.loaded.volume is not volume:
            return  # another scan or window since: these numbers describe something no longer shown
        if not result.ok:
            self.app.show_error(f"Classify all slices failed: {result.error}")
            return
        from gui.sliceplot import SlicePlotWindow  # matplotlib only when first asked for

        self.slice_predictions = result.value.predictions
        self.study = (volume, result.value.study)  # the study verdict, as `predict` prints it
        old = self.app.windows.get("slices")
        if old is not None and old.winfo_exists():
            old.destroy()
        card = self.app.model.card
        self.app.windows["slices"] = SlicePlotWindow(
            self.app.root, self.app.loaded.name, self.slice_predictions, self.app.model.classifier.classes,
            card.display_name,
            self.app.loaded.index, on_pick=self.show_slice, study=result.value.study,
        )
        self.app.slice_bar.show_study(*self._study_line())
        self.app.refresh_states()
        self.app.show_message(f"Classified {len(self.slice_predictions)} slices in {result.elapsed_ms / 1000:.1f} s. "
                              f"{self._study_line()[0]}. Click the plot to show a slice.")
