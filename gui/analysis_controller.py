"""The explanation of the scan on screen: the prediction (result panel), the heatmap and its
colour bar, the explained class, and the maps computed on demand (Integrated Gradients).

Owns the result panel, the controls panel, the heatmap canvas, its title, the colour bar and the
status bar's timing field; keeps ``app.analysis`` and ``app.overlay_image``. Method, opacity and
colour map repaint from the kept maps (no new job). Runs on the Tk main loop only: results come
through ``gui.worker.Jobs``.
"""

from __future__ import annotations

from gradcam.overlay import overlay, scale_caption
from gui import jobs
from gui.controls import CAM_CYCLE, METHOD_NAMES, PREDICTED
from gui.results import NOT_MRI_HEADLINE

OPACITY_STEP = 0.1


class AnalysisController:
    def __init__(self, app):
        self.app = app  # the composition root: state (model, loaded, analysis), services, widgets
        self.serial = 0  # bumped per scan or slice shown; an explanation for an older one is stale
        self.read_ms = 0.0  # how long the scan on screen took to read (status bar)
        self._maps_asked = set()  # (scan serial, class, method) on the worker now: asked once

    def handlers(self) -> dict:
        return {"explain": self._on_analysis, "maps": self._on_method_maps}

    def watch(self, view_vars) -> None:
        for var in (view_vars.method, view_vars.opacity, view_vars.colormap):
            var.trace_add("write", lambda *_: self.render())

    # ----- what the panels show of a model and a scan -----------------------------

    def show_status(self, text: str) -> None:
        self.app.results.show_message(text)

    def placeholder(self, text: str) -> None:
        self.app.heatmap_canvas.set_placeholder(text)

    def show_model_input(self, text: str | None) -> None:
        """The result panel's "Model input: …" line (which window the classifier sees)."""
        self.app.results.show_model_window(text)

    def set_model(self, model) -> None:
        app, card = self.app, model.card
        app.results.set_classes(model.classifier.classes, card.display_name)
        app.results.set_untrained(not card.trained)
        app.controls.set_target_choices([card.display_name(c) for c in model.classifier.classes])
        app.vars.target.set(PREDICTED)
        app.heatmap_canvas.set_placeholder("The heatmap appears here")

    def clear(self, read_ms: float | None = None) -> None:
        """Another scan, slice or window on screen: its old analysis is stale."""
        app = self.app
        self.serial += 1
        if read_ms is not None:  # a scan just read (not another slice of it)
            self.read_ms = read_ms
            app.status.timing_var.set(f"read {read_ms:.0f} ms")
        app.analysis, app.overlay_image = None, None
        app.heatmap_canvas.set_image(None)
        app.heatmap_title.set("Heatmap")

    # ----- explaining -------------------------------------------------------------

    def target(self) -> str | None:
        """The class chosen in "Explain class" (None: the predicted one)."""
        app = self.app
        choice = app.vars.target.get()
        if app.model is None or choice == PREDICTED:
            return None
        return {app.model.card.display_name(c): c for c in app.model.classifier.classes}.get(choice)

    def explain(self, target_class: str | None, fresh: bool) -> None:
        app = self.app
        if fresh:
            app.results.show_message("Analysing…")
            app.heatmap_canvas.set_placeholder("Analysing…")
        scan = app.loaded.scan
        app.jobs.submit(app.jobs.model, "explain", jobs.analyse, app.model, scan.pixels, target_class,
                        scan.info.get("chroma"), scan.info.get("modality"), scan.info.get("body_part"),
                        context=self.serial)

    def on_target_selected(self) -> None:
        app = self.app
        if app.model is None or app.loaded is None:
            return
        choice = app.vars.target.get()
        app.show_message(f"Explaining {choice.lower() if choice == PREDICTED else choice}…")
        self.explain(self.target(), fresh=False)

    def _on_analysis(self, result, serial) -> None:
        app = self.app
        if serial != self.serial:
            return  # computed for a scan no longer on screen
        if not result.ok:
            app.show_error(f"Analysis failed: {type(result.error).__name__}: {result.error}")
            app.results.show_message("Analysis failed")
            app.heatmap_canvas.set_placeholder("No heatmap")
            return
        analysis = app.analysis = result.value
        card = app.model.card
        app.results.show_prediction(analysis.prediction, card.display_name, card.low_confidence_threshold,
                                    analysis.ood_warning, abstain=analysis.abstain)
        app.status.timing_var.set(f"read {self.read_ms:.0f} ms · analysis {result.elapsed_ms:.0f} ms")
        verdict = NOT_MRI_HEADLINE if analysis.abstain else card.display_name(analysis.prediction.label)
        app.show_message(f"{app.loaded.scan.name}: {verdict}.")
        if not analysis.heatmaps:
            app.heatmap_canvas.set_placeholder(app.model.cam_error or "No heatmap")
        self.render()
        app.refresh_states()

    # ----- the heatmap ------------------------------------------------------------

    def _no_overlay(self) -> None:
        app = self.app
        app.overlay_image = None
        app.heatmap_canvas.set_image(None)
        app.colorbar.clear()
        app.menus.set_save_enabled(False)

    def render(self) -> None:
        """Repaint the overlay from the kept maps: method, opacity and colour map need no new job."""
        app = self.app
        analysis = app.analysis
        if analysis is None or not analysis.heatmaps or app.loaded is None:
            self._no_overlay()
            return
        method = app.vars.method.get()
        name, target = METHOD_NAMES[method], app.model.card.display_name(analysis.target_class)
        if method not in analysis.heatmaps and method not in analysis.not_class_specific:
            self._ask_method_maps(method)  # Integrated Gradients: computed when first shown, on the worker
            return
        refusal = analysis.not_class_specific.get(method)
        if refusal:  # this method's map would look the same for any class: say so instead of showing it
            self._no_overlay()
            app.heatmap_canvas.set_placeholder(refusal)
            app.heatmap_title.set(f"{name} — {target}: not available")
            app.show_message(refusal, "warning")
            return
        alpha = min(1.0, max(0.0, float(app.vars.opacity.get())))
        app.overlay_image = overlay(app.grey_levels(), analysis.heatmaps[method], alpha=alpha,
                                    colormap=app.vars.colormap.get())
        app.heatmap_canvas.set_image(app.overlay_image)
        app.colorbar.show(app.vars.colormap.get(), self.scale_caption(), analysis.relative_peak.get(method))
        app.heatmap_title.set(f"{name} — {target}")
        if app.message.text_var.get() in analysis.not_class_specific.values():  # another method's refusal
            app.show_message(f"{name} explains {target}.")
        if analysis.all_zero.get(method):
            app.show_message(f"The {name} map is empty: nothing in this scan raised the score for {target}.",
                             "warning")
        app.menus.set_save_enabled(True)

    def scale_caption(self) -> str:
        """What 1 means on the colour bar: the predicted class's strongest evidence on this scan."""
        return scale_caption(self.app.model.card.display_name(self.app.analysis.prediction.label))

    def _ask_method_maps(self, method: str) -> None:
        """Compute ``method``'s map for the class on screen on the model worker (once per scan and class)."""
        app = self.app
        self._no_overlay()
        app.heatmap_canvas.set_placeholder(f"Computing {METHOD_NAMES[method]}…")
        key = (self.serial, app.analysis.target_class, method)
        if key not in self._maps_asked:
            self._maps_asked.add(key)
            app.jobs.submit(app.jobs.model, "maps", jobs.explain_method, app.model, app.loaded.scan.pixels,
                            app.analysis.target_class, method, context=key)

    def _on_method_maps(self, result, key) -> None:
        app = self.app
        self._maps_asked.discard(key)
        serial, target_class, method = key
        analysis = app.analysis
        if serial != self.serial or analysis is None or analysis.target_class != target_class:
            return  # another scan, slice or class since
        if not result.ok:
            app.show_error(f"{METHOD_NAMES[method]} failed: {type(result.error).__name__}: {result.error}")
            app.heatmap_canvas.set_placeholder(f"No {METHOD_NAMES[method]} map")
            return
        maps = result.value
        if maps["refusal"]:
            analysis.not_class_specific[method] = maps["refusal"]
        else:
            analysis.heatmaps[method] = maps["heatmap"]
            analysis.all_zero[method] = maps["all_zero"]
            analysis.relative_peak[method] = maps["relative_peak"]
            analysis.timings_ms[method] = maps["ms"]
            app.show_message(f"{METHOD_NAMES[method]} computed in {maps['ms']:.0f} ms.")
        if app.vars.method.get() == method:
            self.render()

    def toggle_method(self, step: int = +1) -> None:
        """The next (``step`` +1) or previous (-1) CAM method; from Integrated Gradients, the first."""
        current = self.app.vars.method.get()
        if current in CAM_CYCLE:
            self.app.vars.method.set(CAM_CYCLE[(CAM_CYCLE.index(current) + step) % len(CAM_CYCLE)])
        else:
            self.app.vars.method.set(CAM_CYCLE[0])

    def adjust_opacity(self, direction: int) -> None:
        value = round(float(self.app.vars.opacity.get()) + direction * OPACITY_STEP, 2)
        self.app.vars.opacity.set(min(1.0, max(0.0, value)))
