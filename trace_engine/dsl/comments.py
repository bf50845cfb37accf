"""Comments kept through ``fmt`` and ``convert``: each belongs to a pack item, not to a line number.

A comment is attached to an item of the printed layout (a header field, a phrase set or one of its phrases, a
pattern, a state, a rule, a rule field, a check, a remedy, damages, an example), named by its printer key
(``("rule_at", 0, "check", 1)``), or to the end of the file (``anchor=None``):

* a comment alone on its line belongs to the first item that starts after it, and is printed on its own line above
  that item;
* a comment after code on its line (*trailing*) belongs to the last item that starts before it on that line, and is
  printed at the end of that item's line. So ``must_not_say pitch  # trace: ignore[TL003]`` keeps its suppression
  on the line it silences.

In the JSON form the comments are one list under the pack's ``comments`` key, in source order:
``{"at": "/rules/0/checks/1", "text": "# why", "trailing": true}``, where ``at`` is the JSON pointer of the item in
that same JSON document (absent for the end of the file) and ``trailing`` is omitted when false.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from trace_engine import ir
from trace_engine.errors import json_pointer

#: One printer key: ("header", FIELD), ("phrase_set", NAME), ("phrase", NAME, i), ("pattern", NAME),
#: ("state", NAME), ("rule_at", i, ...) — see :mod:`trace_engine.dsl.printer`.
Key = tuple


@dataclass(frozen=True, slots=True)
class Comment:
    """One source comment.

    Fields:
        text: the comment, starting with ``#``, without the line break.
        anchor: the printer key of the item it belongs to, or ``None`` for the end of the file.
        trailing: whether it ends the item's line (``True``) or sits on its own line above the item.
    """

    text: str
    anchor: Key | None
    trailing: bool = False


_RULE_PARTS = {"field", "check", "remedy", "damages", "example"}


def key_to_pointer(key: Key, pack: ir.Pack) -> str | None:
    """The JSON pointer of the item with printer key ``key`` in ``pack``'s JSON form (``None`` if unknown)."""
    kind, *rest = key
    if kind == "header" and len(rest) == 1:
        return json_pointer(("pack_id" if rest[0] == "pack_id" else rest[0],))
    if kind == "phrase_set" and len(rest) == 1:
        return json_pointer(("phrases", rest[0]))
    if kind == "phrase" and len(rest) == 2:
        return json_pointer(("phrases", rest[0], rest[1]))
    if kind == "pattern" and len(rest) == 1:
        return json_pointer(("patterns", rest[0]))
    if kind == "state" and len(rest) == 1:
        names = [s.name for s in pack.states]
        return json_pointer(("states", names.index(rest[0]))) if rest[0] in names else None
    if kind == "rule_at" and rest:
        path: list[Any] = ["rules", rest[0]]
        tail = rest[1:]
        if not tail:
            return json_pointer(path)
        part, *more = tail
        if part == "field" and len(more) == 1:
            return json_pointer([*path, more[0]])
        if part == "check" and len(more) == 1:
            return json_pointer([*path, "checks", more[0]])
        if part == "check" and len(more) == 3 and more[1] == "then":
            return json_pointer([*path, "checks", more[0], "then", more[2]])
        if part in ("remedy", "damages") and not more:
            return json_pointer([*path, part])
        if part == "example" and len(more) == 1:
            return json_pointer([*path, "examples", more[0]])
    return None


def pointer_to_key(pointer: str, pack: ir.Pack) -> Key | None:
    """The inverse of :func:`key_to_pointer`; ``None`` for a pointer that names no printed item of ``pack``."""
    if not pointer.startswith("/"):
        return None
    parts = [p.replace("~1", "/").replace("~0", "~") for p in pointer[1:].split("/")]
    head, rest = parts[0], parts[1:]
    if head in ("pack_id", "version", "jurisdiction", "legal_status", "description", "when") and not rest:
        return ("header", head)
    if head == "phrases" and len(rest) == 1:
        return ("phrase_set", rest[0])
    if head == "phrases" and len(rest) == 2 and rest[1].isdigit():
        return ("phrase", rest[0], int(rest[1]))
    if head == "patterns" and len(rest) == 1:
        return ("pattern", rest[0])
    if head == "states" and len(rest) == 1 and rest[0].isdigit() and int(rest[0]) < len(pack.states):
        return ("state", pack.states[int(rest[0])].name)
    if head == "rules" and rest and rest[0].isdigit():
        base: tuple = ("rule_at", int(rest[0]))
        tail = rest[1:]
        if not tail:
            return base
        if len(tail) == 1 and tail[0] in ("title", "severity", "citation", "reason", "when"):
            return (*base, "field", tail[0])
        if tail[0] == "checks" and len(tail) == 2 and tail[1].isdigit():
            return (*base, "check", int(tail[1]))
        if tail[0] == "checks" and len(tail) == 4 and tail[1].isdigit() and tail[2] == "then" and tail[3].isdigit():
            return (*base, "check", int(tail[1]), "then", int(tail[3]))
        if tail in (["remedy"], ["damages"]):
            return (*base, tail[0])
        if tail[0] == "examples" and len(tail) == 2 and tail[1].isdigit():
            return (*base, "example", int(tail[1]))
    return None


def to_json(comments: list[Comment], pack: ir.Pack) -> list[dict[str, Any]]:
    """The JSON form's ``comments`` list."""
    out: list[dict[str, Any]] = []
    for c in comments:
        item: dict[str, Any] = {}
        pointer = key_to_pointer(c.anchor, pack) if c.anchor is not None else None
        if pointer is not None:
            item["at"] = pointer
        item["text"] = c.text
        if c.trailing and pointer is not None:
            item["trailing"] = True
        out.append(item)
    return out


def from_json(items: list[dict[str, Any]], pack: ir.Pack) -> list[Comment]:
    """Comments from a (schema-valid) JSON ``comments`` list; a pointer that names no item puts the comment at the
    end of the file."""
    from trace_engine.dsl.printer import printed_keys

    known = printed_keys(pack)
    out = []
    for item in items:
        key = pointer_to_key(item["at"], pack) if isinstance(item.get("at"), str) else None
        if key not in known:
            key = None
        out.append(Comment(item["text"].rstrip(), key, bool(item.get("trailing")) and key is not None))
    return out


__all__ = ["Comment", "from_json", "key_to_pointer", "pointer_to_key", "to_json"]
