"""File choosers, yes/no questions and the information windows (text, shortcuts, the model card).

File choosers are methods of one object the app receives, so tests can swap
in a fake and never block on a native modal dialog. Every dialog takes the
window it belongs to as ``parent`` so it opens in front of that window (the
Export CSV dialog in front of the results table, not behind it). Information
windows are plain non-modal Toplevels.
"""

from __future__ import annotations

import json
import os
import tkinter as tk
from tkinter import filedialog, messagebox, ttk

from core.io import IMAGE_SUFFIXES
from gui import theme


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

    def ask_open_scan(self, initialdir: str | None = None, parent=None) -> str | None:
        return filedialog.askopenfilename(
            parent=parent or self.parent, title="Open scan", filetypes=SCAN_FILETYPES, initialdir=initialdir
        ) or None

    def ask_open_model(self, initialdir: str | None = None, parent=None) -> str | None:
        return filedialog.askopenfilename(
            parent=parent or self.parent, title="Open model", filetypes=MODEL_FILETYPES, initialdir=initialdir
        ) or None

    def ask_save_image(self, initialfile: str, initialdir: str | None = None, parent=None) -> str | None:
        return self._ask_save("Save overlay image", SAVE_FILETYPES, ".png", initialfile, initialdir, parent)

    def ask_save_report(self, initialfile: str, initialdir: str | None = None, parent=None) -> str | None:
        return self._ask_save("Export report", REPORT_FILETYPES, ".pdf", initialfile, initialdir, parent)

    def ask_save_csv(self, initialfile: str, initialdir: str | None = None, parent=None) -> str | None:
        return self._ask_save("Export CSV", CSV_FILETYPES, ".csv", initialfile, initialdir, parent)

    def ask_directory(self, initialdir: str | None = None, parent=None) -> str | None:
        return filedialog.askdirectory(
            parent=parent or self.parent, title="Classify folder", initialdir=initialdir, mustexist=True
        ) or None

    def ask_open_folder(self, initialdir: str | None = None, parent=None) -> str | None:
        """A folder of DICOM files (or holding a DICOMDIR) to open as series."""
        return filedialog.askdirectory(
            parent=parent or self.parent, title="Open folder (DICOM series)", initialdir=initialdir, mustexist=True
        ) or None

    def ask_yes_no(self, title: str, message: str, parent=None) -> bool:
        return bool(messagebox.askyesno(title, message, parent=parent or self.parent, icon="warning"))

    def _ask_save(self, title, filetypes, extension, initialfile, initialdir, parent) -> str | None:
        # confirmoverwrite: the native dialog asks before replacing; the write then may replace.
        return filedialog.asksaveasfilename(
            parent=parent or self.parent, title=title, filetypes=filetypes, defaultextension=extension,
            initialfile=initialfile, initialdir=initialdir, confirmoverwrite=True,
        ) or None


def _text_box(parent, width: int, height: int, tabs=None) -> tk.Text:
    box = tk.Text(parent, wrap="word", width=width, height=height, relief="flat", padx=theme.px(parent, 12),
                  pady=theme.px(parent, 10), background=theme.PANEL, foreground=theme.TEXT,
                  highlightthickness=0, borderwidth=0, font="TkDefaultFont", spacing1=theme.px(parent, 1),
                  spacing3=theme.px(parent, 2), tabs=tabs or "", cursor="arrow")
    return box


class InfoWindow(tk.Toplevel):
    """A read-only text in its own window, closed with Escape or the Close button.

    Paragraphs wrap at the window's width (word wrap, no hard line breaks); with
    ``tabs`` a line ``keys<TAB>action`` becomes a two-column table, and lines
    without a tab in such a text are headings.
    """

    def __init__(self, parent, title: str, text: str, width: int = 64, height: int = 12, tabs: bool = False):
        super().__init__(parent)
        self.title(title)
        self.transient(parent)
        self.configure(background=theme.BG)
        frame = ttk.Frame(self, padding=theme.px(self, 10))
        frame.pack(fill="both", expand=True)
        stops = None
        if tabs:
            from tkinter import font as tkfont

            measure = tkfont.nametofont("TkDefaultFont").measure
            keys = [line.split("\t")[0] for line in text.splitlines() if "\t" in line]
            stops = (max(map(measure, keys)) + theme.px(self, 24),) if keys else None
        self.text = _text_box(frame, width, height, stops)
        self.text.tag_configure("heading", font="TkHeadingFont", foreground=theme.MUTED,
                                spacing1=theme.px(self, 6), spacing3=theme.px(self, 3))
        self.text.tag_configure("key", foreground=theme.ACCENT)
        for line in text.split("\n"):
            if tabs and line and "\t" not in line:
                self.text.insert("end", line + "\n", "heading")
            elif tabs and "\t" in line:
                keys, action = line.split("\t", 1)
                self.text.insert("end", keys, "key")
                self.text.insert("end", "\t" + action + "\n")
            else:
                self.text.insert("end", line + "\n")
        self.text.delete("end-1c")  # the last newline added above
        self.text.configure(state="disabled")
        self.text.pack(fill="both", expand=True)
        ttk.Button(frame, text="Close", command=self.destroy).pack(anchor="e", pady=(theme.px(self, 8), 0))
        self.bind("<Escape>", lambda _e: self.destroy())

    def content(self) -> str:
        return self.text.get("1.0", "end-1c")


# ----- the model card ----------------------------------------------------------

METRIC_SET_NAMES = {
    "full_test": "Test split (full)",
    "leak_free_test": "Test split, leak-free subset",
    "kaggle/full": "Kaggle test split (full)",
    "kaggle/leak_free": "Kaggle test split, leak-free",
    "kaggle_inverted_tumours": "Kaggle tumour scans, inverted (T2-like)",
    "non_mri": "Not brain MRI (the app should abstain)",
}
_SKIP = {"cells", "per_class_full", "per_class", "predicted", "confusion_matrix", "per_class_f1", "missed"}
LOW_ACCURACY = 0.90  # a source the model gets less right than this is listed as a weakness


def _number(value):
    return value if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def _pct(value, digits: int = 1) -> str:
    value = _number(value)
    return "—" if value is None else f"{value * 100:.{digits}f} %"


def _count(value) -> str:
    value = _number(value)
    return "—" if value is None else f"{int(value):,}"


def _row_name(path: tuple) -> str:
    key = "/".join(p for p in path if p not in ("held_out", "all", "sources"))
    return METRIC_SET_NAMES.get(key, key.replace("_", " ")) or "all"


def metric_rows(section, path: tuple = ()) -> list[dict]:
    """Every result in a card section (``metrics``, ``generalisation``): dicts with an accuracy or an
    abstention rate, found at any depth, named by where they sit. Tolerates any shape."""
    rows = []
    if not isinstance(section, dict):
        return rows
    if "accuracy" in section or ("abstained" in section and "n" in section):
        return [{
            "name": _row_name(path), "n": _number(section.get("n")), "accuracy": _number(section.get("accuracy")),
            "macro_f1": _number(section.get("macro_f1")), "ece": _number(section.get("ece")),
            "abstained": _number(section.get("abstained")), "warned": _number(section.get("warned")),
        }]
    for key, value in section.items():
        if key not in _SKIP and isinstance(value, dict):
            rows.extend(metric_rows(value, (*path, str(key))))
    return rows


def _as_list(value) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, (list, tuple)):
        return [str(v) for v in value if v]
    return []


def known_weaknesses(data: dict) -> list[str]:
    """What the card itself says, then what its numbers show: weak sources, costly shifts, shortcuts."""
    notes = []
    for key in ("known_weaknesses", "weaknesses", "limitations"):
        notes += _as_list(data.get(key))
    for row in metric_rows(data.get("generalisation")):
        if row["accuracy"] is not None and row["accuracy"] < LOW_ACCURACY and (row["n"] or 0) >= 20:
            warned = f"; warned on {_pct(row['warned'])}" if row["warned"] is not None else ""
            notes.append(f"{row['name']}: {_pct(row['accuracy'])} accuracy on {_count(row['n'])} scans{warned}.")
    robustness = data.get("robustness")
    accuracy = robustness.get("accuracy") if isinstance(robustness, dict) else None
    if isinstance(accuracy, dict) and _number(accuracy.get("clean")) is not None:
        clean = accuracy["clean"]
        drops = sorted(((clean - v) * 100, k) for k, v in accuracy.items()
                       if k != "clean" and _number(v) is not None and clean - v >= 0.03)
        for drop, condition in reversed(drops[-4:]):
            notes.append(f"Synthetic shift {condition.replace('/', ', ').replace('_', ' ')}: "
                         f"−{drop:.1f} accuracy points.")
    shortcut = data.get("shortcut_analysis")
    if isinstance(shortcut, dict):
        forest = shortcut.get("source_feature_classifier")
        if isinstance(forest, dict):
            value = _number(forest.get("train_on_training_test_on_testing_accuracy_without_pixel_size"))
            if value is not None:
                notes.append(f"File and intensity statistics alone (no anatomy) predict the class {_pct(value)} "
                             "of the time: the dataset's sources are confounded with its labels.")
    classes = data.get("classes") or []
    notes.append(f"It sees one 2-D slice at a time, {len(classes)} classes only, and no clinical context.")
    return notes


def training_lines(data: dict) -> list[tuple[str, str]]:
    rows = []
    section = data.get("training_data") if isinstance(data.get("training_data"), dict) else {}
    names = data.get("display_names") if isinstance(data.get("display_names"), dict) else {}
    if section.get("dataset"):
        rows.append(("Dataset", str(section["dataset"])))
    if section.get("sources"):
        sources = section["sources"]
        rows.append(("Sources", ", ".join(map(str, sources)) if isinstance(sources, (list, tuple, dict))
                     else str(sources)))
    images = [f"{_count(section.get(k))} {w}" for k, w in (("train_images", "training"),
                                                           ("validation_images", "validation"))
              if _number(section.get(k)) is not None]
    if images:
        rows.append(("Images", ", ".join(images) + (f" (from {section['split_used']})"
                                                      if section.get("split_used") else "")))
    counts = section.get("train_counts")
    if isinstance(counts, dict):
        rows.append(("Per class", ", ".join(f"{names.get(k, k)} {_count(v)}" for k, v in counts.items())))
    if section.get("validation_split"):
        rows.append(("Validation split", str(section["validation_split"])))
    if section.get("augmentation"):
        rows.append(("Augmentation", str(section["augmentation"])))
    arch = data.get("architecture")
    if arch:
        params = _number(data.get("parameters"))
        rows.append(("Architecture", f"{arch}" + (f", {int(params):,} parameters" if params else "")))
    preprocessing = data.get("preprocessing")
    if isinstance(preprocessing, dict) and preprocessing.get("name"):
        rows.append(("Preprocessing", str(preprocessing["name"])))
    training = data.get("training") if isinstance(data.get("training"), dict) else {}
    run = []
    if _number(training.get("epochs_run")) is not None:
        run.append(f"{int(training['epochs_run'])} epochs")
    if _number(training.get("seconds")) is not None:
        run.append(f"{training['seconds'] / 60:.1f} min")
    if training.get("hardware"):
        run.append(str(training["hardware"]))
    if run:
        rows.append(("Training run", ", ".join(run)))
    if data.get("date"):
        rows.append(("Date", str(data["date"])))
    return rows


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
    """The model card as a card (headline metrics, training data, weaknesses, checksum); the raw
    JSON, every field as an expandable tree, is the second tab."""

    def __init__(self, parent, card, checksum: str, model_path: str):
        super().__init__(parent)
        self.title(f"Model information — {card.name}")
        self.transient(parent)
        self.configure(background=theme.BG)
        self.geometry(f"{theme.px(self, 780)}x{theme.px(self, 620)}")
        self.card = card
        frame = ttk.Frame(self, padding=theme.px(self, 10))
        frame.pack(fill="both", expand=True)
        self.notebook = ttk.Notebook(frame)
        self.notebook.pack(fill="both", expand=True)

        card_tab = ttk.Frame(self.notebook)
        self.text = self._card_text(card_tab, card, checksum, model_path)
        self.notebook.add(card_tab, text="Card")

        raw_tab = ttk.Frame(self.notebook, padding=(0, theme.px(self, 6), 0, 0))
        raw_tab.columnconfigure(0, weight=1)
        raw_tab.rowconfigure(0, weight=1)
        self.tree = ttk.Treeview(raw_tab, columns=("value",), show="tree headings")
        self.tree.heading("#0", text="Card field")
        self.tree.heading("value", text="Value")
        self.tree.column("#0", width=theme.px(self, 260), stretch=False)
        scroll = ttk.Scrollbar(raw_tab, orient="vertical", command=self.tree.yview)
        self.tree.configure(yscrollcommand=scroll.set)
        self.tree.grid(row=0, column=0, sticky="nsew")
        scroll.grid(row=0, column=1, sticky="ns")
        self._insert("", card.data)
        if "metrics" in card.data:
            self.tree.item("metrics", open=True)
        self.notebook.add(raw_tab, text="Raw JSON")

        buttons = ttk.Frame(frame)
        buttons.pack(fill="x", pady=(theme.px(self, 8), 0))
        ttk.Button(buttons, text="Copy JSON", command=self.copy_json).pack(side="left")
        ttk.Button(buttons, text="Close", command=self.destroy).pack(side="right")
        self.bind("<Escape>", lambda _e: self.destroy())

    def _card_text(self, parent, card, checksum, model_path) -> tk.Text:
        p = lambda n: theme.px(self, n)  # noqa: E731
        from tkinter import font as tkfont

        measure = tkfont.nametofont("TkDefaultFont").measure
        data = card.data
        rows = metric_rows(data.get("metrics"))
        sources = metric_rows(data.get("generalisation"))
        names = [r["name"] for r in rows + sources] + ["Training run", "Validation split", "Test set / source"]
        first = max(map(measure, names)) + p(18)
        column = max(measure("100.0 %"), measure("macro-F1"), measure("abstained")) + p(22)
        # name | n | accuracy | macro-F1 or abstained | ECE or warned: numbers right-aligned
        stops = (first + column * 0.6, "right", first + column * 1.6, "right", first + column * 2.6, "right",
                 first + column * 3.6, "right")
        parent.columnconfigure(0, weight=1)
        parent.rowconfigure(0, weight=1)
        text = _text_box(parent, 80, 24, stops)
        scroll = ttk.Scrollbar(parent, orient="vertical", command=text.yview)
        text.configure(yscrollcommand=scroll.set)
        text.grid(row=0, column=0, sticky="nsew")
        scroll.grid(row=0, column=1, sticky="ns")
        self._title_font = tkfont.Font(self, family=tkfont.nametofont("TkDefaultFont").actual("family"),
                                       size=theme.FONT_SIZE + 5, weight="bold")
        text.tag_configure("title", font=self._title_font, spacing3=p(2))
        text.tag_configure("h2", font="TkHeadingFont", foreground=theme.ACCENT, spacing1=p(14), spacing3=p(4))
        text.tag_configure("head", foreground=theme.MUTED)
        text.tag_configure("muted", foreground=theme.MUTED)
        text.tag_configure("low", foreground=theme.WARNING)
        text.tag_configure("bad", foreground=theme.ERROR, font="TkHeadingFont")
        text.tag_configure("bullet", lmargin1=p(4), lmargin2=p(20))
        keys = [k for k, _ in training_lines(data)] + ["Thresholds", "False alarms", "Non-MRI caught", "SHA-256",
                                                       "Model file", "Card"]
        field = max(map(measure, keys)) + p(18)
        text.tag_configure("field", lmargin2=field, tabs=(field,))
        text.tag_configure("mono", font="TkFixedFont")

        text.insert("end", card.name, "title")
        version = data.get("version")
        text.insert("end", f"   {'version ' + str(version) if version else ''}\n", "muted")
        if not card.trained:
            text.insert("end", "UNTRAINED placeholder model: its predictions mean nothing.\n", "bad")
        classes = ", ".join(card.display_name(c) for c in card.classes)
        text.insert("end", f"Classes: {classes}\n", "muted")
        text.insert("end", f"Input {card.input_size}×{card.input_size}, {card.channels} channel(s); "
                           f"flagged as low confidence below {card.low_confidence_threshold:.0%}\n", "muted")

        def table(title, table_rows, third, fourth, note=None):
            text.insert("end", title + "\n", "h2")
            if note:
                text.insert("end", note + "\n", "muted")
            text.insert("end", f"Test set / source\tscans\taccuracy\t{third}\t{fourth}\n", "head")
            for row in table_rows:
                low = row["accuracy"] is not None and row["accuracy"] < LOW_ACCURACY
                text.insert("end", row["name"])
                text.insert("end", f"\t{_count(row['n'])}\t")
                text.insert("end", _pct(row["accuracy"], 2 if third == "macro-F1" else 1), "low" if low else ())
                if third == "macro-F1":
                    macro = "—" if row["macro_f1"] is None else f"{row['macro_f1']:.4f}"
                    text.insert("end", f"\t{macro}\t{_pct(row['ece'], 2)}\n")
                else:
                    text.insert("end", f"\t{_pct(row['abstained'])}\t{_pct(row['warned'])}\n")

        if rows:
            table("Headline metrics", rows, "macro-F1", "ECE")
        else:
            text.insert("end", "Headline metrics\n", "h2")
            text.insert("end", "The card has no metrics.\n", "muted")
        if sources:
            table("Per source (generalisation benchmark)", sources, "abstained", "warned",
                  "Scans from other collections than the training data; the app may abstain or warn.")

        text.insert("end", "Trained on\n", "h2")
        lines = training_lines(data)
        for key, value in lines:
            text.insert("end", f"{key}\t{value}\n", "field")
        if not lines:
            text.insert("end", "The card does not say.\n", "muted")

        text.insert("end", "Known weaknesses\n", "h2")
        for note in known_weaknesses(data):
            text.insert("end", f"•  {note}\n", "bullet")

        ood = data.get("ood")
        if isinstance(ood, dict):
            text.insert("end", "Out-of-distribution check\n", "h2")
            parts = []
            if ood.get("chosen_on"):
                parts.append(("Thresholds", str(ood["chosen_on"])))
            if _number(ood.get("test_false_alarm_rate")) is not None:
                parts.append(("False alarms", f"{_pct(ood['test_false_alarm_rate'], 2)} of the real test scans"))
            if _number(ood.get("non_mri_detection_rate")) is not None:
                size = f" of {ood['non_mri_set_size']}" if ood.get("non_mri_set_size") else ""
                parts.append(("Non-MRI caught", f"{_pct(ood['non_mri_detection_rate'], 0)}{size} images"))
            for key, value in parts:
                text.insert("end", f"{key}\t{value}\n", "field")

        text.insert("end", "Checksum\n", "h2")
        text.insert("end", "SHA-256\t", "field")
        text.insert("end", f"{checksum}", ("field", "mono"))
        text.insert("end", "  (verified)\n", ("field", "muted"))
        text.insert("end", f"Model file\t{os.path.abspath(model_path)}\n", "field")
        text.insert("end", f"Card\t{os.path.abspath(card.path)}\n", "field")
        text.configure(state="disabled")
        return text

    def card_text(self) -> str:
        return self.text.get("1.0", "end-1c")

    def copy_json(self) -> None:
        self.clipboard_clear()
        self.clipboard_append(json.dumps(self.card.data, indent=2))

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
