"""Packaging glue that pyproject.toml cannot express: ship ``rule_packs/`` inside the wheel.

The built-in packs live at the top of the repository (``rule_packs/``, where authors edit and test them); the wheel
carries them as the package data directory ``trace_engine/builtin_packs``, which :mod:`trace_engine.packs` finds
with :mod:`importlib.resources`. Everything else is in ``pyproject.toml``.

When the build moves to maturin, the same mapping is one ``include`` entry (or a copy step) that puts
``rule_packs/**`` under ``trace_engine/builtin_packs/`` in the wheel; nothing at run time changes.
"""

from setuptools import find_namespace_packages, setup

EXCLUDE = ["*__pycache__*"]
packs = ["trace_engine.builtin_packs"] + [
    f"trace_engine.builtin_packs.{sub}" for sub in find_namespace_packages(where="rule_packs", exclude=EXCLUDE)
]

setup(
    # data directories (trace_engine/data, tier2/data) are namespace packages, so package-data reaches them
    packages=[*find_namespace_packages(include=["trace_engine", "trace_engine.*"], exclude=EXCLUDE), *packs],
    package_dir={"trace_engine.builtin_packs": "rule_packs"},
)
