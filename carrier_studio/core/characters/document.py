"""A character file as the user wrote it.

The document is the decoded JSON object itself, key order and unknown keys included, so that
loading and saving a file changes nothing but formatting. Typed reads go through small
accessors; edits set keys in place (a key that was absent and is set to an empty value stays
absent, for the same reason).
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

from carrier_studio.core.errors import CarrierError
from carrier_studio.core.json_types import json_type as _json_type
from carrier_studio.core.jsonfile import parse_json

#: Studio fields on top of the ElizaOS v0 / Carrier keys (see DESIGN.md, Formats).
STUDIO_KEYS = ("model", "memory", "instagram", "handoffs", "tool_policy", "avatar")

#: Every key the studio knows, in the order a new character is written.
KNOWN_KEYS = (
    "version",
    "name",
    "username",
    "system",
    "bio",
    "lore",
    "messageExamples",
    "postExamples",
    "topics",
    "adjectives",
    "style",
    "settings",
    "clients",
    "modelProvider",
    "temperature",
    "mcp_servers",
    "tools",
    "discord_config",
    *STUDIO_KEYS,
)

CHARACTER_VERSION = 1


class CharacterError(CarrierError):
    """A character file cannot be read, parsed or written."""


class ExternalChangeError(CharacterError):
    """The file changed on disk after it was loaded; saving would overwrite someone's edit."""


def _is_empty(value: Any) -> bool:
    return value is None or value == "" or value == [] or value == {}


class CharacterDoc:
    def __init__(self, data: dict[str, Any]) -> None:
        self.data = data
        # The keys it came with: a field typed into and emptied again leaves the others
        # absent, as they were (undoing an edit left "username": "" and the page unsaved).
        self._given = frozenset(data)

    @classmethod
    def from_text(cls, text: str, path: Path | None = None) -> CharacterDoc:
        """Parse JSON text strictly; errors name the file, the line and what is wrong.

        Duplicate keys are refused rather than resolved: `json.loads` keeps the last one, so a
        save would silently drop the other value. Deep nesting is refused before the parser
        can raise `RecursionError`, which no caller expects.
        """
        data = parse_json(text, path=path, error=CharacterError)
        if not isinstance(data, dict):
            raise CharacterError(
                f"a character must be a JSON object, not {_json_type(data)}", path=path, where="$"
            )
        return cls(data)

    @classmethod
    def new(cls, name: str) -> CharacterDoc:
        """A blank character. It names no model provider, so it answers on the workspace's
        default model (a creator with only a local server gets a character that works)."""
        return cls(
            {
                "version": CHARACTER_VERSION,
                "name": name,
                "system": f"You are {name}.",
                "bio": [],
                "lore": [],
                "messageExamples": [],
                "postExamples": [],
                "topics": [],
                "adjectives": [],
                "style": {"all": [], "chat": [], "post": []},
                "settings": {"secrets": {}},
                "clients": [],
                "mcp_servers": [],
            }
        )

    def to_text(self) -> str:
        return json.dumps(self.data, indent=2, ensure_ascii=False) + "\n"

    def copy(self) -> CharacterDoc:
        return CharacterDoc(copy.deepcopy(self.data))

    def __eq__(self, other: object) -> bool:
        return isinstance(other, CharacterDoc) and self.data == other.data

    def __repr__(self) -> str:
        return f"CharacterDoc({self.name!r})"

    # -- reads ---------------------------------------------------------------------------------

    @property
    def name(self) -> str:
        value = self.data.get("name")
        return value if isinstance(value, str) else ""

    def text(self, key: str) -> str:
        value = self.data.get(key)
        return value if isinstance(value, str) else ""

    def strings(self, key: str) -> list[str]:
        """A list-of-strings field; a single string (ElizaOS allows it for bio) is one item."""
        value = self.data.get(key)
        if isinstance(value, str):
            return [value] if value else []
        if isinstance(value, list):
            return [item for item in value if isinstance(item, str)]
        return []

    def section(self, key: str) -> dict[str, Any]:
        value = self.data.get(key)
        return value if isinstance(value, dict) else {}

    def style(self, part: str) -> list[str]:
        value = self.section("style").get(part)
        return [item for item in value if isinstance(item, str)] if isinstance(value, list) else []

    # -- edits ---------------------------------------------------------------------------------

    def set(self, key: str, value: Any) -> None:
        """Set a top-level key; an empty value for a key the document did not come with
        leaves it absent."""
        if key not in self._given and _is_empty(value):
            self.data.pop(key, None)
            return
        self.data[key] = value

    def set_in(self, key: str, sub: str, value: Any) -> None:
        """Set ``data[key][sub]``, creating the section only for a non-empty value."""
        section = self.data.get(key)
        if not isinstance(section, dict):
            if _is_empty(value):
                return
            section = {}
            self.data[key] = section
        if sub not in section and _is_empty(value):
            return
        section[sub] = value
