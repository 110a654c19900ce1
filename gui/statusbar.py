"""The bottom of the window: a message line, the disclaimer, and the status bar with a busy indicator.

Every part has a fixed height, so the images above never jump: the message
area always keeps room for two lines (a longer message is cut, its full text
in a tooltip), and status fields elide long names in the middle.
"""

from __future__ import annotations

import tkinter as tk
from tkinter import font as tkfont
from tkinter import ttk

from gui import theme
from gui.texts import DISCLAIMER_SHORT
from gui.widgets import ELLIPSIS, Tooltip

MESSAGE_LINES = 2


class MessageBar(ttk.Frame):
    """Feedback in up to two lines: errors in red, warnings in amber, everything else in the normal colour."""

    def __init__(self, master, **kwargs):
        super().__init__(master, padding=(theme.px(master, 10), theme.px(master, 3)), style="Message.TFrame",
                         **kwargs)
        self.text_var = tk.StringVar(value="")
        self.kind = "info"
        self._font = tkfont.nametofont("TkDefaultFont")
        height = MESSAGE_LINES * self._font.metrics("linespace") + theme.px(master, 8)
        self.configure(height=height)
        self.pack_propagate(False)  # the height never follows the text: the layout stays put
        self.label = ttk.Label(self, anchor="nw", justify="left")
        self.label.pack(fill="both", expand=True)
        self.tooltip = Tooltip(self.label, lambda: self.text_var.get() if self.elided else "")
        self.text_var.trace_add("write", lambda *_: self._fit())
        self.bind("<Configure>", lambda _e: self._fit())

    @property
    def shown(self) -> str:
        return str(self.label.cget("text"))

    @property
    def elided(self) -> bool:
        return self.shown != self.text_var.get()

    def show(self, text: str, kind: str = "info") -> None:
        self.kind = kind
        styles = {"error": "Error.TLabel", "warning": "Warning.TLabel"}
        self.label.configure(style=styles.get(kind, "TLabel"))
        self.text_var.set(text)

    def _fit(self) -> None:
        text = self.text_var.get()
        width = max(100, self.winfo_width() - theme.px(self, 24))
        self.label.configure(wraplength=width)
        if self._lines(text, width) > MESSAGE_LINES:
            # The longest start of the text (whole words) that still fits in two lines, and an ellipsis.
            low, high = 0, len(text)
            while low < high:
                keep = (low + high + 1) // 2
                if self._lines(text[:keep].rstrip() + ELLIPSIS, width) <= MESSAGE_LINES:
                    low = keep
                else:
                    high = keep - 1
            cut = text[:low]
            if " " in cut.strip():
                cut = cut[: cut.rstrip().rfind(" ")]
            text = cut.rstrip(" ,;:—-") + ELLIPSIS
        self.label.configure(text=text)

    def _lines(self, text: str, width: int) -> int:
        """How many lines Tk's word wrap makes of ``text`` at ``width`` pixels."""
        lines, line = 1, ""
        for word in text.split(" "):
            trial = f"{line} {word}" if line else word
            if self._font.measure(trial) <= width:
                line = trial
            else:
                lines += 1
                line = word
        return lines


class DisclaimerBar(ttk.Frame):
    def __init__(self, master, **kwargs):
        super().__init__(master, padding=(theme.px(master, 10), theme.px(master, 4)), style="Disclaimer.TFrame",
                         **kwargs)
        ttk.Label(self, text=DISCLAIMER_SHORT, style="Disclaimer.TLabel").pack(side="left")


class StatusBar(ttk.Frame):
    """File name, size, model name, the pixel under the pointer and timings, plus a bar while work runs.

    The fields share the width in fixed proportions, whatever their text: long names are
    elided in the middle (full text in a tooltip), nothing shifts.
    """

    # (variable, share of the free width, fixed width in characters): bounded texts get a fixed width,
    # names share what is left.
    FIELDS = (("file_var", 3, 1), ("size_var", 0, 24), ("model_var", 3, 1), ("cursor_var", 2, 1),
              ("timing_var", 0, 25))

    def __init__(self, master, **kwargs):
        super().__init__(master, padding=(theme.px(master, 8), theme.px(master, 3)), style="Status.TFrame",
                         **kwargs)
        from gui.widgets import ElidedLabel

        self.file_var = tk.StringVar(value="No scan")
        self.size_var = tk.StringVar(value="")
        self.model_var = tk.StringVar(value="Loading model…")
        self.cursor_var = tk.StringVar(value="")
        self.timing_var = tk.StringVar(value="")
        self.labels = {}
        column = 0
        for name, weight, chars in self.FIELDS:
            if column:
                ttk.Separator(self, orient="vertical", style="Status.TSeparator").grid(
                    row=0, column=column, sticky="ns", padx=theme.px(self, 8))
                column += 1
            label = ElidedLabel(self, textvariable=getattr(self, name), style="Status.TLabel", anchor="w",
                                width=chars)
            label.grid(row=0, column=column, sticky="ew")
            if weight:
                self.columnconfigure(column, weight=weight, uniform="status")
            self.labels[name] = label
            column += 1
        # The busy bar keeps its place when hidden (an empty slot the same size): nothing moves.
        self.slot = ttk.Frame(self, style="Status.TFrame", width=theme.px(self, 110), height=theme.px(self, 10))
        self.slot.grid(row=0, column=column, sticky="e", padx=(theme.px(self, 8), 0))
        self.slot.grid_propagate(False)
        self.progress = ttk.Progressbar(self.slot, mode="indeterminate", length=theme.px(self, 110))
        self.progress.place(relx=0, rely=0.5, anchor="w", relwidth=1)
        self.progress.place_forget()
        self.busy = False

    def set_busy(self, busy: bool) -> None:
        if busy == self.busy:
            return
        self.busy = busy
        if busy:
            self.progress.place(relx=0, rely=0.5, anchor="w", relwidth=1)
            self.progress.start(15)
        else:
            self.progress.stop()
            self.progress.place_forget()


__all__ = ["ELLIPSIS", "DisclaimerBar", "MessageBar", "StatusBar"]
