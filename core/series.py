"""DICOM series: which files (of folders, or of a DICOMDIR) make one volume, and in what order.

Only headers are read here (``core.dicom.read_header``: technical attributes,
never patient ones); pixels are read by ``core.volume.load_volume``.

* Files are grouped by Series Instance UID. A file without one, a multi-frame
  file and a series of one file stay single scans, as before.
* Inside a series, files of another image size or echo number are split into
  parts, each its own volume (slices of different sizes cannot be stacked;
  echoes share positions); ``Series.notes`` says so in words.
* Parallel slices (one orientation: direction cosines within 0.001) are ordered
  by their position along the slice normal (Image Position Patient projected on
  row x column of Image Orientation Patient, ascending: for axial slices, feet to
  head, like NIfTI's slice 0 = most inferior). Slices that are not parallel (a
  three-plane localizer, a radial set), or lack a position or orientation, are
  ordered by Instance Number, else by file name, and noted as not a regular 3-D
  volume. Uneven spacing (a gap), slices sharing one position and mixed pixel
  spacing are kept and noted.
* Files and folders are only opened for reading.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

import numpy as np

from core.errors import ScanError
from core.io import check_file, file_format, find_scans

ORIENTATION_TOLERANCE = 1e-3  # largest difference between direction cosines of one orientation
SAME_POSITION_MM = 1e-3  # slices closer than this along the normal share a position
# Spacing counts as uneven when consecutive distances differ by more than this share of the
# median distance (and more than 0.01 mm): a missing slice doubles one distance.
SPACING_TOLERANCE = 0.01


@dataclass(frozen=True)
class Series:
    """One DICOM series (or one part of a split series), its files in slice order."""

    files: tuple  # file paths, slice 0 first
    number: int | None = None  # Series Number
    description: str | None = None  # Series Description (shown in the window's chooser only)
    modality: str | None = None
    rows: int = 0
    cols: int = 0
    ordered_by: str = "position"  # "position", "instance number" or "file name"
    spacing_mm: float | None = None  # median distance between slices along the normal
    part: int = 1
    parts: int = 1
    split_by: tuple = ()  # what differed between the parts: "image size", "echo number"
    notes: tuple = ()  # sentences about the series worth telling the user
    key: str = field(default="", repr=False)  # Series Instance UID: grouping only, never printed

    def __len__(self) -> int:
        return len(self.files)

    @property
    def path(self) -> str:
        """The folder holding the series' files (their common folder)."""
        folders = {os.path.dirname(os.path.abspath(f)) for f in self.files}
        try:
            return os.path.commonpath(sorted(folders))
        except ValueError:  # different drives (Windows)
            return sorted(folders)[0]

    @property
    def name(self) -> str:
        """A short name for titles: ``<folder> · series 6 (part 1/3)``."""
        text = os.path.basename(self.path) or self.path
        if self.number is not None:
            text += f" · series {self.number}"
        if self.parts > 1:
            text += f" (part {self.part}/{self.parts})"
        return text

    def describe(self) -> dict:
        """What ``predict`` and ``Scan.info["series"]`` say about it (plain JSON values)."""
        out = {"number": self.number, "files": len(self.files), "first_file": os.path.basename(self.files[0]),
               "ordered_by": self.ordered_by}
        if self.spacing_mm is not None:
            out["spacing_mm"] = round(float(self.spacing_mm), 4)
        if self.parts > 1:
            out.update(part=self.part, parts=self.parts, split_by=list(self.split_by))
        return out


def discover(paths):
    """Expand files, folders and DICOMDIRs into what is read as one scan each.

    Yields ``(source, error, kind)``: ``source`` is a file path or a ``Series`` (two or
    more single-frame DICOM files of one Series Instance UID), in the order their first
    file was found; ``error`` is a one-line message or ``None``; ``kind`` is ``"series"``,
    ``"dicom"``, ``"nifti"`` or ``None`` (an ordinary image, or unreadable). A DICOMDIR
    given by name contributes the image files it references; one met while walking a
    folder is skipped (the folder's files are read themselves).
    """
    entries = []  # [path, error, header or None, kind]
    for given in paths:
        given = str(given)
        walked = os.path.isdir(given)
        for path, error in find_scans([given]):
            if error is not None:
                entries.append([path, error, None, None])
                continue
            kind, header = _header(path)
            if header is not None and header["directory"]:
                if walked:
                    continue  # an index of files the walk reads anyway
                entries.extend(_directory_entries(path))
                continue
            entries.append([path, None, header, kind])
    duplicates: set[int] = set()
    grouped = _group([(i, e[0], e[2]) for i, e in enumerate(entries) if _groupable(e)], duplicates)
    first_of = {}  # entry index -> series starting there
    member = set(duplicates)
    for series, indices in grouped:
        if len(series) == 1:
            continue
        first_of[min(indices)] = series
        member.update(indices)
    for index, (path, error, _, kind) in enumerate(entries):
        if index in first_of:
            yield first_of[index], None, "series"
        elif index not in member:
            yield path, error, kind


def series_in(paths) -> list:
    """Every series found under ``paths`` (``discover`` without the single files)."""
    return [source for source, _, kind in discover(paths) if kind == "series"]


def _header(path: str):
    """(``file_format`` of ``path``, its DICOM header or None). Unreadable files give
    (None, None) and unreadable DICOM headers (dicom, None): loading the file says why."""
    from core.dicom import read_header

    try:
        check_file(path)
        kind = file_format(path)
        return kind, (read_header(path) if kind == "dicom" else None)
    except ScanError:
        return (kind if "kind" in locals() else None), None


def _directory_entries(path: str):
    from core.dicom import directory_files

    try:
        files = directory_files(path)
    except ScanError as err:
        return [[path, err.problem, None, None]]
    if not files:
        return [[path, "DICOMDIR references no image files", None, None]]
    entries = []
    for file in files:
        if not os.path.exists(file):
            entries.append([file, "file referenced by the DICOMDIR does not exist", None, None])
        else:
            entries.append([file, None, *reversed(_header(file))])
    return entries


def _groupable(entry) -> bool:
    _, error, header, _ = entry
    return (error is None and header is not None and header["series_uid"] and header["has_pixels"]
            and header["frames"] == 1 and header["rows"] and header["cols"])


def _group(items, duplicates: set):
    """``(entry index, path, header)`` -> [(Series, entry indices)], by UID then by part.
    The indices of files met twice (a DICOMDIR and a folder walk) go into ``duplicates``."""
    by_uid: dict[str, list] = {}
    seen = set()
    for index, path, header in items:
        real = os.path.realpath(path)
        if real in seen:  # the same file twice: once is enough
            duplicates.add(index)
            continue
        seen.add(real)
        by_uid.setdefault(header["series_uid"], []).append((index, path, header))
    out = []
    for uid, members in by_uid.items():
        parts = _split(members)
        differing = _differences([p[0][2] for p in parts]) if len(parts) > 1 else ()
        for number, part in enumerate(parts, start=1):
            series = _ordered(part, uid, number, len(parts), differing)
            out.append((series, [m[0] for m in part]))
    return out


def _split(members):
    """Members that can share one stack: the same image size and echo number."""
    groups: dict[tuple, list] = {}
    for member in members:
        header = member[2]
        groups.setdefault((header["rows"], header["cols"], header["echo"]), []).append(member)
    return list(groups.values())


def _rounded(values):
    return None if values is None else tuple(round(v, 3) for v in values)


def _same_orientation(a, b) -> bool:
    if a is None or b is None:
        return a is None and b is None
    return bool(np.max(np.abs(a - b)) <= ORIENTATION_TOLERANCE)


def _differences(headers) -> tuple:
    names = []
    if len({(h["rows"], h["cols"]) for h in headers}) > 1:
        names.append("image size")
    if len({h["echo"] for h in headers}) > 1:
        names.append("echo number")
    return tuple(names)


def _orientations(headers) -> int:
    """How many distinct orientations (0 if a file has none)."""
    found: list[np.ndarray] = []
    for header in headers:
        if header["orientation"] is None:
            return 0
        cosines = np.asarray(header["orientation"], np.float64)
        if not any(_same_orientation(cosines, known) for known in found):
            found.append(cosines)
    return len(found)


def _ordered(members, uid, part, parts, differing) -> Series:
    headers = [m[2] for m in members]
    paths = [m[1] for m in members]
    names = [os.path.basename(p) for p in paths]
    instance = [h["instance"] if h["instance"] is not None else 0 for h in headers]
    notes = []
    spacing = None
    orientations = _orientations(headers)
    if len({_rounded(h["spacing"]) for h in headers}) > 1:
        notes.append("the slices have different pixel spacings")
    if orientations == 1 and all(h["position"] is not None for h in headers):
        cosines = np.asarray(headers[0]["orientation"], np.float64)
        normal = np.cross(cosines[:3], cosines[3:])
        distance = [float(np.dot(h["position"], normal)) for h in headers]
        order = sorted(range(len(members)), key=lambda i: (distance[i], instance[i], names[i]))
        ordered_by = "position"
        steps = np.diff([distance[i] for i in order])
        shared = int(np.sum(steps < SAME_POSITION_MM))
        if shared:
            notes.append(f"{shared} slice{'s share' if shared > 1 else ' shares'} a position with another one "
                         "(repeated slices or several time points?)")
        moving = steps[steps >= SAME_POSITION_MM]
        if moving.size:
            spacing = float(np.median(moving))
            if moving.max() - moving.min() > max(0.01, SPACING_TOLERANCE * spacing):
                notes.append(f"uneven slice spacing ({moving.min():.3g} to {moving.max():.3g} mm): "
                             "slices may be missing")
    else:
        if all(h["instance"] is not None for h in headers):
            order = sorted(range(len(members)), key=lambda i: (instance[i], names[i]))
            ordered_by = "instance number"
        else:
            order = sorted(range(len(members)), key=lambda i: names[i])
            ordered_by = "file name"
        why = (f"the slices are not parallel ({orientations} orientations)" if orientations > 1
               else "not every file gives its slice position and orientation")
        notes.append(f"{why}: a stack in {ordered_by} order, not a regular 3-D volume")
    if parts > 1:
        notes.insert(0, f"the series has files of more than one {' and '.join(differing) or 'kind'}: "
                     f"split into {parts} parts, this is part {part}")
    first = headers[0]
    return Series(
        files=tuple(paths[i] for i in order),
        number=first["number"],
        description=first["description"],
        modality=first["modality"],
        rows=int(first["rows"]),
        cols=int(first["cols"]),
        ordered_by=ordered_by,
        spacing_mm=spacing,
        part=part,
        parts=parts,
        split_by=differing,
        notes=tuple(notes),
        key=uid,
    )
