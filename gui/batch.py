"""The folder-classification window: progress, Cancel, a sortable table of results, Export CSV.

It only shows what the app hands it; the app runs the batches on the model
worker and calls ``add`` with each batch's records.
"""

from __future__ import annotations

import os
import tkinter as tk
from tkinter import ttk

COLUMNS = (("file", "File", 280), ("label", "Label", 140), ("confidence", "Confidence", 100),
           ("low", "Low conf.", 90), ("note", "Warning / error", 340))


def row_values(record: dict, folder: str, display_name) -> tuple:
    path = record["path"]
    try:
        shown = os.path.relpath(path, folder)
    except ValueError:
        shown = path
    if "error" in record:
        return shown, "—", "", "", f"error: {record['error']}"
    if record.get("label") is None:  # abstained: not a brain MRI slice
        return shown, "not a brain MRI", "", "", record.get("warning", "")
    return (
        shown, display_name(record["label"]), f"{record['confidence']:.1%}",
        "yes" if record.get("low_confidence") else "", record.get("warning", ""),
    )


class BatchWindow(tk.Toplevel):
    def __init__(self, parent, folder: str, display_name, on_cancel, on_export, on_open):
        super().__init__(parent)
        self.title(f"Classify folder — {os.path.basename(os.path.normpath(folder)) or folder}")
        self.geometry("1080x520")
        self.folder, self.display_name = folder, display_name
        self.records: list[dict] = []
        self.total = 0
        self._sort = ("", False)
        frame = ttk.Frame(self, padding=10)
        frame.pack(fill="both", expand=True)
        frame.columnconfigure(0, weight=1)
        frame.rowconfigure(1, weight=1)

        top = ttk.Frame(frame)
        top.grid(row=0, column=0, columnspan=2, sticky="ew", pady=(0, 8))
        top.columnconfigure(1, weight=1)
        self.count_var = tk.StringVar(self, "Listing files…")
        ttk.Label(top, textvariable=self.count_var, width=26).grid(row=0, column=0, sticky="w")
        self.progress = ttk.Progressbar(top, mode="determinate", maximum=1,
                                        style="Probability.Horizontal.TProgressbar")
        self.progress.grid(row=0, column=1, sticky="ew", padx=8)
        self.cancel_button = ttk.Button(top, text="Cancel", command=on_cancel)
        self.cancel_button.grid(row=0, column=2, sticky="e")
        self.export_button = ttk.Button(top, text="Export CSV…", command=on_export, state="disabled")
        self.export_button.grid(row=0, column=3, sticky="e", padx=(6, 0))

        self.tree = ttk.Treeview(frame, columns=[c for c, _, _ in COLUMNS], show="headings")
        for column, title, width in COLUMNS:
            self.tree.heading(column, text=title, command=lambda c=column: self.sort_by(c))
            self.tree.column(column, width=width, stretch=column in ("file", "note"))
        scroll = ttk.Scrollbar(frame, orient="vertical", command=self.tree.yview)
        self.tree.configure(yscrollcommand=scroll.set)
        self.tree.grid(row=1, column=0, sticky="nsew")
        scroll.grid(row=1, column=1, sticky="ns")
        self.tree.tag_configure("error", foreground="#b00020")
        self.tree.tag_configure("warning", foreground="#a04a00")
        # Double-click a row: open that scan in the main window.
        self.tree.bind("<Double-1>", lambda _e: self._open_selected(on_open))
        ttk.Label(frame, text="Double-click a row to open the scan. Research and education only — not a diagnosis.",
                  ).grid(row=2, column=0, columnspan=2, sticky="w", pady=(6, 0))
        self.bind("<Escape>", lambda _e: self.destroy())

    def set_total(self, total: int) -> None:
        self.progress.configure(maximum=max(1, total))
        self.total = total
        self._show_count()

    def add(self, records) -> None:
        for record in records:
            iid = str(len(self.records))
            self.records.append(record)
            tag = "error" if "error" in record else ("warning" if record.get("warning") else "")
            self.tree.insert("", "end", iid=iid, values=row_values(record, self.folder, self.display_name),
                             tags=(tag,) if tag else ())
        self.progress["value"] = len(self.records)
        self._show_count()

    def finish(self, cancelled: bool) -> None:
        self.cancel_button.state(["disabled"])
        self.export_button.state(["!disabled"] if self.records else ["disabled"])
        errors = sum("error" in r for r in self.records)
        state = "Cancelled" if cancelled else "Done"
        self.count_var.set(f"{state}: {len(self.records)} / {self.total}" + (f", {errors} failed" if errors else ""))

    def _show_count(self) -> None:
        self.count_var.set(f"{len(self.records)} / {self.total}")

    def rows(self) -> list[tuple]:
        """The table as shown (current sort order)."""
        return [tuple(self.tree.item(iid, "values")) for iid in self.tree.get_children()]

    def sort_by(self, column: str) -> None:
        descending = self._sort == (column, False)
        self._sort = (column, descending)
        index = [c for c, _, _ in COLUMNS].index(column)

        def key(iid):
            record = self.records[int(iid)]
            if column == "confidence":
                return record.get("confidence", -1.0)
            return str(row_values(record, self.folder, self.display_name)[index]).lower()

        for position, iid in enumerate(sorted(self.tree.get_children(), key=key, reverse=descending)):
            self.tree.move(iid, "", position)

    def _open_selected(self, on_open) -> None:
        selected = self.tree.selection()
        if selected:
            record = self.records[int(selected[0])]
            if "error" not in record:
                on_open(record["path"])
