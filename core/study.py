"""One verdict for a whole multi-slice scan (DICOM series, multi-frame DICOM, NIfTI) from its slices.

The rule (stated in docs/cli.md, "The study verdict"), with ``notumor`` as the negative class:

1. Slices where the classifier abstains (not a brain MRI slice: blank, colour,
   features far from the training scans; ``core.ood``) are left out. If most
   slices abstain (more than half), the study abstains too (no label): a series
   of the pelvis or the spine is not a brain study because a few of its slices
   pass for brain slices, whatever its tags say. A head volume's own blank end
   slices stay a minority.
2. A tumour class is *found* when at least ``MIN_EVIDENCE`` (2) counted slices
   have it as their most probable class (when fewer slices are counted: all of
   them). Those slices are its *evidence*. Why not the mean over all slices: a
   tumour occupies only some slices of a volume, so healthy slices would outvote
   it (7 healthy and 3 glioma slices are a glioma study, not 70 % "no tumour").
   Why not one slice: the bundled model calls 3 of the 405 healthy test scans
   (0.7 %) a tumour, so a 24-slice healthy study has about a 1-in-6 chance of at
   least one such slice, but under 1 % of two of one class (if slices err
   independently); a real tumour spans several slices.
3. With a class found: the one with the most evidence slices wins (a tie goes
   to the larger summed probability). The study's probabilities are the mean of
   its evidence slices' probability vectors, so its confidence is that class's
   mean probability over them.
4. With none found, the study is ``notumor``, only as sure as its least sure
   "no tumour" slice: its probabilities are that slice's, and every slice whose
   top class is ``notumor`` is evidence. A lone tumour slice (below the minimum)
   is reported as ``isolated_slices`` (so is any tumour slice of another class
   than the verdict's), with a warning to look at it. If every counted slice
   shows a tumour but no class reaches the minimum, the class with the most
   slices wins, flagged as low confidence.

A study whose confidence is below the card's low-confidence threshold is
flagged like a single scan. A model without a ``notumor`` class gets a
majority vote over the counted slices (ties: summed probability).
"""

from __future__ import annotations

from dataclasses import dataclass, field

NEGATIVE_CLASS = "notumor"
MIN_EVIDENCE = 2  # slices of one tumour class needed to call the study that class


@dataclass
class StudyVerdict:
    label: str | None  # None: most slices abstained
    confidence: float | None
    probabilities: dict
    evidence_slices: list  # slice indices, from 0
    slices: int  # how many slices the study has
    abstained_slices: list = field(default_factory=list)  # left out (not a brain MRI slice)
    low_confidence: bool = False
    rule: str = ""  # one phrase: how this verdict was reached
    isolated_slices: list = field(default_factory=list)  # tumour-class slices the verdict does not rest on

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
    if not counted or 2 * len(left_out) > count:
        mean = _mean([probabilities[i] for i in range(count)], classes) if count else {c: 0.0 for c in classes}
        rule = "every slice abstained" if not counted else "most slices abstained"
        return StudyVerdict(None, None, mean, [], count, left_out, False, rule)
    top = {i: max(classes, key=lambda c: probabilities[i][c]) for i in counted}
    if negative not in classes:
        votes = {c: [i for i in counted if top[i] == c] for c in classes}
        return _winner(votes, probabilities, classes, count, left_out, threshold, "majority of slices")
    needed = min(MIN_EVIDENCE, len(counted))
    tumours = {c: [i for i in counted if top[i] == c] for c in classes if c != negative}
    found = {c: slices for c, slices in tumours.items() if len(slices) >= needed}
    healthy = [i for i in counted if top[i] == negative]
    if found:
        verdict = _winner(found, probabilities, classes, count, left_out, threshold,
                          f"tumour evidence in {needed} or more slices")
    elif not healthy:  # every counted slice shows a tumour, but no class has enough of them
        verdict = _winner({c: v for c, v in tumours.items() if v}, probabilities, classes, count, left_out,
                          threshold, "every slice shows a tumour; the slices disagree on its class")
        verdict.low_confidence = True
    else:
        weakest = min(healthy, key=lambda i: (probabilities[i][negative], i))
        probs = {c: float(probabilities[weakest][c]) for c in classes}
        verdict = _verdict(negative, probs, healthy, count, left_out, threshold,
                           "no tumour class in enough slices; confidence of the least sure slice")
    # Tumour-class slices the verdict does not rest on: worth a look.
    verdict.isolated_slices = sorted(i for slices in tumours.values() for i in slices
                                     if i not in verdict.evidence_slices)
    return verdict


def _winner(evidence, probabilities, classes, count, left_out, threshold, rule) -> StudyVerdict:
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
