"""Every ```python block of README.md and docs/ runs, and the site builds with --strict.

Convention (also in docs/testing.md): the blocks of one page run in order in one namespace,
in a temporary directory, with ``GEMINI_API_KEY`` set to a dummy key and ``GEMINI_BASE_URL``
pointing at a loopback emulator, so ``Client()`` and ``Conversation()`` work verbatim.
Non-Python snippets use another fence language (``bash``, ``text``, ``console``); a Python
block whose first line is ``# doc: no-run`` is shown but not run.
"""

from __future__ import annotations

import importlib.util
import re
import subprocess
import sys
import types
from collections.abc import Iterator
from pathlib import Path

import pytest

from agentloop.testing import Emulator

ROOT = Path(__file__).resolve().parents[2]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]
FENCE = re.compile(r"^```python[^\n]*\n(.*?)^```\s*$", re.S | re.M)
NO_RUN = "# doc: no-run"


def blocks(page: Path) -> list[tuple[int, str]]:
    """(first line number, code) of every python block of a page."""
    text = page.read_text(encoding="utf-8")
    return [(text.count("\n", 0, m.start(1)) + 1, m.group(1)) for m in FENCE.finditer(text)]


@pytest.fixture(scope="module")
def api_url() -> Iterator[str]:
    with Emulator(api_keys={"docs-key"}).serve() as url:
        yield url


@pytest.mark.parametrize("page", PAGES, ids=[str(p.relative_to(ROOT)) for p in PAGES])
def test_python_blocks_run(
    page: Path, api_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GEMINI_API_KEY", "docs-key")
    monkeypatch.setenv("GEMINI_BASE_URL", api_url)
    monkeypatch.chdir(tmp_path)
    # A real module, so dataclasses and pydantic models defined in a block can find it.
    module = types.ModuleType("agentloop_docs_page")
    monkeypatch.setitem(sys.modules, module.__name__, module)
    namespace = module.__dict__
    ran = 0
    for line, code in blocks(page):
        if code.startswith(NO_RUN):
            continue
        name = f"{page.relative_to(ROOT)}:{line}"
        exec(compile(code, name, "exec"), namespace)  # a failure names the page and line
        ran += 1
    if page.name not in ("reference.md", "performance.md"):  # pages of API docs and figures
        assert ran > 0, f"{page.name} has no runnable python block"


def test_pages_mark_no_run_blocks_sparingly() -> None:
    skipped = [p.name for p in PAGES for _, code in blocks(p) if code.startswith(NO_RUN)]
    assert len(skipped) <= 3, skipped


def test_readme_keeps_the_two_setup_commands() -> None:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    demo = "python3 -m pip install -e . && python3 -m agentloop demo"
    tests = "python3 -m pip install -q -e '.[dev]' && python3 -m pytest"
    assert demo in text and tests in text
    assert text.index(tests) < 1200  # near the top


@pytest.mark.slow  # .ci/run builds the site itself after installing the docs extra
@pytest.mark.skipif(
    importlib.util.find_spec("mkdocs") is None,
    reason="mkdocs not installed (pip install -e '.[docs]')",
)
def test_mkdocs_build_strict(tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "-q", "-d", str(tmp_path / "site")],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "site" / "index.html").is_file()
    assert (tmp_path / "site" / "reference" / "index.html").is_file()
