"""The window's secondary windows, one per kind: asking again raises the open one instead of
stacking copies. Help ▸ Keyboard shortcuts, Disclaimer and About open here; the controllers
keep theirs (folder table, series chooser, slice plot, model card) under their own keys.
"""

from __future__ import annotations

import tkinter as tk

from core.version import APP_NAME
from gui.dialogs import InfoWindow
from gui.texts import DISCLAIMER, HEATMAPS, about_text, shortcuts_text


class Windows(dict):
    """key -> the open ``tk.Toplevel`` of that kind."""

    def __init__(self, root):
        super().__init__()
        self.root = root

    def one(self, key: str, make) -> tk.Toplevel:
        window = self.get(key)
        if window is not None and window.winfo_exists():
            window.lift()
            return window
        window = self[key] = make()
        return window

    def replace(self, key: str, make) -> tk.Toplevel:
        """A fresh window of this kind (the old one described something else)."""
        old = self.get(key)
        if old is not None and old.winfo_exists():
            old.destroy()
        window = self[key] = make()
        return window

    def shortcuts(self) -> tk.Toplevel:
        return self.one("shortcuts", lambda: InfoWindow(self.root, "Keyboard shortcuts", shortcuts_text(),
                                                         width=78, height=19, tabs=True))

    def disclaimer(self) -> tk.Toplevel:
        return self.one("disclaimer", lambda: InfoWindow(self.root, "Disclaimer", DISCLAIMER))

    def heatmaps(self) -> tk.Toplevel:
        return self.one("heatmaps", lambda: InfoWindow(self.root, "Heatmaps", HEATMAPS))

    def about(self) -> tk.Toplevel:
        return self.one("about", lambda: InfoWindow(self.root, f"About {APP_NAME}", about_text(), height=8))
