"""The package layers, read from the sources' import statements (``ast``), never by importing them.

    main.py -> cli, gui -> gradcam -> core

``core`` imports nothing above it (no ``cli``, ``gui`` or ``gradcam``, anywhere in a file);
``gui`` never imports TensorFlow or Keras at module level (only inside functions, run on a
worker thread once the window is up); ``cli`` is the command line's only home.

No module imports one that imports it back, directly or through a chain (an import inside a
function counts too), and no class is over 400 lines: a newcomer reads one room at a time.
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


# ----- no import cycle anywhere, no class over 400 lines --------------------------------------------

PROJECT = ("core", "gradcam", "gui", "cli", "training", "benchmarks", "scripts")
SCRIPT_FOLDERS = ("benchmarks", "scripts")  # run as scripts: ``import common`` is their sibling
MAX_CLASS_LINES = 400


def _project_modules(root: str = ROOT) -> dict:
    """Dotted module name -> file, for every project source (``pkg/__init__.py`` is ``pkg``)."""
    modules = {}
    for package in PROJECT:
        for path in sorted(glob.glob(os.path.join(root, package, "**", "*.py"), recursive=True)):
            parts = os.path.relpath(path, root)[:-3].split(os.sep)
            modules[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    if os.path.isfile(os.path.join(root, "main.py")):
        modules["main"] = os.path.join(root, "main.py")
    return modules


def _module_imports(name: str, path: str, modules: dict) -> dict:
    """The project modules ``name`` imports anywhere in its file (functions too) -> first line number.

    ``from pkg import sub`` is an import of the module ``pkg.sub`` when that is a module, else of
    ``pkg`` itself; relative imports are resolved; a script folder's bare ``import common`` is its sibling.
    """
    tree = ast.parse(open(path, encoding="utf-8").read(), filename=path)
    package = name if path.endswith("__init__.py") else name.rpartition(".")[0]
    folder = name.split(".")[0]

    def resolve(dotted: str):
        for candidate in (dotted, f"{folder}.{dotted}") if folder in SCRIPT_FOLDERS else (dotted,):
            parts = candidate.split(".")
            for end in range(len(parts), 0, -1):  # the longest prefix that is a project module
                if ".".join(parts[:end]) in modules:
                    return ".".join(parts[:end])
        return None

    found = {}
    for node in ast.walk(tree):
        targets = []
        if isinstance(node, ast.Import):
            targets = [resolve(alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parent = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(parent + ([node.module] if node.module else []))
            for alias in node.names:
                sub = resolve(f"{base}.{alias.name}") if alias.name != "*" else None
                targets.append(sub if sub is not None and sub.startswith(base + ".") else resolve(base))
        for target in targets:
            if target is not None and target != name:
                found.setdefault(target, node.lineno)
    return found


def import_cycles(root: str = ROOT) -> list:
    """Each import cycle among the project's modules, as the list of its modules (strongly
    connected components of the import graph with more than one module, Tarjan's algorithm)."""
    modules = _project_modules(root)
    graph = {name: sorted(_module_imports(name, path, modules)) for name, path in modules.items()}
    index, low, stack, on_stack, cycles = {}, {}, [], set(), []

    def visit(node):
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in graph[node]:
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                cycles.append(sorted(component))

    for node in graph:
        if node not in index:
            visit(node)
    return cycles


def test_no_module_imports_one_that_imports_it_back():
    modules = _project_modules()
    described = []
    for cycle in import_cycles():
        lines = [f"{a} (line {line}) imports {b}" for a in cycle
                 for b, line in sorted(_module_imports(a, modules[a], modules).items()) if b in cycle]
        described.append("; ".join(lines))
    assert not described, "import cycles: " + " | ".join(described)


def test_the_cycle_check_sees_cycles(tmp_path):
    """Direct, through a chain, from inside a function, relative, and a script folder's sibling."""
    def write(rel, text):
        path = tmp_path / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")

    write("core/__init__.py", "")
    write("core/a.py", "from core.b import x\n")
    write("core/b.py", "def f():\n    from . import c\n")
    write("core/c.py", "import core.a\n")  # a -> b -> c -> a
    write("gui/__init__.py", "")
    write("gui/one.py", "from gui import two\n")
    write("gui/two.py", "def g():\n    import gui.one\n")  # a function-level import still counts
    write("gui/alone.py", "from gui import one\n")  # imports into a cycle, is not part of it
    write("benchmarks/common.py", "def h():\n    import bench_x\n")
    write("benchmarks/bench_x.py", "from common import h\n")
    assert sorted(import_cycles(str(tmp_path))) == [["benchmarks.bench_x", "benchmarks.common"],
                                                    ["core.a", "core.b", "core.c"], ["gui.one", "gui.two"]]


def _classes(path: str):
    tree = ast.parse(open(path, encoding="utf-8").read(), filename=path)
    return [node for node in ast.walk(tree) if isinstance(node, ast.ClassDef)]


def test_no_class_is_over_400_lines():
    long = [f"{os.path.relpath(path, ROOT)}: {cls.name} {cls.end_lineno - cls.lineno + 1} lines"
            for path in _project_modules().values() for cls in _classes(path)
            if cls.end_lineno - cls.lineno + 1 > MAX_CLASS_LINES]
    assert not long, long


def test_the_window_class_is_only_a_composition_root():
    """``gui.app.App`` builds the panels and wires the controllers (<= 300 lines); the controllers
    know nothing of it or of each other at import time (the App hands them what they call)."""
    app_path = os.path.join(ROOT, "gui", "app.py")
    (app,) = [cls for cls in _classes(app_path) if cls.name == "App"]
    assert app.end_lineno - app.lineno + 1 <= 300
    modules = _project_modules()
    controllers = [name for name in modules if name.startswith("gui.") and name.endswith("_controller")]
    assert len(controllers) >= 7, controllers
    for name in controllers:
        reached = set(_module_imports(name, modules[name], modules)) & {*controllers, "gui.app"}
        assert not reached, f"{name} imports {sorted(reached)}"


# The order gui/app.py creates them in: a controller calls only those after it (never back up).
CONTROLLER_ORDER = ("scans", "models", "reports", "batch", "volumes", "analyses", "prefs")
CONTROLLER_MODULES = {"scans": "scan_controller", "models": "model_controller", "reports": "report_controller",
                      "batch": "batch_controller", "volumes": "volume_controller",
                      "analyses": "analysis_controller", "prefs": "settings_controller"}


@pytest.mark.parametrize("attribute", CONTROLLER_ORDER)
def test_controllers_call_one_way(attribute):
    """``app.<controller>`` used in a controller's source names only controllers below it."""
    path = os.path.join(ROOT, "gui", CONTROLLER_MODULES[attribute] + ".py")
    tree = ast.parse(open(path, encoding="utf-8").read(), filename=path)
    used = {node.attr for node in ast.walk(tree)
            if isinstance(node, ast.Attribute) and node.attr in CONTROLLER_ORDER
            and isinstance(node.value, (ast.Attribute, ast.Name))
            and (node.value.attr if isinstance(node.value, ast.Attribute) else node.value.id) == "app"}
    upward = sorted(name for name in used if CONTROLLER_ORDER.index(name) <= CONTROLLER_ORDER.index(attribute))
    assert not upward, f"gui/{CONTROLLER_MODULES[attribute]}.py calls app.{upward} (not below it)"
