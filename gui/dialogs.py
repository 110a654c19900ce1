"""File choosers and the small information windows.

File choosers are methods of one object the app receives, so tests can swap
in a fake and never block on a native modal dialog. Information windows are
plain non-modal Toplevels for the same reason.
"""

from __future__ import annotations

import json
import os
import tkinter as tk
from tkinter import filedialog, ttk

from core.io import IMAGE_SUFFIXES


def _patterns(suffixes) -> str:
    # Tk matches patterns case-sensitively on X11: offer SCAN.JPG as well as scan.jpg.
    return " ".join(f"*{s}" for s in suffixes) + " " + " ".join(f"*{s.upper()}" for s in suffixes)


SCAN_FILETYPES = [("Images", _patterns(IMAGE_SUFFIXES)), ("All files", "*")]
MODEL_FILETYPES = [("Keras models", _patterns((".keras",))), ("All files", "*")]
SAVE_FILETYPES = [("PNG image", "*.png"), ("JPEG image", "*.jpg *.jpeg"), ("TIFF image", "*.tif *.tiff")]
REPORT_FILETYPES = [("PDF document", "*.pdf")]
CSV_FILETYPES = [("CSV table", "*.csv")]


class FileDialogs:
    """The native file dialogs. Each returns a path, or None when the user cancels."""

    def __init__(self, parent):
        self.parent = parent

    def ask_open_scan(self, initialdir: str | None = None) -> str | None:
        return filedialog.askopenfilename(
            parent=self.parent, title="Open scan", filetypes=SCAN_FILETYPES, initialdir=initialdir
        ) or None

    def ask_open_model(self, initialdir: str | None = None) -> str | None:
        return filedialog.askopenfilename(
            parent=self.parent, title="Open model", filetypes=MODEL_FILETYPES, initialdir=initialdir
        ) or None

    def ask_save_image(self, initialfile: str, initialdir: str | None = None) -> str | None:
        # The native dialog asks before replacing an existing file (confirmoverwrite).
        return filedialog.asksaveasfilename(
            parent=self.parent, title="Save overlay image", filetypes=SAVE_FILETYPES,
            defaultextension=".png", initialfile=initialfile, initialdir=initialdir,
            confirmoverwrite=True,
        ) or None

    def ask_save_report(self, initialfile: str, initialdir: str | None = None) -> str | None:
        return self._ask_save("Export report", REPORT_FILETYPES, ".pdf", initialfile, initialdir)

    def ask_save_csv(self, initialfile: str, initialdir: str | None = None) -> str | None:
        return self._ask_save("Export CSV", CSV_FILETYPES, ".csv", initialfile, initialdir)

    def ask_directory(self, initialdir: str | None = None) -> str | None:
        return filedialog.askdirectory(
            parent=self.parent, title="Classify folder", initialdir=initialdir, mustexist=True
        ) or None

    def _ask_save(self, title, filetypes, extension, initialfile, initialdir) -> str | None:
        # confirmoverwrite: the native dialog asks before replacing; the write then may replace.
        return filedialog.asksaveasfilename(
            parent=self.parent, title=title, filetypes=filetypes, defaultextension=extension,
            initialfile=initialfile, initialdir=initialdir, confirmoverwrite=True,
        ) or None


class InfoWindow(tk.Toplevel):
    """A read-only text in its own window, closed with Escape or the Close button."""

    def __init__(self, parent, title: str, text: str, width: int = 72, height: int = 14):
        super().__init__(parent)
        self.title(title)
        self.transient(parent)
        frame = ttk.Frame(self, padding=10)
        frame.pack(fill="both", expand=True)
        self.text = tk.Text(frame, wrap="word", width=width, height=height, relief="flat", padx=6, pady=6)
        self.text.insert("1.0", text)
        self.text.configure(state="disabled")
        self.text.pack(fill="both", expand=True)
        ttk.Button(frame, text="Close", command=self.destroy).pack(anchor="e", pady=(8, 0))
        self.bind("<Escape>", lambda _e: self.destroy())

    def content(self) -> str:
        return self.text.get("1.0", "end-1c")


def card_summary(card, checksum: str, model_path: str) -> list[tuple[str, str]]:
    return [
        ("Name", card.name),
        ("File", os.path.abspath(model_path)),
        ("Trained", "yes" if card.trained else "NO — untrained placeholder model"),
        ("Classes", ", ".join(card.display_name(c) for c in card.classes)),
        ("Input", f"{card.input_size}×{card.input_size}, {card.channels} channel(s)"),
        ("Temperature", f"{card.temperature:g}"),
        ("Low-confidence threshold", f"{card.low_confidence_threshold:.0%}"),
        ("SHA-256 (verified)", checksum),
    ]


class ModelInfoWindow(tk.Toplevel):
    """The model card: a summary, then every field (metrics included) as an expandable tree."""

    def __init__(self, parent, card, checksum: str, model_path: str):
        super().__init__(parent)
        self.title(f"Model information — {card.name}")
        self.transient(parent)
        self.geometry("640x520")
        frame = ttk.Frame(self, padding=10)
        frame.pack(fill="both", expand=True)
        frame.columnconfigure(1, weight=1)
        frame.rowconfigure(20, weight=1)
        for row, (key, value) in enumerate(card_summary(card, checksum, model_path)):
            ttk.Label(frame, text=key + ":").grid(row=row, column=0, sticky="nw", padx=(0, 8))
            ttk.Label(frame, text=value, wraplength=460).grid(row=row, column=1, sticky="w")
        self.tree = ttk.Treeview(frame, columns=("value",), show="tree headings")
        self.tree.heading("#0", text="Card field")
        self.tree.heading("value", text="Value")
        self.tree.column("#0", width=220, stretch=False)
        scroll = ttk.Scrollbar(frame, orient="vertical", command=self.tree.yview)
        self.tree.configure(yscrollcommand=scroll.set)
        self.tree.grid(row=20, column=0, columnspan=2, sticky="nsew", pady=(10, 0))
        scroll.grid(row=20, column=2, sticky="ns", pady=(10, 0))
        self._insert("", card.data)
        if "metrics" in card.data:
            self.tree.item("metrics", open=True)
        close = ttk.Button(frame, text="Close", command=self.destroy)
        close.grid(row=21, column=0, columnspan=3, sticky="e", pady=(8, 0))
        self.bind("<Escape>", lambda _e: self.destroy())

    def _insert(self, parent: str, value) -> None:
        items = value.items() if isinstance(value, dict) else enumerate(value)
        for key, child in items:
            iid = f"{parent}/{key}" if parent else str(key)
            if isinstance(child, (dict, list)) and child:
                self.tree.insert(parent, "end", iid=iid, text=str(key))
                self._insert(iid, child)
            else:
                self.tree.insert(parent, "end", iid=iid, text=str(key), values=(_shown(child),))


def _shown(value) -> str:
    if isinstance(value, str):
        return value
    return f"{value:.4f}" if isinstance(value, float) else json.dumps(value)
