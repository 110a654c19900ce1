"""core.sequence: which sequence a scan looks like, and the warning where training held few such scans."""

from __future__ import annotations

import json
import os

import numpy as np
import pytest
from PIL import Image

from cli import run_cli
from core.sequence import FEW_EXAMPLES, SequenceProbe, rarity_warning


def test_probe_probabilities_by_hand():
    probe = SequenceProbe(coef=[[1.0, 0.0], [0.0, 1.0]], intercept=[0.0, 0.0], mean=[1.0, 1.0], scale=[2.0, 2.0],
                          names=["t1", "flair"])
    p = probe.probabilities(np.array([[3.0, 1.0]]))  # standardised (1, 0): scores 1 and 0
    np.testing.assert_allclose(p, [[np.e / (np.e + 1), 1 / (np.e + 1)]])


def test_rarity_warning_follows_the_card_counts():
    card = {"display_names": {"meningioma": "Meningioma"},
            "sequence_probe": {"training_counts": {"meningioma": {"t1c": 900, "flair": 12}}}}
    text = rarity_warning(card, "meningioma", "flair", 0.9)
    assert "FLAIR" in text and "'meningioma'" in text and "(12)" in text
    assert rarity_warning(card, "meningioma", "t1c", 0.9) is None  # plenty of those
    assert rarity_warning(card, "meningioma", "flair", 0.4) is None  # the probe is unsure
    assert rarity_warning(card, "meningioma", "t2-like", 0.9) is not None  # none at all: 0 < FEW_EXAMPLES
    assert rarity_warning({}, "meningioma", "flair", 0.9) is None  # no probe in the card
    assert FEW_EXAMPLES > 12


def test_inverted_inputs_reverse_the_rank_order():
    from training.sequence import inverted_inputs

    x = np.zeros((1, 4, 4, 1), np.float32)
    x[0, 1:3, 1:3, 0] = [[0.25, 0.5], [0.75, 1.0]]
    inv = inverted_inputs(x)
    np.testing.assert_allclose(inv[0, 1:3, 1:3, 0], [[1.0, 0.75], [0.5, 0.25]])
    assert np.all(inv[x == 0] == 0)


def test_predict_says_when_a_scan_looks_like_a_rare_sequence(capsys, tmp_path, head_image):
    from core.modelcard import sha256_of, write_card
    from tests.conftest import save_with_card, tiny_classifier_model

    model_path = save_with_card(tiny_classifier_model(), tmp_path, name="seq")
    probe_path = tmp_path / "seq.sequence.npz"
    features = 32  # the tiny model's penultimate width
    # a probe that always says "t2-like": zero weights, a large intercept for that class
    SequenceProbe(np.zeros((2, features)), [0.0, 5.0], np.zeros(features), np.ones(features),
                  ["t1c", "t2-like"]).save(str(probe_path))
    card_path = tmp_path / "seq.json"
    card = json.load(open(card_path))
    card["sequence_probe"] = {"file": "seq.sequence.npz", "sha256": sha256_of(str(probe_path)),
                              "training_counts": {c: {"t1c": 500, "t2-like": 3} for c in card["classes"]}}
    write_card(str(card_path), card)
    Image.fromarray(head_image).save(tmp_path / "head.png")
    code = run_cli(["predict", str(tmp_path / "head.png"), "--model", model_path])
    record = json.loads(capsys.readouterr().out.splitlines()[0])
    assert code == 0 and record["label"] is not None
    assert "looks like a T2-weighted scan" in record["warning"] and "(3)" in record["warning"]
    # a tampered probe file is refused like a tampered model
    SequenceProbe(np.zeros((2, features)), [5.0, 0.0], np.zeros(features), np.ones(features),
                  ["t1c", "t2-like"]).save(str(probe_path))
    assert run_cli(["predict", str(tmp_path / "head.png"), "--model", model_path]) == 3
    assert "sequence probe" in capsys.readouterr().err
