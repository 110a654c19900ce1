"""File ▸ Classify folder…: every file under a folder classified on the model worker, a batch
at a time, into a results table (``gui.batch.BatchWindow``), with Cancel and Export CSV.

Owns the results table. Runs on the Tk main loop only: results come through ``gui.worker.Jobs``.
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass

from gui import jobs


@dataclass
class FolderRun:
    """One "Classify folder" run: the files still to do, the cancel flag, its window."""

    folder: str
    window: object  # gui.batch.BatchWindow
    cancel: threading.Event
    todo: list
    done: bool = False


class BatchController:
    """The folder runs of one ``App`` (its composition root: workers, dialogs, messages)."""

    def __init__(self, app, open_scan):
        self.app = app
        self.open_scan = open_scan  # a row double-clicked in the table opens its scan
        self.run: FolderRun | None = None  # the last "Classify folder" run

    def handlers(self) -> dict:
        return {"listed": self._on_listed, "folder": self._on_folder_batch}

    def classify_folder_dialog(self) -> None:
        if self.app.model is None:
            self.app.show_error("Classify folder needs a model: " + (self.app.model_error or "it is still loading."))
            return
        folder = self.app.dialogs.ask_directory(initialdir=self.app.prefs.last_dir)
        if folder:
            self.classify_folder(folder)

    def classify_folder(self, folder: str) -> None:
        """Classify every file under ``folder`` on the model worker, a batch at a time, into a table."""
        from gui.batch import BatchWindow

        old = self.app.windows.get("batch")
        if old is not None and old.winfo_exists() and not old.request_close():
            return  # the user keeps the table on screen (a run going, or results not exported)
        if self.run is not None and not self.run.done:
            self.cancel_folder()
        folder = str(folder)
        # The window asks before closing when something would be lost, and cancels a run it closes.
        window = BatchWindow(self.app.root, folder, self.app.model.card.display_name, on_cancel=self.cancel_folder,
                             on_export=self.export_csv, on_open=self.open_scan,
                             classes=self.app.model.classifier.classes,
                             confirm=getattr(self.app.dialogs, "ask_yes_no", None))
        self.app.windows["batch"] = window
        run = self.run = FolderRun(folder, window, threading.Event(), [])
        self.app.show_message(f"Classifying the files in {folder}…")
        self.app.jobs.submit(self.app.jobs.io, "listed", jobs.list_scans, folder, context=run)

    def cancel_folder(self) -> None:
        run = self.run
        if run is not None and not run.done:
            run.cancel.set()  # the model worker checks it before each batch
            self._finish_folder(run)

    def _on_listed(self, result, run) -> None:
        if run is not self.run or run.done:
            return
        if not result.ok:
            self.app.show_error(f"Cannot read that folder: {result.error}")
            self._finish_folder(run, stopped=True)
            return
        run.todo = list(result.value)
        if run.window.winfo_exists():
            run.window.set_total(len(run.todo))
        self._next_folder_batch(run)

    def _next_folder_batch(self, run) -> None:
        if not run.todo or run.cancel.is_set():
            self._finish_folder(run)
            return
        batch, run.todo = run.todo[: jobs.FOLDER_BATCH], run.todo[jobs.FOLDER_BATCH:]
        self.app.jobs.submit(self.app.jobs.model, "folder", jobs.classify_files, self.app.model, batch, run.cancel,
                         context=run)

    def _on_folder_batch(self, result, run) -> None:
        if run is not self.run:
            return
        if not result.ok:
            self.app.show_error(f"Classify folder stopped: {type(result.error).__name__}: {result.error}")
            self._finish_folder(run, stopped=True)
            return
        if run.window.winfo_exists():
            run.window.add(result.value)
            if run.done:  # the batch in flight when Cancel was pressed: keep its rows, count them everywhere
                run.window.finish(cancelled=True)
                self.app.show_message(run.window.status_text())
        if not run.done:
            self._next_folder_batch(run)

    def _finish_folder(self, run, stopped: bool = False) -> None:
        if run.done:
            return
        run.done = True
        if run.window.winfo_exists():
            run.window.finish(cancelled=run.cancel.is_set(), stopped=stopped)
            if not stopped:  # the error message stays; otherwise the window's own counts, word for word
                self.app.show_message(run.window.status_text())

    def export_csv(self) -> None:
        run = self.run
        if run is None or not run.window.winfo_exists() or not run.window.records:
            return
        name = os.path.basename(os.path.normpath(run.folder)) or "results"
        # In front of the results table, not behind it: the table is the dialog's parent.
        path = self.app.dialogs.ask_save_csv(initialfile=f"{name}.csv", initialdir=self.app.prefs.save_dir(),
                                             parent=run.window)
        if not path:
            return
        self.app.prefs.saved_to(path)
        self.app.jobs.submit(self.app.jobs.io, self.app.jobs.own_channel("csv"), jobs.write_csv, path,
                             list(run.window.records), list(self.app.model.classifier.classes), context=path)

    def mark_exported(self, path: str) -> None:
        """The table was saved to ``path``: closing it no longer asks."""
        run = self.run
        if run is not None and run.window.winfo_exists():
            run.window.mark_exported(path)
