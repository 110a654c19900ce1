"""What the window remembers between launches, in the user's configuration folder.

``$XDG_CONFIG_HOME/neuroscancam/settings.json`` (else ``~/.config/neuroscancam/``;
``%APPDATA%\\neuroscancam`` on Windows). Never next to the scans. Only view
choices and two folder paths are kept: no scan names, no results. A missing,
unreadable or foreign file means the defaults; a failed write is ignored.
"""

from __future__ import annotations

import json
import os
import sys

CONFIG_FOLDER = "neuroscancam"
DEFAULTS = {
    "method": "layercam",  # the best-localising map (docs/localisation.md)
    "colormap": "jet",
    "opacity": 0.4,
    "side_by_side": True,
    "last_open_dir": None,  # where Open scan / Classify folder / Open model start
    "last_save_dir": None,  # where Save overlay / Export report / Export CSV start
}


def config_dir() -> str:
    if sys.platform == "win32" and os.environ.get("APPDATA"):
        return os.path.join(os.environ["APPDATA"], CONFIG_FOLDER)
    home = os.environ.get("XDG_CONFIG_HOME") or os.path.join(os.path.expanduser("~"), ".config")
    return os.path.join(home, CONFIG_FOLDER)


def default_settings_path() -> str:
    return os.path.join(config_dir(), "settings.json")


def _valid(key: str, value) -> bool:
    if key == "method":
        from gui.controls import METHOD_NAMES  # whatever methods the window offers

        return value in METHOD_NAMES
    if key == "colormap":
        return isinstance(value, str) and bool(value)
    if key == "opacity":
        return isinstance(value, (int, float)) and not isinstance(value, bool) and 0.0 <= value <= 1.0
    if key == "side_by_side":
        return isinstance(value, bool)
    if key in ("last_open_dir", "last_save_dir"):
        return value is None or (isinstance(value, str) and os.path.isabs(value))
    return False


class Settings:
    def __init__(self, path: str | None = None):
        self.path = path or default_settings_path()
        self.values = dict(DEFAULTS)
        self.values.update(self._read())

    def __getitem__(self, key: str):
        return self.values[key]

    def folder(self, key: str) -> str | None:
        """A remembered folder, or None when it is not set or no longer exists."""
        value = self.values.get(key)
        return value if isinstance(value, str) and os.path.isdir(value) else None

    def update(self, **changes) -> bool:
        """Keep the valid changes; write the file when something changed. True if it did."""
        changed = False
        for key, value in changes.items():
            if key in DEFAULTS and _valid(key, value) and self.values.get(key) != value:
                self.values[key] = value
                changed = True
        if changed:
            self._write()
        return changed

    def _read(self) -> dict:
        try:
            with open(self.path, encoding="utf-8") as handle:
                data = json.load(handle)
        except (OSError, ValueError):
            return {}
        if not isinstance(data, dict):
            return {}
        return {key: value for key, value in data.items() if key in DEFAULTS and _valid(key, value)}

    def _write(self) -> None:
        try:
            os.makedirs(os.path.dirname(self.path), exist_ok=True)
            temp = self.path + ".tmp"
            with open(temp, "w", encoding="utf-8") as handle:
                json.dump(self.values, handle, indent=1)
            os.replace(temp, self.path)  # atomic: a crash never leaves half a file
        except OSError:
            pass
