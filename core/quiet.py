"""Keep TensorFlow's and pydicom's chatter off stderr unless ``--verbose`` asks for it.

TensorFlow 2.16+ logs through absl before anyone can configure it, so
``TF_CPP_MIN_LOG_LEVEL`` no longer silences the "oneDNN custom operations"
and "All log messages before absl::InitializeLog()" lines it writes during
``import tensorflow``. :func:`install` therefore (1) sets the environment
variables TensorFlow reads at import, and (2) wraps that one import so the
process's stderr (file descriptor 2) goes to a temporary file meanwhile; what
it caught is replayed afterwards minus the known start-up noise, so a real
error still shows.

Python warnings (pydicom's about odd files, and any other) are printed as one
line, ``warning: <message>``, never with a site-packages path; pydicom's and
absl's Python loggers are held at ERROR. With ``verbose=True`` nothing is
hidden, but warnings keep the one-line form.

Call it first thing, before anything imports TensorFlow (``main.py`` and
``python -m gui`` do).
"""

from __future__ import annotations

import importlib.abc
import logging
import os
import re
import sys
import tempfile
import threading
import warnings

# What TensorFlow prints on every start: absl's pre-init notice, INFO lines (I0000 ... port.cc / cpu_feature_guard),
# the CPU-instructions advice, and CUDA/TensorRT probing on machines without a GPU.
NOISE = re.compile(
    r"^(WARNING: All log messages before absl::InitializeLog\(\) is called are written to STDERR"
    r"|[IW]\d{4} [\d:.]+\s+\d+ \S+:\d+\] .*"
    r"|\d{4}-\d\d-\d\d [\d:.]+: [IW] tensorflow/.*"
    r"|To enable the following instructions:.*"
    r"|.*(oneDNN custom operations|cpu_feature_guard|Could not find cuda drivers|Unable to register cu"
    r"|TF-TRT Warning|computation placer already registered).*"
    r"|INFO: Created TensorFlow Lite XNNPACK delegate for CPU\.)$"  # LiteRT, once per model load
)
ENVIRONMENT = {
    "TF_CPP_MIN_LOG_LEVEL": "2",  # C++ INFO and WARNING (still honoured for the non-absl lines)
    "TF_CPP_MAX_VLOG_LEVEL": "0",
    "GRPC_VERBOSITY": "ERROR",
    "GLOG_minloglevel": "2",
    "ABSL_MIN_LOG_LEVEL": "2",
}
QUIET_LOGGERS = ("pydicom", "absl", "tensorflow", "h5py", "PIL", "nibabel", "matplotlib")

_installed = {"done": False}


def install(verbose: bool = False) -> None:
    """Quiet the libraries (or, with ``verbose``, only make warnings one line). Safe to call twice."""
    warnings.formatwarning = _one_line
    if verbose:
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "0")
        return
    if _installed["done"]:
        return
    _installed["done"] = True
    for name, value in ENVIRONMENT.items():
        os.environ.setdefault(name, value)  # a value the user set on purpose wins
    for name in QUIET_LOGGERS:
        logging.getLogger(name).setLevel(logging.ERROR)
    # Third-party warnings (pydicom on an odd tag, Keras/NumPy deprecations) say nothing a user can act on.
    for module in ("pydicom", "keras", "tensorflow", "absl", "h5py", "google", "numpy", "nibabel"):
        warnings.filterwarnings("ignore", module=rf"{module}(\.|$)")
    warnings.showwarning = _show_own_warnings_only
    if "tensorflow" not in sys.modules:
        sys.meta_path.insert(0, _QuietImport())


def _one_line(message, category, filename, lineno, line=None) -> str:
    return f"warning: {message}\n"


def _is_third_party(filename: str) -> bool:
    return any(part in filename for part in ("site-packages", "dist-packages", os.sep + "lib" + os.sep + "python"))


def _show_own_warnings_only(message, category, filename, lineno, file=None, line=None) -> None:
    """Quiet mode: a warning raised inside a library is dropped; our own are one line, no path."""
    if _is_third_party(str(filename)):
        return
    stream = file or sys.stderr
    try:
        stream.write(_one_line(message, category, filename, lineno, line))
    except (OSError, ValueError):
        pass


class _QuietImport(importlib.abc.MetaPathFinder):
    """Finds ``tensorflow`` the normal way, then runs its import with fd 2 captured (once)."""

    def find_spec(self, name, path=None, target=None):
        if name != "tensorflow":
            return None
        sys.meta_path.remove(self)
        spec = None
        for finder in list(sys.meta_path):  # the finders after us: PathFinder, or PyInstaller's when frozen
            find = getattr(finder, "find_spec", None)
            spec = find(name, path, target) if find is not None else None
            if spec is not None:
                break
        if spec is None or spec.loader is None:
            return spec
        spec.loader = _QuietLoader(spec.loader)
        return spec


class _QuietLoader(importlib.abc.Loader):
    def __init__(self, loader):
        self.loader = loader

    def create_module(self, spec):
        return self.loader.create_module(spec)

    def exec_module(self, module):
        with captured_stderr():
            self.loader.exec_module(module)

    def __getattr__(self, name):  # is_package, get_code, ... as the real loader has them
        return getattr(self.loader, name)


_fd_lock = threading.Lock()


class captured_stderr:  # noqa: N801 (a context manager used like a function)
    """Send fd 2 to a temporary file while the block runs; then print back what is not start-up noise."""

    def __enter__(self):
        _fd_lock.acquire()
        self.saved = None
        try:
            sys.stderr.flush()
            self.temp = tempfile.TemporaryFile(mode="w+b")
            self.saved = os.dup(2)
            os.dup2(self.temp.fileno(), 2)
        except (OSError, ValueError, AttributeError):
            self.saved = None
        return self

    def __exit__(self, *exc):
        try:
            if self.saved is not None:
                try:
                    sys.stderr.flush()
                except (OSError, ValueError):
                    pass
                os.dup2(self.saved, 2)
                os.close(self.saved)
                self.temp.seek(0)
                kept = [line for line in self.temp.read().decode("utf-8", "replace").splitlines()
                        if line.strip() and not NOISE.match(line.strip())]
                self.temp.close()
                if kept:
                    try:
                        sys.stderr.write("\n".join(kept) + "\n")
                        sys.stderr.flush()
                    except (OSError, ValueError):
                        pass
        finally:
            _fd_lock.release()
        return False
