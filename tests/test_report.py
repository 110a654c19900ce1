"""The one-page PDF report: content, one page, no overwrite, no Tk/TensorFlow, and explain --report."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys

import matplotlib
import numpy as np
import pytest
from PIL import Image

from core.classifier import Prediction
from core.report import DISCLAIMER, write_pdf_report
from tests.conftest import ROOT

PROBS = {"glioma": 0.81, "meningioma": 0.1, "notumor": 0.05, "pituitary": 0.04}
NAMES = {"glioma": "Glioma", "meningioma": "Meningioma", "notumor": "No tumour", "pituitary": "Pituitary"}
SHA = "0123456789abcdef" * 4


def page_count(raw: bytes) -> int:
    return len(re.findall(rb"/Type\s*/Page\b", raw))  # \b: not the /Pages tree node


def pdf_text(raw: bytes) -> str:
    """Text drawn with TJ operators in an uncompressed PDF (matplotlib splits words for kerning)."""
    shown = re.findall(rb"\[((?:[^\]\\]|\\.)*)\]\s*TJ", raw, re.S)
    joined = [b"".join(re.findall(rb"\(((?:[^)\\]|\\.)*)\)", parts)) for parts in shown]
    return b"\n".join(joined).decode("latin-1").replace("\\(", "(").replace("\\)", ")")


def _write(path, prediction=None, **kwargs):
    scan = (np.random.default_rng(0).random((60, 80)) * 255).astype(np.uint8)
    overlay = np.stack([scan, scan // 2, scan // 3], axis=-1)
    with matplotlib.rc_context({"pdf.compression": 0}):  # so the test can read the text
        return write_pdf_report(
            path, scan, overlay, prediction or Prediction("glioma", 0.81, PROBS, False),
            NAMES, "Grad-CAM++", "tiny-model", SHA, "2025-06-01 10:00 UTC", **kwargs,
        )


def test_one_page_with_label_model_checksum_date_and_disclaimer(tmp_path):
    path = _write(tmp_path / "r.pdf")
    raw = open(path, "rb").read()
    assert raw.startswith(b"%PDF") and page_count(raw) == 1
    text = pdf_text(raw)
    assert "Predicted: Glioma (81.0%)" in text
    assert "Model: tiny-model" in text and SHA in text and "2025-06-01 10:00 UTC" in text
    assert "Grad-CAM++: Glioma" in text
    assert "Research and education only" in text and "not a diagnosis." in text
    for name in NAMES.values():
        assert name in text  # the bar chart's labels
    assert DISCLAIMER == "Research and education only — not a diagnosis."


def test_low_confidence_and_notes_are_shown(tmp_path):
    unsure = Prediction("notumor", 0.4, {**PROBS, "glioma": 0.3, "notumor": 0.4}, True)
    text = pdf_text(open(_write(tmp_path / "r.pdf", unsure, notes=["Slice 3 of 20"]), "rb").read())
    assert "Predicted: No tumour (40.0%)" in text
    assert "review by a specialist" in text and "Slice 3 of 20" in text  # ("fi" is a ligature glyph)


def test_refuses_to_overwrite_unless_asked(tmp_path):
    path = tmp_path / "r.pdf"
    path.write_bytes(b"keep me")
    with pytest.raises(FileExistsError):
        _write(path)
    assert path.read_bytes() == b"keep me"
    _write(path, overwrite=True)
    assert page_count(path.read_bytes()) == 1


@pytest.mark.skipif(not shutil.which("pdftotext"), reason="pdftotext (poppler-utils) not installed")
def test_pdftotext_reads_the_label(tmp_path):
    path = _write(tmp_path / "r.pdf")
    text = subprocess.run(["pdftotext", str(path), "-"], capture_output=True, text=True, check=True).stdout
    assert "Predicted: Glioma" in text and "not a diagnosis" in text


def test_report_needs_neither_tk_nor_tensorflow(tmp_path):
    code = (
        "import sys, numpy as np\n"
        "from core.classifier import Prediction\n"
        "from core.report import write_pdf_report\n"
        "img = np.zeros((8, 8), np.uint8)\n"
        f"write_pdf_report({str(tmp_path / 'r.pdf')!r}, img, np.zeros((8, 8, 3), np.uint8),\n"
        "    Prediction('a', 1.0, {'a': 1.0}, False))\n"
        "bad = [m for m in ('tkinter', 'tensorflow', 'matplotlib.pyplot') if m in sys.modules]\n"
        "assert not bad, bad\n"
    )
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert os.path.getsize(tmp_path / "r.pdf") > 0


def test_explain_report_next_to_overlays_and_no_overwrite_without_force(capsys, tmp_path, head_image, tiny_model_path):
    from cli import run_cli

    scan = tmp_path / "head.png"
    Image.fromarray(head_image).save(scan)
    out_dir = tmp_path / "out"
    argv = ["explain", str(scan), "--out-dir", str(out_dir), "--model", tiny_model_path, "--report"]
    assert run_cli(argv) == 0
    record = json.loads(capsys.readouterr().out)
    report = out_dir / "head.report.pdf"
    assert str(report) in record["files"] and page_count(report.read_bytes()) == 1
    before = report.stat().st_mtime_ns
    assert run_cli(argv) == 1
    assert "already exists" in json.loads(capsys.readouterr().out)["error"]
    assert report.stat().st_mtime_ns == before
    for name in os.listdir(out_dir):  # leave only the report in the way
        if not name.endswith(".pdf"):
            os.remove(out_dir / name)
    assert run_cli(argv) == 1
    assert "head.report.pdf already exists" in json.loads(capsys.readouterr().out)["error"]
    assert run_cli([*argv, "--force"]) == 0
    capsys.readouterr()
