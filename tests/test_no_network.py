"""The application never touches the network (issue 8).

A child process installs a socket guard *before* importing anything of the app (so the
TensorFlow/Keras import is covered too): ``socket.socket.connect``/``connect_ex``/
``sendto``, ``socket.create_connection``, ``getaddrinfo`` and ``gethostbyname(_ex)`` raise
and record; creating an internet socket is recorded (for the report only: urllib3's import-time IPv6
probe binds one to ::1, which is not network access). It then imports the core,
gradcam and gui modules and runs ``predict``, ``explain --report`` and ``--self-test``
through ``cli.run_cli``. A second run, where ``unshare`` can make an empty network
namespace, checks the same commands still work with no network at all.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

import pytest
from PIL import Image

from tests.conftest import ROOT

CHILD = r'''
import json, socket, sys

calls = []

def guard(name):
    def refuse(*args, **kwargs):
        calls.append(f"{name}{args[1:3] if name.startswith('socket.') else args[:2]!r}"[:200])
        raise OSError(f"network access attempted: {name}")
    return refuse

socket.socket.connect = guard("socket.connect")
socket.socket.connect_ex = guard("socket.connect_ex")
socket.socket.sendto = guard("socket.sendto")
socket.create_connection = guard("create_connection")
socket.getaddrinfo = guard("getaddrinfo")
socket.gethostbyname = guard("gethostbyname")
socket.gethostbyname_ex = guard("gethostbyname_ex")
created = []
_init = socket.socket.__init__

def recording_init(self, family=-1, *args, **kwargs):
    # Creating a socket is not network access (urllib3, imported by Keras, probes IPv6
    # support by binding one to ::1 at import); it is recorded for the report only.
    if family in (socket.AF_INET, socket.AF_INET6):
        import traceback
        created.append(traceback.extract_stack(limit=3)[0].filename)
    _init(self, family, *args, **kwargs)

socket.socket.__init__ = recording_init

root, scan, model, out_dir, result_file = sys.argv[1:6]
sys.path.insert(0, root)
import importlib
modules = ["core.io", "cli", "core.classifier", "core.report", "core.dicom", "core.nifti",
           "gradcam.engine", "gradcam.overlay", "gui.app", "gui.jobs", "gui.worker"]
for name in modules:
    importlib.import_module(name)
from cli import run_cli
codes = {
    "predict": run_cli(["predict", scan, "--model", model]),
    "explain": run_cli(["explain", scan, "--model", model, "--out-dir", out_dir, "--report"]),
    "self_test": run_cli(["--self-test", "--model", model]),
}
with open(result_file, "w") as handle:
    json.dump({"codes": codes, "calls": calls, "created": created}, handle)
'''


@pytest.fixture()
def scan(tmp_path, head_image):
    path = tmp_path / "head.png"
    Image.fromarray(head_image).save(path)
    return str(path)


def _run_child(prefix, scan, model, tmp_path, tag):
    result_file = tmp_path / f"{tag}.json"
    argv = [*prefix, sys.executable, "-c", CHILD, ROOT, scan, model, str(tmp_path / f"out-{tag}"), str(result_file)]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=300, cwd=str(tmp_path))
    assert done.returncode == 0, done.stderr[-3000:]
    assert "Traceback" not in done.stderr, done.stderr[-3000:]
    with open(result_file) as handle:
        return json.load(handle), done


def test_no_socket_is_used_by_imports_predict_explain_and_self_test(scan, tiny_model_path, tmp_path):
    report, done = _run_child([], scan, tiny_model_path, tmp_path, "guarded")
    assert report["codes"] == {"predict": 0, "explain": 0, "self_test": 0}, done.stderr[-3000:]
    assert report["calls"] == [], report["calls"]
    lines = [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]
    assert [r["path"] for r in lines] == [scan, scan]
    assert os.path.exists(tmp_path / "out-guarded" / "head.report.pdf")


def test_commands_work_in_an_empty_network_namespace(scan, tiny_model_path, tmp_path):
    unshare = shutil.which("unshare")
    if not unshare or subprocess.run([unshare, "--net", "true"], capture_output=True).returncode != 0:
        pytest.skip("cannot create a network namespace here (needs unshare and privileges)")
    report, _ = _run_child([unshare, "--net"], scan, tiny_model_path, tmp_path, "offline")
    assert report["codes"] == {"predict": 0, "explain": 0, "self_test": 0}
    assert report["calls"] == []
