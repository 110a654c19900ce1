"""Words the window shows in more than one place, kept together so they stay consistent.

Paragraphs carry no line breaks of their own: the window they appear in wraps
them at its width, so no line ends raggedly halfway.
"""

from core.version import APP_NAME, __version__
from gui.keys import MOUSE, SHORTCUTS

DISCLAIMER_SHORT = "Research and education only — not a diagnosis."

DISCLAIMER = (
    f"{DISCLAIMER_SHORT}\n\n"
    f"{APP_NAME} is a research and teaching tool. It is not a medical device, has not been clinically "
    "validated, and must not be used to diagnose, treat or rule out any condition. Its predictions can be "
    "wrong, including with high confidence.\n\n"
    "The heatmaps show which pixels influenced the model's score, not where a tumour is. Every scan needs "
    "review by a qualified specialist."
)

__all__ = ["DISCLAIMER", "DISCLAIMER_SHORT", "MOUSE", "SHORTCUTS", "about_text", "shortcuts_text", "slice_text"]


def shortcuts_text() -> str:
    """The keys and mouse gestures, one per line, ``keys<TAB>action`` (the window sets the tab stop)."""
    keys = "\n".join(f"{keys}\t{action}" for keys, action in SHORTCUTS)
    mouse = "\n".join(f"{what}\t{action}" for what, action in MOUSE)
    return f"Keyboard\n{keys}\n\nMouse (on either image)\n{mouse}"


def slice_text(index: int, count: int) -> str:
    """How the window names a slice: counted from 0, as ``--slice`` and the JSON ``"slice"`` count."""
    return f"slice {index} (0–{count - 1})"


def about_text() -> str:
    return (
        f"{APP_NAME} {__version__}\n\n"
        "Classifies a brain MRI slice as glioma, meningioma, pituitary tumour or no tumour, and shows where "
        "the model looked, with Grad-CAM and Grad-CAM++ heatmaps.\n\n"
        f"{DISCLAIMER_SHORT}"
    )
