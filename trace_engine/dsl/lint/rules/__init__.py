"""Lint rules, one per module (``tlNNN_name.py``). The ordered registry is :mod:`trace_engine.dsl.lint.registry`."""
