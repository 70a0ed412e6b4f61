"""What the format converters share: the format names, their results, paths and secrets."""

from __future__ import annotations

import copy
import enum
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from carrier_studio.core.characters.document import STUDIO_KEYS, CharacterDoc


class Format(enum.Enum):
    CARRIER = "carrier"
    ELIZA_V0 = "eliza-v0"
    ELIZA_V1 = "eliza-v1"
    ELIZA_V2 = "eliza-v2"
    CARD_V2 = "card-v2"
    CARD_V3 = "card-v3"
    #: A PNG image carrying a V2 card (``chara`` text chunk) and a V3 card (``ccv3``).
    CARD_PNG = "card-png"
    UNKNOWN = "unknown"


FORMAT_LABELS: dict[Format, str] = {
    Format.CARRIER: "Carrier Studio",
    Format.ELIZA_V0: "ElizaOS v0 (0.1.x)",
    Format.ELIZA_V1: "ElizaOS v1",
    Format.ELIZA_V2: "ElizaOS v2",
    Format.CARD_V2: "Character Card V2",
    Format.CARD_V3: "Character Card V3",
    Format.CARD_PNG: "Character Card PNG (V2 + V3)",
    Format.UNKNOWN: "Unknown format",
}


@dataclass(frozen=True)
class ImportResult:
    """A character in the studio's own shape, the format it came from, and what to tell the user."""

    doc: CharacterDoc
    source: Format
    notes: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class ExportResult:
    """A plain JSON object in the target format and what it could not carry (JSON paths + why)."""

    data: dict[str, Any]
    lost: list[str] = field(default_factory=list)


#: Keys the Carrier format adds on top of ElizaOS v0.
CARRIER_KEYS = ("version", "mcp_servers", "tools", "discord_config", *STUDIO_KEYS)

#: Where an imported ElizaOS v2 file keeps its example groups without their examples, one per
#: conversation in ``messageExamples`` (``{"name": "Greeting"}``), for a later v2 export.
GROUPS_KEY = "messageExampleGroups"

#: Where an imported Character Card keeps the card fields the studio has no place for.
CARD_KEY = "card"

#: The studio key naming the character's avatar image, relative to the character file
#: (an imported PNG card's picture is stored beside the file and named here).
AVATAR_KEY = "avatar"

_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def json_path(parent: str, key: str) -> str:
    return f"{parent}.{key}" if _IDENTIFIER.match(key) else f'{parent}["{key}"]'


def rename_key(value: Any, old: str, new: str) -> Any:
    """``value`` with its key ``old`` renamed to ``new`` in the same position.

    Anything else (not an object, no ``old`` key, ``new`` already there) comes back as it is:
    a wrong shape is for validation to report, not for a converter to guess at.
    """
    if not isinstance(value, dict) or old not in value or new in value:
        return value
    return {new if key == old else key: element for key, element in value.items()}


def messages_of(conversation: Any) -> list[Any] | None:
    """The messages of a plain conversation or an ElizaOS v2 group; None for another shape."""
    if isinstance(conversation, dict):
        examples = conversation.get("examples")
        return examples if isinstance(examples, list) else None
    return conversation if isinstance(conversation, list) else None


def speaker_keys(examples: Any) -> Iterator[str]:
    """ "user" or "name" for each example message that names its speaker."""
    if not isinstance(examples, list):
        return
    for conversation in examples:
        for message in messages_of(conversation) or []:
            if isinstance(message, dict):
                if "user" in message:
                    yield "user"
                elif "name" in message:
                    yield "name"


def is_empty(value: Any) -> bool:
    return value is None or value == "" or value == [] or value == {}


# -- secrets ---------------------------------------------------------------------------------

#: Setting names that hold a credential even outside ``secrets`` (``DISCORD_API_TOKEN``).
_CREDENTIAL = re.compile(r"(api_?key|token|secret|password|passwd)$", re.IGNORECASE)
_REMOVED = "[secret removed]"


@dataclass
class Secrets:
    """The secret values found in a document: where they were and what they were."""

    found: list[tuple[str, str]] = field(default_factory=list)

    @property
    def values(self) -> list[str]:
        # Very short values ("1", "no") would match everywhere; they are blanked, not searched.
        return sorted({value for _, value in self.found if len(value) >= 4}, key=len, reverse=True)

    def lost(self, what: str) -> list[str]:
        return [f"{path} (secret values are never exported; {what})" for path, _ in self.found]


def _blank(value: Any, path: str, secret: bool, secrets: Secrets) -> Any:
    if isinstance(value, dict):
        return {
            key: _blank(
                element,
                json_path(path, key),
                secret or key == "secrets" or bool(_CREDENTIAL.search(key)),
                secrets,
            )
            for key, element in value.items()
        }
    if isinstance(value, list):
        return [_blank(item, f"{path}[{i}]", secret, secrets) for i, item in enumerate(value)]
    if secret and isinstance(value, str) and value:
        secrets.found.append((path, value))
        return ""
    return copy.deepcopy(value)


def without_secrets(data: dict[str, Any]) -> tuple[dict[str, Any], Secrets]:
    """A deep copy of ``data`` with every secret value blanked (its key kept), and the secrets.

    Secrets are the values under ``settings.secrets`` and the top-level ``secrets`` (ElizaOS
    1.x), and settings whose name says credential (``…_API_KEY``, ``…TOKEN``, ``…PASSWORD``).
    """
    secrets = Secrets()
    clean = {}
    for key, value in data.items():
        if key == "settings":
            clean[key] = _blank(value, "$.settings", False, secrets)
        elif key == "secrets":
            clean[key] = _blank(value, "$.secrets", True, secrets)
        else:
            clean[key] = copy.deepcopy(value)
    return clean, secrets


def scrub(value: Any, secrets: list[str], path: str, lost: list[str]) -> Any:
    """``value`` with any secret value that was copied into another field cut out of its text."""
    if not secrets:
        return value
    if isinstance(value, dict):
        return {k: scrub(v, secrets, json_path(path, k), lost) for k, v in value.items()}
    if isinstance(value, list):
        return [scrub(item, secrets, f"{path}[{i}]", lost) for i, item in enumerate(value)]
    if isinstance(value, str) and any(secret in value for secret in secrets):
        for secret in secrets:
            value = value.replace(secret, _REMOVED)
        lost.append(f"{path} (held a secret value; it was replaced by {_REMOVED})")
    return value


# -- describing what an export leaves out ---------------------------------------------------

_UNITS = {
    "lore": "lines",
    "clients": "clients",
    "mcp_servers": "servers",
    "tools": "tools",
    "handoffs": "characters",
    GROUPS_KEY: "titles",
}


def amount(key: str, value: Any) -> str:
    """A short measure of a value for a message: "4 lines", '"openai"', "2 entries"."""
    if isinstance(value, list):
        unit = _UNITS.get(key, "items")
        return f"{len(value)} {unit if len(value) != 1 else unit[:-1]}"
    if isinstance(value, dict):
        return f"{len(value)} {'entry' if len(value) == 1 else 'entries'}"
    if isinstance(value, str):
        return f'"{value}"' if len(value) <= 40 else f"{len(value)} characters"
    return str(value).lower() if isinstance(value, bool) else str(value)
