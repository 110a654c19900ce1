"""DICOM files (pydicom) -> windowed frames, the way DICOM viewers show them.

Per frame: stored values -> modality LUT (Rescale Slope/Intercept or a LUT)
-> window: the caller's, else the file's VOI LUT or Window Center/Width, else
the 0.5-99.5 percentile range of the whole file -> 0..255 -> inverted for
MONOCHROME1. The result is what the screen shows *and* what the classifier
gets.

Compressed pixel data goes through pydicom's decoder plugins (requirements.txt):
pylibjpeg + pylibjpeg-libjpeg (JPEG Baseline/Extended 8/12-bit, JPEG Lossless,
JPEG-LS), pylibjpeg-openjpeg (JPEG 2000, HTJ2K), pyjpegls (JPEG-LS again),
Pillow (JPEG Baseline, JPEG 2000), pydicom itself (RLE). A syntax none of them
reads is refused naming the syntax (name and UID) and what to install.

Privacy: only technical attributes are read. Patient attributes (name, ID,
birth date, ...) are never accessed, so they cannot reach ``Scan.info``, logs
or error messages; messages are our own text, never pydicom's (which may
quote element values).
"""

from __future__ import annotations

import os
import re
import sys

import numpy as np

from core.errors import (
    CorruptHeaderError,
    ImageTooLargeError,
    NoPixelDataError,
    TruncatedImageError,
    UnsupportedCompressionError,
    UnsupportedImageError,
)
from core.window import apply_window, check_window, percentile_window, window_info

MAGIC_OFFSET, MAGIC = 128, b"DICM"
# A whole multi-frame file is decoded at once; above this many pixels it is refused.
MAX_VOXELS = 300_000_000
PIXEL_KEYWORDS = ("PixelData", "FloatPixelData", "DoubleFloatPixelData")
# Copied per frame so the LUT functions see one frame's attributes (Enhanced MR
# stores rescale and window per frame, inside functional-group sequences).
_FRAME_KEYWORDS = (
    "PhotometricInterpretation", "BitsAllocated", "BitsStored", "PixelRepresentation",
    "RescaleSlope", "RescaleIntercept", "ModalityLUTSequence",
    "WindowCenter", "WindowWidth", "VOILUTFunction", "VOILUTSequence",
)
_FRAME_GROUPS = ("PixelValueTransformationSequence", "FrameVOILUTSequence")
# Colour kinds pydicom hands back as RGB: YBR_FULL(_422) converted by pydicom, YBR_RCT/YBR_ICT
# (JPEG 2000 colour) by the JPEG 2000 decoder itself.
_PHOTOMETRICS = ("MONOCHROME1", "MONOCHROME2", "RGB", "YBR_FULL", "YBR_FULL_422", "YBR_RCT", "YBR_ICT", "PALETTE COLOR")
LUMA_WEIGHTS = np.array([0.299, 0.587, 0.114], dtype=np.float64)
# What a Rescale Slope that is not a number, or a damaged Modality LUT or palette, raises.
_PIXEL_VALUE_ERRORS = (ValueError, TypeError, IndexError, KeyError, AttributeError)
_PIXEL_VALUE_PROBLEM = "DICOM header has unusable pixel value attributes (rescale, LUT or palette)"


def is_dicom(head: bytes) -> bool:
    """True for a DICOM Part 10 file: ``DICM`` after the 128-byte preamble."""
    return head[MAGIC_OFFSET : MAGIC_OFFSET + 4] == MAGIC


def count_frames(path: str) -> int:
    ds = _read(path, stop_before_pixels=True)
    return _frame_count(path, ds)


def read_dicom(path: str, window=None) -> tuple[np.ndarray, dict, list[dict]]:
    """-> ((frames, rows, cols) float32 in 0..255, file-wide info, the window of each frame).

    ``window`` is ``(center, width)`` in modality units (after Rescale
    Slope/Intercept); ``None`` uses the file's window, else the percentile window.
    """
    out, windows, info = decode_dicom(path, window)
    finish_frames(out, windows, [info["photometric"]] * len(out))
    return out, info, windows


def decode_dicom(path: str, window=None, out: np.ndarray | None = None) -> tuple[np.ndarray, list, dict]:
    """The first stage of ``read_dicom``: -> (frames, windows, info). A frame whose window is
    known (the caller's, the file's VOI LUT or Window Center/Width) is windowed to 0..255 and
    its window is in ``windows``; the others (``None``) are left in modality units for
    ``finish_frames``, which gives them one percentile window (over a whole series, too).
    ``out``: an array to decode into (e.g. one slice of a series' stack)."""
    user_window = None if window is None else check_window(window)
    ds, raw, photometric, syntax = _decoded_frames(path)
    frames, rows, cols = raw.shape[:3]
    if out is None:
        out = np.empty((frames, rows, cols), dtype=np.float32)
    elif out.shape != (frames, rows, cols):
        raise CorruptHeaderError(path, f"DICOM image is {frames} x {cols}x{rows}, not the size its header gave")
    windows: list[dict | None] = [None] * frames
    chroma = None
    try:
        for i in range(frames):
            if i == 0 and not photometric.startswith("MONOCHROME"):
                chroma = _chroma(raw[0], ds)
            if photometric.startswith("MONOCHROME"):
                out[i], windows[i] = _window_frame(raw[i, ..., 0], _frame_dataset(ds, i), user_window)
            else:
                out[i] = _grey_from_colour(raw[i], ds)
                if user_window:
                    out[i], windows[i] = apply_window(out[i], *user_window), window_info(*user_window, "user")
    except _PIXEL_VALUE_ERRORS:
        raise CorruptHeaderError(path, _PIXEL_VALUE_PROBLEM) from None
    info = {
        "frames": frames,
        "photometric": photometric,
        "modality": str(ds.get("Modality", "")) or None,
        "body_part": str(ds.get("BodyPartExamined", "") or "").strip() or None,
        "transfer_syntax": syntax.name if syntax else None,
    }
    if chroma is not None:  # as core.io's for ordinary images: a colour picture is not an MRI
        info["chroma"] = chroma
    return out, windows, info


def finish_frames(out: np.ndarray, windows: list, photometrics) -> None:
    """The second stage, in place: one percentile window over every frame still in modality
    units (so they stay comparable), inversion of MONOCHROME1 frames, NaN -> background."""
    pending = [i for i, w in enumerate(windows) if w is None]
    if pending:
        center, width = percentile_window(out[pending])
        for i in pending:
            out[i], windows[i] = apply_window(out[i], center, width), window_info(center, width, "percentile")
    for i, photometric in enumerate(photometrics):
        if photometric == "MONOCHROME1":  # minimum value means white
            np.subtract(255.0, out[i], out=out[i])
    # NaN (float pixel data, or a NaN Rescale Slope/Intercept) marks "no data": background.
    out[np.isnan(out)] = 0.0


# The only attributes the series reader asks pydicom for (``specific_tags``): technical ones.
# Patient, study and operator attributes are never read, not even parsed.
HEADER_KEYWORDS = (
    "SOPClassUID", "Modality", "SeriesInstanceUID", "SeriesNumber", "SeriesDescription", "InstanceNumber",
    "ImagePositionPatient", "ImageOrientationPatient", "PixelSpacing", "Rows", "Columns", "NumberOfFrames",
    "EchoNumbers", "SamplesPerPixel", "PhotometricInterpretation",
)
DIRECTORY_SOP_CLASS = "1.2.840.10008.1.3.10"  # Media Storage Directory Storage: a DICOMDIR


def read_header(path: str) -> dict:
    """The technical attributes a series is grouped and ordered by, without pixel data.

    -> {"series_uid", "number", "description", "modality", "instance", "position" (3 floats),
    "orientation" (6), "spacing" (2), "rows", "cols", "frames", "echo", "directory", "has_pixels"};
    values that are missing or do not parse are ``None``. Raises ``CorruptHeaderError``.
    """
    import pydicom

    pydicom.config.settings.reading_validation_mode = pydicom.config.IGNORE
    try:
        ds = pydicom.dcmread(path, stop_before_pixels=True, specific_tags=list(HEADER_KEYWORDS))
        meta_sop = str(ds.file_meta.get("MediaStorageSOPClassUID", "") or "")
    except MemoryError:
        raise ImageTooLargeError(path, "not enough memory to read this DICOM file") from None
    except Exception:
        raise CorruptHeaderError(path, "DICOM header is damaged or unreadable") from None

    def get(keyword, kind=str, count=None):
        try:
            value = ds.get(keyword)
            if value is None or value == "":
                return None
            if count is None:
                return kind(value)
            values = [kind(v) for v in value]
            return tuple(values) if len(values) == count and all(np.isfinite(values)) else None
        except Exception:  # a value that does not parse is as good as missing here
            return None

    with np.errstate(all="ignore"):
        return {
            "series_uid": get("SeriesInstanceUID"),
            "number": get("SeriesNumber", int),
            "description": get("SeriesDescription"),
            "modality": get("Modality"),
            "instance": get("InstanceNumber", int),
            "position": get("ImagePositionPatient", float, 3),
            "orientation": get("ImageOrientationPatient", float, 6),
            "spacing": get("PixelSpacing", float, 2),
            "rows": get("Rows", int),
            "cols": get("Columns", int),
            "frames": get("NumberOfFrames", int) or 1,
            "echo": get("EchoNumbers", int),
            "directory": meta_sop == DIRECTORY_SOP_CLASS or str(ds.get("SOPClassUID", "")) == DIRECTORY_SOP_CLASS,
            "has_pixels": meta_sop != DIRECTORY_SOP_CLASS,
        }


def directory_files(path: str) -> list[str]:
    """The image files a DICOMDIR references, in its order (paths resolved beside it).

    Only the records' type and Referenced File ID are read (never the patient records' values).
    """
    import pydicom

    pydicom.config.settings.reading_validation_mode = pydicom.config.IGNORE
    try:
        ds = pydicom.dcmread(path)
        records = list(ds.get("DirectoryRecordSequence") or [])
    except Exception:
        raise CorruptHeaderError(path, "DICOMDIR is damaged or unreadable") from None
    base = os.path.dirname(os.path.abspath(path))
    files = []
    for record in records:
        try:
            kind = str(record.get("DirectoryRecordType", "")).strip().upper()
            file_id = record.get("ReferencedFileID")
        except Exception:
            continue
        if kind != "IMAGE" or not file_id:
            continue
        parts = [str(file_id)] if isinstance(file_id, str) else [str(p) for p in file_id]
        files.append(_resolve_case(base, parts))
    return files


def _resolve_case(base: str, parts) -> str:
    """``base/parts...``; a component not found as written is matched case-insensitively
    (DICOMDIR file IDs are upper case, copies on Linux often are not)."""
    path = base
    for part in parts:
        candidate = os.path.join(path, part)
        if not os.path.exists(candidate) and os.path.isdir(path):
            matches = [n for n in os.listdir(path) if n.upper() == part.upper()]
            candidate = os.path.join(path, matches[0]) if matches else candidate
        path = candidate
    return path


def modality_values(path: str) -> np.ndarray:
    """All frames in modality units (after Rescale Slope/Intercept), before any window.

    What a percentile ("auto") window is computed on; colour frames give their luma.
    """
    from pydicom.pixels import apply_modality_lut

    ds, raw, photometric, _ = _decoded_frames(path)
    try:
        if photometric.startswith("MONOCHROME"):
            values = [apply_modality_lut(raw[i, ..., 0], _frame_dataset(ds, i)) for i in range(len(raw))]
        else:
            values = [_grey_from_colour(frame, ds) for frame in raw]
    except _PIXEL_VALUE_ERRORS:
        raise CorruptHeaderError(path, _PIXEL_VALUE_PROBLEM) from None
    out = np.asarray(values, dtype=np.float32)
    out[np.isnan(out)] = 0.0
    return out


def _decoded_frames(path: str):
    """Read, check and decode a DICOM file: (dataset, raw (frames, rows, cols, samples),
    photometric interpretation, transfer syntax). Every header check happens here, once."""
    ds = _read(path, stop_before_pixels=False)
    _check_has_pixels(path, ds)
    try:
        photometric = str(ds.get("PhotometricInterpretation", "MONOCHROME2")).strip().upper()
        samples = int(ds.get("SamplesPerPixel", 1))
        frames = _frame_count(path, ds)
        rows, cols = int(ds.Rows), int(ds.Columns)
        syntax = ds.file_meta.get("TransferSyntaxUID")
    except Exception:  # a value that does not parse is a damaged header
        raise CorruptHeaderError(path, "DICOM header is damaged (image size or pixel format unreadable)") from None
    if rows < 1 or cols < 1:
        raise CorruptHeaderError(path, f"DICOM header gives an empty image ({cols}x{rows})")
    if rows * cols * frames * samples > MAX_VOXELS:
        raise ImageTooLargeError(path, f"DICOM image is {frames} x {cols}x{rows}, above the {MAX_VOXELS:,}-pixel limit")
    if photometric not in _PHOTOMETRICS:
        raise UnsupportedImageError(path, f"DICOM photometric interpretation {photometric} is not supported")
    _check_decoder(path, syntax)
    _check_codestreams(path, ds, syntax, frames, rows, cols)
    raw = _decode(path, ds, syntax)
    if raw.size % (frames * rows * cols):  # e.g. Number of Frames not matching the data
        raise CorruptHeaderError(path, f"DICOM header ({frames} x {cols}x{rows}) does not match its pixel data")
    return ds, raw.reshape(frames, rows, cols, -1), photometric, syntax


def _read(path: str, stop_before_pixels: bool):
    import pydicom

    # pydicom's read validation warns with element values quoted; those could be
    # patient data on stderr/logs, so values are not validated on read (IGNORE).
    pydicom.config.settings.reading_validation_mode = pydicom.config.IGNORE

    try:
        return pydicom.dcmread(path, stop_before_pixels=stop_before_pixels)
    except MemoryError:
        raise ImageTooLargeError(path, "not enough memory to read this DICOM file") from None
    except Exception:  # InvalidDicomError, EOFError, struct errors, bad lengths ...
        raise CorruptHeaderError(path, "DICOM header is damaged or unreadable") from None


def _check_has_pixels(path: str, ds) -> None:
    # pydicom reads past a damaged header without complaint; no transfer syntax tells.
    if "TransferSyntaxUID" not in ds.file_meta:
        raise CorruptHeaderError(path, "DICOM header is damaged (no transfer syntax)")
    if any(k in ds for k in PIXEL_KEYWORDS):
        return
    sop = ds.file_meta.get("MediaStorageSOPClassUID")
    kind = getattr(sop, "name", None) or "unknown kind"
    if "Image Storage" in kind:  # an image object without its image: cut short
        raise NoPixelDataError(path, f"DICOM {kind} file has no pixel data (cut short or damaged?)")
    raise NoPixelDataError(path, f"DICOM file has no pixel data ({kind}, not an image)")


def _frame_count(path: str, ds) -> int:
    try:
        frames = int(ds.get("NumberOfFrames") or 1)
    except (TypeError, ValueError):
        raise CorruptHeaderError(path, "DICOM header has an unreadable Number of Frames") from None
    if frames < 1:
        raise CorruptHeaderError(path, f"DICOM header gives {frames} frames")
    return frames


# The pydicom decoder plugins requirements.txt ships for each compressed transfer syntax,
# and the Python packages that provide them (what a message tells the user to install).
# Pillow only reads 8-bit JPEG, so JPEG Extended 12-bit needs pylibjpeg-libjpeg.
_LIBJPEG = (("pylibjpeg",), "pylibjpeg and pylibjpeg-libjpeg")
_OPENJPEG = (("pylibjpeg", "pillow"), "pylibjpeg and pylibjpeg-openjpeg")
_JPEG_LS = (("pylibjpeg",), "pylibjpeg and pylibjpeg-libjpeg, or pyjpegls")  # pyjpegls: a second one, not on Linux ARM
_HTJ2K = (("pylibjpeg",), "pylibjpeg and pylibjpeg-openjpeg")
_SHIPPED_DECODERS = {
    "1.2.840.10008.1.2.4.50": (("pylibjpeg", "pillow"), "pylibjpeg and pylibjpeg-libjpeg"),  # JPEG Baseline
    "1.2.840.10008.1.2.4.51": _LIBJPEG,  # JPEG Extended (8 and 12 bit)
    "1.2.840.10008.1.2.4.57": _LIBJPEG,  # JPEG Lossless, Process 14
    "1.2.840.10008.1.2.4.70": _LIBJPEG,  # JPEG Lossless, Process 14 SV1
    "1.2.840.10008.1.2.4.80": _JPEG_LS,  # JPEG-LS Lossless
    "1.2.840.10008.1.2.4.81": _JPEG_LS,  # JPEG-LS Near-Lossless
    "1.2.840.10008.1.2.4.90": _OPENJPEG,  # JPEG 2000 Lossless
    "1.2.840.10008.1.2.4.91": _OPENJPEG,  # JPEG 2000
    "1.2.840.10008.1.2.4.201": _HTJ2K,  # High-Throughput JPEG 2000 Lossless
    "1.2.840.10008.1.2.4.202": _HTJ2K,  # HTJ2K Lossless RPCL
    "1.2.840.10008.1.2.4.203": _HTJ2K,  # HTJ2K
    # RLE: pydicom's own decoder. pylibjpeg-rle is faster but not shipped: on damaged data it
    # panics (a BaseException) instead of raising, before pydicom tries its own decoder.
    "1.2.840.10008.1.2.5": (("pydicom",), "pydicom"),
}
_CONVERT = "convert it to an uncompressed transfer syntax first (e.g. gdcmconv --raw, or export it uncompressed)"


def _install_hint(syntax) -> str:
    """What to do about a compressed syntax no installed decoder reads: the packages to install
    (or, in the frozen app, that this build lacks them), or for syntaxes pydicom has no
    decoder for at all (video, JPEG 2000 Part 2, JPIP), to convert the file."""
    shipped = _SHIPPED_DECODERS.get(str(syntax))
    if shipped is None:
        return f"pydicom has no decoder for it; {_CONVERT}"
    if getattr(sys, "frozen", False):
        return f"this build of the app lacks {shipped[1]} (rebuild it from requirements.txt)"
    return f"install the Python packages {shipped[1]} (pinned in requirements.txt)"


def _syntax_label(syntax) -> str:
    return f"{syntax.name}, transfer syntax {syntax}"


def _check_decoder(path: str, syntax) -> None:
    from pydicom.pixels import get_decoder

    if syntax is None:
        return
    if not syntax.is_transfer_syntax:  # pydicom's is_compressed would raise ValueError
        if re.fullmatch(r"[0-9]+(\.[0-9]+)*", str(syntax)) and len(str(syntax)) <= 64:
            raise UnsupportedCompressionError(
                path, f"unknown transfer syntax {syntax}: no decoder installed; {_CONVERT}"
            )
        raise CorruptHeaderError(path, "DICOM header is damaged (the transfer syntax UID is not a valid UID)")
    if not syntax.is_compressed:
        return
    try:
        available = get_decoder(syntax).is_available
    except NotImplementedError:
        available = False
    if not available:
        raise UnsupportedCompressionError(
            path, f"DICOM compression {_syntax_label(syntax)}: no decoder installed; {_install_hint(syntax)}"
        )


_JPEG_SYNTAXES = {"1.2.840.10008.1.2.4.50", "1.2.840.10008.1.2.4.51", "1.2.840.10008.1.2.4.57",
                  "1.2.840.10008.1.2.4.70", "1.2.840.10008.1.2.4.80", "1.2.840.10008.1.2.4.81"}
_J2K_SYNTAXES = {"1.2.840.10008.1.2.4.90", "1.2.840.10008.1.2.4.91", "1.2.840.10008.1.2.4.201",
                 "1.2.840.10008.1.2.4.202", "1.2.840.10008.1.2.4.203"}
# Start Of Frame markers: JPEG processes 0-3, 5-7, 9-11, 13-15 and JPEG-LS (SOF55).
_SOF_MARKERS = {0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF, 0xF7}


def _check_codestreams(path: str, ds, syntax, frames: int, rows: int, cols: int) -> None:
    """Refuse a JPEG / JPEG-LS / JPEG 2000 frame whose own header claims a larger image than
    the DICOM header: the decoders allocate what the codestream says (a flipped byte in a
    JPEG 2000 size field made openjpeg allocate 22 GB), before pydicom checks the result."""
    kind = str(syntax) if syntax is not None else ""
    if kind not in _JPEG_SYNTAXES and kind not in _J2K_SYNTAXES:
        return
    from pydicom.encaps import generate_frames

    size = _jpeg_size if kind in _JPEG_SYNTAXES else _j2k_size
    try:
        for index, frame in enumerate(generate_frames(ds.PixelData, number_of_frames=frames)):
            claimed = size(frame)
            if claimed and claimed[0] * claimed[1] > rows * cols:
                raise TruncatedImageError(
                    path, f"DICOM pixel data is damaged ({_syntax_label(syntax)}): compressed frame {index} "
                    f"claims {claimed[1]}x{claimed[0]} pixels, the header {cols}x{rows}"
                )
    except TruncatedImageError:
        raise
    except Exception:  # damaged encapsulation: decoding will report it
        return


def _jpeg_size(frame: bytes):
    """(rows, columns) from a JPEG or JPEG-LS frame's Start Of Frame segment, or None."""
    at = 2 if frame[:2] == b"\xff\xd8" else None
    while at is not None and at + 9 <= len(frame):
        if frame[at] != 0xFF:
            return None
        marker = frame[at + 1]
        if marker == 0xFF:  # fill byte
            at += 1
            continue
        if marker in _SOF_MARKERS:
            return int.from_bytes(frame[at + 5 : at + 7], "big"), int.from_bytes(frame[at + 7 : at + 9], "big")
        if marker in (0xD8, 0x01) or 0xD0 <= marker <= 0xD7:  # no length field
            at += 2
            continue
        at += 2 + int.from_bytes(frame[at + 2 : at + 4], "big")
    return None


def _j2k_size(frame: bytes):
    """(rows, columns) from a JPEG 2000 codestream's SIZ segment (also inside a JP2 box), or None."""
    at = frame.find(b"\xff\x4f\xff\x51", 0, 4096)  # SOC then SIZ
    if at < 0 or at + 24 > len(frame):
        return None
    x, y, x0, y0 = (int.from_bytes(frame[at + o : at + o + 4], "big") for o in (8, 12, 16, 20))
    return max(y - y0, 0), max(x - x0, 0)


def _decode(path: str, ds, syntax) -> np.ndarray:
    try:
        return np.asarray(ds.pixel_array)
    except MemoryError:
        raise ImageTooLargeError(path, "not enough memory to decode this DICOM image") from None
    except (KeyboardInterrupt, SystemExit):
        raise
    except BaseException:  # short pixel data, a decoder failing on damaged data (a Rust
        pass  # decoder's PanicException is a BaseException, not an Exception) ...
    if syntax is None or not syntax.is_compressed:
        raise TruncatedImageError(path, "DICOM pixel data is truncated or damaged")
    # Compressed: every installed plugin failed. If a decoder we ship for this syntax is
    # missing (e.g. only Pillow, which reads 8-bit JPEG but not 12-bit JPEG Extended),
    # the file may well be intact: say what to install rather than "damaged".
    from pydicom.pixels import get_decoder

    tried = sorted(get_decoder(syntax).available_plugins)
    shipped = _SHIPPED_DECODERS.get(str(syntax), ((), ""))[0]
    if any(plugin not in tried for plugin in shipped):
        raise UnsupportedCompressionError(
            path, f"DICOM compression {_syntax_label(syntax)}: the installed decoders ({', '.join(tried)}) "
            f"cannot decode this file; {_install_hint(syntax)}"
        )
    raise TruncatedImageError(
        path, f"DICOM pixel data is truncated or damaged ({_syntax_label(syntax)}): none of the installed "
        f"decoders ({', '.join(tried)}) could decode it"
    )


def _frame_dataset(ds, index: int):
    """The attributes that govern frame ``index``: top level, then shared, then per-frame groups."""
    from pydicom.dataset import Dataset

    frame = Dataset()
    for keyword in _FRAME_KEYWORDS:
        if keyword in ds:
            frame[keyword] = ds[keyword]
    for sequence, at in (("SharedFunctionalGroupsSequence", 0), ("PerFrameFunctionalGroupsSequence", index)):
        groups = ds.get(sequence)
        if not groups or at >= len(groups):
            continue
        for group in _FRAME_GROUPS:
            items = groups[at].get(group)
            if items:
                for element in items[0]:
                    frame[element.tag] = element
    frame.file_meta = ds.file_meta  # LUT data stored as OW needs the byte order
    return frame


def _window_frame(stored: np.ndarray, frame, user_window):
    """One monochrome frame -> (0..255 float32, window info), or (modality values, None) if
    the percentile window must be computed over all frames first."""
    from pydicom.pixels import apply_modality_lut

    values = apply_modality_lut(stored, frame)
    if user_window:
        return apply_window(values, *user_window), window_info(*user_window, "user")
    lut = frame.get("VOILUTSequence")
    if lut and "LUTDescriptor" in lut[0] and "LUTData" in lut[0]:
        windowed = _file_voi(np.rint(values).astype(np.int64), frame, prefer_lut=True)
        if windowed is not None:
            return windowed, window_info(None, None, "voi_lut")
    if frame.get("WindowCenter") is not None and frame.get("WindowWidth") is not None:
        windowed = _file_voi(values, frame, prefer_lut=False)
        if windowed is not None:
            return windowed, window_info(_first(frame.WindowCenter), _first(frame.WindowWidth), "file")
    return values.astype(np.float32), None


def _file_voi(values: np.ndarray, frame, prefer_lut: bool):
    """pydicom's VOI LUT / windowing, rescaled from its output range to 0..255.

    The output range is read off the function itself (its values far below and far
    above the window), so LINEAR, LINEAR_EXACT, SIGMOID and LUTs all come out right.
    ``None`` if the file's window is invalid (e.g. width 0): the caller falls back.
    """
    from pydicom.pixels import apply_voi_lut

    try:
        with np.errstate(over="ignore"):
            out = apply_voi_lut(values, frame, prefer_lut=prefer_lut).astype(np.float64)
            if prefer_lut:
                bits = int(frame.VOILUTSequence[0].LUTDescriptor[2])
                ends = np.array([0.0, 2.0**bits - 1])
            else:
                extremes = np.array([-1e300, 1e300])
                ends = apply_voi_lut(extremes, frame, prefer_lut=False).astype(np.float64)
    except (ValueError, TypeError, IndexError, KeyError, AttributeError, NotImplementedError):
        return None
    if not np.isfinite(ends).all() or ends[1] == ends[0]:
        return None
    return np.clip((out - ends[0]) * (255.0 / (ends[1] - ends[0])), 0, 255).astype(np.float32)


def _first(value) -> float:
    """Window Center/Width may hold several alternatives; pydicom applies the first."""
    try:
        return float(value[0])
    except TypeError:
        return float(value)


def _chroma(frame: np.ndarray, ds) -> float:
    """Mean (max - min) over the colour channels of a colour frame, on a 0..255 scale (relative
    to the frame's brightest value): 0 for a grey picture stored as colour."""
    if frame.shape[-1] == 1:
        from pydicom.pixels import apply_color_lut

        frame = apply_color_lut(frame[..., 0], ds)
    rgb = frame.astype(np.float32)
    spread = rgb.max(axis=-1) - rgb.min(axis=-1)
    return float(spread.mean() * 255.0 / max(float(rgb.max()), 1.0))


def _grey_from_colour(frame: np.ndarray, ds) -> np.ndarray:
    """A colour frame (secondary capture, screenshot) -> luma, same weights as ``core.io``."""
    if frame.shape[-1] == 1:  # PALETTE COLOR: one index per pixel, colours from the LUT
        from pydicom.pixels import apply_color_lut

        frame = apply_color_lut(frame[..., 0], ds)
    return (frame.astype(np.float64) @ LUMA_WEIGHTS).astype(np.float32)
