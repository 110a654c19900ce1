"""The keyboard: which keys do what, and when a key belongs to the widget with the focus instead.

Shortcuts act whatever widget of the main window has the focus (a drop-down
just used, a button, a slider, the image) and never in another window. Only a
text field being typed in keeps its keys (every plain key: typing ``-40`` as a
window center changes no opacity); Control and function keys work there too.

So that a focused widget's own key handling cannot come first (a focused
slider moving itself on ←, a button pressed by Space), every widget of the
main window gets the ``NeuroScanKeys`` binding tag in front of its class
bindings; a shortcut that acts stops the event there. Buttons stay usable
from the keyboard with Return.
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
    "toggle_method": ("<g>",),
    "previous_method": ("<G>",),
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
    ("G / Shift+G", "Next / previous heatmap method: LayerCAM, Grad-CAM, Grad-CAM++"),
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
    """True when the focused ``widget`` should handle ``sequence`` itself: a plain key in a text field."""
    return is_plain(sequence) and is_typing(widget)


TAG = "NeuroScanKeys"


def bind(window, commands: dict) -> None:
    """Bind each action of ``commands`` (action -> callable) on ``window`` and its widgets, ahead of their
    class bindings (see the module's docstring)."""
    for action, command in commands.items():
        for sequence in BINDINGS[action]:
            handler = lambda e, c=command, s=sequence: _dispatch(e, c, s)  # noqa: E731
            window.bind_class(TAG, sequence, handler)
            window.bind(sequence, handler)  # the window itself, and any widget added later without the tag
    for button in ("TButton", "TCheckbutton", "TRadiobutton"):  # Space fits the image: Return presses
        for sequence in ("<Return>", "<KP_Enter>"):
            window.bind_class(button, sequence, lambda e: e.widget.invoke())
    tag_widgets(window)


def tag_widgets(widget) -> None:
    """Put the shortcut tag first on every widget inside ``widget`` (not inside other windows)."""
    for child in widget.winfo_children():
        if isinstance(child, tk.Toplevel) or isinstance(child, tk.Menu):
            continue
        tags = child.bindtags()
        if TAG not in tags:
            child.bindtags((TAG, *tags))
        tag_widgets(child)


def _dispatch(event, command, sequence):
    if wanted_by_widget(event.widget, sequence):
        return None
    command()
    return "break"
