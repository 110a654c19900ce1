"""Small widgets the panels share: a tooltip, a label that elides long text in the middle.

A long file name is cut in the middle ("Te-me_00…lossless.dcm"), so both its
start and its extension stay visible; the full text is one hover away.
"""

from __future__ import annotations

import tkinter as tk
from tkinter import font as tkfont
from tkinter import ttk

ELLIPSIS = "…"
TOOLTIP_DELAY_MS = 500


def elide_middle(text: str, measure, width: int) -> str:
    """``text`` shortened in the middle to fit ``width`` pixels (``measure(str) -> pixels``)."""
    if width <= 0 or measure(text) <= width:
        return text
    if measure(ELLIPSIS) > width:
        return ""
    low, high = 0, len(text)  # how many characters to keep, found by bisection
    while low < high:
        keep = (low + high + 1) // 2
        head = (keep + 1) // 2
        candidate = text[:head] + ELLIPSIS + text[len(text) - (keep - head):]
        if measure(candidate) <= width:
            low = keep
        else:
            high = keep - 1
    head = (low + 1) // 2
    return text[:head] + ELLIPSIS + text[len(text) - (low - head):]


def elide_end(text: str, measure, width: int) -> str:
    """``text`` cut at the end (on a word where it can) to fit ``width`` pixels."""
    if width <= 0 or measure(text) <= width:
        return text
    low, high = 0, len(text)
    while low < high:
        keep = (low + high + 1) // 2
        if measure(text[:keep].rstrip() + ELLIPSIS) <= width:
            low = keep
        else:
            high = keep - 1
    cut = text[:low]
    space = cut.rfind(" ")
    if space > low * 0.6:
        cut = cut[:space]
    return cut.rstrip(" ,;:—-") + ELLIPSIS


class Tooltip:
    """A small window with ``text()`` (a callable or a string) shown while the pointer rests on ``widget``.

    ``text`` returning "" shows nothing (a label whose text fits needs no tooltip).
    """

    def __init__(self, widget, text):
        self.widget = widget
        self._text = text
        self._after = None
        self.window: tk.Toplevel | None = None
        widget.bind("<Enter>", self._schedule, add="+")
        widget.bind("<Leave>", self.hide, add="+")
        widget.bind("<ButtonPress>", self.hide, add="+")
        widget.bind("<Destroy>", self.hide, add="+")

    def text(self) -> str:
        return self._text() if callable(self._text) else str(self._text or "")

    def _schedule(self, _event=None) -> None:
        self._cancel()
        self._after = self.widget.after(TOOLTIP_DELAY_MS, self.show)

    def _cancel(self) -> None:
        if self._after is not None:
            try:
                self.widget.after_cancel(self._after)
            except tk.TclError:
                pass
            self._after = None

    def show(self, text: str | None = None, x: int | None = None, y: int | None = None) -> None:
        self._after = None
        text = self.text() if text is None else text
        if not text or not self.widget.winfo_exists():
            self.hide()
            return
        if self.window is None or not self.window.winfo_exists():
            self.window = tk.Toplevel(self.widget)
            self.window.wm_overrideredirect(True)
            self.label = ttk.Label(self.window, style="Tooltip.TLabel", justify="left")
            self.label.pack()
        screen_w = self.widget.winfo_screenwidth()
        self.label.configure(text=text, wraplength=min(640, screen_w // 2))
        x = self.widget.winfo_pointerx() + 12 if x is None else x
        y = self.widget.winfo_pointery() + 18 if y is None else y
        self.window.update_idletasks()
        x = max(0, min(x, screen_w - self.window.winfo_reqwidth() - 4))
        self.window.wm_geometry(f"+{x}+{y}")
        self.window.deiconify()
        self.window.lift()

    def hide(self, _event=None) -> None:
        self._cancel()
        if self.window is not None:
            try:
                self.window.destroy()
            except tk.TclError:
                pass
            self.window = None

    @property
    def shown_text(self) -> str:
        """What the tooltip shows now ("" when hidden); for tests."""
        if self.window is None or not self.window.winfo_exists():
            return ""
        return str(self.label.cget("text"))


class ElidedLabel(ttk.Label):
    """A one-line label whose text is elided (middle or end) to its width, with the full text as a tooltip.

    Its requested width is tiny and fixed, so a long text never widens or shifts the layout:
    the grid gives it its room and the text adapts.
    """

    def __init__(self, master, textvariable: tk.StringVar | None = None, text: str = "", where: str = "middle",
                 **kwargs):
        kwargs.setdefault("width", 1)
        super().__init__(master, **kwargs)
        self.variable = textvariable
        self._full = textvariable.get() if textvariable is not None else text
        self._where = where
        self._font = None
        self.tooltip = Tooltip(self, lambda: self._full if self.elided else "")
        if textvariable is not None:
            self._trace = textvariable.trace_add("write", lambda *_: self.set_text(textvariable.get()))
        self.bind("<Configure>", lambda _e: self._fit(), add="+")
        self._fit()

    @property
    def full_text(self) -> str:
        return self._full

    @property
    def shown(self) -> str:
        return str(self.cget("text"))

    @property
    def elided(self) -> bool:
        return self.shown != self._full

    def set_text(self, text: str) -> None:
        self._full = str(text)
        self._fit()

    def _measure(self, text: str) -> int:
        if self._font is None:
            name = ttk.Style(self).lookup(self.cget("style") or "TLabel", "font") or "TkDefaultFont"
            try:
                self._font = tkfont.nametofont(name)
            except tk.TclError:
                self._font = tkfont.Font(self, font=name)
        return self._font.measure(text)

    def _fit(self) -> None:
        width = self.winfo_width() - 2 * int(self._padding_x()) - 4  # the label's own border
        if self.winfo_width() <= 1:  # not laid out yet: show everything, <Configure> fits it later
            self.configure(text=self._full)
            return
        cut = elide_end if self._where == "end" else elide_middle
        self.configure(text=cut(self._full, self._measure, width))

    def _padding_x(self) -> int:
        try:
            padding = self.cget("padding")
            return int(str(padding).split()[0]) if str(padding) else 0
        except (tk.TclError, ValueError, IndexError):
            return 0

    def destroy(self) -> None:
        if self.variable is not None:
            try:
                self.variable.trace_remove("write", self._trace)
            except tk.TclError:
                pass
        super().destroy()


class ScrollFrame(ttk.Frame):
    """A column whose content (``.inner``) scrolls vertically when it is taller than the room it has:
    the side panel at 150 % scaling or in a short window never clips its last controls. The scroll
    bar appears only when needed; the mouse wheel scrolls it while the pointer is over it."""

    def __init__(self, master, width: int, **kwargs):
        super().__init__(master, **kwargs)
        self.columnconfigure(0, weight=1)
        self.rowconfigure(0, weight=1)
        self.canvas = tk.Canvas(self, width=width, highlightthickness=0, borderwidth=0,
                                background=ttk.Style(self).lookup("TFrame", "background") or None)
        self.canvas.grid(row=0, column=0, sticky="nsew")
        self.scrollbar = ttk.Scrollbar(self, orient="vertical", command=self.canvas.yview)
        self.canvas.configure(yscrollcommand=self.scrollbar.set)
        self.inner = ttk.Frame(self.canvas)
        self._window = self.canvas.create_window(0, 0, window=self.inner, anchor="nw")
        self.inner.bind("<Configure>", lambda _e: self._update())
        self.canvas.bind("<Configure>", lambda _e: self._update())
        for widget in (self.canvas, self.inner):
            widget.bind("<Enter>", lambda _e: self._wheel(True), add="+")
            widget.bind("<Leave>", lambda _e: self._wheel(False), add="+")

    @property
    def scrollable(self) -> bool:
        return self.inner.winfo_reqheight() > self.canvas.winfo_height() > 1

    def _update(self) -> None:
        self.canvas.itemconfigure(self._window, width=self.canvas.winfo_width())
        self.canvas.configure(scrollregion=(0, 0, self.canvas.winfo_width(), self.inner.winfo_reqheight()))
        if self.scrollable:
            self.scrollbar.grid(row=0, column=1, sticky="ns")
        else:
            self.scrollbar.grid_remove()
            self.canvas.yview_moveto(0)

    def _wheel(self, inside: bool) -> None:
        # bind_all while the pointer is over the panel, so the wheel works over any control in it.
        if inside:
            self.bind_all("<MouseWheel>", lambda e: self._scroll(-1 if e.delta > 0 else 1), add=False)
            self.bind_all("<Button-4>", lambda _e: self._scroll(-1), add=False)
            self.bind_all("<Button-5>", lambda _e: self._scroll(1), add=False)
        else:
            for sequence in ("<MouseWheel>", "<Button-4>", "<Button-5>"):
                self.unbind_all(sequence)

    def _scroll(self, units: int) -> None:
        if self.scrollable:
            self.canvas.yview_scroll(units, "units")
