"""The model: loaded on the model worker at start and from Model ▸ Open model…, and Model ▸
Model information (the card). Owns the status bar's model field; what the rest of the window
shows of a model (class bars, class choices, heatmap placeholder) goes through the analysis
controller.

Runs on the Tk main loop only: the workers return results through ``gui.worker.Jobs``.
"""

from __future__ import annotations

from gui import jobs
from gui.dialogs import InfoWindow, ModelInfoWindow


class ModelController:
    def __init__(self, app):
        self.app = app  # the composition root: state (model, loaded), services, the analysis controller

    def handlers(self) -> dict:
        return {"model": self._on_model}

    def load_model(self, model_path: str | None) -> None:
        app = self.app
        app.status.model_var.set("Loading model…")
        if app.model is None:
            app.analyses.show_status("Loading model…")
        app.jobs.submit(app.jobs.model, "model", jobs.load_model, model_path, context=model_path)

    def open_model_dialog(self) -> None:
        path = self.app.dialogs.ask_open_model(initialdir=self.app.prefs.last_dir)
        if path:
            self.load_model(path)

    def _on_model(self, result, model_path) -> None:
        app = self.app
        if not result.ok:
            if app.model is None:
                app.model_error = str(result.error)
                app.show_error(f"Model not loaded: {result.error}. Scans open for viewing only; "
                               "load a model with Model ▸ Open model…")
                app.analyses.show_status("No model: preview only")
                app.status.model_var.set("No model (preview only)")
                app.analyses.placeholder("No model loaded: no heatmap")
            else:
                app.show_error(f"Could not load that model: {result.error}. Still using {app.model.card.name}.")
                app.status.model_var.set(self.label())
            app.refresh_states()
            return
        app.model, app.model_error = result.value, None
        app.analyses.set_model(app.model)
        app.status.model_var.set(self.label())
        if app.model.cam_error:
            app.show_message(app.model.cam_error, "warning")
        elif app.loaded is None and app.message.kind == "error":
            pass  # e.g. the scan named at launch does not exist: that message stays; the status bar names the model
        else:
            app.show_message(f"Model ready: {app.model.card.name} ({result.elapsed_ms / 1000:.1f} s to load).")
        if app.loaded is not None:
            app.analyses.explain(None, fresh=True)
        else:
            app.analyses.show_status("Open a scan")
        app.refresh_states()

    def label(self) -> str:
        card = self.app.model.card
        return f"Model: {card.name}" + ("" if card.trained else " (untrained)")

    def show_model_info(self):
        app = self.app
        if app.model is None:
            text = app.model_error or "The model is still loading."
            return app.windows.one("model", lambda: InfoWindow(app.root, "Model information", text, height=6))
        existing = app.windows.get("model")
        if existing is not None and existing.winfo_exists() and not isinstance(existing, ModelInfoWindow):
            existing.destroy()  # it described a model that failed or was still loading
        classifier = app.model.classifier
        return app.windows.one(
            "model", lambda: ModelInfoWindow(app.root, classifier.card, classifier.checksum, classifier.model_path))
