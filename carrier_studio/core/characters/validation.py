"""Checks on a character: errors (the file is wrong) and lint warnings (it works, but…).

Every issue names a JSON path (``$.style.chat[2]``) so the editor and the CLI can say exactly
where the problem is. Keys the studio does not know are never an error.

`export_warnings` adds what would stop the character's export from validating against the
target format's public schema (the ElizaOS characterfile schema for v0, the ElizaOS 1.x
character type for v1/v2, the Character Card V2/V3 specs): a person hears it before another
app refuses the file. The rules restate the schemas' required parts; a test checks them against
the vendored schemas with ``jsonschema``.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from carrier_studio.core.characters.document import CharacterDoc
from carrier_studio.core.characters.formats import EXPORTERS, FORMAT_LABELS, Format
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
    "memory": _object(
        {"enabled": BOOL, "recall_k": _range(1, 100, integer=True), "min_score": _range(0, 1)}
    ),
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
    # Worded for the Style tab's boxes ("the character has no all style rules" read oddly).
    for part, box in (("all", "Always"), ("chat", "In chat"), ("post", "In posts")):
        if not doc.style(part):
            warnings.append(
                _warn(
                    f"$.style.{part}",
                    f'no writing rules yet in the Style tab\'s "{box}" list',
                    "empty-style",
                )
            )
    return warnings


# -- would the export validate? -------------------------------------------------------------

#: What the ElizaOS characterfile schema (v0) wants non-empty, and what the field holds.
_V0_NON_EMPTY = {
    "bio": "biography lines",
    "lore": "lore lines",
    "messageExamples": "example conversations",
    "postExamples": "example posts",
    "adjectives": "adjectives",
    "topics": "topics",
}


def _export_issue(target: Format, path: str, message: str) -> Issue:
    return Issue(
        Severity.WARNING,
        path,
        f"{message}; an {FORMAT_LABELS[target]} export would not validate",
        f"export-{target.value}",
    )


def _strings_at(value: Any, path: str, at_least_one: bool) -> Iterable[tuple[str, str]]:
    if not isinstance(value, list):
        yield path, f"must be an array of strings, not {_json_type(value)}"
        return
    if at_least_one and not value:
        yield path, "is empty"
    for index, item in enumerate(value):
        if not isinstance(item, str):
            yield f"{path}[{index}]", f"must be a string, not {_json_type(item)}"


def _check_messages(data: dict[str, Any], speaker: str, at_least_one: bool) -> list[tuple]:
    found: list[tuple[str, str]] = []
    examples = data.get("messageExamples")
    if examples is None:
        return found
    if not isinstance(examples, list):
        return [("$.messageExamples", f"must be an array, not {_json_type(examples)}")]
    for i, conversation in enumerate(examples):
        path = f"$.messageExamples[{i}]"
        if isinstance(conversation, dict) and speaker == "name":  # v2 groups
            conversation = conversation.get("examples")
            path += ".examples"
        if not isinstance(conversation, list):
            found.append((path, f"must be an array of messages, not {_json_type(conversation)}"))
            continue
        if at_least_one and not conversation:
            found.append((path, "is an empty conversation"))
        for j, message in enumerate(conversation):
            where = f"{path}[{j}]"
            if not isinstance(message, dict):
                found.append((where, f"must be a message object, not {_json_type(message)}"))
                continue
            if not isinstance(message.get(speaker), str):
                found.append((f"{where}.{speaker}", f'needs the speaker as "{speaker}"'))
            content = message.get("content")
            if not isinstance(content, dict) or not isinstance(content.get("text"), str):
                found.append((f"{where}.content.text", "needs the message text"))
    return found


def _eliza_v0(data: dict[str, Any]) -> list[tuple[str, str]]:
    found: list[tuple[str, str]] = []
    if not isinstance(data.get("name"), str):
        found.append(("$.name", "is required"))
    for key, what in _V0_NON_EMPTY.items():
        if key == "messageExamples":
            value = data.get(key)
            if not isinstance(value, list) or not value:
                found.append((f"$.{key}", f"needs at least one item ({what})"))
            found += _check_messages(data, "user", at_least_one=True)
            continue
        for path, message in _strings_at(data.get(key), f"$.{key}", at_least_one=True):
            found.append(
                (
                    path,
                    f"needs at least one item ({what})"
                    if path == f"$.{key}" and message == "is empty"
                    else message,
                )
            )
    style = data.get("style")
    for part in ("all", "chat", "post"):
        value = style.get(part) if isinstance(style, dict) else None
        for path, message in _strings_at(value, f"$.style.{part}", at_least_one=True):
            found.append(
                (path, "needs at least one style rule" if message == "is empty" else message)
            )
    knowledge = data.get("knowledge")
    for index, item in enumerate(knowledge if isinstance(knowledge, list) else []):
        if not (
            isinstance(item, dict)
            and all(isinstance(item.get(k), str) for k in ("id", "path", "content"))
        ):
            found.append(
                (
                    f"$.knowledge[{index}]",
                    "the characterfile schema wants an object with id, path and content",
                )
            )
    return found


def _eliza_v1(data: dict[str, Any]) -> list[tuple[str, str]]:
    found: list[tuple[str, str]] = []
    if not isinstance(data.get("name"), str) or not data["name"]:
        found.append(("$.name", "is required"))
    bio = data.get("bio")
    if not isinstance(bio, str):
        found += list(_strings_at(bio, "$.bio", at_least_one=False))
    for key in ("postExamples", "topics", "adjectives", "plugins"):
        if key in data:
            found += list(_strings_at(data[key], f"$.{key}", at_least_one=False))
    found += _check_messages(data, "name", at_least_one=False)
    return found


def _card(data: dict[str, Any]) -> list[tuple[str, str]]:
    fields = data.get("data")
    if not isinstance(fields, dict):
        return [("$.data", "is required")]
    if not isinstance(fields.get("name"), str) or not fields["name"].strip():
        return [("$.data.name", "is required")]
    return []


_RULES = {
    Format.ELIZA_V0: _eliza_v0,
    Format.ELIZA_V1: _eliza_v1,
    Format.ELIZA_V2: _eliza_v1,
    Format.CARD_V2: _card,
    Format.CARD_V3: _card,
    Format.CARD_PNG: _card,
}


def export_warnings(doc: CharacterDoc, target: Format) -> list[Issue]:
    """Warnings, each naming the field, for what would not validate in ``target``'s schema.

    The paths are the exported file's; for the ElizaOS formats they are the document's own.
    """
    rule = _RULES.get(target)
    if rule is None:
        return []
    exporter = EXPORTERS[Format.CARD_V2 if target is Format.CARD_PNG else target]
    return [_export_issue(target, path, message) for path, message in rule(exporter(doc).data)]
