"""The README (and docs/packtest.md) cannot drift: every shell, Python and pycon block is run, doctest-style.

Rules for documentation blocks:

* ``sh``/``bash``/``shell``: run in order with ``bash -e -o pipefail`` in one temporary directory holding copies of
  ``rule_packs/``, ``corpora/``, ``examples/`` and ``schemas/`` and a ``.venv`` link to this environment (so
  ``source .venv/bin/activate`` works); later blocks see what earlier ones wrote. Exit status must be 0.
* ``console``: a shell session: each ``$ command`` runs there (``$?`` is the previous command's status) and its
  output (stdout and stderr together) must be exactly the lines that follow it.
* ``pycon``: doctests, all blocks of a file in one namespace, in that same directory. ``python``: executed.
* ``tests/data/readme/`` is copied into the directory too (inputs a block needs but the document does not show).
* ``trace``/``calls``/``json`` preceded by ``<!-- file: NAME -->``: written to NAME before the shell blocks run.
  A ``trace`` block without a file marker must be an excerpt of a built-in pack.
* ``<!-- readme: skip (why) -->`` before a block skips it; skips are few and each says why.
"""

from __future__ import annotations

import doctest
import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
DOCS = [REPO / "README.md", REPO / "docs" / "packtest.md"]
BLOCK = re.compile(
    r"(?:<!-- (?:readme: skip \((?P<why>[^)]+)\)|file: (?P<file>[\w.-]+)) -->\n)?^```(?P<lang>[\w-]*)\n(?P<body>.*?)^```$",
    re.M | re.S,
)
SHELL = {"sh", "bash", "shell"}
MAX_SKIPS = {"README.md": 2, "packtest.md": 0}


@dataclass(frozen=True)
class Block:
    doc: str
    line: int
    lang: str
    body: str
    skip: str | None
    file: str | None


def blocks(path: Path) -> list[Block]:
    text = path.read_text(encoding="utf-8")
    return [
        Block(path.name, text.count("\n", 0, m.start("body")), m.group("lang"), m.group("body"), m.group("why"), m.group("file"))
        for m in BLOCK.finditer(text)
    ]


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    for name in ("rule_packs", "corpora", "examples", "schemas"):
        shutil.copytree(REPO / name, tmp_path / name, ignore=shutil.ignore_patterns("__pycache__"))
    for extra in (REPO / "tests" / "data" / "readme").glob("*"):
        shutil.copy(extra, tmp_path / extra.name)
    (tmp_path / ".venv").symlink_to(Path(sys.prefix), target_is_directory=True)
    return tmp_path


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("TRACE_PACKS_DIR", "VIRTUAL_ENV", "PYTHONPATH")}
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    return env


@pytest.mark.parametrize("doc", DOCS, ids=lambda p: p.name)
def test_blocks_are_runnable_or_say_why_not(doc: Path):
    found = blocks(doc)
    assert found, f"{doc.name} has no code blocks"
    skipped = [b for b in found if b.skip]
    assert len(skipped) <= MAX_SKIPS[doc.name], [f"{b.doc}:{b.line} {b.skip}" for b in skipped]
    for b in found:
        assert b.lang in SHELL | {"console", "python", "pycon", "trace", "calls", "json", ""}, f"{b.doc}:{b.line}: ```{b.lang}"
        if b.lang in ("calls", "json"):
            assert b.file, f"{b.doc}:{b.line}: a ```{b.lang} block needs <!-- file: NAME --> to be tested"


@pytest.mark.parametrize("doc", DOCS, ids=lambda p: p.name)
def test_trace_blocks_are_real(doc: Path):
    """A ``trace`` block without a file marker quotes a built-in pack verbatim."""
    sources = "\n".join(p.read_text(encoding="utf-8") for p in (REPO / "rule_packs").rglob("*.trace"))
    for b in blocks(doc):
        if b.lang == "trace" and not b.file and not b.skip:
            assert b.body in sources, f"{b.doc}:{b.line}: this rule is not (or no longer) in rule_packs/"


@pytest.mark.parametrize("doc", DOCS, ids=lambda p: p.name)
def test_shell_and_python_blocks_run(doc: Path, workdir: Path):
    found = [b for b in blocks(doc) if not b.skip]
    for b in found:
        if b.file:
            (workdir / b.file).write_text(b.body, encoding="utf-8")
    env = _env()
    for b in found:
        if b.lang in SHELL:
            result = subprocess.run(
                ["bash", "-e", "-o", "pipefail", "-c", b.body],
                cwd=workdir, env=env, capture_output=True, text=True, timeout=900,
            )
            assert result.returncode == 0, (
                f"{b.doc}:{b.line}: exit {result.returncode}\n--- stdout\n{result.stdout[-4000:]}\n"
                f"--- stderr\n{result.stderr[-4000:]}"
            )
        elif b.lang == "console":
            _run_console(b, workdir, env)
    pycon = "".join(b.body for b in found if b.lang == "pycon")
    python = [b for b in found if b.lang == "python"]
    if not pycon and not python:
        return
    cwd = os.getcwd()
    os.chdir(workdir)
    try:
        namespace: dict[str, object] = {"__name__": "__readme__"}
        for b in python:
            exec(compile(b.body, f"{b.doc}:{b.line}", "exec"), namespace)  # noqa: S102 - the docs' own examples
        if pycon:
            test = doctest.DocTestParser().get_doctest(pycon, namespace, doc.name, str(doc), 0)
            runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
            out: list[str] = []
            runner.run(test, out=out.append)
            assert runner.failures == 0, "".join(out)
    finally:
        os.chdir(cwd)


def _session(body: str) -> list[tuple[str, str]]:
    """``$ command`` lines and the output expected after each."""
    steps: list[tuple[str, list[str]]] = []
    for line in body.splitlines():
        if line.startswith("$ "):
            steps.append((line[2:], []))
        elif steps:
            steps[-1][1].append(line)
    return [(cmd, "\n".join(out).rstrip()) for cmd, out in steps]


def _run_console(b: Block, workdir: Path, env: dict[str, str]) -> None:
    status = 0
    for command, expected in _session(b.body):
        result = subprocess.run(
            ["bash", "-c", f"(exit {status}); {command} 2>&1"],
            cwd=workdir, env=env, capture_output=True, text=True, timeout=900,
        )
        status = result.returncode
        got = "\n".join(line.rstrip() for line in result.stdout.rstrip().splitlines())
        assert got == expected, f"{b.doc}:{b.line}: $ {command}\n--- expected\n{expected}\n--- got\n{got}"


def test_readme_key_reads_the_tenant_the_demo_writes():
    """The README's API key is for the tenant ``make demo`` (and ``trace rescore`` by default) writes."""
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    tenants = set(re.findall(r"trace keys create [^\n]*--tenant (\S+)", readme))
    makefile = (REPO / "Makefile").read_text(encoding="utf-8")
    demo = makefile.split("\ndemo:", 1)[1].split("\n\n", 1)[0]
    demo_tenant = re.search(r"--tenant (\S+)", demo)
    import inspect

    from trace_engine.commands.rescore import rescore

    default = inspect.signature(rescore).parameters["tenant"].default
    assert tenants == {demo_tenant.group(1) if demo_tenant else default}
