"""Viewer logic that needs no display: eliding, batch counts, the model card's reading, settings, keys."""

from __future__ import annotations

import json
import os

import pytest

from gui.batch import count_records
from gui.dialogs import known_weaknesses, metric_rows, training_lines
from gui.keys import BINDINGS, SHORTCUTS, is_plain
from gui.settings import DEFAULTS, Settings, config_dir, default_settings_path
from gui.widgets import ELLIPSIS, elide_end, elide_middle


def measure(text):  # one "pixel" per character: easy to reason about
    return len(text)


@pytest.mark.parametrize("width", [5, 8, 13, 20])
def test_elide_middle_keeps_both_ends_and_fits(width):
    name = "Te-me_0010_lossless_compressed.dcm"
    shown = elide_middle(name, measure, width)
    assert len(shown) <= width and ELLIPSIS in shown
    head, tail = shown.split(ELLIPSIS)
    assert name.startswith(head) and name.endswith(tail)
    assert abs(len(head) - len(tail)) <= 1  # cut in the middle
    assert elide_middle("short.dcm", measure, width + 20) == "short.dcm"


def test_elide_end_cuts_on_a_word():
    text = "Could not load that model: the card is missing its checksum field"
    shown = elide_end(text, measure, 30)
    assert len(shown) <= 30 and shown.endswith(ELLIPSIS) and text.startswith(shown[:-1])
    assert not shown[:-1].endswith(" ")


def test_batch_counts_per_class_abstained_flagged_failed():
    records = [
        {"path": "a", "label": "glioma", "confidence": 0.9},
        {"path": "b", "label": "glioma", "confidence": 0.6, "warning": "low confidence: review by a specialist"},
        {"path": "c", "label": None, "confidence": None, "warning": "this does not look like a brain MRI"},
        {"path": "d", "error": "not an image file"},
        {"path": "e", "label": "pituitary", "confidence": 0.99},
    ]
    counts = count_records(records, ["glioma", "meningioma", "notumor", "pituitary"])
    assert counts == {"per_class": {"glioma": 2, "meningioma": 0, "notumor": 0, "pituitary": 1}, "abstained": 1,
                      "flagged": 1, "failed": 1, "done": 5}


FULL_CARD = {
    "classes": ["glioma", "meningioma", "notumor", "pituitary"],
    "display_names": {"notumor": "No tumour"},
    "metrics": {"full_test": {"n": 1311, "accuracy": 0.9878, "macro_f1": 0.9873, "ece": 0.0037,
                              "confusion_matrix": [[1]]},
                "leak_free_test": {"n": 834, "accuracy": 0.9856}, "leak_free_definition": "text"},
    "generalisation": {
        "held_out": {"tcga-lgg": {"all": {"n": 1848, "accuracy": 0.2614, "abstained": 0.0, "warned": 0.365},
                                  "cells": {"glioma/flair": {"n": 576, "accuracy": 0.03}}},
                     "alzheimer-t1": {"all": {"n": 4160, "accuracy": 1.0, "abstained": 0.0, "warned": 0.0}}},
        "kaggle": {"full": {"n": 1311, "accuracy": 0.98}, "per_class_full": {"glioma": {"n": 300, "accuracy": 1}}},
        "non_mri": {"n": 25, "abstained": 0.96, "missed": ["x"]},
    },
    "robustness": {"accuracy": {"clean": 0.98, "jpeg/strong": 0.92, "inversion/strong": 0.28, "gamma/mild": 0.98}},
    "training_data": {"dataset": "Brain Tumor MRI", "train_images": 5025, "validation_images": 687,
                      "train_counts": {"glioma": 1162, "notumor": 1403}},
    "architecture": "compact-xception", "parameters": 448356,
}


def test_card_rows_cover_test_sets_and_sources_but_not_cells():
    names = [r["name"] for r in metric_rows(FULL_CARD["metrics"])]
    assert names == ["Test split (full)", "Test split, leak-free subset"]
    sources = {r["name"]: r for r in metric_rows(FULL_CARD["generalisation"])}
    assert set(sources) == {"tcga-lgg", "alzheimer-t1", "Kaggle test split (full)",
                            "Not brain MRI (the app should abstain)"}
    assert sources["tcga-lgg"]["accuracy"] == 0.2614 and sources["tcga-lgg"]["n"] == 1848
    assert sources["Not brain MRI (the app should abstain)"]["abstained"] == 0.96


def test_card_weaknesses_name_weak_sources_and_costly_shifts():
    notes = known_weaknesses(FULL_CARD)
    assert any(n.startswith("tcga-lgg: 26.1 %") for n in notes)
    assert not any("alzheimer" in n for n in notes)
    assert any("inversion" in n and "−70.0" in n for n in notes)
    assert any("jpeg" in n for n in notes) and not any("gamma" in n for n in notes)
    lines = dict(training_lines(FULL_CARD))
    assert lines["Per class"] == "glioma 1,162, No tumour 1,403"
    assert lines["Images"] == "5,025 training, 687 validation"


@pytest.mark.parametrize("card", [
    {"classes": ["a", "b"]},  # neither metrics nor generalisation
    {"classes": ["a"], "metrics": None, "generalisation": "pending", "robustness": [], "shortcut_analysis": 3},
    {"classes": ["a"], "metrics": {"x": {"accuracy": None}}, "generalisation": {"metrics": {"n": "many"}},
     "known_weaknesses": "T2 scans are not recognised", "training_data": {"train_counts": None}},
])
def test_card_reading_survives_missing_or_odd_sections(card):
    rows = metric_rows(card.get("metrics")) + metric_rows(card.get("generalisation"))
    assert all(isinstance(r["name"], str) for r in rows)
    notes = known_weaknesses(card)
    assert notes[-1].startswith("It sees one 2-D slice at a time")
    if "known_weaknesses" in card:
        assert notes[0] == "T2 scans are not recognised"
    training_lines(card)


def test_settings_default_then_remembered_in_the_config_folder(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    assert config_dir() == str(tmp_path / "xdg" / "neuroscancam")
    assert default_settings_path() == str(tmp_path / "xdg" / "neuroscancam" / "settings.json")
    settings = Settings()
    assert settings.values == DEFAULTS
    assert settings.update(method="gradcam++", opacity=0.7, colormap="viridis", side_by_side=False,
                           last_open_dir=str(tmp_path), last_save_dir=str(tmp_path / "gone"))
    again = Settings()
    assert again["method"] == "gradcam++" and again["opacity"] == 0.7 and again["side_by_side"] is False
    assert again.folder("last_open_dir") == str(tmp_path)
    assert again.folder("last_save_dir") is None  # remembered, but it no longer exists
    assert not again.update(method="gradcam++")  # no change: no write


def test_settings_ignore_invalid_values_and_corrupt_files(tmp_path):
    path = tmp_path / "settings.json"
    path.write_text(json.dumps({"method": "lime", "opacity": 7, "side_by_side": "yes", "last_open_dir": "rel/dir",
                                "unknown": 1, "colormap": "hot"}))
    settings = Settings(str(path))
    assert settings["method"] == "layercam" and settings["opacity"] == 0.4 and settings["side_by_side"] is True
    assert settings["last_open_dir"] is None and settings["colormap"] == "hot"
    assert not settings.update(opacity=-1, method=3)
    path.write_text("{not json")
    assert Settings(str(path)).values == DEFAULTS
    blocker = tmp_path / "file"
    blocker.write_text("")
    Settings(str(blocker / "sub" / "settings.json")).update(method="gradcam++")  # unwritable: ignored


def test_every_shortcut_is_bound_and_listed():
    listed = " ".join(k for k, _ in SHORTCUTS)
    for keys in ("Ctrl+O", "Ctrl+S", "Ctrl+Q", "G", "+ / -", "← / →", "= / Space", "I", "1 – 5", "R", "F1"):
        assert keys in listed
    assert set(BINDINGS) >= {"open", "save", "quit", "shortcuts", "toggle_method", "previous_method", "opacity_up", "opacity_down",
                             "previous_slice", "next_slice", "fit", "invert", "reset_window",
                             *(f"preset_{n}" for n in range(1, 6))}
    assert not is_plain("<Control-o>") and not is_plain("<F1>") and is_plain("<g>") and is_plain("<Key-1>")


def test_no_settings_file_next_to_the_scans(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "cfg"))
    scans = tmp_path / "scans"
    scans.mkdir()
    Settings().update(last_open_dir=str(scans))
    assert os.listdir(scans) == []
