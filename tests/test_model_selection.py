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
