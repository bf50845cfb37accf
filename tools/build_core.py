"""Install Trace into this virtualenv with its native core built for speed: profile-guided where the machine can.

``make install`` (and so ``make demo`` and ``make test``) runs this with the venv's Python. Profile-guided
optimization (PGO) builds the core twice: once instrumented, which runs ``tools/pgo_train.py`` (the bundled corpora
through the gate) and leaves counts of what ran; then optimized with those counts, so the compiler lays hot code
together and moves rare paths away from it. That matters here because a turn's cost is mostly instruction-cache
misses: in ``trace bench`` the gate's code is evicted between turns by the competitors timed beside it.

PGO needs an ``llvm-profdata`` that reads the raw profiles of the LLVM inside rustc: ``$LLVM_PROFDATA``, rustup's
``llvm-tools`` component, or a versioned ``llvm-profdata-N`` on the PATH (Debian's ``llvm-19`` package reads
rustc 1.95's), newest first. Without one, or with ``--no-pgo``, or when any PGO step fails, the core is built plain
(same code, same results, slower) and this says why. ``pip install .`` alone always builds plain.

    python tools/build_core.py [--no-pgo] [--extras test]    # install
    python tools/build_core.py --wheel dist                   # the wheel (make dist)

The build records which it was: ``trace_engine._core.NATIVE_BUILD`` is ``"pgo"`` or ``"plain"``, and ``trace bench``
reports it with its figures.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
TARGET = REPO / "core" / "target"
PROFILES = TARGET / "pgo-profiles"
MERGED = TARGET / "pgo.profdata"
#: the optimized build's flags; ``--cfg trace_pgo`` sets ``_core.NATIVE_BUILD``
USE_FLAGS = f"-Cprofile-use={MERGED} --cfg trace_pgo"


class BuildError(Exception):
    """A PGO step failed; the plain build follows."""


def say(message: str) -> None:
    print(f"build_core: {message}", flush=True)


def run(cmd: list[str], *, env_extra: dict[str, str] | None = None) -> None:
    env = {**os.environ, **(env_extra or {})}
    done = subprocess.run(cmd, env=env, cwd=REPO, capture_output=True, text=True)
    if done.returncode != 0:
        tail = "\n".join(((done.stderr or "") + (done.stdout or "")).strip().splitlines()[-15:])
        raise BuildError(f"{' '.join(cmd[:4])} ... exited {done.returncode}\n{tail}")


def cargo_env(rustflags: str = "", target: Path | None = None) -> dict[str, str]:
    """The environment a core build runs in: ``rustflags`` after the caller's own, output into ``target``."""
    env: dict[str, str] = {}
    flags = " ".join(f for f in (os.environ.get("RUSTFLAGS", ""), rustflags) if f)
    if flags:
        env["RUSTFLAGS"] = flags
    if target is not None:
        env["CARGO_TARGET_DIR"] = str(target)
    return env


def install(extras: str, rustflags: str = "", target: Path | None = None, deps: bool = True) -> None:
    """``pip install -e .[extras]`` with the core built under ``rustflags`` into ``target``."""
    spec = f".[{extras}]" if extras else "."
    run([sys.executable, "-m", "pip", "install", "-q", *([] if deps else ["--no-deps"]), "-e", spec],
        env_extra=cargo_env(rustflags, target))  # fmt: skip


def wheel(out: str) -> None:
    """The wheel into ``out``: profile-guided with the install's profile when it made one (``make dist``)."""
    env = cargo_env(USE_FLAGS, TARGET / "pgo-use") if MERGED.is_file() else {}
    maturin = Path(sys.executable).with_name("maturin")
    subprocess.run([str(maturin), "build", "--release", "--out", out], env={**os.environ, **env}, cwd=REPO,
                   check=True)  # fmt: skip


def profdata_tools() -> list[str]:
    """Every ``llvm-profdata`` found, in the order to try them: explicit, rustup's, then newest versioned first."""
    found: list[str] = []
    if os.environ.get("LLVM_PROFDATA"):
        found.append(os.environ["LLVM_PROFDATA"])
    try:
        sysroot = subprocess.run(["rustc", "--print", "sysroot"], capture_output=True, text=True).stdout.strip()
        host = re.search(r"^host: (\S+)", subprocess.run(["rustc", "-vV"], capture_output=True, text=True).stdout, re.M)
        if sysroot and host:
            rustup = Path(sysroot) / "lib" / "rustlib" / host.group(1) / "bin" / "llvm-profdata"
            if rustup.is_file():
                found.append(str(rustup))
    except OSError:
        pass
    versioned: list[tuple[int, str]] = []
    for folder in os.environ.get("PATH", "").split(os.pathsep):
        for candidate in Path(folder).glob("llvm-profdata-*") if Path(folder).is_dir() else ():
            number = candidate.name.removeprefix("llvm-profdata-")
            if number.isdigit():
                versioned.append((int(number), str(candidate)))
    found += [path for _, path in sorted(versioned, reverse=True)]
    if shutil.which("llvm-profdata"):
        found.append("llvm-profdata")
    unique: dict[str, str] = {}  # one entry per binary: /bin is often /usr/bin, llvm-profdata often a versioned one
    for tool in found:
        unique.setdefault(os.path.realpath(shutil.which(tool) or tool), tool)
    return list(unique.values())


def probe(tools: list[str]) -> str | None:
    """The first of ``tools`` that reads the profiles rustc writes, tried on a one-line instrumented program (a few
    seconds) rather than after the core's instrumented build; None when none does."""
    with tempfile.TemporaryDirectory(prefix="trace-pgo-probe-") as tmp:
        source, program = Path(tmp) / "probe.rs", Path(tmp) / "probe"
        source.write_text("fn main() { println!(\"{}\", std::env::args().count()); }\n")
        try:
            built = subprocess.run(["rustc", "-O", f"-Cprofile-generate={tmp}", "-o", str(program), str(source)],
                                   capture_output=True, text=True)  # fmt: skip
            if built.returncode != 0:
                return None
            subprocess.run([str(program)], env={**os.environ, "LLVM_PROFILE_FILE": f"{tmp}/probe.profraw"},
                           capture_output=True, check=True)  # fmt: skip
        except (OSError, subprocess.CalledProcessError):
            return None
        for tool in tools:
            try:
                merged = subprocess.run([tool, "merge", "-o", f"{tmp}/probe.profdata", f"{tmp}/probe.profraw"],
                                        capture_output=True)  # fmt: skip
            except OSError:  # $LLVM_PROFDATA names a missing or unrunnable file: try the next
                continue
            if merged.returncode == 0:
                return tool
    return None


def merge(tool: str) -> None:
    """Merge the training run's raw profiles into :data:`MERGED`."""
    raw = sorted(PROFILES.glob("*.profraw"))
    if not raw:
        raise BuildError("the training run left no profiles")
    run([tool, "merge", "-o", str(MERGED), *map(str, raw)])


def pgo(extras: str, tool: str) -> None:
    """The instrumented build, its training run, the merge with ``tool``, the optimized build."""
    shutil.rmtree(PROFILES, ignore_errors=True)
    MERGED.unlink(missing_ok=True)
    say("building the instrumented core (1 of 2)")
    install(extras, f"-Cprofile-generate={PROFILES}", TARGET / "pgo-generate")
    say("training it on the bundled corpora (tools/pgo_train.py)")
    run([sys.executable, str(REPO / "tools" / "pgo_train.py")],
        env_extra={"LLVM_PROFILE_FILE": str(PROFILES / "trace-%p-%m.profraw")})  # fmt: skip
    merge(tool)
    say("building the optimized core (2 of 2)")
    install(extras, USE_FLAGS, TARGET / "pgo-use", deps=False)


def built_as() -> str:
    done = subprocess.run([sys.executable, "-c", "import trace_engine._core as c; print(c.NATIVE_BUILD)"],
                          capture_output=True, text=True)  # fmt: skip
    return done.stdout.strip() or f"unknown ({done.stderr.strip()[-200:]})"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--no-pgo", action="store_true", help="build the core plain (faster to build)")
    parser.add_argument("--extras", default="test", help="the package extras to install (default: test)")
    parser.add_argument("--probe", action="store_true", help="only say which llvm-profdata works; exit 1 if none")
    parser.add_argument("--wheel", metavar="DIR", help="only build the wheel into DIR (with the install's profile)")
    args = parser.parse_args()
    if args.wheel:
        wheel(args.wheel)
        return 0
    tool = None if args.no_pgo else probe(profdata_tools())
    if args.probe:
        print(tool or "no llvm-profdata here reads rustc's profiles")
        return 0 if tool else 1
    if tool:
        try:
            pgo(args.extras, tool)
        except BuildError as exc:
            say(f"PGO failed, building plain instead: {exc}")
        else:
            say(f"native core: {built_as()} (profiles merged by {tool})")
            return 0
    elif not args.no_pgo:
        say("no llvm-profdata here reads rustc's profiles (Debian: apt-get install llvm-19): building the core plain")
    MERGED.unlink(missing_ok=True)
    try:
        install(args.extras)
    except BuildError as exc:
        print(f"build_core: {exc}", file=sys.stderr)
        return 1
    say(f"native core: {built_as()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
