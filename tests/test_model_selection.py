"""The rule that picks the bundled model (benchmarks/bench_selection.py, fixed in RESULTS.md)."""

import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "benchmarks"))

from bench_selection import choose  # noqa: E402


def test_the_most_robust_model_wins_when_its_clean_accuracy_is_within_half_a_point():
    results = {
        "accurate": {"clean": 0.984, "gamma": 0.87, "inversion": 0.80},
        "robust": {"clean": 0.980, "gamma": 0.98, "inversion": 0.97},
    }
    assert choose(results) == "robust"


def test_a_robust_model_more_than_half_a_point_worse_on_clean_scans_is_not_eligible():
    results = {
        "accurate": {"clean": 0.984, "gamma": 0.87, "inversion": 0.80},
        "robust": {"clean": 0.978, "gamma": 0.98, "inversion": 0.97},
    }
    assert choose(results) == "accurate"


def test_near_ties_on_the_mean_go_to_the_higher_clean_accuracy():
    results = {
        "a": {"clean": 0.980, "shift": 0.9600},
        "b": {"clean": 0.983, "shift": 0.9575},
    }
    assert choose(results) == "b"


def test_multisource_rule_highest_score_wins_and_near_ties_go_to_lower_ece():
    import pytest
    from bench_selection import choose_multisource

    results = {"A": {"score": 0.80, "kaggle_accuracy": 0.89, "ece": 0.05},
               "B": {"score": 0.79, "kaggle_accuracy": 0.99, "ece": 0.01}}
    assert choose_multisource(results) == "A"  # 1 point ahead: the score decides
    results["B"]["score"] = 0.797  # within 0.5 points: the lower ECE wins
    assert choose_multisource(results) == "B"
    # the first form of the rule (before amendment 2) applied the 97 % Kaggle bar
    assert choose_multisource({"A": results["A"], "C": {"score": 0.6, "kaggle_accuracy": 0.98, "ece": 0.1}},
                              apply_bar=True) == "C"
    with pytest.raises(SystemExit):
        choose_multisource({"A": results["A"]}, apply_bar=True)


def test_validation_cells_read_the_manifests_and_merge_small_cells(tmp_path):
    from bench_selection import cell_keys, validation_cells

    src = tmp_path / "data" / "hosp"
    src.mkdir(parents=True)
    (src / "manifest.csv").write_text("path,class,source,sequence,plane,group,slice,mask,note,split\n"
                                      "glioma/a.jpg,glioma,hosp,flair,axial,P1,1,,,train\n")
    kaggle = tmp_path / "Training" / "meningioma" / "m.jpg"
    cells = validation_cells([str(src / "glioma" / "a.jpg"), str(kaggle)], str(tmp_path),
                             ["glioma", "meningioma", "notumor", "pituitary"])
    assert cells == [("hosp", "glioma", "flair"), ("kaggle", "meningioma", "unlabelled")]
    many = [("hosp", "glioma", "flair")] * 15 + [("hosp", "glioma", "t1")] * 3
    assert cell_keys(many) == ["hosp/glioma/flair"] * 15 + ["hosp/glioma/all"] * 3


def test_candidate_f_rule_needs_a_margin_and_keeps_kaggle_and_healthy_lgg_recall():
    from bench_selection import challenger_wins

    bundled = {"score": 0.70, "kaggle_accuracy": 0.90, "lgg_notumor": 0.80}
    assert challenger_wins(bundled, {"score": 0.706, "kaggle_accuracy": 0.895, "lgg_notumor": 0.78}) == (True, [])
    small, why = challenger_wins(bundled, {"score": 0.704, "kaggle_accuracy": 0.95, "lgg_notumor": 0.9})
    assert not small and "not 0.5 points above" in why[0]
    worse_kaggle, why = challenger_wins(bundled, {"score": 0.80, "kaggle_accuracy": 0.88, "lgg_notumor": 0.9})
    assert not worse_kaggle and why == ["Kaggle validation accuracy more than 1 point lower"]
    worse_healthy, why = challenger_wins(bundled, {"score": 0.80, "kaggle_accuracy": 0.9, "lgg_notumor": 0.76})
    assert not worse_healthy and why == ["tcga-lgg notumor recall more than 3 points lower"]


def test_the_evaluation_skull_stripping_removes_the_rim_and_keeps_the_inside():
    import numpy as np
    from bench_generalisation import skull_stripped

    yy, xx = np.mgrid[:200, :200]
    r = np.hypot((yy - 100) / 80.0, (xx - 100) / 70.0)
    scan = np.where(r < 1, 90.0, 0.0)
    scan[(r > 0.9) & (r < 1)] = 250.0  # skull
    scan[np.hypot(yy - 90, xx - 110) < 10] = 180.0  # lesion
    stripped = skull_stripped(scan)
    assert stripped[(r > 0.92) & (r < 1)].max() == 0  # the rim is gone
    assert (stripped[np.hypot(yy - 90, xx - 110) < 10] == 180.0).all()  # the lesion is kept, as it was
    assert (stripped[r < 0.7] == scan[r < 0.7]).all()
    np.testing.assert_array_equal(skull_stripped(np.zeros((50, 50))), np.zeros((50, 50)))  # nothing to strip
