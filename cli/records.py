"""From scans to result records: reading and preprocessing (a worker-thread job), the
out-of-distribution / low-confidence judgement, the study record of a multi-slice scan,
and ``_Writer`` (one JSON line or CSV row per record)."""

from __future__ import annotations

import csv
import json
import os
import sys

from core.errors import ModelError, ScanError

EXIT_OK, EXIT_SCAN_FAILED, EXIT_USAGE, EXIT_MODEL = 0, 1, 2, 3
LOW_CONFIDENCE_WARNING = "low confidence: review by a specialist"
STUDY_ABSTAIN_WARNING = "no slice of this scan looks like a brain MRI slice: no classification"
STUDY_MOSTLY_ABSTAIN_WARNING = ("{abstained} of {slices} slices of this scan do not look like brain MRI slices, "
                                "so the scan as a whole is not judged as a brain study: no classification")


def _load_classifier(model_path):
    from core.classifier import Classifier

    try:
        return Classifier.load(model_path)
    except ModelError as err:
        print(f"error: {err}", file=sys.stderr)
        return None


def _read_and_preprocess(path, input_size, method, index=None, all_slices=False, study=False):
    """Worker-thread job: decode + preprocess one file or DICOM series (``core.series.Series``)
    -> a list of (path, extra record fields, tensor | None, error | None), one per slice used.
    ``study``: every slice of a multi-slice scan, each tagged ``"_study"`` (its volume-wide
    fields) for one study record; single-slice scans as without it."""
    from core.preprocess import preprocess

    where = _source_path(path)
    try:
        scans, volume = _scans_of(path, index, all_slices, study)
        tag = _study_fields(volume) if volume is not None and not all_slices else None
        items = []
        for scan in scans:
            fields = {**_scan_fields(scan, index is not None or all_slices), "_checks": _image_checks(scan)}
            if tag is not None:
                fields["_study"] = tag
            items.append((where, fields, preprocess(scan.pixels, input_size, method)[0], None))
        return items
    except ScanError as err:
        return [(where, {}, None, err.problem)]
    except MemoryError:
        return [(where, {}, None, "not enough memory to process this image")]
    except Exception as err:  # a defect in a decoder must not stop the batch
        return [(where, {}, None, f"could not process image ({type(err).__name__})")]


def _source_path(source) -> str:
    """What a record's "path" says: the file, or a DICOM series' folder."""
    return source if isinstance(source, str) else source.path


def _scans_of(source, index, all_slices, study):
    """-> (the scans to classify, their volume when they are a study's (or --all-slices') slices)."""
    from core.io import check_file, file_format, load_scan
    from core.volume import Series, load_volume

    series = isinstance(source, Series)
    if not series:
        check_file(source)  # before sniffing the content: a FIFO would block the read for ever
    if all_slices or (study and index is None and (series or file_format(source))):
        volume = load_volume(source)
        if all_slices or len(volume) > 1:
            return [volume.scan(i) for i in range(len(volume))], volume
        return [volume.scan(None)], None  # one slice: a single scan, as before
    if series:
        return [load_volume(source).scan(index)], None
    return [load_scan(source, index=index)], None


def _study_fields(volume) -> dict:
    """The volume-wide fields of a study record (which series / volume, notes)."""
    fields = {}
    for key in ("series", "volume", "volumes", "notes"):
        if key in volume.info:
            fields[key] = volume.info[key]
    if volume.files:
        fields["_files"] = [os.path.relpath(f, volume.path) for f in volume.files]
    return fields


def _study_record(path, tag, records, classifier) -> dict:
    """One record for a whole multi-slice scan from its slices' records (``core.study``)."""
    from core.study import study_verdict, window_summary

    verdict = study_verdict([r["probabilities"] for r in records], [r["label"] is None for r in records],
                            classifier.classes, classifier.card.low_confidence_threshold)
    record = {
        "path": path,
        "label": verdict.label,
        "confidence": None if verdict.confidence is None else round(verdict.confidence, 6),
        "probabilities": {k: round(float(v), 6) for k, v in verdict.probabilities.items()},
        "slices": verdict.slices,
        "evidence_slices": verdict.evidence_slices,
    }
    files = tag.get("_files")
    if files:
        record["evidence_files"] = [files[i] for i in verdict.evidence_slices]
    if verdict.abstained_slices:
        record["abstained_slices"] = verdict.abstained_slices
    window = window_summary([r.get("window") for r in records])
    if window:
        record["window"] = window
    record.update({k: v for k, v in tag.items() if not k.startswith("_")})
    warnings = []
    if verdict.abstain and len(verdict.abstained_slices) == verdict.slices:
        warnings.append(STUDY_ABSTAIN_WARNING)
    elif verdict.abstain:
        warnings.append(STUDY_MOSTLY_ABSTAIN_WARNING.format(abstained=len(verdict.abstained_slices),
                                                            slices=verdict.slices))
    else:
        for i in verdict.evidence_slices:  # what the slices the verdict rests on were warned about
            said = records[i].get("warning")
            if said and said != LOW_CONFIDENCE_WARNING and said not in warnings:
                warnings.append(said)
        if verdict.low_confidence:
            warnings.append(LOW_CONFIDENCE_WARNING)
        if verdict.isolated_slices:
            record["isolated_slices"] = verdict.isolated_slices
            warnings.append(_isolated_warning(verdict, records))
        if verdict.abstained_slices:
            warnings.append(f"{len(verdict.abstained_slices)} of {verdict.slices} slices do not look like "
                            "brain MRI slices and were left out")
    if warnings:
        record["warning"] = "; ".join(warnings)
    return record


def _isolated_warning(verdict, records) -> str:
    """Names the tumour-class slices the study verdict does not rest on (core.study)."""
    from core.study import MIN_EVIDENCE

    shown = ", ".join(f"{i} ({records[i]['label']} {records[i]['confidence']:.0%})" for i in verdict.isolated_slices)
    many = len(verdict.isolated_slices) > 1
    return (f"slice{'s' if many else ''} {shown} suggest{'' if many else 's'} a tumour the study verdict does "
            f"not rest on (a class needs {MIN_EVIDENCE} slices, and the class with most slices wins): "
            f"review {'them' if many else 'it'}")


def _image_checks(scan):
    from core.ood import ImageChecks, is_blank

    info = scan.info
    return ImageChecks(is_blank(scan.pixels), info.get("chroma"), info.get("modality"), scan.pixels.shape[:2],
                       info.get("body_part"))


def _judge(record, prediction, checks, card_data):
    """Add the out-of-distribution warning (else the low-confidence one) to ``record``; where the
    scan is not a brain MRI at all, the record abstains: ``"label": null``, ``"confidence": null``,
    the probabilities kept."""
    from core.ood import verdict_for

    verdict = verdict_for(checks.blank, checks.chroma, prediction.logits, card_data, prediction.ood_distance,
                          checks.modality, prediction.structure, prediction.rarity_warning, checks.shape,
                          checks.body_part)
    warning = verdict.warning
    if warning is None and prediction.low_confidence:
        warning = LOW_CONFIDENCE_WARNING
    if verdict.abstain:
        record["label"] = None
        record["confidence"] = None
    if warning:
        record["warning"] = warning


def _scan_fields(scan, slice_asked=False) -> dict:
    """Which slice and window a result is about (only where there is something to say)."""
    fields = {}
    if "slice" in scan.info or slice_asked:
        fields["slice"] = int(scan.info.get("slice", 0))
    if "slices" in scan.info:
        fields["slices"] = int(scan.info["slices"])
    if "file" in scan.info:  # a DICOM series' slice: its own file
        fields["file"] = scan.info["file"]
    for key in ("volume", "volumes", "series"):  # 4-D NIfTI: which volume; which DICOM series
        if key in scan.info:
            fields[key] = scan.info[key]
    if "window" in scan.info:
        fields["window"] = scan.info["window"]
    return fields


class _Writer:
    def __init__(self, fmt, classes, stream=None):
        self.fmt, self.classes, self.stream = fmt, classes, stream or sys.stdout
        if fmt == "csv":
            self.csv = csv.writer(self.stream)
            self.csv.writerow(["path", "label", "confidence", *classes, "warning", "error", "slice", "slices",
                               "evidence_slices"])

    def result(self, record: dict):
        if self.fmt == "jsonl":
            line = json.dumps(record, ensure_ascii=False)
            if not _encodable(line):
                # A file name that is not valid UTF-8 (Python holds its bytes as lone
                # surrogates): JSON's \u escapes keep the line valid and the name exact.
                line = json.dumps(record, ensure_ascii=True)
            self.stream.write(line + "\n")
        else:
            probs = record.get("probabilities", {})
            path = record["path"] if _encodable(record["path"]) else _printable_path(record["path"])
            self.csv.writerow(
                [path, record.get("label", ""), record.get("confidence", ""),
                 *(probs.get(c, "") for c in self.classes), record.get("warning", ""), record.get("error", ""),
                 record.get("slice", ""), record.get("slices", ""),
                 " ".join(str(i) for i in record.get("evidence_slices", ()))]
            )
        self.stream.flush()


def _encodable(text: str) -> bool:
    try:
        text.encode("utf-8")
        return True
    except UnicodeEncodeError:
        return False


def _printable_path(path: str) -> str:
    """A file name's undecodable bytes as ``\\xNN`` (CSV has no escape of its own)."""
    return os.fsencode(path).decode("utf-8", "backslashreplace")
