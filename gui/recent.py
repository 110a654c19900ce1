"""The "Open recent" list: at most a few absolute paths in a small JSON file, nothing else.

The list is a convenience, so a missing, unreadable or corrupt file means an
empty list, and a failed write is ignored rather than blocking a scan from opening.
"""

from __future__ import annotations

import json
import os

from core.version import APP_NAME
from gui.settings import config_dir

DEFAULT_LIMIT = 8


def default_recent_path() -> str:
    """``recent.json`` in the same configuration folder as the settings (``gui.settings.config_dir``)."""
    return os.path.join(config_dir(), "recent.json")


def _legacy_recent_path() -> str:
    # Before the settings file, the list lived in ``~/.config/NeuroScanCAM/``: read it once from there.
    config_home = os.environ.get("XDG_CONFIG_HOME") or os.path.join(os.path.expanduser("~"), ".config")
    return os.path.join(config_home, APP_NAME, "recent.json")


class RecentFiles:
    def __init__(self, path: str | None = None, limit: int = DEFAULT_LIMIT):
        self.path = path or default_recent_path()
        self.limit = limit
        self.paths = self._read()
        if path is None and not self.paths and not os.path.exists(self.path):
            self.paths = self._read(_legacy_recent_path())

    def add(self, path: str) -> list[str]:
        path = os.path.abspath(path)
        self.paths = [path] + [p for p in self.paths if p != path]
        del self.paths[self.limit :]
        self._write()
        return self.paths

    def remove(self, path: str) -> None:
        self.paths = [p for p in self.paths if p != os.path.abspath(path)]
        self._write()

    def clear(self) -> None:
        self.paths = []
        self._write()

    def _read(self, path: str | None = None) -> list[str]:
        try:
            with open(path or self.path, encoding="utf-8") as handle:
                data = json.load(handle)
        except (OSError, ValueError):
            return []
        if not isinstance(data, list):
            return []
        return [p for p in data if isinstance(p, str) and p][: self.limit]

    def _write(self) -> None:
        try:
            os.makedirs(os.path.dirname(self.path), exist_ok=True)
            temp = self.path + ".tmp"
            with open(temp, "w", encoding="utf-8") as handle:
                json.dump(self.paths, handle, indent=1)
            os.replace(temp, self.path)  # atomic: a crash never leaves half a file
        except OSError:
            pass
