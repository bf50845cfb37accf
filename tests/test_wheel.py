"""The installed wheel works on its own: built-in packs, the CLI and the engine, run from outside the source tree.

Offline and bounded: the wheel is built by maturin (from the test extra) out of a copy of the sources, reusing the
checkout's cargo build tree so the native core is not compiled from scratch; it is installed with ``--no-index
--no-deps`` into a fresh ``venv``, and the dependencies are the ones already installed in this environment (made
visible to the new venv by a ``.pth`` line; nothing is downloaded).
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import subprocess
import sys
import sysconfig
import textwrap
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
#: what a source distribution carries into the wheel build
SOURCES = ("pyproject.toml", "README.md", "LICENSE", "NOTICE", "core", "trace_engine")
TIMEOUT = 300


def _run(cmd: list[str], extra_env: dict[str, str] | None = None, **kwargs) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("TRACE_PACKS_DIR", "PYTHONPATH", "VIRTUAL_ENV")}
    env.update(extra_env or {})
    env["PIP_NO_INDEX"] = "1"  # never reach for the network
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    result = subprocess.run(cmd, capture_output=True, text=True, timeout=TIMEOUT, env=env, **kwargs)
    assert result.returncode == 0, f"{cmd}\n{result.stdout}\n{result.stderr}"
    return result


@pytest.fixture(scope="module")
def venv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    maturin = shutil.which("maturin", path=str(Path(sys.executable).parent))
    if maturin is None:
        pytest.skip("the wheel build needs maturin (the [test] extra)")
    root = tmp_path_factory.mktemp("wheel")
    src = root / "src"
    src.mkdir()
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", "target", "_core*.so")
    for name in SOURCES:
        path = REPO / name
        if path.is_dir():
            shutil.copytree(path, src / name, ignore=ignore)
        else:
            shutil.copy2(path, src / name)
    dist = root / "dist"
    target = REPO / "core" / "target"
    target.mkdir(parents=True, exist_ok=True)
    # one build at a time on the shared cargo tree (pytest-xdist runs this fixture once per worker)
    with open(target / ".wheel-test.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        _run([maturin, "build", "--release", "--quiet", "--out", str(dist)], extra_env={"CARGO_TARGET_DIR": str(target)}, cwd=src)
    (wheel,) = dist.glob("trace_engine-*.whl")
    env_dir = root / "venv"
    _run([sys.executable, "-m", "venv", "--without-pip", str(env_dir)])
    python = env_dir / "bin" / "python"
    _run([sys.executable, "-m", "pip", "--python", str(python), "install", "--no-deps", "-q", str(wheel)])
    site = Path(_run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"]).stdout.strip())
    deps = {sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]}
    (site / "_trace_test_deps.pth").write_text("".join(p + "\n" for p in sorted(deps)))
    return env_dir


def test_wheel_ships_packs_license_and_notice(venv: Path) -> None:
    python = str(venv / "bin" / "python")
    probe = textwrap.dedent(
        """
        import json, importlib.metadata as md, trace_engine
        from trace_engine import packs
        dist = md.distribution("trace-engine")
        files = {str(f) for f in dist.files}
        print(json.dumps({
            "file": trace_engine.__file__,
            "builtin_dir": str(packs.BUILTIN_DIR),
            "builtin": sorted(p.name for p in packs.BUILTIN_DIR.rglob("*.trace")),
            "licenses": sorted(f.rsplit("/", 1)[-1] for f in files if "/licenses/" in f),
            "files": sorted(f for f in files if f.startswith("trace_engine/")),
            "version": trace_engine.__version__,
        }))
        """
    )
    info = json.loads(_run([python, "-c", probe], cwd=venv).stdout)
    assert info["file"].startswith(str(venv)), "imported the source tree, not the wheel"
    assert info["builtin_dir"].startswith(str(venv)) and info["builtin_dir"].endswith("trace_engine/builtin_packs")
    assert info["builtin"] == ["brand_voice.trace", "debt_collection.trace", "hipaa.trace", "pii.trace", "tcpa.trace"]
    assert info["licenses"] == ["LICENSE", "NOTICE"]
    data = {  # every data file of the package (models, vocabularies, schemas, grammar, notices) is in the wheel
        str(p.relative_to(REPO)) for p in (REPO / "trace_engine").rglob("*")
        if p.is_file() and p.suffix not in (".py", ".pyc") and "__pycache__" not in p.parts
    }
    assert data and data <= set(info["files"]), sorted(data - set(info["files"]))
    from trace_engine import __version__

    assert info["version"] == __version__


def test_engine_from_wheel_scores_a_call(venv: Path, tmp_path: Path) -> None:
    script = textwrap.dedent(
        """
        from trace_engine import Engine
        engine = Engine.from_config({"rule_packs": {"tcpa": {"enabled": True}, "pii": {"enabled": True}},
                                     "guardrails": {"mode": "modify", "inline_timeout_ms": 60000}})
        call = engine.start_call("wheel-1", metadata={"direction": "outbound", "call_purpose": "telemarketing", "business_name": "Acme"})
        print(call.agent_turn("your card 4111 1111 1111 1111 is on file", t=1.0).text)
        call.caller_turn("please stop calling me", t=2.0)
        call.agent_turn("but this offer is great, buy now", t=3.0)
        card = call.end(t=4.0)
        print(card.verdict, sorted({f.rule_id for f in card.findings}))
        """
    )
    out = _run([str(venv / "bin" / "python"), "-c", script], cwd=tmp_path).stdout.splitlines()
    assert out[0] == "your card XXXX XXXX XXXX 1111 is on file"
    verdict, rules = out[1].split(" ", 1)
    assert verdict == "FAIL" and "tcpa-004" in rules


def test_cli_from_wheel_names_builtin_packs(venv: Path, tmp_path: Path) -> None:
    trace = str(venv / "bin" / "trace")
    assert _run([trace, "--version"], cwd=tmp_path).stdout.startswith("trace ")
    checked = _run([trace, "check", "tcpa", "pii"], cwd=tmp_path).stdout
    assert "ok tcpa: tcpa@" in checked and "ok pii: pii@" in checked
    tested = _run([trace, "test", "pii"], cwd=tmp_path).stdout.strip().splitlines()[-1]
    assert tested.endswith(", 0 failed")
