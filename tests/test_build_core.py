"""``tools/build_core.py``: which ``llvm-profdata`` it trusts with rustc's profiles, and that it falls back to a
plain build rather than fail when none can read them."""

from __future__ import annotations

import importlib.util
import os
import shutil
import stat
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
spec = importlib.util.spec_from_file_location("build_core", REPO / "tools" / "build_core.py")
build_core = importlib.util.module_from_spec(spec)
spec.loader.exec_module(build_core)

needs_rustc = pytest.mark.skipif(shutil.which("rustc") is None, reason="no rustc here")


def fake_tool(folder: Path, name: str, exit_code: int) -> Path:
    tool = folder / name
    tool.write_text(f"#!/bin/sh\nexit {exit_code}\n")
    tool.chmod(tool.stat().st_mode | stat.S_IXUSR)
    return tool


def test_versioned_tools_come_newest_first_and_each_binary_once(tmp_path, monkeypatch):
    for number in ("9", "19", "14"):
        fake_tool(tmp_path, f"llvm-profdata-{number}", 0)
    fake_tool(tmp_path, "llvm-profdata-rc", 0)  # not a version: ignored
    (tmp_path / "alias").mkdir()
    (tmp_path / "alias" / "llvm-profdata-19").symlink_to(tmp_path / "llvm-profdata-19")  # the same binary again
    monkeypatch.setenv("PATH", os.pathsep.join([str(tmp_path), str(tmp_path / "alias")]))
    monkeypatch.delenv("LLVM_PROFDATA", raising=False)
    monkeypatch.setattr(build_core.subprocess, "run", lambda *a, **k: build_core.subprocess.CompletedProcess(a, 1, "", ""))
    names = [Path(t).name for t in build_core.profdata_tools()]
    assert names == ["llvm-profdata-19", "llvm-profdata-14", "llvm-profdata-9"]


def test_an_explicit_tool_is_tried_first(tmp_path, monkeypatch):
    mine = fake_tool(tmp_path, "my-profdata", 0)
    fake_tool(tmp_path, "llvm-profdata-19", 0)
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.setenv("LLVM_PROFDATA", str(mine))
    assert build_core.profdata_tools()[0] == str(mine)


@needs_rustc
def test_probe_rejects_tools_that_cannot_read_rustcs_profiles(tmp_path):
    assert build_core.probe([]) is None
    assert build_core.probe([str(fake_tool(tmp_path, "broken", 1)), "/nonexistent/llvm-profdata"]) is None


@needs_rustc
def test_probe_accepts_the_first_tool_that_merges(tmp_path):
    working = [t for t in build_core.profdata_tools() if build_core.probe([t])]
    if not working:
        pytest.skip("no llvm-profdata here reads rustc's profiles")
    assert build_core.probe([str(fake_tool(tmp_path, "broken", 1)), working[0]]) == working[0]
