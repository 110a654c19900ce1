"""The folder-classification window: progress, Cancel, a sortable table of results, a summary, Export CSV.

It only shows what the app hands it; the app runs the batches on the model
worker and calls ``add`` with each batch's records. The window is the one
source of truth for the counts: its count line, its summary and the main
window's status message are all made by :meth:`BatchWindow.counts`.

Closing (Escape, the window's close button) asks first when something would be
lost: a run still going, or finished results not exported yet.
"""

from __future__ import annotations

import os
import tkinter as tk
from tkinter import font as tkfont
from tkinter import ttk

from gui import theme
from gui.widgets import Tooltip, elide_end, elide_middle

COLUMNS = (("file", "File", 280), ("label", "Label", 140), ("confidence", "Confidence", 100),
           ("low", "Low conf.", 90), ("note", "Warning / error", 340))
NOT_MRI = "not a brain MRI"  # a record with "label": None: the app abstained
MAX_FILE_COLUMN = 460  # px at 100 %: longer relative paths are cut (full text in the tooltip)


def row_values(record: dict, folder: str, display_name) -> tuple:
    path = record["path"]
    try:
        shown = os.path.relpath(path, folder)
    except ValueError:
        shown = path
    if "error" in record:
        return shown, "—", "", "", f"error: {record['error']}"
    if record.get("label") is None:  # abstained: not a brain MRI slice
        return shown, NOT_MRI, "", "", record.get("warning", "")
    return (
        shown, display_name(record["label"]), f"{record['confidence']:.1%}",
        "yes" if record.get("low_confidence") else "", record.get("warning", ""),
    )


def count_records(records, classes=()) -> dict:
    """Per class, abstained, flagged (a warning on a classified scan) and failed, from the records alone."""
    per_class = {name: 0 for name in classes}
    abstained = flagged = failed = 0
    for record in records:
        if "error" in record:
            failed += 1
        elif record.get("label") is None:
            abstained += 1
        else:
            per_class[record["label"]] = per_class.get(record["label"], 0) + 1
            flagged += bool(record.get("warning"))
    return {"per_class": per_class, "abstained": abstained, "flagged": flagged, "failed": failed,
            "done": len(records)}


class BatchWindow(tk.Toplevel):
    def __init__(self, parent, folder: str, display_name, on_cancel, on_export, on_open, classes=(),
                 confirm=None):
        super().__init__(parent)
        self.transient(parent)  # stays in front of the main window
        self.title(f"Classify folder — {os.path.basename(os.path.normpath(folder)) or folder}")
        self.configure(background=theme.BG)
        p = lambda n: theme.px(self, n)  # noqa: E731
        self.geometry(f"{p(1080)}x{p(540)}")
        self.folder, self.display_name, self.classes = folder, display_name, list(classes)
        self._on_cancel = on_cancel
        self._confirm = confirm
        self.records: list[dict] = []
        self.total = 0
        self.state = "listing"  # -> "running" -> "done" | "cancelled" | "stopped"
        self.exported: str | None = None  # the CSV path once exported
        self._sort = ("", False)
        self._font = tkfont.nametofont("TkDefaultFont")
        self._widths = {c: self._font.measure(title) + p(28) for c, title, _ in COLUMNS}
        frame = ttk.Frame(self, padding=p(12))
        frame.pack(fill="both", expand=True)
        frame.columnconfigure(0, weight=1)
        frame.rowconfigure(2, weight=1)

        top = ttk.Frame(frame)
        top.grid(row=0, column=0, columnspan=2, sticky="ew", pady=(0, p(6)))
        top.columnconfigure(1, weight=1)
        self.count_var = tk.StringVar(self, "Listing files…")
        # Wide enough for "Cancelled: 1311 / 1311, 1311 failed": the bar beside it never moves.
        ttk.Label(top, textvariable=self.count_var, width=30, style="Title.TLabel").grid(row=0, column=0, sticky="w")
        self.progress = ttk.Progressbar(top, mode="determinate", maximum=1,
                                        style="Probability.Horizontal.TProgressbar")
        self.progress.grid(row=0, column=1, sticky="ew", padx=p(10))
        self.cancel_button = ttk.Button(top, text="Cancel", command=on_cancel)
        self.cancel_button.grid(row=0, column=2, sticky="e")
        self.export_button = ttk.Button(top, text="Export CSV…", command=on_export, state="disabled",
                                        style="Accent.TButton")
        self.export_button.grid(row=0, column=3, sticky="e", padx=(p(6), 0))
        self.summary_var = tk.StringVar(self, "")
        ttk.Label(frame, textvariable=self.summary_var, style="Muted.TLabel").grid(
            row=1, column=0, columnspan=2, sticky="w", pady=(0, p(8)))

        self.tree = ttk.Treeview(frame, columns=[c for c, _, _ in COLUMNS], show="headings")
        for column, title, width in COLUMNS:
            self.tree.heading(column, text=title, anchor="w", command=lambda c=column: self.sort_by(c))
            self.tree.column(column, width=max(p(width // 2), self._widths[column]), stretch=column == "note",
                             anchor="e" if column == "confidence" else "w")
        scroll = ttk.Scrollbar(frame, orient="vertical", command=self.tree.yview)
        self.tree.configure(yscrollcommand=scroll.set)
        self.tree.grid(row=2, column=0, sticky="nsew")
        scroll.grid(row=2, column=1, sticky="ns")
        self.tree.tag_configure("error", foreground=theme.ERROR)
        self.tree.tag_configure("warning", foreground=theme.WARNING)
        # Double-click a row: open that scan in the main window.
        self.tree.bind("<Double-1>", lambda _e: self._open_selected(on_open))
        self.tooltip = Tooltip(self.tree, "")
        self.tree.bind("<Motion>", self._hover, add="+")
        self._resize_after = None
        self.tree.bind("<Configure>", self._on_resize, add="+")
        self.tree.bind("<ButtonRelease-1>", self._on_resize, add="+")  # a column dragged wider or narrower
        ttk.Label(frame, text="Double-click a row to open the scan. Hover over a cut text to read all of it. "
                              "Research and education only — not a diagnosis.", style="Muted.TLabel",
                  ).grid(row=3, column=0, columnspan=2, sticky="w", pady=(p(8), 0))
        self.protocol("WM_DELETE_WINDOW", self.request_close)
        self.bind("<Escape>", lambda _e: self.request_close())
        self._fit_columns()

    # ----- counts: the one source of truth ---------------------------------------

    def counts(self) -> dict:
        return count_records(self.records, self.classes)

    def count_text(self) -> str:
        counts = self.counts()
        failed = f", {counts['failed']} failed" if counts["failed"] else ""
        if self.state == "listing":
            return "Listing files…"
        prefix = {"done": "Done: ", "cancelled": "Cancelled: ", "stopped": "Stopped: "}.get(self.state, "")
        return f"{prefix}{counts['done']} / {self.total}{failed}"

    def summary_text(self) -> str:
        counts = self.counts()
        if not counts["done"]:
            return ""
        parts = [f"{self.display_name(name)} {n}" for name, n in counts["per_class"].items()]
        if counts["abstained"]:
            parts.append(f"{NOT_MRI} {counts['abstained']}")
        parts.append(f"{counts['flagged']} flagged (warning)")
        parts.append(f"{counts['failed']} failed")
        return " · ".join(parts)

    def status_text(self) -> str:
        """The main window's one-line report of this run, from the same counts as the table."""
        name = os.path.basename(os.path.normpath(self.folder)) or self.folder
        summary = self.summary_text()
        return f"Classify folder {name} — {self.count_text()}" + (f". {summary}" if summary else ".")

    def _show_count(self) -> None:
        self.count_var.set(self.count_text())
        self.summary_var.set(self.summary_text())

    # ----- the run ---------------------------------------------------------------

    def set_total(self, total: int) -> None:
        self.progress.configure(maximum=max(1, total))
        self.total = total
        self.state = "running"
        self._show_count()

    def add(self, records) -> None:
        for record in records:
            iid = str(len(self.records))
            self.records.append(record)
            tag = "error" if "error" in record else ("warning" if record.get("warning") else "")
            values = row_values(record, self.folder, self.display_name)
            self._measure(values)
            self.tree.insert("", "end", iid=iid, values=values, tags=(tag,) if tag else ())
        self.progress["value"] = len(self.records)
        self._fit_columns()
        self._refresh_cells(only=range(len(self.records) - len(records), len(self.records)))
        self._show_count()

    def finish(self, cancelled: bool, stopped: bool = False) -> None:
        self.state = "stopped" if stopped else ("cancelled" if cancelled else "done")
        self.cancel_button.state(["disabled"])
        self.export_button.state(["!disabled"] if self.records else ["disabled"])
        self._show_count()

    @property
    def running(self) -> bool:
        return self.state in ("listing", "running")

    def mark_exported(self, path: str) -> None:
        self.exported = path

    def request_close(self) -> bool:
        """Close unless the user says no: asks while running, and when finished results are not exported."""
        if self.running and self.records:
            question = ("Stop classifying?", f"The folder is still being classified ({self.count_text()}). "
                        "Stop and close the table?")
        elif not self.running and self.records and not self.exported:
            question = ("Close the results?", f"{len(self.records)} results have not been exported. "
                        "Close the table without exporting them?")
        else:
            question = None
        if question is not None and self._confirm is not None and not self._confirm(*question, parent=self):
            return False
        if self.running:
            self._on_cancel()
        self.destroy()
        return True

    # ----- table -----------------------------------------------------------------

    def rows(self) -> list[tuple]:
        """The table's rows in the current sort order, each text in full (the cells may show it cut)."""
        return [row_values(self.records[int(iid)], self.folder, self.display_name)
                for iid in self.tree.get_children()]

    def _refresh_cells(self, only=None) -> None:
        """Show each cell's text cut to its column (a file name in the middle, a message at the end, with
        "…"), never clipped mid-letter; the full text is in the tooltip."""
        widths = {c: int(self.tree.column(c, "width")) - theme.px(self, 14) for c, _, _ in COLUMNS}
        self._shown_widths = widths
        measure = self._font.measure
        for index in (range(len(self.records)) if only is None else only):
            values = row_values(self.records[index], self.folder, self.display_name)
            shown = [(elide_middle if c == "file" else elide_end)(str(v), measure, widths[c])
                     for (c, _, _), v in zip(COLUMNS, values)]
            self.tree.item(str(index), values=shown)

    def _on_resize(self, _event=None) -> None:
        if self._resize_after is not None:
            self.after_cancel(self._resize_after)
        self._resize_after = self.after(120, self._resized)

    def _resized(self) -> None:
        self._resize_after = None
        widths = {c: int(self.tree.column(c, "width")) - theme.px(self, 14) for c, _, _ in COLUMNS}
        if widths != getattr(self, "_shown_widths", None):
            self._refresh_cells()

    def _measure(self, values) -> None:
        pad = theme.px(self, 24)
        for (column, _, _), value in zip(COLUMNS, values):
            if column != "note":
                self._widths[column] = max(self._widths[column], self._font.measure(str(value)) + pad)

    def _fit_columns(self) -> None:
        """Columns as wide as their longest text (the file column up to a limit); the warning column takes
        the rest of the width."""
        for column, _, _ in COLUMNS:
            if column == "note":
                continue
            width = self._widths[column]
            if column == "file":
                width = min(width, theme.px(self, MAX_FILE_COLUMN))
            self.tree.column(column, width=width, minwidth=min(width, theme.px(self, 60)))

    def cell_text(self, x: int, y: int) -> str:
        """The full text of the cell at (x, y) when it does not fit its column, else ""."""
        row, column = self.tree.identify_row(y), self.tree.identify_column(x)
        if not row or not column.startswith("#"):
            return ""
        try:
            index = int(column[1:]) - 1
            value = str(row_values(self.records[int(row)], self.folder, self.display_name)[index])
        except (ValueError, IndexError):
            return ""
        width = int(self.tree.column(COLUMNS[index][0], "width"))
        return value if self._font.measure(value) + theme.px(self, 12) > width else ""

    def _hover(self, event) -> None:
        text = self.cell_text(event.x, event.y)
        if text != self.tooltip.shown_text:
            if text:
                self.tooltip.show(text, event.x_root + 12, event.y_root + 18)
            else:
                self.tooltip.hide()

    def sort_by(self, column: str) -> None:
        descending = self._sort == (column, False)
        self._sort = (column, descending)
        index = [c for c, _, _ in COLUMNS].index(column)

        def key(iid):
            record = self.records[int(iid)]
            if column == "confidence":
                return record.get("confidence") if record.get("confidence") is not None else -1.0
            return str(row_values(record, self.folder, self.display_name)[index]).lower()

        for position, iid in enumerate(sorted(self.tree.get_children(), key=key, reverse=descending)):
            self.tree.move(iid, "", position)

    def _open_selected(self, on_open) -> None:
        selected = self.tree.selection()
        if selected:
            record = self.records[int(selected[0])]
            if "error" not in record:
                on_open(record["path"])

    def destroy(self) -> None:
        if getattr(self, "_resize_after", None) is not None:
            try:
                self.after_cancel(self._resize_after)
            except tk.TclError:
                pass
            self._resize_after = None
        self.tooltip.hide()
        super().destroy()
