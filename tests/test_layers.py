"""The package layers, read from the sources' import statements (``ast``), never by importing them.

    main.py -> cli, gui -> gradcam -> core

``core`` imports nothing above it (no ``cli``, ``gui`` or ``gradcam``, anywhere in a file);
``gui`` never imports TensorFlow or Keras at module level (only inside functions, run on a
worker thread once the window is up); ``cli`` is the command line's only home.
"""

from __future__ import annotations

import ast
import glob
import os

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _sources(package: str) -> list:
    paths = sorted(glob.glob(os.path.join(ROOT, package, "**", "*.py"), recursive=True))
    assert paths, f"no sources under {package}/"
    return paths


def _imports(path: str, top_level_only: bool = False) -> set:
    """The top-level names of the modules ``path`` imports (relative imports resolved to its package)."""
    tree = ast.parse(open(path, encoding="utf-8").read(), filename=path)
    # module level includes the if/try/with blocks at the top, not function or class bodies
    nodes = _module_level(tree.body) if top_level_only else ast.walk(tree)
    package = os.path.relpath(path, ROOT).split(os.sep)[0]
    names = set()
    for node in nodes:
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            names.add(package if node.level else (node.module or "").split(".")[0])
    return names


def _module_level(body):
    for node in body:
        yield node
        if isinstance(node, (ast.If, ast.Try, ast.With)):
            for block in ("body", "orelse", "finalbody"):
                yield from _module_level(getattr(node, block, []))
            for handler in getattr(node, "handlers", []):
                yield from _module_level(handler.body)


@pytest.mark.parametrize("path", _sources("core"), ids=lambda p: os.path.relpath(p, ROOT))
def test_core_imports_nothing_above_it(path):
    above = _imports(path) & {"cli", "gui", "gradcam", "main"}
    assert not above, f"{os.path.relpath(path, ROOT)} imports {sorted(above)}"


@pytest.mark.parametrize("path", _sources("gui"), ids=lambda p: os.path.relpath(p, ROOT))
def test_gui_never_imports_tensorflow_at_module_level(path):
    heavy = _imports(path, top_level_only=True) & {"tensorflow", "keras", "tf_keras"}
    assert not heavy, f"{os.path.relpath(path, ROOT)} imports {sorted(heavy)} at module level"


def test_the_command_line_is_not_in_core():
    assert not os.path.exists(os.path.join(ROOT, "core", "cli.py"))
    assert os.path.isfile(os.path.join(ROOT, "cli", "__init__.py"))


def test_the_checks_see_imports(tmp_path):
    """The parser itself: a function-level import counts for core, not for gui's module level."""
    path = tmp_path / "probe.py"
    path.write_text("import os\ntry:\n    import numpy\nexcept ImportError:\n    pass\n"
                    "def f():\n    from gradcam.engine import CAMEngine\n    import tensorflow as tf\n",
                    encoding="utf-8")
    assert {"gradcam", "tensorflow", "os", "numpy"} <= _imports(str(path))
    assert _imports(str(path), top_level_only=True) == {"os", "numpy"}
