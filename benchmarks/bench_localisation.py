"""Do the maps point at the tumour? Every method x target layer, scored against expert masks.

    .venv/bin/python benchmarks/bench_localisation.py --split validation,test --limit 200 \\
        --markdown docs/localisation.md --json benchmarks/results/localisation.json

    options: [--model FILE] [--limit N] [--layers auto|NAME,NAME,...] [--layer NAME]
        [--methods gradcam,gradcam++,layercam,hirescam,ig] [--timing N] [--append]

Data: masked tumour slices (the mask not empty) of every masked source under
``../shared/data`` (``SHARED_DATA``): tcga-lgg (glioma; T1, T1 post-contrast, FLAIR),
tiantan-pituitary (pituitary; coronal T1 post-contrast), midas-meningioma (meningioma; T1
post-contrast), manifest paths relative to each source's folder.

- ``--split test``: the held-out ``test`` rows. Only evaluated: nothing is chosen on them.
- ``--split validation``: ``train`` rows the model did not fit: the validation groups of the
  model's own split (``training.multisource.model_and_training_data``: the card's sources,
  seed and fractions) for the sources it trained on, every ``train`` row of a source it did
  not train on. The default method and layer are chosen here, by the rule in RESULTS.md
  (``choose``); with ``--split validation,test`` the test table marks that choice.

Candidates: every method of ``--methods`` at every layer of ``--layers`` (``auto``: the last
layer of each of the three coarsest grids the model has; for the bundled MobileNetV2
``out_relu`` 4x4, ``block_13_expand_relu`` 8x8, ``block_6_expand_relu`` 16x16), each CAM
method also ``fused`` over those layers (``gradcam.fusion``), and Integrated Gradients
(no layer). Each map is the app's (``CAMEngine.explain``: kept to the head), on the scan's
pixel grid, for three target classes: the mask's (``true``), the ``predicted`` one and the
``runner-up`` (the most probable class after the predicted one).

Per scan, map and target:

- **pointing game**: the map's maximum inside the mask (``point``), and inside the mask
  dilated by 8 px (a disk; ``point 8px``). An empty map (no positive evidence) is a miss.
- **heat in mask / mask share**: the share of the map's heat inside the mask, over the mask's
  share of the head (the head as the engine keeps heat to it). A map spread at random over
  the head gets about 1. ``ratio`` = mean heat share / mean mask share over the scans.
- **r(pred, runner-up)**: the correlation, over the head, of the predicted class's and the
  runner-up's maps: near 1, the method draws one picture whatever the class.
  ``offered``: whether the engine offers the method for a class other than the predicted one.

``--timing N``: the median ``CAMEngine.explain`` time per scan of each candidate alone (label
plus that one map, in process) over N scans; ``fused`` counts its layers' sum.
``--limit N`` takes N rows per source, evenly spaced (patients and slices spread alike).
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import json
import os
import statistics
import sys
import time

from common import ROOT, append_results, markdown_table

import numpy as np  # noqa: E402

SOURCES = {"tcga-lgg": "glioma", "tiantan-pituitary": "pituitary", "midas-meningioma": "meningioma"}
DEFAULT_METHODS = ("gradcam", "gradcam++", "layercam", "hirescam", "ig")
DILATION_PX = 8
AUTO_GRIDS = 3  # --layers auto: the last layer of each of this many coarsest grids
FUSED = "fused"
INPUT = "input"  # the "layer" of Integrated Gradients
TARGETS = ("true", "predicted", "runner-up")
TARGET_MS = 25.0
CACHE_DIR = None  # where held_out_of caches preprocessed training images (None: training.data's default)
# The rule (RESULTS.md, issue 25, committed before the first validation run).
TIE_WITHIN = 0.02
METHOD_NAMES = {"gradcam": "Grad-CAM", "gradcam++": "Grad-CAM++", "layercam": "LayerCAM", "hirescam": "HiResCAM",
                "ig": "Integrated Gradients"}


def data_root() -> str:
    return os.path.abspath(os.environ.get("SHARED_DATA", os.path.join(ROOT, "..", "shared", "data")))


def kaggle_root() -> str:
    return os.path.abspath(os.environ.get("BRAIN_MRI_DATA", os.path.join(data_root(), "brain-tumor-mri")))


def spread(rows: list, limit: int | None) -> list:
    """``limit`` rows evenly spaced through ``rows`` (all of them without a limit)."""
    if limit is not None and limit < len(rows):
        rows = [rows[int(i)] for i in np.linspace(0, len(rows) - 1, limit).round()]
    return rows


def manifest_rows(root: str, source: str, split: str) -> list[dict]:
    """The rows of ``source``'s manifest with this split and a mask file, in manifest order."""
    manifest = os.path.join(root, source, "manifest.csv")
    if not os.path.exists(manifest):
        sys.exit(f"{manifest} not found; set SHARED_DATA to the folder holding {', '.join(SOURCES)}")
    with open(manifest, newline="", encoding="utf-8") as handle:
        return [r for r in csv.DictReader(handle) if r["split"] == split and r["mask"]]


def test_rows(root: str, source: str, limit: int | None) -> list[dict]:
    return spread(manifest_rows(root, source, "test"), limit)


def held_out_of(model_path: str | None) -> tuple[set, set]:
    """(sources the model trained on, {(source, manifest path)} of its validation rows), from the
    model's own split (``training.multisource.model_and_training_data``). The card's source folders
    are relative to the repository root, where training runs."""
    from core.paths import default_model_path
    from training.data import DEFAULT_CACHE_DIR
    from training.multisource import model_and_training_data

    model_path = os.path.abspath(model_path or default_model_path())
    with contextlib.chdir(ROOT):
        classifier, _, data = model_and_training_data(model_path, kaggle_root(), CACHE_DIR or DEFAULT_CACHE_DIR)
        folders = [os.path.abspath(f) for f in classifier.card.data.get("training", {}).get("config", {})
                   .get("sources", [])]
        held = set()
        for i in data.val_idx:
            path = os.path.abspath(data.paths[i])
            for folder in folders:
                if path.startswith(folder + os.sep):
                    held.add((str(data.sources[i]), os.path.relpath(path, folder).replace(os.sep, "/")))
    return {str(s) for s in set(data.sources.tolist())}, held


def validation_rows(root: str, source: str, limit: int | None, fitted: set, held: set) -> list[dict]:
    """``train`` rows with a mask the model did not fit: its validation rows of a source it trained
    on; every ``train`` row of a source it never saw."""
    rows = manifest_rows(root, source, "train")
    if source in fitted:
        rows = [r for r in rows if (source, r["path"]) in held]
    return spread(rows, limit)


def read_mask(path: str, shape) -> np.ndarray:
    import cv2
    from PIL import Image

    mask = np.asarray(Image.open(path).convert("L")) > 0
    if mask.shape != tuple(shape):  # a mask must match its slice; resize (nearest) if a source differs
        mask = cv2.resize(mask.astype(np.uint8), (shape[1], shape[0]), interpolation=cv2.INTER_NEAREST) > 0
    return mask


def dilate(mask: np.ndarray, radius: int = DILATION_PX) -> np.ndarray:
    import cv2

    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * radius + 1, 2 * radius + 1))
    return cv2.dilate(mask.astype(np.uint8), kernel) > 0


def head_on_scan(classifier, pixels) -> np.ndarray:
    """The head as the engine keeps heat to it (``gradcam.maps.head_mask``), on the scan grid."""
    from gradcam.maps import head_mask

    batch, geometries = classifier.preprocess([pixels])
    return geometries[0].to_scan_grid(head_mask(batch[0])) > 0.5


def score(heat: np.ndarray, mask: np.ndarray, near: np.ndarray, head: np.ndarray) -> dict:
    """``hit``: the maximum inside ``near`` (the dilated mask); ``hit_mask``: inside ``mask`` itself."""
    total = float(heat.sum())
    inside_head = head | mask
    mask_share = float(mask.sum()) / max(float(inside_head.sum()), 1.0)
    if total <= 0:
        return {"hit": False, "hit_mask": False, "empty": True, "heat_share": 0.0, "mask_share": mask_share}
    peak = np.unravel_index(int(np.argmax(heat)), heat.shape)
    return {
        "hit": bool(near[peak]),
        "hit_mask": bool(mask[peak]),
        "empty": False,
        "heat_share": float(heat[mask].sum()) / total,
        "mask_share": mask_share,
    }


def correlation(a: np.ndarray, b: np.ndarray, where: np.ndarray) -> float:
    """Pearson r of two maps over ``where``; 0 where either is constant there."""
    x, y = a[where].astype(np.float64), b[where].astype(np.float64)
    if x.size < 2 or x.std() == 0 or y.std() == 0:
        return 0.0
    return float(np.corrcoef(x, y)[0, 1])


def summarise(items: list[dict]) -> dict:
    n = len(items)
    heat = [i["heat_share"] for i in items]
    share = [i["mask_share"] for i in items]
    ratios = [h / s for h, s in zip(heat, share) if s > 0]
    mean_share = statistics.fmean(share) if share else 0.0
    return {
        "n": n,
        "pointing": sum(i["hit"] for i in items) / n if n else 0.0,
        "pointing_mask": sum(i.get("hit_mask", False) for i in items) / n if n else 0.0,
        "heat_in_mask": statistics.fmean(heat) if heat else 0.0,
        "mask_of_head": mean_share,
        "ratio": (statistics.fmean(heat) / mean_share) if mean_share > 0 else 0.0,
        "median_ratio": statistics.median(ratios) if ratios else 0.0,
        "empty": sum(i["empty"] for i in items),
    }


def auto_layers(model, grids: int = AUTO_GRIDS) -> list[str]:
    """The last spatial layer of each of the ``grids`` coarsest grids that feed the head, coarsest first
    (a flat model; a nested backbone falls back to the engine's default layer)."""
    from core.target_layer import _is_nested_model, _is_spatial

    if any(_is_nested_model(layer) for layer in model.layers):
        return [None]
    last = {}
    for layer in model.layers:
        # a padding layer's grid (9x9 before a stride-2 block) is not one the network computes on
        if _is_spatial(layer) and "Padding" not in type(layer).__name__:
            last[tuple(layer.output.shape[1:3])] = layer.name
    coarse = sorted(last, key=lambda hw: (hw[0] or 0) * (hw[1] or 0))[:grids]
    return [last[hw] for hw in coarse]


def candidate_key(method: str, layer: str) -> str:
    return f"{method}@{layer}"


def make_engine(classifier, layer, methods):
    """A CAMEngine at ``layer``; methods of ``gradcam.methods`` the engine does not list yet
    (HiResCAM) are added to this engine only, built on the same pass."""
    from gradcam import engine as engine_module
    from gradcam.methods import METHODS

    extra = {n: cls for n, cls in METHODS.items() if n not in engine_module.AVAILABLE}

    class Engine(engine_module.CAMEngine):
        @staticmethod
        def _check(names):
            engine_module.CAMEngine._check([n for n in names if n not in extra])

        def method(self, name):
            if name in extra and name not in self.methods:
                self.methods[name] = extra[name](self.classifier.runtime, passes=self.passes)
            return super().method(name)

    return Engine(classifier, target_layer=layer, methods=tuple(m for m in methods if m != "ig"))


def runner_up(prediction) -> str:
    ordered = sorted(prediction.probabilities, key=prediction.probabilities.get, reverse=True)
    return ordered[1]


def explain_scan(engines: dict, pixels, true_class: str, methods) -> tuple:
    """(prediction, {(method, layer): {target: (heat on scan grid, offered)}}) for the three targets."""
    cams = tuple(m for m in methods if m != "ig")
    first = next(iter(engines.values()))
    maps: dict = {}
    results = {}
    for layer, engine in engines.items():
        results[(layer, true_class)] = engine.explain(pixels, true_class, methods=cams or ("gradcam",))
    prediction = results[(next(iter(engines)), true_class)].prediction
    predicted = prediction.label or max(prediction.probabilities, key=prediction.probabilities.get)
    targets = {"true": true_class, "predicted": predicted, "runner-up": runner_up(prediction)}
    for target, cls in targets.items():
        for layer, engine in engines.items():
            result = results.get((layer, cls))
            if result is None:
                result = results[(layer, cls)] = engine.explain(pixels, cls, methods=cams or ("gradcam",))
            for m in cams:
                maps.setdefault((m, layer), {})[target] = (result.heatmaps[m], m not in result.not_class_specific)
        if "ig" in methods:
            result = first.explain(pixels, cls, methods=("ig",))
            maps.setdefault(("ig", INPUT), {})[target] = (result.heatmaps["ig"], "ig" not in result.not_class_specific)
    if len(engines) > 1:
        from gradcam.fusion import fuse

        for m in cams:
            maps[(m, FUSED)] = {t: (fuse([maps[(m, layer)][t][0] for layer in engines]),
                                    maps[(m, next(iter(engines)))][t][1]) for t in TARGETS}
    return prediction, maps


def time_candidates(engines: dict, scans: list, methods) -> dict:
    """candidate key -> median milliseconds of ``explain`` with that one method, per scan."""
    first = next(iter(engines.values()))
    out = {}
    for layer, engine in engines.items():
        for m in methods:
            if m == "ig":
                continue
            engine.explain(scans[0], methods=(m,))  # tracing
            out[candidate_key(m, layer)] = _median_ms(lambda p: engine.explain(p, methods=(m,)), scans)
    if len(engines) > 1:
        for m in methods:
            if m != "ig":
                out[candidate_key(m, FUSED)] = sum(out[candidate_key(m, layer)] for layer in engines)
    if "ig" in methods:
        first.explain(scans[0], methods=("ig",))
        out[candidate_key("ig", INPUT)] = _median_ms(lambda p: first.explain(p, methods=("ig",)), scans)
    return out


def _median_ms(call, scans) -> float:
    times = []
    for pixels in scans:
        began = time.perf_counter()
        call(pixels)
        times.append((time.perf_counter() - began) * 1000)
    return statistics.median(times)


def run_split(split, classifier, engines, methods, root, limit, held=None, progress=True) -> dict:
    """Every scan's scores on one split, the summaries, and a few scans' pixels for timing."""
    from core.io import load_scan

    per_scan, skipped, pixels_kept = [], 0, []
    for source, true_class in SOURCES.items():
        if not os.path.exists(os.path.join(root, source, "manifest.csv")):
            print(f"{source}: not found under {root}, skipped", file=sys.stderr)
            continue
        if true_class not in classifier.classes:
            continue
        rows = test_rows(root, source, limit) if split == "test" else validation_rows(root, source, limit, *held)
        for k, row in enumerate(rows):
            scan = load_scan(os.path.join(root, source, row["path"]))
            mask = read_mask(os.path.join(root, source, row["mask"]), scan.pixels.shape[:2])
            if not mask.any():
                skipped += 1
                continue
            if len(pixels_kept) < 64:
                pixels_kept.append(scan.pixels)
            near, head = dilate(mask), head_on_scan(classifier, scan.pixels)
            prediction, maps = explain_scan(engines, scan.pixels, true_class, methods)
            for (method, layer), by_target in maps.items():
                record = {"source": source, "sequence": row["sequence"], "path": row["path"], "group": row["group"],
                          "method": method, "layer": layer, "predicted": prediction.label,
                          "correct": prediction.label == true_class, "runner_up": runner_up(prediction),
                          "offered_other": bool(by_target["runner-up"][1]),
                          "r_pred_runner": correlation(by_target["predicted"][0], by_target["runner-up"][0], head)}
                for target in TARGETS:
                    record[target] = score(by_target[target][0], mask, near, head)
                per_scan.append(record)
            if progress and (k + 1) % 25 == 0:
                print(f"{split} {source}: {k + 1} / {len(rows)}", file=sys.stderr, flush=True)
    return {"scans": per_scan, "skipped_empty_masks": skipped, "pixels": pixels_kept}


def groups_of(per_scan: list) -> list:
    """(source, sequence) groups: every source ("all"), and each of its sequences where it has several."""
    out = []
    for source in SOURCES:
        sequences = sorted({r["sequence"] for r in per_scan if r["source"] == source})
        if not sequences:
            continue
        out.append((source, "all"))
        if len(sequences) > 1:
            out += [(source, q) for q in sequences]
    return out


def summaries(per_scan: list, candidates: list) -> list:
    out = []
    for source, sequence in groups_of(per_scan):
        chosen = [r for r in per_scan if r["source"] == source and (sequence == "all" or r["sequence"] == sequence)]
        for method, layer in candidates:
            items = [r for r in chosen if r["method"] == method and r["layer"] == layer]
            if not items:
                continue
            row = {"source": source, "sequence": sequence, "method": method, "layer": layer,
                   "correct": sum(r["correct"] for r in items) / len(items),
                   "offered_other": all(r["offered_other"] for r in items),
                   "r_pred_runner": statistics.fmean(r["r_pred_runner"] for r in items)}
            for target in TARGETS:
                row[target] = summarise([r[target] for r in items])
            out.append(row)
    return out


def overall(summary: list, timings: dict) -> dict:
    """candidate key -> the rule's numbers: per source (all sequences) pointing (8 px) and ratio, their means."""
    out = {}
    for row in summary:
        if row["sequence"] != "all":
            continue
        key = candidate_key(row["method"], row["layer"])
        entry = out.setdefault(key, {"method": row["method"], "layer": row["layer"], "sources": {}})
        entry["sources"][row["source"]] = {"pointing": row["true"]["pointing"], "ratio": row["true"]["ratio"],
                                           "pointing_mask": row["true"]["pointing_mask"]}
    for key, entry in out.items():
        per = entry["sources"].values()
        entry["score"] = statistics.fmean(s["pointing"] for s in per)
        entry["ratio"] = statistics.fmean(s["ratio"] for s in per)
        entry["ms"] = timings.get(key)
    return out


def choose(entries: dict, target_ms: float = TARGET_MS) -> str | None:
    """The rule in RESULTS.md: eligible at most ``target_ms`` per scan (unknown time: eligible); the
    highest mean pointing (8 px) over sources; ties within TIE_WITHIN: the higher mean ratio; then the cheaper."""
    eligible = {k: e for k, e in entries.items() if e.get("ms") is None or e["ms"] <= target_ms}
    if not eligible:
        return None
    top = max(e["score"] for e in eligible.values())
    close = {k: e for k, e in eligible.items() if e["score"] >= top - TIE_WITHIN - 1e-12}
    best_ratio = max(e["ratio"] for e in close.values())
    closest = [k for k, e in close.items() if e["ratio"] >= best_ratio - 1e-12]
    return min(closest, key=lambda k: (close[k].get("ms") or 0.0, k))


def ranking_table(entries: dict, chosen: str | None) -> str:
    sources = [s for s in SOURCES if any(s in e["sources"] for e in entries.values())]
    rows = []
    for key, e in sorted(entries.items(), key=lambda kv: (-kv[1]["score"], -kv[1]["ratio"])):
        mark = " **(chosen)**" if key == chosen else ""
        cells = [f"{e['sources'][s]['pointing']:.0%} / {e['sources'][s]['pointing_mask']:.0%} / "
                 f"{e['sources'][s]['ratio']:.2f}x" if s in e["sources"] else "" for s in sources]
        rows.append([f"{METHOD_NAMES.get(e['method'], e['method'])}{mark}", f"`{e['layer']}`", f"**{e['score']:.0%}**",
                     f"{e['ratio']:.2f}x", *cells, "" if e["ms"] is None else f"{e['ms']:.1f}"])
    return markdown_table(rows, ["method", "layer", "mean pointing (8 px)", "mean ratio",
                                 *(f"{s}: pointing 8 px / in mask / ratio" for s in sources), "explain ms"])


def full_table(summary: list, grids: dict) -> str:
    rows = []
    for r in summary:
        t, p, o = r["true"], r["predicted"], r["runner-up"]
        rows.append([r["source"], r["sequence"], t["n"], f"{r['correct']:.0%}",
                     METHOD_NAMES.get(r["method"], r["method"]), f"`{r['layer']}` {grids.get(r['layer'], '')}".strip(),
                     f"**{t['pointing']:.0%}**", f"{t['pointing_mask']:.0%}", f"**{t['ratio']:.2f}x**",
                     f"{p['pointing']:.0%} / {p['ratio']:.2f}x",
                     f"{o['pointing']:.0%} / {o['ratio']:.2f}x{'' if r['offered_other'] else ' (not offered)'}",
                     f"{r['r_pred_runner']:.2f}", t["empty"]])
    return markdown_table(rows, ["source", "sequence", "scans", "correct", "method", "layer",
                                 "pointing 8 px", "pointing in mask", "ratio", "predicted: pointing / ratio",
                                 "runner-up: pointing / ratio", "r(pred, runner-up)", "empty maps"])


def write_markdown(path: str, split: str, block: str) -> None:
    """Put ``block`` between this split's markers in ``path`` (the rest of the page is kept)."""
    begin, end = f"<!-- bench_localisation:{split}:begin -->", f"<!-- bench_localisation:{split}:end -->"
    text = open(path, encoding="utf-8").read() if os.path.exists(path) else "# Localisation\n"
    new = f"{begin}\n{block.rstrip()}\n{end}"
    if begin in text and end in text:
        text = text[:text.index(begin)] + new + text[text.index(end) + len(end):]
    else:
        text = text.rstrip() + "\n\n" + new + "\n"
    with open(path, "w", encoding="utf-8") as handle:
        handle.write(text if text.endswith("\n") else text + "\n")


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default=None, help="a .keras model with its card (default: the bundled one's source)")
    parser.add_argument("--split", default="test",
                        help="test, validation, or both in order (validation,test): choose on validation, report test")
    parser.add_argument("--limit", type=int, default=None, help="rows per source, evenly spaced (default: all)")
    parser.add_argument("--layers", default=None,
                        help="target layers, comma-separated, or 'auto' (the last layer of each of the three coarsest "
                             "grids; the default)")
    parser.add_argument("--layer", default=None, help="one target layer (the same as --layers NAME)")
    parser.add_argument("--methods", default=",".join(DEFAULT_METHODS))
    parser.add_argument("--timing", type=int, default=20, help="scans to time each candidate on (0: no timing)")
    parser.add_argument("--json", dest="json_out", default=None, help="write the summary and every scan's scores")
    parser.add_argument("--markdown", default=None, help="write the tables into this page (e.g. docs/localisation.md)")
    parser.add_argument("--append", action="store_true", help="append the tables to benchmarks/RESULTS.md")
    return parser.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    methods = tuple(m.strip() for m in args.methods.split(",") if m.strip())
    splits = [s.strip() for s in args.split.split(",") if s.strip()]
    if not splits or any(s not in ("test", "validation") for s in splits):
        sys.exit("--split: test, validation or validation,test")

    from core.classifier import Classifier
    from core.paths import default_model_path

    # The .keras model by default: every layer can be a target there (the .tflite file only has
    # the exported ones); training/export.py's equality check keeps the two the same.
    args.model = args.model or os.path.splitext(default_model_path())[0] + ".keras"
    classifier = Classifier.load(args.model)
    if args.layers and args.layers != "auto":
        layers = [n.strip() for n in args.layers.split(",") if n.strip()]
    elif args.layer:
        layers = [args.layer]
    else:
        layers = auto_layers(classifier.model)
    engines = {}
    for layer in layers:
        engine = make_engine(classifier, layer, methods)
        engines[engine.layer_name] = engine
    grids = {name: "x".join(str(d) for d in e.passes.run(
        np.zeros((1, *classifier.model.inputs[0].shape[1:]), np.float32)).activations.shape[1:3])
             for name, e in engines.items()}
    candidates = [(m, layer) for m in methods if m != "ig" for layer in engines]
    if len(engines) > 1:
        candidates += [(m, FUSED) for m in methods if m != "ig"]
    if "ig" in methods:
        candidates.append(("ig", INPUT))
    root = data_root()
    model_name = f"{classifier.name} (sha256 {classifier.checksum[:12]}…)"
    chosen, report = None, {"model": classifier.name, "sha256": classifier.checksum, "layers": list(engines),
                            "grids": grids, "limit": args.limit, "methods": list(methods), "splits": {}}
    # the first layer, kept for callers of the one-layer form
    report["layer"] = next(iter(engines))
    held = held_out_of(args.model) if "validation" in splits else None
    for split in splits:
        started = time.perf_counter()
        run = run_split(split, classifier, engines, methods, root, args.limit, held)
        seconds = time.perf_counter() - started
        per_scan = run["scans"]
        if not per_scan:
            sys.exit(f"no masked {split} rows found under {root}")
        timings = time_candidates(engines, run["pixels"][:args.timing], methods) if args.timing > 0 else {}
        summary = summaries(per_scan, candidates)
        entries = overall(summary, timings)
        if split == "validation":
            chosen = choose(entries)
        ranking, table = ranking_table(entries, chosen), full_table(summary, grids)
        scans = len({(r["source"], r["path"]) for r in per_scan})
        note = (f"Model {model_name}; split `{split}` "
                f"({'held-out test rows' if split == 'test' else 'train rows the model did not fit: its validation groups; all rows of sources it never saw'}); "
                f"{scans} masked tumour slices ({'all' if args.limit is None else f'at most {args.limit} per source, evenly spaced'}; "
                f"{run['skipped_empty_masks']} with an empty mask skipped); layers "
                f"{', '.join(f'`{n}` ({grids[n]})' for n in engines)}; pointing 8 px: the map's maximum inside the mask "
                f"dilated by {DILATION_PX} px; ratio: heat in mask / the mask's share of the head (about 1 for a map "
                f"spread at random); explain ms: median `CAMEngine.explain` per scan with that map alone over "
                f"{min(args.timing, len(run['pixels']))} scans (fused: its layers' sum); {seconds:.0f} s. "
                + (f"**Chosen on validation: {chosen}.**" if chosen else ""))
        print(ranking, table, note, sep="\n\n")
        report["splits"][split] = {"summary": summary, "ranking": entries, "timings_ms": timings,
                                   "skipped_empty_masks": run["skipped_empty_masks"], "scans": per_scan,
                                   "seconds": seconds, "limit": args.limit}
        if args.markdown:
            write_markdown(args.markdown, split,
                           f"### {split.capitalize()}: ranking\n\n{ranking}\n\n### {split.capitalize()}: per source "
                           f"and sequence\n\nEach cell of the predicted and runner-up columns: pointing (8 px) / ratio "
                           f"for that class's map.\n\n{table}\n\n{note}")
        if args.append:
            append_results(f"Localisation against expert tumour masks, {split} (bench_localisation.py)",
                           f"{ranking}\n\n{table}", note)
    report["chosen"] = chosen
    # the last split's, flat, for callers of the one-split form
    last = report["splits"][splits[-1]]
    report["summary"], report["scans"] = last["summary"], last["scans"]
    if args.json_out:
        with open(args.json_out, "w", encoding="utf-8") as handle:
            json.dump(report, handle)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
