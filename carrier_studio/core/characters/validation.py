"""Checks on a character: errors (the file is wrong) and lint warnings (it works, but…).

Every issue names a JSON path (``$.style.chat[2]``) so the editor and the CLI can say exactly
where the problem is. Keys the studio does not know are never an error.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from carrier_studio.core.characters.document import CharacterDoc
from carrier_studio.core.json_types import json_type as _json_type
from carrier_studio.core.settings import PROVIDERS


class Severity(enum.Enum):
    ERROR = "error"
    WARNING = "warning"


@dataclass(frozen=True)
class Issue:
    severity: Severity
    path: str
    message: str
    #: A stable name for the kind of issue, so the UI can offer a fix (e.g. "secret-in-file").
    code: str = ""

    def __str__(self) -> str:
        return f"{self.path}: {self.message}"


Check = Callable[[Any, str, list[Issue]], None]

POLICIES = ("off", "ask", "auto")
_PLACEHOLDER = re.compile(r"^\{\{[A-Za-z0-9_]+\}\}$")
_PLACEHOLDER_SECRET = re.compile(r"YOUR_[A-Z0-9_]*_?HERE|<YOUR[^>]*>|CHANGE_?ME", re.IGNORECASE)


def is_placeholder(value: str) -> bool:
    """``YOUR_KEY_HERE``, ``<YOUR TOKEN>``, ``changeme``: a value that stands for a secret."""
    return bool(_PLACEHOLDER_SECRET.search(value))


def _error(issues: list[Issue], path: str, message: str, code: str = "type") -> None:
    issues.append(Issue(Severity.ERROR, path, message, code))


def _expect(kind: str, ok: Callable[[Any], bool]) -> Check:
    def check(value: Any, path: str, issues: list[Issue]) -> None:
        if not ok(value):
            _error(issues, path, f"must be {kind}, not {_json_type(value)}")

    return check


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


STRING = _expect("a string", lambda v: isinstance(v, str))
BOOL = _expect("true or false", lambda v: isinstance(v, bool))
OBJECT = _expect("an object", lambda v: isinstance(v, dict))


def _range(lo: float, hi: float, integer: bool = False) -> Check:
    def check(value: Any, path: str, issues: list[Issue]) -> None:
        if not _is_number(value) or (integer and not isinstance(value, int)):
            _error(issues, path, f"must be {'a whole number' if integer else 'a number'}")
        elif not lo <= value <= hi:
            _error(issues, path, f"must be between {lo:g} and {hi:g}, not {value:g}", "range")

    return check


def _list_of(item: Check) -> Check:
    def check(value: Any, path: str, issues: list[Issue]) -> None:
        if not isinstance(value, list):
            _error(issues, path, f"must be an array, not {_json_type(value)}")
            return
        for index, element in enumerate(value):
            item(element, f"{path}[{index}]", issues)

    return check


STRINGS = _list_of(STRING)


def _string_or_strings(value: Any, path: str, issues: list[Issue]) -> None:
    if not isinstance(value, str):
        STRINGS(value, path, issues)


def _one_of(choices: Iterable[str]) -> Check:
    allowed = tuple(choices)

    def check(value: Any, path: str, issues: list[Issue]) -> None:
        if value not in allowed:
            _error(issues, path, f"must be one of {', '.join(allowed)}, not {value!r}", "choice")

    return check


def _object(fields: dict[str, Check], values: Check | None = None) -> Check:
    """An object whose known fields are checked; unknown fields are kept and not checked."""

    def check(value: Any, path: str, issues: list[Issue]) -> None:
        if not isinstance(value, dict):
            _error(issues, path, f"must be an object, not {_json_type(value)}")
            return
        for key, element in value.items():
            if key in fields:
                fields[key](element, f"{path}.{key}", issues)
            elif values is not None:
                values(element, f"{path}.{key}", issues)

    return check


def _message(value: Any, path: str, issues: list[Issue]) -> None:
    if not isinstance(value, dict):
        _error(issues, path, f"must be a message object, not {_json_type(value)}")
        return
    speaker = value.get("user", value.get("name"))
    if not isinstance(speaker, str):
        _error(issues, path, 'needs a speaker: "user" (or "name") with a string', "missing")
    content = value.get("content")
    if not isinstance(content, dict):
        _error(issues, f"{path}.content", "must be an object with a text")
    elif not isinstance(content.get("text"), str):
        _error(issues, f"{path}.content.text", "must be a string")


_CONVERSATION = _list_of(_message)


def _conversation(value: Any, path: str, issues: list[Issue]) -> None:
    # ElizaOS v2 groups a conversation as {"name": ..., "examples": [...]}.
    if isinstance(value, dict) and "examples" in value:
        _CONVERSATION(value["examples"], f"{path}.examples", issues)
    else:
        _CONVERSATION(value, path, issues)


FIELDS: dict[str, Check] = {
    "version": _range(1, 1_000, integer=True),
    "name": STRING,
    "username": STRING,
    "system": STRING,
    "bio": _string_or_strings,
    "lore": STRINGS,
    "messageExamples": _list_of(_conversation),
    "postExamples": STRINGS,
    "topics": STRINGS,
    "adjectives": STRINGS,
    "style": _object({"all": STRINGS, "chat": STRINGS, "post": STRINGS}),
    "settings": _object({"secrets": _object({}, values=STRING)}),
    "clients": STRINGS,
    "plugins": STRINGS,
    "modelProvider": STRING,
    "temperature": _range(0, 2),
    "mcp_servers": STRINGS,
    "tools": _list_of(lambda v, p, i: None if isinstance(v, (str, dict)) else STRING(v, p, i)),
    "discord_config": _object(
        {"initial_channel": STRING, "initial_message": STRING, "allowed_channels": STRINGS}
    ),
    "model": _object(
        {
            "provider": _one_of(tuple(PROVIDERS)),
            "model": STRING,
            "endpoint": STRING,
            "temperature": _range(0, 2),
        }
    ),
    "memory": _object({"enabled": BOOL, "recall_k": _range(1, 100, integer=True)}),
    "instagram": _object({"enabled": BOOL, "default_hashtags": STRINGS}),
    "handoffs": STRINGS,
    "tool_policy": _object({}, values=_one_of(POLICIES)),
}


def validate(
    doc: CharacterDoc,
    *,
    mcp_servers: Iterable[str] | None = None,
    characters: Iterable[str] | None = None,
) -> list[Issue]:
    """Errors first, then lint warnings.

    Args:
        mcp_servers: names in the workspace's mcp_servers.json, to flag unknown references.
        characters: names of the other characters, to flag handoffs to nobody.
    """
    issues: list[Issue] = []
    data = doc.data
    name = data.get("name")
    if not isinstance(name, str) or not name.strip():
        _error(issues, "$.name", "is required: a character needs a name", "missing")
    for key, check in FIELDS.items():
        if key in data and key != "name":
            check(data[key], f"$.{key}", issues)
    issues.extend(_lint(doc, mcp_servers, characters))
    return issues


def errors(issues: Iterable[Issue]) -> list[Issue]:
    return [issue for issue in issues if issue.severity is Severity.ERROR]


# -- lint ------------------------------------------------------------------------------------


def _warn(path: str, message: str, code: str) -> Issue:
    return Issue(Severity.WARNING, path, message, code)


def _conversations(data: dict[str, Any]) -> Iterable[tuple[str, list[Any]]]:
    examples = data.get("messageExamples")
    if not isinstance(examples, list):
        return
    for index, conversation in enumerate(examples):
        path = f"$.messageExamples[{index}]"
        if isinstance(conversation, dict) and isinstance(conversation.get("examples"), list):
            yield f"{path}.examples", conversation["examples"]
        elif isinstance(conversation, list):
            yield path, conversation


def _walk_strings(value: Any, path: str) -> Iterable[tuple[str, str]]:
    if isinstance(value, str):
        yield path, value
    elif isinstance(value, list):
        for index, element in enumerate(value):
            yield from _walk_strings(element, f"{path}[{index}]")
    elif isinstance(value, dict):
        for key, element in value.items():
            yield from _walk_strings(element, f"{path}.{key}")


def _lint(
    doc: CharacterDoc, mcp_servers: Iterable[str] | None, characters: Iterable[str] | None
) -> list[Issue]:
    data = doc.data
    warnings: list[Issue] = []
    for path, conversation in _conversations(data):
        for index, message in enumerate(conversation):
            if not isinstance(message, dict):
                continue
            speaker = message.get("user", message.get("name"))
            if isinstance(speaker, str) and speaker != doc.name and not _PLACEHOLDER.match(speaker):
                warnings.append(
                    _warn(
                        f"{path}[{index}].user",
                        f'speaker "{speaker}" is neither a placeholder like {{{{user1}}}} nor '
                        f'the character ("{doc.name}")',
                        "speaker",
                    )
                )
    if mcp_servers is not None:
        known = set(mcp_servers)
        for index, server in enumerate(doc.strings("mcp_servers")):
            if server not in known:
                warnings.append(
                    _warn(
                        f"$.mcp_servers[{index}]",
                        f'"{server}" is not in the workspace\'s mcp_servers.json',
                        "unknown-mcp-server",
                    )
                )
    if characters is not None:
        others = set(characters)
        for index, target in enumerate(doc.strings("handoffs")):
            if target not in others:
                warnings.append(
                    _warn(f"$.handoffs[{index}]", f'no character is named "{target}"', "handoff")
                )
    secrets = doc.section("settings").get("secrets")
    if isinstance(secrets, dict):
        for key, value in secrets.items():
            if isinstance(value, str) and value and not is_placeholder(value):
                warnings.append(
                    _warn(
                        f"$.settings.secrets.{key}",
                        "a secret is stored in the character file; move it to the keyring",
                        "secret-in-file",
                    )
                )
    for path, text in _walk_strings(data, "$"):
        if is_placeholder(text):
            warnings.append(
                _warn(path, f'"{text}" is a placeholder, not a real value', "placeholder-secret")
            )
    for part in ("all", "chat", "post"):
        if not doc.style(part):
            warnings.append(
                _warn(
                    f"$.style.{part}",
                    f"style.{part} is empty: the character has no {part} style rules",
                    "empty-style",
                )
            )
    return warnings
