"""The runtime seam (core.runtime) over the exported ``.tflite`` file: LiteRT, no TensorFlow.

One file, several signatures (written by ``training.export``): ``forward`` (any batch
size), ``cam_<layer>`` per exported target layer (batch of one: a scan is explained
alone) and ``input_gradients`` (a fixed batch, ``litert.ig_batch`` in the card: the
path points of Integrated Gradients are fed in chunks of that size, the last one padded).
An interpreter is not thread-safe: like ``Classifier``, use it from one worker thread.
"""

from __future__ import annotations

import os

import numpy as np

from core.errors import ModelError
from core.quiet import captured_stderr
from core.runtime import CamArrays, targets_for

FORWARD = "forward"
INPUT_GRADIENTS = "input_gradients"
CAM_PREFIX = "cam_"
# Chunks of the forward pass: 16 keeps two cores as busy as 64 (1.75 vs 1.85 ms per scan, measured)
# with a quarter of the activation memory.
FORWARD_CHUNK = 16


def _threads() -> int:
    return max(1, min(os.cpu_count() or 1, 8))


class _FirstCallQuiet:
    """A signature runner whose first call (where LiteRT applies and announces its CPU delegate
    on stderr) runs with that line filtered out (core.quiet); later calls run as they are."""

    def __init__(self, runner):
        self.runner = runner
        self.first = True

    def get_input_details(self):
        return self.runner.get_input_details()

    def __call__(self, **inputs):
        if not self.first:
            return self.runner(**inputs)
        with captured_stderr():
            out = self.runner(**inputs)
        self.first = False
        return out


class LiteRTRuntime:
    kind = "litert"

    def __init__(self, path: str, info: dict | None = None, threads: int | None = None):
        try:
            from ai_edge_litert.interpreter import Interpreter
        except ImportError:
            raise ModelError("the LiteRT runtime is not installed (pip install -r requirements.txt)") from None
        try:
            with captured_stderr():  # LiteRT announces its CPU delegate on stderr
                self._interpreter = Interpreter(model_path=path, num_threads=threads or _threads())
            signatures = self._interpreter.get_signature_list()
        except (ValueError, RuntimeError) as err:
            raise ModelError(f"cannot load {os.path.basename(path)}: {str(err).splitlines()[0][:200]}") from None
        if FORWARD not in signatures:
            raise ModelError(f"{os.path.basename(path)} has no '{FORWARD}' signature: export it with "
                             "'python -m training export MODEL.keras'")
        self.path = path
        self._signatures = signatures
        self._runners = {}
        forward = self._interpreter.get_signature_runner(FORWARD)
        details = forward.get_input_details()["x"]
        self.input_shape = tuple(int(d) for d in details["shape"][1:])
        self.has_features = "features" in signatures[FORWARD]["outputs"]
        outputs = forward.get_output_details()
        self.n_classes = int(outputs["logits"]["shape"][-1])
        self.cam_layers = tuple(sorted(k[len(CAM_PREFIX):] for k in signatures if k.startswith(CAM_PREFIX)))
        self.has_input_gradients = INPUT_GRADIENTS in signatures
        info = info or {}
        self._left_out = (info.get("left_out") or {}).get(INPUT_GRADIENTS, "")
        self.default_cam_layer = info.get("default_cam_layer") or (self.cam_layers[0] if self.cam_layers else None)

    def _runner(self, key: str):
        if key not in self._runners:
            runner = self._interpreter.get_signature_runner(key)
            self._runners[key] = _FirstCallQuiet(runner)
        return self._runners[key]

    def forward(self, x):
        x = np.asarray(x, np.float32)
        if len(x) == 0:
            return np.zeros((0, self.n_classes), np.float32), None
        run = self._runner(FORWARD)
        logits, features = [], []
        for start in range(0, len(x), FORWARD_CHUNK):
            out = run(x=np.ascontiguousarray(x[start:start + FORWARD_CHUNK]))
            logits.append(out["logits"])
            features.append(out.get("features"))
        if not self.has_features:
            return np.concatenate(logits), None
        return np.concatenate(logits), np.concatenate(features)

    def cam_pass(self, x, targets=None, layer: str | None = None) -> CamArrays:
        layer = layer or self.default_cam_layer
        if layer not in self.cam_layers:
            exported = ", ".join(self.cam_layers) or "none"
            raise ValueError(f"layer {layer!r} was not exported to {os.path.basename(self.path)} (exported: "
                             f"{exported}); re-export with 'python -m training export MODEL.keras --cam-layer {layer}'")
        run = self._runner(CAM_PREFIX + layer)
        x = np.asarray(x, np.float32)
        targets = targets_for(len(x), targets)
        items = [run(x=np.ascontiguousarray(x[i:i + 1]), targets=targets[i:i + 1]) for i in range(len(x))]
        joined = {key: np.concatenate([item[key] for item in items]) for key in items[0]} if items else {}
        return CamArrays(
            joined["activations"], joined["gradients"], joined["logits"], joined["chosen"],
            joined["reference_gradients"], joined["predicted"], joined.get("features"),
        )

    def input_gradients(self, x, weights):
        if not self.has_input_gradients:
            why = f" ({self._left_out})" if self._left_out else ""
            raise ValueError(f"{os.path.basename(self.path)} has no input gradients, so no Integrated Gradients{why}; "
                             "the .keras model gives them where TensorFlow is installed")
        run = self._runner(INPUT_GRADIENTS)
        batch = int(run.get_input_details()["x"]["shape"][0])
        x = np.asarray(x, np.float32)
        weights = np.asarray(weights, np.float32)
        logits, gradients = [], []
        for start in range(0, len(x), batch):
            chunk, w = x[start:start + batch], weights[start:start + batch]
            n = len(chunk)
            if n < batch:  # the signature's batch is fixed: pad with zero-weight rows
                chunk = np.concatenate([chunk, np.zeros((batch - n, *chunk.shape[1:]), np.float32)])
                w = np.concatenate([w, np.zeros((batch - n, w.shape[1]), np.float32)])
            out = run(x=np.ascontiguousarray(chunk), w=np.ascontiguousarray(w))
            logits.append(out["logits"][:n])
            gradients.append(out["gradients"][:n])
        return np.concatenate(logits), np.concatenate(gradients)
