"""The bottom of the window: a message line, the disclaimer, and the status bar with a busy indicator."""

from __future__ import annotations

import tkinter as tk
from tkinter import ttk

from gui.texts import DISCLAIMER_SHORT


class MessageBar(ttk.Frame):
    """One line of feedback: errors in red, everything else in the normal colour."""

    def __init__(self, master, **kwargs):
        super().__init__(master, padding=(8, 2), **kwargs)
        self.text_var = tk.StringVar(value="")
        self.kind = "info"
        self.label = ttk.Label(self, textvariable=self.text_var, anchor="w")
        self.label.pack(fill="x")
        self.bind("<Configure>", lambda e: self.label.configure(wraplength=max(200, e.width - 20)))

    def show(self, text: str, kind: str = "info") -> None:
        self.kind = kind
        styles = {"error": "Error.TLabel", "warning": "Warning.TLabel"}
        self.label.configure(style=styles.get(kind, "TLabel"))
        self.text_var.set(text)


class DisclaimerBar(ttk.Frame):
    def __init__(self, master, **kwargs):
        super().__init__(master, padding=(8, 3), style="Disclaimer.TFrame", **kwargs)
        ttk.Label(self, text=DISCLAIMER_SHORT, style="Disclaimer.TLabel").pack(side="left")


class StatusBar(ttk.Frame):
    """File name, size, model name and timings, plus an indeterminate bar while work runs."""

    def __init__(self, master, **kwargs):
        super().__init__(master, padding=(6, 2), **kwargs)
        self.file_var = tk.StringVar(value="No scan")
        self.size_var = tk.StringVar(value="")
        self.model_var = tk.StringVar(value="Loading model…")
        self.timing_var = tk.StringVar(value="")
        self.columnconfigure(6, weight=1)
        fields = [(self.file_var, 24), (self.size_var, 24), (self.model_var, 26)]
        for column, (var, width) in enumerate(fields):
            ttk.Label(self, textvariable=var, width=width, anchor="w").grid(row=0, column=column * 2, sticky="w")
            ttk.Separator(self, orient="vertical").grid(row=0, column=column * 2 + 1, sticky="ns", padx=6)
        ttk.Label(self, textvariable=self.timing_var, anchor="w").grid(row=0, column=6, sticky="ew")
        self.progress = ttk.Progressbar(self, mode="indeterminate", length=120)
        self.progress.grid(row=0, column=7, sticky="e", padx=(6, 0))
        self.progress.grid_remove()  # shown only while work runs
        self.busy = False

    def set_busy(self, busy: bool) -> None:
        if busy == self.busy:
            return
        self.busy = busy
        if busy:
            self.progress.grid()
            self.progress.start(15)
        else:
            self.progress.stop()
            self.progress.grid_remove()
