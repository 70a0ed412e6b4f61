"""Small edits to JSON text that leave every other byte as the user wrote it.

`json.dumps` after `json.loads` re-indents a hand-written file: inline arrays are spread over
lines, spacing changes. Turning one server on or off should change one value, so this module
finds where a value sits in the text and replaces (or inserts) just that member.

The text must already be valid JSON (callers parse it with `json.loads` first); with duplicate
keys the last one wins, as in `json.loads`.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field

_WS = re.compile(r"[ \t\n\r]*")
_DECODER = json.JSONDecoder()


@dataclass
class _Member:
    key_start: int
    value_start: int
    value_end: int


@dataclass
class _Object:
    start: int  # the "{"
    end: int  # just after the "}"
    members: dict[str, _Member] = field(default_factory=dict)
    last_key_start: int | None = None
    last_value_end: int | None = None


def _skip_ws(text: str, index: int) -> int:
    match = _WS.match(text, index)
    return match.end() if match else index


def _scan_object(text: str, start: int) -> _Object:
    """The members of the object whose "{" is at ``start``, with their spans."""
    obj = _Object(start=start, end=start)
    index = _skip_ws(text, start + 1)
    if text[index] == "}":
        obj.end = index + 1
        return obj
    while True:
        key_start = index
        key, index = json.decoder.scanstring(text, index + 1)
        index = _skip_ws(text, index)
        index = _skip_ws(text, index + 1)  # the ":"
        value_start = index
        _, value_end = _DECODER.raw_decode(text, value_start)
        obj.members[key] = _Member(key_start, value_start, value_end)
        obj.last_key_start = key_start
        obj.last_value_end = value_end
        index = _skip_ws(text, value_end)
        if text[index] == "}":
            obj.end = index + 1
            return obj
        index = _skip_ws(text, index + 1)  # the ","


def _find_object(text: str, keys: tuple[str, ...]) -> _Object | None:
    """The object at ``keys`` (object keys from the top), or None if it is not an object."""
    index = _skip_ws(text, 0)
    if text[index] != "{":
        return None
    obj = _scan_object(text, index)
    for key in keys:
        member = obj.members.get(key)
        if member is None or text[member.value_start] != "{":
            return None
        obj = _scan_object(text, member.value_start)
    return obj


def _line_indent(text: str, index: int) -> str | None:
    """The whitespace before ``index`` on its line, or None if something else precedes it."""
    line_start = text.rfind("\n", 0, index) + 1
    prefix = text[line_start:index]
    return prefix if prefix.strip() == "" else None


def set_member(text: str, keys: tuple[str, ...], name: str, value: object) -> str | None:
    """``text`` with ``name`` in the object at ``keys`` set to ``value``; None if not possible.

    An existing member keeps its place and only its value changes. A new member is added after
    the last one, indented like it (or on the same line when the object is on one line).
    """
    obj = _find_object(text, keys)
    if obj is None:
        return None
    encoded = json.dumps(value, ensure_ascii=False)
    member = obj.members.get(name)
    if member is not None:
        return text[: member.value_start] + encoded + text[member.value_end :]
    new = f"{json.dumps(name, ensure_ascii=False)}: {encoded}"
    if obj.last_key_start is None or obj.last_value_end is None:
        return text[: obj.start] + "{" + new + "}" + text[obj.end :]
    indent = _line_indent(text, obj.last_key_start)
    separator = f",\n{indent}" if indent is not None else ", "
    at = obj.last_value_end
    return text[:at] + separator + new + text[at:]
