"""One-page PDF report: scan, heatmap overlay, probabilities, model identity, disclaimer.

Drawn on a bare ``matplotlib.figure.Figure`` (rendered by the PDF backend),
never through pyplot, so it needs no display, touches no global backend
(the GUI's TkAgg stays as it is) and is safe from a worker thread.
No patient data is written: the caller passes pixels and a prediction only.
"""

from __future__ import annotations

import os
from datetime import datetime, timezone

import numpy as np

from core.version import APP_NAME

DISCLAIMER = "Research and education only — not a diagnosis."
A4_PORTRAIT_INCHES = (8.27, 11.69)


def write_pdf_report(
    path,
    scan_display_uint8: np.ndarray,
    overlay_rgb: np.ndarray,
    prediction,
    class_names: dict | None = None,
    method_name: str = "Grad-CAM",
    model_name: str = "",
    model_sha256: str = "",
    date: str | datetime | None = None,
    disclaimer: str = DISCLAIMER,
    *,
    target_name: str | None = None,
    notes=(),
    overwrite: bool = False,
    colormap: str | None = None,
    scale_label: str | None = None,
) -> str:
    """Write the report to ``path`` and return it.

    ``prediction`` is a ``core.classifier.Prediction``; ``class_names`` maps class
    -> display name (missing ones show as they are); ``date`` defaults to now (UTC);
    ``target_name`` is the class the heatmap explains if not the predicted one;
    ``notes`` are extra short lines (e.g. slice and window). ``colormap`` (a
    ``gradcam.overlay`` colour map name): the overlay's colour bar is drawn beside it,
    labelled ``scale_label`` (what 1 means). Raises ``FileExistsError`` if ``path``
    exists and ``overwrite`` is false.
    """
    from matplotlib.figure import Figure

    path = os.fspath(path)
    names = class_names or {}
    shown = lambda c: names.get(c, c)  # noqa: E731 - a one-line lookup
    if date is None:
        date = datetime.now(timezone.utc)
    if isinstance(date, datetime):
        date = date.strftime("%Y-%m-%d %H:%M %Z").strip()

    figure = Figure(figsize=A4_PORTRAIT_INCHES)
    figure.text(0.5, 0.965, "Brain MRI classification report", ha="center", fontsize=16, weight="bold")
    figure.text(0.5, 0.94, disclaimer, ha="center", fontsize=11, color="#b00020", weight="bold")

    overlay_box = (0.52, 0.55, 0.43, 0.36) if colormap is None else (0.5, 0.55, 0.39, 0.36)
    for box, image, title in (
        ((0.05, 0.55, 0.43, 0.36), scan_display_uint8, "Scan"),
        (overlay_box, overlay_rgb, f"{method_name}: {shown(target_name or prediction.label)}"),
    ):
        axes = figure.add_axes(box)
        axes.imshow(np.asarray(image), cmap="gray" if np.ndim(image) == 2 else None, vmin=0, vmax=255,
                    interpolation="nearest")
        axes.set_title(title, fontsize=11)
        axes.set_axis_off()

    if colormap is not None:
        _colour_bar(figure, (0.905, 0.6, 0.014, 0.26), colormap, scale_label)

    classes = list(prediction.probabilities)
    probs = [float(prediction.probabilities[c]) for c in classes]
    bars = figure.add_axes((0.3, 0.36, 0.6, 0.16))
    colours = ["#1f77b4" if c == prediction.label else "#9aa5b1" for c in classes]
    bars.barh([shown(c) for c in classes], probs, color=colours)
    bars.invert_yaxis()  # first class on top, as listed in the model card
    bars.set_xlim(0, 1)
    bars.set_xlabel("probability")
    for y, p in enumerate(probs):
        bars.text(min(p + 0.01, 0.88), y, f"{p:.1%}", va="center", fontsize=9)

    lines = [
        (f"Predicted: {shown(prediction.label)} ({prediction.confidence:.1%})", 13, "bold"),
    ]
    if prediction.low_confidence:
        lines.append(("Low confidence: review by a specialist.", 11, "bold"))
    lines += [(note, 10, "normal") for note in notes]
    lines += [
        (f"Model: {model_name}", 10, "normal"),
        (f"Model SHA-256: {model_sha256}", 8, "normal"),
        (f"Date: {date}", 10, "normal"),
    ]
    y = 0.29
    for text, size, weight in lines:
        figure.text(0.08, y, text, fontsize=size, weight=weight)
        y -= 0.028
    figure.text(0.5, 0.03, disclaimer, ha="center", fontsize=10, color="#b00020")

    metadata = {"Title": "Brain MRI classification report", "Subject": disclaimer, "Creator": APP_NAME}
    # "x": create, failing if it exists - no check-then-write race.
    with open(path, "wb" if overwrite else "xb") as handle:
        try:
            figure.savefig(handle, format="pdf", metadata=metadata)
        except BaseException:
            handle.close()
            os.remove(path)
            raise
    return path


def _colour_bar(figure, box, colormap: str, label: str | None) -> None:
    """The overlay's colours (the same lookup table that painted it), 0 at the bottom, 1 at the top."""
    from matplotlib.cm import ScalarMappable
    from matplotlib.colors import ListedColormap, Normalize

    from core.colormap import TICKS, colormap_lut, tick_label

    axes = figure.add_axes(box)
    mappable = ScalarMappable(norm=Normalize(0.0, 1.0), cmap=ListedColormap(colormap_lut(colormap) / 255.0))
    bar = figure.colorbar(mappable, cax=axes, ticks=TICKS)
    bar.ax.set_yticklabels([tick_label(t) for t in TICKS], fontsize=8)
    if label:
        bar.set_label(label, fontsize=8)


def window_note(info: dict) -> str | None:
    """One line saying which intensity window a scan was shown (and classified) with."""
    window = info.get("window")
    if not window:
        return None
    if window.get("center") is not None:
        return f"Window: center {window['center']:g}, width {window['width']:g} ({window['source']})"
    return f"Window: {window['source']}"
