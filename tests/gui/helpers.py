"""Helpers for driving a real Tk window from a test: pump events, fake the file dialogs."""

from __future__ import annotations

import time


def pump_until(root, predicate, timeout: float = 60.0, what: str = "condition") -> float:
    """Process Tk events until ``predicate()`` is true; return seconds waited. Fails after ``timeout``."""
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        root.update()
        if predicate():
            return time.monotonic() - started
        time.sleep(0.005)
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")


def pump(root, seconds: float) -> None:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        root.update()
        time.sleep(0.005)


class FakeDialogs:
    """Stands in for the native file dialogs: returns queued answers, records what was asked."""

    def __init__(self):
        self.answers: list = []
        self.asked: list = []
        self.yes_no: list = []  # answers to ask_yes_no; True when none is queued

    def _next(self, kind, kwargs):
        self.asked.append((kind, kwargs))
        return self.answers.pop(0) if self.answers else None

    def ask_open_scan(self, **kwargs):
        return self._next("open_scan", kwargs)

    def ask_open_model(self, **kwargs):
        return self._next("open_model", kwargs)

    def ask_save_image(self, **kwargs):
        return self._next("save_image", kwargs)

    def ask_save_report(self, **kwargs):
        return self._next("save_report", kwargs)

    def ask_save_csv(self, **kwargs):
        return self._next("save_csv", kwargs)

    def ask_directory(self, **kwargs):
        return self._next("directory", kwargs)

    def ask_open_folder(self, **kwargs):
        return self._next("open_folder", kwargs)

    def ask_yes_no(self, title, message, parent=None):
        self.asked.append(("yes_no", {"title": title, "message": message, "parent": parent}))
        return self.yes_no.pop(0) if self.yes_no else True
