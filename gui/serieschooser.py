"""File ▸ Open folder… with several series (or volumes) in the folder: pick the one to open.

A plain non-modal Toplevel (tests drive it without a native modal loop): a list of
``(source, description)`` from ``gui.jobs.list_volumes``; double-click, Enter or
Open shows the selected one in the main window. It reads no file itself.
"""

from __future__ import annotations

import tkinter as tk
from tkinter import ttk

from gui import theme


class SeriesChooser(tk.Toplevel):
    def __init__(self, parent, folder: str, choices, on_open):
        super().__init__(parent)
        self.transient(parent)
        self.title(f"Open series — {folder}")
        self.choices = list(choices)
        self._on_open = on_open
        frame = ttk.Frame(self, padding=theme.px(self, 10))
        frame.pack(fill="both", expand=True)
        frame.columnconfigure(0, weight=1)
        frame.rowconfigure(1, weight=1)
        ttk.Label(frame, text=f"{len(self.choices)} series and volumes in this folder. Choose one to open:").grid(
            row=0, column=0, columnspan=2, sticky="w", pady=(0, theme.px(self, 6)))
        self.tree = ttk.Treeview(frame, columns=("what",), show="", selectmode="browse",
                                 height=min(14, max(4, len(self.choices))))
        self.tree.column("what", width=theme.px(self, 560), stretch=True)
        for index, (_, description) in enumerate(self.choices):
            self.tree.insert("", "end", iid=str(index), values=(description,))
        scroll = ttk.Scrollbar(frame, orient="vertical", command=self.tree.yview)
        self.tree.configure(yscrollcommand=scroll.set)
        self.tree.grid(row=1, column=0, sticky="nsew")
        scroll.grid(row=1, column=1, sticky="ns")
        buttons = ttk.Frame(frame)
        buttons.grid(row=2, column=0, columnspan=2, sticky="e", pady=(theme.px(self, 8), 0))
        self.open_button = ttk.Button(buttons, text="Open", style="Accent.TButton", command=self.open_selected)
        self.open_button.pack(side="right")
        ttk.Button(buttons, text="Cancel", command=self.destroy).pack(side="right", padx=(0, theme.px(self, 6)))
        if self.choices:
            self.tree.selection_set("0")
            self.tree.focus("0")
        self.tree.bind("<Double-1>", lambda _e: self.open_selected())
        self.bind("<Return>", lambda _e: self.open_selected())
        self.bind("<Escape>", lambda _e: self.destroy())
        self.tree.focus_set()

    def descriptions(self) -> list[str]:
        return [description for _, description in self.choices]

    def select(self, index: int) -> None:
        self.tree.selection_set(str(index))
        self.tree.focus(str(index))

    def open_selected(self) -> None:
        selected = self.tree.selection()
        if not selected:
            return
        source = self.choices[int(selected[0])][0]
        self.destroy()
        self._on_open(source)
