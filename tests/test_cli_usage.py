"""Command-line usage and edges (issue 19): errors with the sub-command's own usage, "did you mean",
the missing model FILE named, TensorFlow's and pydicom's logging quiet unless --verbose."""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from cli import build_parser, run_cli
from tests.conftest import ROOT


def _usage_error(capsys, argv):
    with pytest.raises(SystemExit) as exit_info:
        run_cli(argv)
    assert exit_info.value.code == 2
    return capsys.readouterr().err


def test_a_misspelt_command_gets_did_you_mean(capsys):
    err = _usage_error(capsys, ["predct", "x.png"])
    assert "invalid choice: 'predct'" in err and "did you mean 'predict'?" in err


@pytest.mark.parametrize("argv, message", [
    (["explain", "x.png", "--out-dir", "o", "--alpha", "3"], "--alpha: must be between 0 and 1"),
    (["explain", "x.png", "--out-dir", "o", "--alpha", "half"], "--alpha: must be a number"),
    (["explain", "x.png", "--out-dir", "o", "--colormap", "jett"], "did you mean 'jet'?"),
    (["explain", "x.png", "--out-dir", "o", "--method", "gradcamm"], "did you mean 'gradcam'?"),
    (["explain", "x.png", "--out-dir", "o", "--alpah", "0.3"], "did you mean --alpha for --alpah?"),
])
def test_explain_errors_come_with_the_explain_usage(capsys, argv, message):
    err = _usage_error(capsys, argv)
    assert err.startswith("usage: main.py explain ")
    assert message in err


def test_predict_errors_come_with_the_predict_usage(capsys):
    err = _usage_error(capsys, ["predict", "x.png", "--fromat", "csv"])
    assert err.startswith("usage: main.py predict ") and "did you mean --format" in err
    err = _usage_error(capsys, ["predict", "x.png", "--format", "xml"])
    assert err.startswith("usage: main.py predict ") and "invalid choice: 'xml'" in err


def test_usage_lines_name_their_arguments_plainly():
    parser = build_parser()
    texts = [parser.format_usage()] + [p.format_usage() for p in parser.commands.values()]
    for text in texts:
        assert "SUB_MODEL" not in text and "--model FILE" in text and "--verbose" in text
    assert "--batch-size N" in parser.commands["predict"].format_usage()


def test_a_missing_model_names_the_model_file_not_its_card(capsys, tmp_path):
    missing = tmp_path / "missing" / "model.keras"
    assert run_cli(["predict", "x.png", "--model", str(missing)]) == 3
    err = capsys.readouterr().err
    assert f"model file not found: {missing}" in err and ".json" not in err
    assert run_cli(["--self-test", "--model", str(missing)]) == 3


def _main(args, env=None, timeout=240):
    return subprocess.run([sys.executable, os.path.join(ROOT, "main.py"), *args], cwd=ROOT, capture_output=True,
                          text=True, timeout=timeout, env=dict(os.environ, **(env or {})))


def test_main_py_routes_a_misspelt_command_to_the_command_line():
    result = _main(["predct", "somewhere.png"])
    assert result.returncode == 2 and "did you mean 'predict'?" in result.stderr


def _corrupt_dicom(path):
    """A DICOM whose header pydicom reads with a warning ("End of file reached before delimiter")."""
    from tests.volumes import make_dicom

    good = str(path) + ".good.dcm"
    make_dicom(good, (np.arange(64 * 64).reshape(64, 64) % 700).astype(np.uint16))
    data = open(good, "rb").read()
    with open(path, "wb") as handle:
        handle.write(data[:140] + b"\xff" * 160 + data[300:])
    os.remove(good)
    return str(path)


def test_tensorflow_and_pydicom_are_quiet_unless_verbose(tmp_path, tiny_model_path, head_image):
    scan = tmp_path / "head.png"
    Image.fromarray(head_image).save(scan)
    dicom = _corrupt_dicom(tmp_path / "odd.dcm")
    # As a user's shell has it: nothing set to quieten TensorFlow beforehand.
    clean = {k: v for k, v in os.environ.items() if k not in ("TF_CPP_MIN_LOG_LEVEL", "PYTHONWARNINGS")}
    quiet = subprocess.run([sys.executable, "main.py", "predict", str(scan), dicom, "--model", tiny_model_path,
                            "--quiet"], cwd=ROOT, capture_output=True, text=True, timeout=240, env=clean)
    assert quiet.returncode == 1, quiet.stderr  # the odd DICOM is reported as an error line, the PNG classified
    assert quiet.stdout.count("\n") == 2
    assert quiet.stderr == "", quiet.stderr  # no absl/oneDNN lines, no pydicom warning, no paths
    verbose = subprocess.run([sys.executable, "main.py", "predict", str(scan), dicom, "--model", tiny_model_path,
                              "--quiet", "--verbose"], cwd=ROOT, capture_output=True, text=True, timeout=240,
                             env=clean)
    assert verbose.stdout == quiet.stdout
    assert "site-packages" not in verbose.stderr  # warnings are one line, "warning: ...", never a path
    for line in verbose.stderr.splitlines():
        if "arning" in line and "tensorflow" not in line.lower() and not line.startswith(("W0000", "I0000")):
            assert line.startswith("warning: "), line


def test_own_warnings_stay_visible_in_one_line():
    code = ("from core import quiet; quiet.install(); import warnings; warnings.warn('ours'); "
            "warnings.warn_explicit('theirs', UserWarning, '/x/site-packages/pydicom/f.py', 1, module='pydicom.f')")
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0 and result.stderr == "warning: ours\n"
