"""The keyboard: which keys do what, and when a key belongs to the widget with the focus instead.

Shortcuts are bound on the main window, so they act whatever widget of it has
the focus (a drop-down just used, a button, the image) and never in another
window. Only three things keep a key for themselves: a text field being typed
in (every plain key: typing ``-40`` as a window center changes no opacity), a
focused slider (its arrow keys move it) and a focused button (Space presses it;
``=`` still fits).
"""

from __future__ import annotations

import tkinter as tk
from tkinter import ttk

# action -> the Tk event sequences that trigger it
BINDINGS = {
    "open": ("<Control-o>", "<Control-O>"),
    "save": ("<Control-s>", "<Control-S>"),
    "quit": ("<Control-q>", "<Control-Q>"),
    "shortcuts": ("<F1>",),
    "toggle_method": ("<g>", "<G>"),
    "opacity_up": ("<plus>", "<KP_Add>"),
    "opacity_down": ("<minus>", "<KP_Subtract>"),
    "previous_slice": ("<Left>",),
    "next_slice": ("<Right>",),
    "fit": ("<equal>", "<space>"),
    "invert": ("<i>", "<I>"),
    "reset_window": ("<r>", "<R>"),
    **{f"preset_{n}": (f"<Key-{n}>", f"<KP_{n}>") for n in range(1, 6)},
}

# What Help > Keyboard shortcuts lists, in this order (keys as printed, what they do).
SHORTCUTS = [
    ("Ctrl+O", "Open a scan"),
    ("Ctrl+S", "Save the overlay image"),
    ("Ctrl+Q", "Quit"),
    ("G", "Switch between Grad-CAM and Grad-CAM++"),
    ("+ / -", "More / less heatmap opacity"),
    ("← / →", "Previous / next slice (DICOM, NIfTI)"),
    ("= / Space", "Fit the image to the window (undo zoom and pan)"),
    ("I", "Invert the display (grey levels only; the classifier is not affected)"),
    ("1 – 5", "Window preset 1 to 5, in the order of the Preset list (DICOM, NIfTI)"),
    ("R", "Reset the window to the file's own"),
    ("F1", "This list of shortcuts"),
]
MOUSE = [
    ("Wheel", "Zoom in / out around the pointer (scan and heatmap together)"),
    ("Left drag", "Pan"),
    ("Double-click", "Fit the image to the window"),
    ("Right drag", "Window / level: left-right = width, up-down = level (DICOM, NIfTI; display only)"),
]

_TEXT_FIELDS = (tk.Entry, ttk.Entry, tk.Spinbox, tk.Text)  # ttk.Combobox and ttk.Spinbox are ttk.Entry
_BUTTONS = (ttk.Button, ttk.Checkbutton, ttk.Radiobutton, tk.Button, tk.Checkbutton, tk.Radiobutton)
_SLIDERS = (ttk.Scale, tk.Scale)


def _state(widget) -> str:
    try:
        return str(widget.cget("state"))
    except (tk.TclError, AttributeError):
        return "normal"


def is_typing(widget) -> bool:
    """True when ``widget`` is a text field that takes typed characters (not a read-only drop-down)."""
    if not isinstance(widget, _TEXT_FIELDS):
        return False
    state = _state(widget)
    if state in ("disabled", "readonly"):
        return False
    if isinstance(widget, ttk.Widget):
        try:
            if widget.instate(["readonly"]) or widget.instate(["disabled"]):
                return False
        except tk.TclError:
            pass
    return True


def is_plain(sequence: str) -> bool:
    """A key without Control and not a function key: text fields keep those."""
    return "Control" not in sequence and not sequence.startswith("<F")


def wanted_by_widget(widget, sequence: str) -> bool:
    """True when the focused ``widget`` should handle ``sequence`` itself."""
    if is_plain(sequence) and is_typing(widget):
        return True
    if sequence in ("<Left>", "<Right>") and isinstance(widget, _SLIDERS):
        return True  # a focused slider moves itself (the slice slider moves the slice already)
    if sequence == "<space>" and isinstance(widget, _BUTTONS):
        return True  # Space presses a focused button, as everywhere
    return False


def bind(window, commands: dict) -> None:
    """Bind each action of ``commands`` (action -> callable) on ``window`` with the rules above."""
    for action, command in commands.items():
        for sequence in BINDINGS[action]:
            window.bind(sequence, lambda e, c=command, s=sequence: _dispatch(e, c, s))


def _dispatch(event, command, sequence):
    if wanted_by_widget(event.widget, sequence):
        return None
    command()
    return "break"
