"""Scan loading, preprocessing and inference. Never imports Tk; imports TensorFlow lazily."""

from core.errors import ModelError, ScanError
from core.io import Scan, load_scan
from core.version import APP_NAME, __version__

__all__ = ["APP_NAME", "ModelError", "Scan", "ScanError", "__version__", "load_scan"]
