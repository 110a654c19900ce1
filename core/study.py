"""One verdict for a whole multi-slice scan (DICOM series, multi-frame DICOM, NIfTI) from its slices.

The rule (stated in README.md), with ``notumor`` as the negative class:

1. Slices where the classifier abstains (not a brain MRI slice: blank, colour,
   features far from the training scans; ``core.ood``) are left out. If every
   slice abstains, the study abstains too (no label).
2. A tumour is in the study if it is in some slice: every counted slice whose
   most probable class is a tumour class is *evidence* for that class. (A tumour
   occupies only some slices of a volume, so averaging over all slices would let
   healthy slices outvote it: 7 healthy slices and 3 glioma slices are a glioma
   study, not 70 % "no tumour".)
3. With evidence: the tumour class with the most evidence slices wins (a tie
   goes to the larger summed probability). Its evidence slices are the ones
   reported; the study's probabilities are the mean of their probability
   vectors, so its confidence is that class's mean probability over them.
4. Without evidence, the study is ``notumor``, and it is only as sure as its
   least sure slice: the probabilities are those of the counted slice with the
   lowest "no tumour" probability, and every counted slice is evidence.

A study whose confidence is below the card's low-confidence threshold is
flagged like a single scan. A model without a ``notumor`` class gets a
majority vote over the counted slices (ties: summed probability).
"""

from __future__ import annotations

from dataclasses import dataclass, field

NEGATIVE_CLASS = "notumor"


@dataclass
class StudyVerdict:
    label: str | None  # None: every slice abstained
    confidence: float | None
    probabilities: dict
    evidence_slices: list  # slice indices, from 0
    slices: int  # how many slices the study has
    abstained_slices: list = field(default_factory=list)  # left out (not a brain MRI slice)
    low_confidence: bool = False
    rule: str = ""  # one phrase: how this verdict was reached

    @property
    def abstain(self) -> bool:
        return self.label is None


def study_verdict(probabilities, abstained=None, classes=None, threshold: float = 0.7,
                  negative: str = NEGATIVE_CLASS) -> StudyVerdict:
    """The verdict over slices ``0..n-1``.

    ``probabilities``: one ``{class: probability}`` per slice (calibrated);
    ``abstained``: one bool per slice (``True``: the slice is not a brain MRI slice);
    ``classes``: the model's class order (default: the first slice's keys);
    ``threshold``: the low-confidence threshold of the model card.
    """
    probabilities = [dict(p) for p in probabilities]
    count = len(probabilities)
    abstained = [bool(a) for a in (abstained or [False] * count)]
    if len(abstained) != count:
        raise ValueError("one abstain flag per slice is needed")
    classes = list(classes or (probabilities[0] if probabilities else []))
    left_out = [i for i in range(count) if abstained[i]]
    counted = [i for i in range(count) if not abstained[i]]
    if not counted:
        mean = _mean([probabilities[i] for i in range(count)], classes) if count else {c: 0.0 for c in classes}
        return StudyVerdict(None, None, mean, [], count, left_out, False, "every slice abstained")
    top = {i: max(classes, key=lambda c: probabilities[i][c]) for i in counted}
    if negative in classes:
        evidence = {c: [i for i in counted if top[i] == c] for c in classes if c != negative}
        rule = "tumour evidence in some slices"
        if not any(evidence.values()):
            weakest = min(counted, key=lambda i: (probabilities[i][negative], i))
            probs = {c: float(probabilities[weakest][c]) for c in classes}
            return _verdict(negative, probs, counted, count, left_out, threshold,
                            "no slice shows a tumour; confidence of the least sure slice")
    else:
        evidence = {c: [i for i in counted if top[i] == c] for c in classes}
        rule = "majority of slices"
    winner = max(evidence, key=lambda c: (len(evidence[c]), sum(probabilities[i][c] for i in evidence[c])))
    slices = evidence[winner]
    return _verdict(winner, _mean([probabilities[i] for i in slices], classes), slices, count, left_out,
                    threshold, rule)


def _verdict(label, probs, evidence, count, left_out, threshold, rule) -> StudyVerdict:
    confidence = float(probs[label])
    return StudyVerdict(label, confidence, probs, list(evidence), count, left_out, confidence < threshold, rule)


def _mean(vectors, classes) -> dict:
    return {c: float(sum(v[c] for v in vectors) / len(vectors)) for c in classes}


def window_summary(windows) -> dict | None:
    """The window a study's slices were classified with: the common one, else which kind
    with ``"per_slice": true`` (DICOM series whose files carry their own windows)."""
    windows = [w for w in windows if w]
    if not windows:
        return None
    if all(w == windows[0] for w in windows):
        return dict(windows[0])
    sources = {w.get("source") for w in windows}
    return {"center": None, "width": None, "source": sources.pop() if len(sources) == 1 else "mixed",
            "per_slice": True}
