"""CLI command groups. Each module exposes ``register(app)`` and adds its commands to the ``trace`` app.

Kept apart from :mod:`trace_engine.cli` so that each area (authoring, gate, evidence, service) owns its commands.
"""
