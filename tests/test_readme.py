"""The README a newcomer reads first: short, its commands first, its test command the one CI runs,
and every page it links to there (read as text; nothing is run)."""

from __future__ import annotations

import os
import re

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FIRST_SCREEN = 40  # lines


def _read(*parts) -> str:
    with open(os.path.join(ROOT, *parts), encoding="utf-8") as handle:
        return handle.read()


def _bash_lines(text: str) -> list:
    """The command lines of the ```bash blocks, in order."""
    blocks = re.findall(r"^```bash\n(.*?)^```", text, flags=re.S | re.M)
    return [line.strip() for block in blocks for line in block.splitlines() if line.strip()]


def _ci_command() -> str:
    (command,) = [line.split(None, 1)[1] for line in _read(".ci", "run").splitlines() if line.startswith("exec ")]
    return command.strip()


def test_the_readme_is_short():
    assert len(_read("README.md").splitlines()) <= 120


def test_install_run_and_test_come_first():
    first = "\n".join(_read("README.md").splitlines()[:FIRST_SCREEN])
    commands = _bash_lines(first)
    assert any("pip install -r requirements.txt" in line for line in commands), commands
    assert any(line.endswith("main.py") for line in commands), commands
    assert any("pip install -r requirements-training.txt" in line for line in commands), commands
    assert _ci_command() in commands, commands
    assert first.index("requirements.txt") < first.index("requirements-training.txt") < first.index(_ci_command())


def test_the_readme_test_command_is_what_ci_runs():
    assert _ci_command() == "bash scripts/run_tests.sh"
    tests = [line for line in _bash_lines(_read("README.md")) if "run_tests" in line or "pytest" in line]
    assert tests == [_ci_command()]


def test_the_readme_links_to_pages_that_exist():
    links = re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", _read("README.md"))
    assert any(link.startswith("docs/") for link in links)
    missing = [link for link in links if not link.startswith("http") and not os.path.exists(os.path.join(ROOT, link))]
    assert not missing, missing


def test_the_docs_pages_link_to_files_and_headings_that_exist():
    """Moving text out of the README must not leave a link behind to a heading or file that is gone."""
    def anchors(text):
        headings = re.findall(r"^#+ (.+)$", text, flags=re.M)
        return {re.sub(r"[^\w\- ]", "", h.strip().lower()).replace(" ", "-") for h in headings}

    docs = os.path.join(ROOT, "docs")
    broken = []
    for name in sorted(os.listdir(docs)):
        if not name.endswith(".md"):
            continue
        text = _read("docs", name)
        for target, anchor in re.findall(r"\]\(([^)#\s]*)(?:#([^)\s]*))?\)", text):
            if target.startswith("http"):
                continue
            path = os.path.normpath(os.path.join(docs, target)) if target else os.path.join(docs, name)
            if not os.path.exists(path):
                broken.append(f"{name}: {target}")
            elif anchor and path.endswith(".md") and anchor not in anchors(open(path, encoding="utf-8").read()):
                broken.append(f"{name}: {target}#{anchor}")
    assert not broken, broken
