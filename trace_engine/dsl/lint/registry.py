"""Every lint rule, in code order. Adding a rule: write ``rules/tlNNN_name.py`` and append its class here."""

from __future__ import annotations

from trace_engine.dsl.lint.base import LintRule
from trace_engine.dsl.lint.rules.tl001_duplicate_rule_id import DuplicateRuleId
from trace_engine.dsl.lint.rules.tl002_unmatchable_phrase import UnmatchablePhrase
from trace_engine.dsl.lint.rules.tl003_shadowed_phrase import ShadowedPhrase
from trace_engine.dsl.lint.rules.tl004_regex_without_atom import RegexWithoutAtom
from trace_engine.dsl.lint.rules.tl005_non_linear_regex import NonLinearRegex
from trace_engine.dsl.lint.rules.tl006_missing_citation import MissingCitation
from trace_engine.dsl.lint.rules.tl007_undefined_variable import UndefinedVariable
from trace_engine.dsl.lint.rules.tl008_unsatisfiable_window import UnsatisfiableWindow
from trace_engine.dsl.lint.rules.tl009_required_and_forbidden import RequiredAndForbidden
from trace_engine.dsl.lint.rules.tl010_unused_definition import UnusedDefinition
from trace_engine.dsl.lint.rules.tl011_unused_state import UnusedState
from trace_engine.dsl.lint.rules.tl012_missing_example import MissingExample
from trace_engine.dsl.lint.rules.tl013_fact_value_never_seen import FactValueNeverSeen

__all__ = ["RULES", "RULES_BY_CODE", "RULES_BY_NAME", "docs_path", "lookup"]

RULES: tuple[type[LintRule], ...] = (
    DuplicateRuleId,
    UnmatchablePhrase,
    ShadowedPhrase,
    RegexWithoutAtom,
    NonLinearRegex,
    MissingCitation,
    UndefinedVariable,
    UnsatisfiableWindow,
    RequiredAndForbidden,
    UnusedDefinition,
    UnusedState,
    MissingExample,
    FactValueNeverSeen,
)

RULES_BY_CODE: dict[str, type[LintRule]] = {rule.code: rule for rule in RULES}
RULES_BY_NAME: dict[str, type[LintRule]] = {rule.name: rule for rule in RULES}


def lookup(code_or_name: str) -> type[LintRule]:
    """A rule by code (``TL003``, any case) or name (``shadowed-phrase``); ``KeyError`` when unknown."""
    rule = RULES_BY_CODE.get(code_or_name.upper()) or RULES_BY_NAME.get(code_or_name)
    if rule is None:
        raise KeyError(code_or_name)
    return rule


def docs_path(code: str) -> str:
    """The repository-relative path of a rule's generated docs page."""
    return f"docs/lint/{code}.md"
