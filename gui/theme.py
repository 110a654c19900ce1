"""The dark viewer theme: one palette, one accent colour, plain ttk styles on top of "clam".

Radiology viewers (3D Slicer, OHIF, Horos) use a dark canvas with light text so
grey levels read well; every widget here follows the same palette. Nothing is
downloaded or installed: the theme is ttk's built-in "clam" restyled, which
freezes with PyInstaller like the rest of Tk.

Sizes are given at 100 % scaling (96 dpi) and go through :func:`px`, so the
window reads the same at 150 % (``tk scaling``) as at 100 %. Fonts are in
points, which Tk scales by itself.
"""

from __future__ import annotations

import tkinter as tk
from dataclasses import dataclass
from tkinter import font as tkfont
from tkinter import ttk

from PIL import Image, ImageDraw, ImageTk

# One palette for the whole window (dark greys, one blue accent, amber and red for warnings/errors).
BG = "#1b1d21"  # window background
PANEL = "#23262b"  # status bar, tables, text boxes
FIELD = "#2c3036"  # entries, drop-downs, troughs
RAISED = "#353a41"  # buttons, headings, sliders
HOVER = "#41474f"
BORDER = "#454b54"
TEXT = "#e4e6ea"
MUTED = "#9aa1ab"
DISABLED = "#6b717a"
ACCENT = "#4c9aff"
ACCENT_DARK = "#2f6fcc"
SELECT = "#2b4f80"
ERROR = "#ff7a7a"
WARNING = "#f5b84d"
DISCLAIMER_BG = "#3a3018"
DISCLAIMER_FG = "#f3d58a"
CANVAS = "#0b0c0e"  # behind the images: near black, as in radiology viewers
PLACEHOLDER = "#8b929c"

FONT_SIZE = 10  # points: scales with the display's dpi (``tk scaling``)
BASE_SCALING = 96 / 72  # Tk's ``tk scaling`` at 96 dpi, i.e. "100 %"


def scale_factor(widget) -> float:
    """The display's scaling relative to 96 dpi (1.0 = 100 %, 1.5 = 150 %)."""
    try:
        return max(0.5, float(widget.tk.call("tk", "scaling")) / BASE_SCALING)
    except (tk.TclError, ValueError):
        return 1.0


def px(widget, pixels: float) -> int:
    """A size given at 100 % scaling, in this display's pixels."""
    return max(1, round(pixels * scale_factor(widget)))


def line_height(font="TkDefaultFont") -> int:
    return int(tkfont.nametofont(font).metrics("linespace")) if isinstance(font, str) else int(
        font.metrics("linespace"))


@dataclass
class Theme:
    root: tk.Misc
    scale: float
    images: dict  # Tk drops an image with no Python reference: the indicator images live here
    heading_font: tkfont.Font
    headline_font: tkfont.Font
    small_font: tkfont.Font

    def px(self, pixels: float) -> int:
        return max(1, round(pixels * self.scale))


def _fonts(root) -> tuple[tkfont.Font, tkfont.Font, tkfont.Font]:
    families = set(tkfont.families(root))
    family = next((f for f in ("Inter", "Segoe UI", "SF Pro Text", "Cantarell", "Noto Sans", "DejaVu Sans")
                   if f in families), None)
    for name in ("TkDefaultFont", "TkTextFont", "TkMenuFont", "TkIconFont", "TkHeadingFont", "TkTooltipFont",
                 "TkCaptionFont", "TkSmallCaptionFont"):
        named = tkfont.nametofont(name, root=root)
        size = {"TkTooltipFont": FONT_SIZE - 1, "TkSmallCaptionFont": FONT_SIZE - 1,
                "TkCaptionFont": FONT_SIZE + 2}.get(name, FONT_SIZE)
        options = {"size": size}  # points (positive), never pixels: Tk scales points with the dpi
        if family:
            options["family"] = family
        named.configure(**options)
    tkfont.nametofont("TkHeadingFont", root=root).configure(weight="bold")
    base = tkfont.nametofont("TkDefaultFont", root=root).actual()
    heading = tkfont.Font(root, family=base["family"], size=FONT_SIZE, weight="bold")
    headline = tkfont.Font(root, family=base["family"], size=FONT_SIZE + 6, weight="bold")
    small = tkfont.Font(root, family=base["family"], size=FONT_SIZE - 1)
    return heading, headline, small


def _indicator_images(root, size: int) -> dict:
    """Check box and radio button indicators drawn at 4x and reduced (smooth edges at any scale)."""
    big = size * 4

    def make(kind, selected, disabled, hover=False):
        image = Image.new("RGBA", (big, big), (0, 0, 0, 0))
        draw = ImageDraw.Draw(image)
        fill = (DISABLED if disabled else ACCENT) if selected else FIELD
        outline = fill if selected else (HOVER if disabled else (ACCENT if hover else BORDER))
        box = (2, 2, big - 3, big - 3)
        width = max(2, big // 9)
        if kind == "check":
            draw.rounded_rectangle(box, radius=big // 5, fill=fill, outline=outline, width=width)
            if selected:
                mark = [(big * 0.26, big * 0.52), (big * 0.43, big * 0.69), (big * 0.75, big * 0.33)]
                draw.line(mark, fill=BG if disabled else "#ffffff", width=max(3, big // 7), joint="curve")
        else:
            draw.ellipse(box, fill=FIELD if not selected else fill, outline=outline, width=width)
            if selected:
                inset = big * 0.3
                draw.ellipse((inset, inset, big - inset, big - inset), fill=BG if disabled else "#ffffff")
        return ImageTk.PhotoImage(image.resize((size, size), Image.LANCZOS), master=root)

    images = {}
    for kind in ("check", "radio"):
        for selected in (False, True):
            for disabled in (False, True):
                images[(kind, selected, disabled, False)] = make(kind, selected, disabled)
            images[(kind, selected, False, True)] = make(kind, selected, False, hover=True)
    return images


def _indicators(style: ttk.Style, images: dict, margin: int) -> None:
    for kind, element, widget in (("check", "NSC.Checkbutton.indicator", "TCheckbutton"),
                                  ("radio", "NSC.Radiobutton.indicator", "TRadiobutton")):
        style.element_create(
            element, "image", images[(kind, False, False, False)],
            ("disabled", "selected", images[(kind, True, True, False)]),
            ("disabled", images[(kind, False, True, False)]),
            ("active", "selected", images[(kind, True, False, True)]),
            ("selected", images[(kind, True, False, False)]),
            ("active", images[(kind, False, False, True)]),
            sticky="", padding=(0, 0, margin, 0),
        )
        prefix = widget[1:]
        style.layout(widget, [(f"{prefix}.padding", {"sticky": "nswe", "children": [
            (element, {"side": "left", "sticky": ""}),
            (f"{prefix}.focus", {"side": "left", "sticky": "w", "children": [
                (f"{prefix}.label", {"sticky": "nswe"})]})]})])


def apply(root: tk.Tk) -> Theme:
    """Restyle every ttk widget and the classic Tk ones (menus, text boxes, the file dialog)."""
    scale = scale_factor(root)
    heading, headline, small = _fonts(root)

    def p(pixels):
        return max(1, round(pixels * scale))

    style = ttk.Style(root)
    if "clam" in style.theme_names():
        style.theme_use("clam")
    root.configure(background=BG)
    style.configure(
        ".", background=BG, foreground=TEXT, fieldbackground=FIELD, bordercolor=BORDER, darkcolor=BG,
        lightcolor=BG, troughcolor=FIELD, selectbackground=SELECT, selectforeground=TEXT,
        insertcolor=TEXT, focuscolor=ACCENT, arrowcolor=TEXT, font="TkDefaultFont",
    )
    style.map(".", foreground=[("disabled", DISABLED)], background=[("disabled", BG)])
    style.configure("TFrame", background=BG)
    style.configure("TLabel", background=BG, foreground=TEXT)
    style.configure("TLabelframe", background=BG, bordercolor=BORDER, lightcolor=BG, darkcolor=BG,
                    padding=p(8), relief="solid", borderwidth=1)
    style.configure("TLabelframe.Label", background=BG, foreground=MUTED, font=heading)
    style.configure("TSeparator", background=BORDER)

    style.configure("TButton", background=RAISED, foreground=TEXT, bordercolor=BORDER, lightcolor=RAISED,
                    darkcolor=RAISED, padding=(p(10), p(4)), relief="flat", focusthickness=1,
                    focuscolor=ACCENT)
    style.map("TButton", background=[("disabled", FIELD), ("pressed", ACCENT_DARK), ("active", HOVER)],
              lightcolor=[("pressed", ACCENT_DARK), ("active", HOVER)],
              darkcolor=[("pressed", ACCENT_DARK), ("active", HOVER)],
              bordercolor=[("focus", ACCENT)], foreground=[("disabled", DISABLED)])
    style.configure("Accent.TButton", background=ACCENT_DARK, lightcolor=ACCENT_DARK, darkcolor=ACCENT_DARK)
    style.map("Accent.TButton", background=[("disabled", FIELD), ("pressed", SELECT), ("active", ACCENT)],
              lightcolor=[("active", ACCENT)], darkcolor=[("active", ACCENT)])

    images = _indicator_images(root, p(15))
    _indicators(style, images, p(7))
    for widget in ("TCheckbutton", "TRadiobutton"):
        style.configure(widget, background=BG, foreground=TEXT, padding=(p(2), p(3)))
        style.map(widget, background=[("active", BG)], foreground=[("disabled", DISABLED)])

    field = {"fieldbackground": FIELD, "foreground": TEXT, "background": RAISED, "bordercolor": BORDER,
             "lightcolor": FIELD, "darkcolor": FIELD, "arrowcolor": TEXT, "insertcolor": TEXT,
             "padding": (p(6), p(3))}
    for widget in ("TEntry", "TCombobox", "TSpinbox"):
        style.configure(widget, **field)
        style.map(widget, fieldbackground=[("disabled", BG), ("readonly", FIELD)],
                  foreground=[("disabled", DISABLED)], bordercolor=[("focus", ACCENT), ("hover", HOVER)],
                  lightcolor=[("focus", FIELD)], darkcolor=[("focus", FIELD)],
                  background=[("active", HOVER), ("disabled", BG)], arrowcolor=[("disabled", DISABLED)],
                  selectbackground=[("readonly", FIELD), ("!focus", FIELD)],
                  selectforeground=[("readonly", TEXT), ("!focus", TEXT)])
    style.configure("TSpinbox", arrowsize=p(12))
    style.configure("TCombobox", arrowsize=p(14))

    style.configure("Horizontal.TScale", background=RAISED, troughcolor=FIELD, bordercolor=BORDER,
                    lightcolor=RAISED, darkcolor=RAISED, sliderlength=p(16), sliderthickness=p(14))
    style.map("Horizontal.TScale", background=[("disabled", FIELD), ("active", ACCENT)])
    style.configure("TScrollbar", background=RAISED, troughcolor=PANEL, bordercolor=PANEL, lightcolor=RAISED,
                    darkcolor=RAISED, arrowcolor=MUTED, gripcount=0, arrowsize=p(13))
    style.map("TScrollbar", background=[("active", HOVER)])
    style.configure("TProgressbar", background=ACCENT, troughcolor=FIELD, bordercolor=BORDER,
                    lightcolor=ACCENT, darkcolor=ACCENT_DARK, thickness=p(8))
    style.configure("Probability.Horizontal.TProgressbar", background=ACCENT, troughcolor=FIELD,
                    bordercolor=FIELD, lightcolor=ACCENT, darkcolor=ACCENT_DARK, thickness=p(10))

    linespace = int(tkfont.nametofont("TkDefaultFont", root=root).metrics("linespace"))
    style.configure("Treeview", background=PANEL, fieldbackground=PANEL, foreground=TEXT, bordercolor=BORDER,
                    lightcolor=PANEL, darkcolor=PANEL, rowheight=linespace + p(8))
    style.map("Treeview", background=[("selected", SELECT)], foreground=[("selected", TEXT)])
    style.configure("Treeview.Heading", background=RAISED, foreground=TEXT, bordercolor=BORDER,
                    lightcolor=RAISED, darkcolor=RAISED, relief="flat", padding=(p(6), p(4)), font=heading)
    style.map("Treeview.Heading", background=[("active", HOVER)])
    style.configure("TNotebook", background=BG, bordercolor=BORDER, lightcolor=BG, darkcolor=BG,
                    tabmargins=(p(2), p(4), p(2), 0))
    style.configure("TNotebook.Tab", background=PANEL, foreground=MUTED, bordercolor=BORDER, lightcolor=PANEL,
                    darkcolor=PANEL, padding=(p(14), p(5)))
    style.map("TNotebook.Tab", background=[("selected", BG), ("active", HOVER)],
              foreground=[("selected", TEXT)], lightcolor=[("selected", BG)], darkcolor=[("selected", BG)])

    # Named styles the panels use.
    style.configure("Error.TLabel", foreground=ERROR)
    style.configure("Warning.TLabel", foreground=WARNING)
    style.configure("Muted.TLabel", foreground=MUTED)
    style.configure("Title.TLabel", font=heading)
    style.configure("Headline.TLabel", font=headline)
    style.configure("Disclaimer.TFrame", background=DISCLAIMER_BG)
    style.configure("Disclaimer.TLabel", background=DISCLAIMER_BG, foreground=DISCLAIMER_FG, font=heading)
    style.configure("Status.TFrame", background=PANEL)
    style.configure("Status.TLabel", background=PANEL, foreground=MUTED)
    style.configure("Status.TSeparator", background=BORDER)
    style.configure("Message.TFrame", background=BG)
    style.configure("Card.TFrame", background=PANEL)
    style.configure("Tooltip.TLabel", background="#30343b", foreground=TEXT, font="TkTooltipFont",
                    padding=(p(8), p(4)), relief="solid", borderwidth=1, bordercolor=BORDER)

    # Classic Tk widgets (menus, text boxes, the combobox list, Tk's own file dialog) read the option database.
    for pattern, value in (
        ("*Background", BG), ("*Foreground", TEXT), ("*activeBackground", SELECT), ("*activeForeground", TEXT),
        ("*selectBackground", SELECT), ("*selectForeground", TEXT), ("*insertBackground", TEXT),
        ("*highlightBackground", BG), ("*highlightColor", ACCENT), ("*disabledForeground", DISABLED),
        ("*troughColor", FIELD), ("*Menu.background", PANEL), ("*Menu.activeBackground", SELECT),
        ("*Menu.relief", "flat"), ("*Menu.borderWidth", 1), ("*Menu.activeBorderWidth", 0),
        ("*Menu.selectColor", ACCENT), ("*Menu.font", "TkMenuFont"), ("*Text.background", PANEL),
        ("*Text.relief", "flat"), ("*Text.highlightThickness", 0), ("*Listbox.background", FIELD),
        ("*Listbox.relief", "flat"), ("*TCombobox*Listbox.background", FIELD),
        ("*TCombobox*Listbox.foreground", TEXT), ("*TCombobox*Listbox.selectBackground", SELECT),
        ("*TCombobox*Listbox.font", "TkDefaultFont"), ("*Canvas.background", BG),
        ("*Canvas.highlightThickness", 0), ("*Toplevel.background", BG),
    ):
        root.option_add(pattern, value)
    _tame_file_dialog(root)
    return Theme(root, scale, images, heading, headline, small)


def _tame_file_dialog(root) -> None:
    """Tk's own file dialog (X11): hide dot-files (.git, .venv) unless asked, offer the switch."""
    try:
        if root.tk.call("tk", "windowingsystem") != "x11":
            return  # Windows and macOS use their native dialogs
        root.tk.eval("catch {tk_getOpenFile -no-such-option}")  # loads the dialog's code and namespace
        root.tk.eval("set ::tk::dialog::file::showHiddenBtn 1; set ::tk::dialog::file::showHiddenVar 0")
    except tk.TclError:
        pass
