"""Words the window shows in more than one place, kept together so they stay consistent."""

from core.version import APP_NAME, __version__

DISCLAIMER_SHORT = "Research and education only — not a diagnosis."

DISCLAIMER = f"""{DISCLAIMER_SHORT}

{APP_NAME} is a research and teaching tool. It is not a medical device, has not
been clinically validated, and must not be used to diagnose, treat or rule out
any condition. Its predictions can be wrong, including with high confidence.
The heatmaps show which pixels influenced the model's score, not where a tumour
is. Every scan needs review by a qualified specialist."""

SHORTCUTS = [
    ("Ctrl+O", "Open a scan"),
    ("Ctrl+S", "Save the overlay image"),
    ("Ctrl+Q", "Quit"),
    ("G", "Switch between Grad-CAM and Grad-CAM++"),
    ("+ / -", "More / less heatmap opacity"),
    ("← / →", "Previous / next slice (DICOM, NIfTI)"),
    ("R", "Reset the window to the file's own"),
    ("F1", "This list of shortcuts"),
]


def shortcuts_text() -> str:
    return "\n".join(f"{keys:<8} {action}" for keys, action in SHORTCUTS)


def about_text() -> str:
    return (
        f"{APP_NAME} {__version__}\n\n"
        "Classifies a brain MRI slice as glioma, meningioma, pituitary tumour or no tumour,\n"
        "and shows where the model looked, with Grad-CAM and Grad-CAM++ heatmaps.\n\n"
        f"{DISCLAIMER_SHORT}"
    )
