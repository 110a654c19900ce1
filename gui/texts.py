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

# Help > Heatmaps: what the colours mean and how well each method localises, one sentence each,
# from the localisation benchmark on held-out patients with expert masks (docs/localisation.md).
HEATMAPS = (
    "Colours: red and yellow mark where the network found the most evidence for the class shown, blue little, "
    "no colour none; 1 on the colour bar is the predicted class's strongest evidence on this scan, so a less "
    "likely class looks weaker.\n\n"
    "LayerCAM (the default, an 8×8 grid): the best-localising map here, yet its peak lands on the tumour on only "
    "about two thirds of held-out low-grade gliomas and almost never on pituitary adenomas; shown for the "
    "predicted class only.\n\n"
    "Grad-CAM (a 4×4 grid): coarser, its peak on the tumour on about 4 in 10 held-out low-grade gliomas and almost "
    "never on pituitary adenomas; the one map that can explain a class other than the predicted one.\n\n"
    "Grad-CAM++ (a 4×4 grid): much the same coarse picture as Grad-CAM, and the same whatever the class, so it "
    "is shown for the predicted class only.\n\n"
    "Integrated Gradients: evidence per pixel, speckled, computed when first shown (about half a second).\n\n"
    "No map here reliably outlines a tumour: it shows what raised the model's score, not where the tumour is."
)

__all__ = ["DISCLAIMER", "HEATMAPS", "DISCLAIMER_SHORT", "MOUSE", "SHORTCUTS", "about_text", "shortcuts_text", "slice_text"]


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
        "the model looked, with LayerCAM, Grad-CAM, Grad-CAM++ and Integrated Gradients heatmaps.\n\n"
        f"{DISCLAIMER_SHORT}"
    )
