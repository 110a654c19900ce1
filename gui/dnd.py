"""Drop files onto the window, through tkinterdnd2 when it is installed.

tkinterdnd2 (PyPI) ships the tkdnd Tcl extension's binaries for Linux, Windows
and macOS; it installs and works on Tk 8.6 here. It stays optional: without it
the window has no drop target and File > Open does the same job.
"""

from __future__ import annotations


def enable_file_drop(root, widgets, on_paths) -> bool:
    """Make ``widgets`` accept dropped files; ``on_paths`` gets a list of paths. False if unavailable."""
    try:
        from tkinterdnd2 import DND_FILES, TkinterDnD

        # What TkinterDnD.Tk() does in its constructor; lets us keep a plain tk.Tk root.
        TkinterDnD._require(root)
    except (ImportError, RuntimeError):
        return False

    def on_drop(event):
        on_paths(list(root.tk.splitlist(event.data)))  # Tcl list: paths with spaces come braced
        return event.action

    for widget in widgets:
        widget.drop_target_register(DND_FILES)
        widget.dnd_bind("<<Drop>>", on_drop)
    return True
