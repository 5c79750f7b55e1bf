"""Every ```python block of README.md and of every page under docs/ runs as a reader pastes it.

The blocks of one page run in order in one namespace, with no API key and no ``GEMINI_*``
variable set and nothing prepared beforehand: ``Client()`` and ``Conversation()`` fall back
to the bundled emulator, as they do for a reader without a key. New pages are picked up
automatically. A block that cannot run offline has ``<!-- no-run: why -->`` on the line
above its fence (at most one block in twenty). Non-Python snippets use another fence
language (``bash``, ``text``, ``console``).

The default suite runs the pages in this process (fast); the slow test runs each page in a
fresh interpreter of its own, exactly as pasted into ``python3``. A page whose blocks start
server processes of their own runs only there: the default suite keeps one real process per
transport in the tests of its package (``tests/mcp/test_stdio.py``).
"""

from __future__ import annotations

import importlib.util
import os
import re
import subprocess
import sys
import types
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]
FENCE = re.compile(r"^```python[^\n]*\n(.*?)^```[ \t]*$", re.S | re.M)
NO_RUN = re.compile(r"<!--\s*no-run:\s*(\S.*?)\s*-->\s*$")
# Pages of API reference and figures: they may have no runnable block.
WITHOUT_CODE = {"reference.md", "performance.md"}
# Pages whose blocks start real server processes (~1.5 s of CPU each): the slow test runs them.
STARTS_PROCESSES = {"mcp.md"}  # stdio MCP servers
IN_PROCESS = [p for p in PAGES if p.name not in STARTS_PROCESSES]


@dataclass(frozen=True)
class Block:
    page: Path
    line: int  # the first line of code, 1-based
    code: str
    no_run: str | None  # the reason, when the line above the fence marks it

    @property
    def name(self) -> str:
        return f"{self.page.relative_to(ROOT)}:{self.line}"


def blocks(page: Path) -> list[Block]:
    """Every python block of a page, with its no-run mark if it has one."""
    text = page.read_text(encoding="utf-8")
    found = []
    for m in FENCE.finditer(text):
        before = text[: m.start()].rstrip("\n").rsplit("\n", 1)[-1]
        mark = NO_RUN.search(before)
        line = text.count("\n", 0, m.start(1)) + 1
        found.append(Block(page, line, m.group(1), mark.group(1) if mark else None))
    return found


def _offline_environ() -> dict[str, str]:
    return {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("GEMINI_", "GOOGLE_")) and not k.startswith("AGENTLOOP_TEST")
    }


@pytest.mark.parametrize("page", IN_PROCESS, ids=[str(p.relative_to(ROOT)) for p in IN_PROCESS])
def test_python_blocks_run_as_pasted(
    page: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in [k for k in os.environ if k.startswith("GEMINI_")]:
        monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)
    # A real __main__-like module, so dataclasses and pydantic models defined in a block
    # can find their module, as they do in an interactive interpreter.
    module = types.ModuleType("agentloop_docs_page")
    monkeypatch.setitem(sys.modules, module.__name__, module)
    namespace = module.__dict__
    ran = 0
    for block in blocks(page):
        if block.no_run is not None:
            continue
        exec(compile(block.code, block.name, "exec"), namespace)  # a failure names page:line
        ran += 1
    if page.name not in WITHOUT_CODE:
        assert ran > 0, f"{page.name} has no runnable python block"


def test_no_run_blocks_are_rare_and_say_why() -> None:
    every = [b for p in PAGES for b in blocks(p)]
    skipped = [b.name for b in every if b.no_run is not None]
    assert len(skipped) * 20 <= len(every), (skipped, len(every))
    # The old in-code marker is gone: a reader would paste it.
    assert not [b.name for b in every if b.code.startswith("# doc: no-run")]


def test_each_page_with_code_says_how_to_reach_the_real_api() -> None:
    for page in PAGES:
        if page.name in WITHOUT_CODE or not blocks(page):
            continue
        text = page.read_text(encoding="utf-8")
        assert "GEMINI_API_KEY" in text, (
            f"{page.name} never says how to use the real API: add one line, e.g. a comment "
            "'# GEMINI_API_KEY set: the Gemini API; unset: the bundled emulator' on the line "
            "that makes the client or conversation"
        )


def test_readme_keeps_the_two_setup_commands() -> None:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    demo = "python3 -m pip install -e . && python3 -m agentloop demo"
    tests = "python3 -m pip install -q -e '.[dev]' && python3 -m pytest"
    assert demo in text and tests in text
    assert text.index(tests) < 1200  # near the top


def _as_script(page: Path) -> str:
    """The page's runnable blocks as one program that pastes them in order."""
    lines = ["ns = {'__name__': '__main__'}"]
    for block in blocks(page):
        if block.no_run is None:
            lines.append(f"exec(compile({block.code!r}, {block.name!r}, 'exec'), ns)")
    lines.append(f"print('ran', {sum(b.no_run is None for b in blocks(page))})")
    return "\n".join(lines)


@pytest.mark.slow  # one interpreter per page
@pytest.mark.parametrize("page", PAGES, ids=[str(p.relative_to(ROOT)) for p in PAGES])
def test_python_blocks_run_in_a_fresh_interpreter(page: Path, tmp_path: Path) -> None:
    env = _offline_environ()
    env["PYTHONPATH"] = str(ROOT)
    proc = subprocess.run(
        [sys.executable, "-c", _as_script(page)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    if any(b.no_run is None for b in blocks(page)):
        # Without a key the first client says, in one line, where requests go.
        assert proc.stderr.count("bundled offline emulator") <= 1, proc.stderr


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
