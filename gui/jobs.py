"""The work done on the worker threads: load the model, read a scan or volume, explain it,
classify a folder or every slice, save an image or a report.

Each function returns plain values and never touches a widget. TensorFlow is
imported here, lazily, inside ``load_model`` (via ``Classifier.load``).
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field

import numpy as np

from core.errors import ModelError, ScanError
from core.io import Scan, load_scan
from core.volume import Series, Volume, load_volume, volume_format

AUTO_WINDOW = "auto"  # ``read_scan(window=AUTO_WINDOW)``: the 0.5-99.5 percentile window of the data
FULL_WINDOW = "full"  # ``read_scan(window=FULL_WINDOW)``: the whole range of the data (min to max)
FOLDER_BATCH = 16  # files per model-worker job when classifying a folder (cancel is checked between)


class SaveError(Exception):
    """The overlay image could not be written; ``str(err)`` is one line."""


# Routine failures the window reports in words; anything else is a bug and also gets a traceback.
EXPECTED_ERRORS = (ScanError, ModelError, SaveError)


@dataclass
class LoadedModel:
    classifier: object  # core.classifier.Classifier
    engine: object | None  # gradcam.engine.CAMEngine, or None when Grad-CAM cannot run on this model
    cam_error: str | None = None

    @property
    def card(self):
        return self.classifier.card


@dataclass
class LoadedScan:
    """A scan on screen. ``scan``/``volume`` are what the classifier sees: each slice in its default
    window (the file's VOI LUT or window, else the percentile window), whatever the display shows;
    ``display_volume`` is the volume in the window chosen for the screen (``None``: the same)."""

    scan: Scan
    display: np.ndarray  # uint8 (h, w), what the screen shows
    file_bytes: int
    volume: Volume | None = None  # every slice (DICOM, NIfTI, a DICOM series), windowed alike; None for images
    index: int = 0  # which slice of ``volume`` ``scan`` is
    display_volume: Volume | None = None  # the volume in the display window, when it differs from ``volume``
    source: object = None  # what was opened: a path or a core.series.Series
    volume_index: int | None = None  # which volume of a 4-D NIfTI (None: not 4-D)
    display_scan: Scan | None = None  # the slice in the display window, when it differs from ``scan``

    @property
    def slices(self) -> int:
        return 1 if self.volume is None else len(self.volume)

    @property
    def windowed(self) -> bool:
        return "window" in self.scan.info

    @property
    def shown(self) -> Scan:
        """The slice as the screen shows it (its ``info["window"]`` is the display window)."""
        return self.display_scan if self.display_scan is not None else self.scan

    @property
    def volumes(self) -> int:
        """How many volumes the file holds (4-D NIfTI), else 1."""
        return int(self.scan.info.get("volumes", 1))

    @property
    def name(self) -> str:
        """A file's name, or a DICOM series' (``<folder> · series N``)."""
        return self.volume.name if self.volume is not None and self.volume.files else self.scan.name

    def at(self, index: int) -> "LoadedScan":
        """Another slice of the same volume: no file access, same windows."""
        scan = self.volume.scan(index)
        shown = self.display_volume.scan(index) if self.display_volume is not None else None
        return LoadedScan(scan, (shown or scan).display_uint8(), self.file_bytes, self.volume, index,
                          self.display_volume, self.source, self.volume_index, shown)


@dataclass
class Analysis:
    """One prediction plus the maps explaining ``target_class`` (empty without Grad-CAM)."""

    prediction: object  # core.classifier.Prediction, calibrated
    target_class: str
    # method -> (h, w) float32 in [0, 1], relative to the predicted class's strongest evidence on the scan
    heatmaps: dict = field(default_factory=dict)
    all_zero: dict = field(default_factory=dict)
    timings_ms: dict = field(default_factory=dict)
    ood_warning: str | None = None  # "this does not look like a brain MRI" and kin (core.ood)
    abstain: bool = False  # not a brain MRI slice at all: no class is shown (core.ood.verdict_for)
    # method -> why its map cannot explain this (non-predicted) class: the window shows the reason instead
    not_class_specific: dict = field(default_factory=dict)
    relative_peak: dict = field(default_factory=dict)  # method -> the map's peak on that scale (1: predicted)


def load_model(model_path: str | None) -> LoadedModel:
    from core.classifier import Classifier  # module import is light; load() brings in the runtime

    if model_path is not None and not os.path.isfile(model_path):
        # Name the model file itself, not the card Classifier.load would look for next to it.
        raise ModelError(f"model file not found: {model_path}")
    classifier = Classifier.load(model_path)
    try:
        from gradcam.engine import CAMEngine

        engine, cam_error = CAMEngine(classifier), None
    except Exception as err:  # a model CAM cannot handle still classifies
        engine, cam_error = None, f"Grad-CAM unavailable for this model ({type(err).__name__}: {err})"
    model = LoadedModel(classifier, engine, cam_error)
    _warm_up(model)
    return model


def _warm_up(model: LoadedModel) -> None:
    """Run every pass once on a generated head now, in the loading worker (LiteRT allocates its
    tensors, Keras traces its graphs), so the user's first scan takes as long as every later one."""
    from core.classifier import synthetic_head

    try:
        analyse(model, synthetic_head(), None)
    except Exception:  # the first real scan would trace again and report any real error
        pass


def read_scan(path, window=None, index: int | None = None, volume_index: int | None = None,
              model_volume: Volume | None = None, classify_shown: bool = False) -> LoadedScan:
    """An ordinary image, or a whole volume (a file or a ``core.series.Series``) read once
    (``index``: slice shown, None = middle; ``volume_index``: the volume of a 4-D NIfTI).

    ``window`` is the *display* window: ``(center, width)``, ``None`` (the file's own, else
    percentile), ``AUTO_WINDOW`` (the percentile window of the data even when the file has
    one) or ``FULL_WINDOW`` (its whole range). The classifier's volume keeps the default
    window (``model_volume``, when the caller has it already, else read here) unless
    ``classify_shown`` (the option "classify the displayed window").
    """
    from core.io import check_file

    series = isinstance(path, Series)
    if not series:
        check_file(path)  # before sniffing the content: a FIFO would block the read for ever
        if volume_format(path) is None:
            scan = load_scan(path)
            return LoadedScan(scan, scan.display_uint8(), os.path.getsize(path), source=path)
    if window in (AUTO_WINDOW, FULL_WINDOW):
        window = auto_window(path, full=window == FULL_WINDOW, volume_index=volume_index)
    shown = load_volume(path, window=window, volume_index=volume_index)
    if window is None or classify_shown:
        volume, shown = shown, None
    else:
        volume = model_volume if model_volume is not None else load_volume(path, volume_index=volume_index)
    if index is not None:
        index = min(max(0, int(index)), len(volume) - 1)  # same file, maybe another window: keep the slice
    chosen = len(volume) // 2 if index is None else index
    scan = volume.scan(chosen)
    display_scan = shown.scan(chosen) if shown is not None else None
    size = sum(os.path.getsize(f) for f in path.files) if series else os.path.getsize(path)
    return LoadedScan(scan, (display_scan or scan).display_uint8(), size, volume, chosen, shown, path,
                      volume.info.get("volume"), display_scan)


def auto_window(path, full: bool = False, volume_index: int | None = None) -> tuple[float, float]:
    """The 0.5-99.5 percentile window (``full``: the min-max window) of a DICOM/NIfTI file's or a
    DICOM series' values (modality units)."""
    from core.window import percentile_window

    if isinstance(path, Series) or volume_format(path) == "dicom":
        from core.dicom import modality_values

        files = path.files if isinstance(path, Series) else [path]
        values = np.concatenate([modality_values(f).ravel() for f in files])
    else:
        from core.nifti import read_values

        values = read_values(path, volume_index)[0]
    if not full:
        return percentile_window(values)
    low, high = float(np.min(values)), float(np.max(values))
    return (low + high) / 2.0, max(high - low, 1e-6)


def analyse(model: LoadedModel, pixels: np.ndarray, target_class: str | None, chroma: float | None = None,
            modality: str | None = None, body_part: str | None = None) -> Analysis:
    from core.ood import is_blank, verdict_for

    if model.engine is None:
        started = time.perf_counter()
        prediction = model.classifier.predict_pixels([pixels])[0]
        timings = {"predict": (time.perf_counter() - started) * 1000}
        analysis = Analysis(prediction, target_class or prediction.label, timings_ms=timings)
    else:
        result = model.engine.explain(pixels, target_class=target_class)
        analysis = Analysis(
            result.prediction,
            result.target_class,
            dict(result.relative_heatmaps),  # the honest scale: a weak class's map looks weak
            dict(result.all_zero),
            dict(result.timings_ms),
            not_class_specific=dict(result.not_class_specific),
            relative_peak=dict(result.relative_peak),
        )
    prediction = analysis.prediction
    verdict = verdict_for(
        is_blank(pixels), chroma, np.asarray(prediction.logits), model.classifier.card.data, prediction.ood_distance,
        modality, prediction.structure, prediction.rarity_warning, np.shape(pixels)[:2], body_part,
    )
    analysis.ood_warning, analysis.abstain = verdict.warning, verdict.abstain
    return analysis


def save_image(rgb: np.ndarray, path: str) -> str:
    from PIL import Image

    try:
        Image.fromarray(rgb).save(path)
    except ValueError as err:  # Pillow: unknown file extension
        raise SaveError(f"{path}: cannot save in this format ({err})") from None
    except OSError as err:
        raise SaveError(f"{path}: cannot write file ({err.strerror or err})") from None
    return path


def explain_method(model: LoadedModel, pixels: np.ndarray, target_class: str, method: str) -> dict:
    """One more map on demand (Integrated Gradients: a 32-step pass, so not on every scan):
    ``{"heatmap", "all_zero", "relative_peak", "refusal", "ms"}`` for ``target_class``."""
    result = model.engine.explain(pixels, target_class=target_class, methods=(method,))
    return {
        "heatmap": result.relative_heatmaps[method],
        "all_zero": result.all_zero[method],
        "relative_peak": result.relative_peak[method],
        "refusal": result.not_class_specific.get(method),
        "ms": result.timings_ms.get(method, result.timings_ms["total"]),
    }


def save_report(path: str, loaded: LoadedScan, overlay_rgb: np.ndarray, analysis: Analysis, classifier,
                method_name: str, study: dict | None = None, classify_shown: bool = False, *,
                colormap: str | None = None, scale_label: str | None = None) -> str:
    """One-page PDF of what the window shows. The save dialog already asked before replacing.
    ``study``: the study record of this volume (``classify_slices``), for its verdict lines."""
    from core.report import window_note, write_pdf_report

    scan = loaded.scan
    notes = []
    if loaded.slices > 1:
        notes.append(f"Slice {loaded.index} of {loaded.slices}, counted from 0 ({scan.format})")
    if loaded.volumes > 1:
        notes.append(f"Volume {loaded.volume_index} of {loaded.volumes} (4-D NIfTI), counted from 0")
    if window_note(scan.info):
        notes.append("Model input " + window_note(scan.info)[0].lower() + window_note(scan.info)[1:]
                     + ("  (the displayed window, as asked)" if classify_shown else ""))
    if loaded.display_scan is not None and window_note(loaded.display_scan.info):
        notes.append("Shown " + window_note(loaded.display_scan.info)[0].lower()
                     + window_note(loaded.display_scan.info)[1:] + " (display only)")
    if study is not None:
        notes.extend(study_lines(study, {c: classifier.card.display_name(c) for c in classifier.classes}))
    notes.append(f"File: {scan.name}" if loaded.volume is None or not loaded.volume.files
                 else f"Series: {loaded.name} ({len(loaded.volume.files)} files); this slice: {scan.name}")
    card = classifier.card
    try:
        return write_pdf_report(
            path, loaded.display, overlay_rgb, analysis.prediction,
            class_names={c: card.display_name(c) for c in classifier.classes},
            method_name=method_name, model_name=card.name, model_sha256=classifier.checksum,
            target_name=analysis.target_class, notes=notes, overwrite=True,
            colormap=colormap, scale_label=scale_label,  # the overlay's colour bar, when it has one
        )
    except OSError as err:
        raise SaveError(f"{path}: cannot write file ({err.strerror or err})") from None


def list_scans(folder: str) -> list[tuple[str, str | None]]:
    """Every file under ``folder`` (recursive, sorted), as ``core.io.find_scans`` walks it."""
    from core.io import find_scans

    return list(find_scans([folder]))


def classify_files(model: LoadedModel, found, cancel) -> list[dict]:
    """One batch of ``(path, error)`` -> one record per file, shaped as ``predict`` writes them.

    Returns ``[]`` at once if ``cancel`` (a ``threading.Event``) is set.
    """
    from cli import _judge, _read_and_preprocess

    if cancel.is_set():
        return []
    classifier = model.classifier
    items = []
    for path, error in found:
        if error is None:
            items.extend(_read_and_preprocess(path, classifier.input_size, classifier.preprocessing))
        else:
            items.append((path, {}, None, error))
    ok = [item for item in items if item[2] is not None]
    predictions = iter(classifier.predict_batch(np.stack([item[2] for item in ok])) if ok else [])
    records = []
    for path, fields, tensor, error in items:
        if tensor is None:
            records.append({"path": path, "error": error})
            continue
        prediction = next(predictions)
        record = prediction.as_json(path)
        checks = fields.pop("_checks")
        record.update(fields)
        record["low_confidence"] = bool(prediction.low_confidence)
        _judge(record, prediction, checks, classifier.card.data)
        records.append(record)
    return records


def write_csv(path: str, records, classes) -> str:
    """The records as ``predict --format csv`` writes them (same columns, same order)."""
    from cli import _Writer

    try:
        with open(path, "w", newline="", encoding="utf-8") as handle:
            writer = _Writer("csv", classes, handle)
            for record in records:
                writer.result(record)
    except OSError as err:
        raise SaveError(f"{path}: cannot write file ({err.strerror or err})") from None
    return path


@dataclass
class SliceResults:
    """"Classify all slices": one prediction and one ``predict``-shaped record per slice, and the
    study record ``predict`` prints for the volume (``core.study``: verdict, evidence slices)."""

    predictions: list
    records: list
    study: dict


def classify_slices(model: LoadedModel, volume: Volume, batch_size: int = 32) -> SliceResults:
    """Every slice of ``volume`` (the classifier's volume: default windows), judged as ``predict`` does."""
    from cli import _image_checks, _judge, _scan_fields, _study_fields, _study_record

    classifier = model.classifier
    predictions, records = [], []
    for start in range(0, len(volume), batch_size):
        scans = [volume.scan(i) for i in range(start, min(start + batch_size, len(volume)))]
        batch, _ = classifier.preprocess([scan.pixels for scan in scans])
        for scan, prediction in zip(scans, classifier.predict_batch(batch)):
            record = prediction.as_json(volume.path)
            record.update(_scan_fields(scan, True))
            _judge(record, prediction, _image_checks(scan), classifier.card.data)
            predictions.append(prediction)
            records.append(record)
    study = _study_record(volume.path, _study_fields(volume), records, classifier)
    return SliceResults(predictions, records, study)


def study_lines(study: dict, display_name: dict) -> list:
    """The study verdict in words, for the report and the window."""
    evidence = ", ".join(str(i) for i in study["evidence_slices"]) or "none"
    if study["label"] is None:
        head = f"Study verdict (all {study['slices']} slices): no classification (no slice looks like a brain MRI)"
    else:
        head = (f"Study verdict (all {study['slices']} slices): {display_name.get(study['label'], study['label'])} "
                f"{study['confidence']:.1%}")
    lines = [head, f"Evidence slices (from 0): {evidence}"]
    if study.get("isolated_slices"):
        lines.append("Not counted, worth a look: slices " + ", ".join(str(i) for i in study["isolated_slices"]))
    if study.get("warning"):
        lines.append("Study warning: " + study["warning"])
    return lines


def list_volumes(paths) -> list:
    """What File > Open folder offers: every DICOM series and multi-slice file (NIfTI, multi-frame
    DICOM) under ``paths``, as ``(source, description)`` in the order found."""
    from core.series import discover
    from core.volume import count_slices

    found = []
    for source, error, kind in discover(paths):
        if error is not None or kind is None:
            continue
        if kind == "series":
            words = [source.modality or "DICOM", f"{len(source)} slices", f"{source.cols}×{source.rows}"]
            if source.description:
                words.insert(1, source.description)
            found.append((source, f"{source.name} — " + " · ".join(words)))
            continue
        try:
            count = count_slices(source)
        except ScanError:
            continue
        if count > 1 or kind == "dicom":
            found.append((source, f"{os.path.basename(source)} — {'NIfTI' if kind == 'nifti' else 'DICOM'}"
                                  f" · {count} slice{'s' if count > 1 else ''}"))
    return found
