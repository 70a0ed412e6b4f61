"""ElizaOS files to and from the studio's shape: 1.x (v1, and v2 with titled example groups)
in both directions, and the v0 characterfile format (0.1.x) as an export.

The studio's shape is ElizaOS v0 plus the Carrier keys, so the two differ in little: example
messages name their speaker with ``"user"`` here and ``"name"`` there, v2 wraps each example
conversation in ``{"name": title, "examples": [...]}``, and v1 has no lore, clients, model
provider or Carrier keys. Import keeps every key (``knowledge``, ``plugins``, ``templates``, ``id``
and the rest stay as they are); export writes only the keys ElizaOS 1.x defines and lists the
others in ``lost``.

A v0 export keeps every key but the Carrier ones (a v0 file is the studio's shape minus those), so
keys another v0 tool wrote (``people``, ``twitterProfile``, …) go back out. It fills the keys
ElizaOS 0.1.x cannot start without (``lore``, ``clients``, ``plugins``, ``style``…) with empty
values rather than inventing content; lint says which of them the public characterfile schema
also wants non-empty.
"""

from __future__ import annotations

import copy
from typing import Any

from carrier_studio.core.characters.document import CHARACTER_VERSION, CharacterDoc
from carrier_studio.core.characters.formats.base import (
    CARD_KEY,
    CARRIER_KEYS,
    GROUPS_KEY,
    ExportResult,
    Format,
    ImportResult,
    amount,
    is_empty,
    json_path,
    rename_key,
    scrub,
    without_secrets,
)

#: The keys an ElizaOS 1.x character carries, in the order an export writes them.
ELIZA_KEYS = (
    "id",
    "name",
    "username",
    "system",
    "bio",
    "messageExamples",
    "postExamples",
    "topics",
    "adjectives",
    "knowledge",
    "plugins",
    "settings",
    "style",
    "templates",
)

#: The keys ElizaOS 1.x requires, with what an export writes when the document has none.
_REQUIRED: dict[str, Any] = {"name": "", "bio": []}

#: ElizaOS 1.x loads a model provider or a platform client as a plugin.
PROVIDER_PLUGINS = {
    "openai": "@elizaos/plugin-openai",
    "anthropic": "@elizaos/plugin-anthropic",
}
CLIENT_PLUGINS = {
    "discord": "@elizaos/plugin-discord",
    "telegram": "@elizaos/plugin-telegram",
    "twitter": "@elizaos/plugin-twitter",
}

_WHY = {
    "lore": "{v} has no lore",
    "clients": "{v} connects platforms with plugins, not clients",
    "modelProvider": "{v} picks the model with a plugin, not modelProvider",
    "temperature": "{v} has no temperature field",
    "mcp_servers": "{v} has no MCP servers",
    "tools": "{v} has no tools list",
    "discord_config": "the Discord channel and greeting are Carrier Studio settings",
    "model": "the model choice is a Carrier Studio setting",
    "memory": "memory is a Carrier Studio setting",
    "instagram": "Instagram posting is a Carrier Studio setting",
    "handoffs": "handoffs are a Carrier Studio feature",
    "tool_policy": "tool permissions are a Carrier Studio setting",
    CARD_KEY: "Character Card fields; {v} has no place for them",
    "avatar": "the avatar is a picture stored beside the Carrier Studio file",
    GROUPS_KEY: "{v} has no titles for example conversations",
}


# -- import ----------------------------------------------------------------------------------


def import_eliza(raw: dict[str, Any], source: Format) -> ImportResult:
    """An ElizaOS v1 or v2 character in the studio's shape; ``raw`` is not changed."""
    notes: list[str] = []
    data: dict[str, Any] = {} if "version" in raw else {"version": CHARACTER_VERSION}
    for key, value in raw.items():
        if key == "messageExamples" and isinstance(value, list):
            examples, groups, renamed = _ungroup(value)
            data[key] = examples
            if renamed:
                notes.append(
                    f'{renamed} example messages now name their speaker with "user" '
                    f'(ElizaOS 1.x writes "name").'
                )
            if groups is not None:
                data[GROUPS_KEY] = groups
                notes.append(
                    f"The {len(groups)} example conversations were titled groups; the titles "
                    f"are kept in $.{GROUPS_KEY} so an ElizaOS v2 export writes them back."
                )
        else:
            data[key] = copy.deepcopy(value)
    if isinstance(raw.get("secrets"), dict) and any(raw["secrets"].values()):
        notes.append(
            "$.secrets holds secret values: store them in the keyring (Settings) and remove "
            "them from the file. Exports never include them."
        )
    return ImportResult(CharacterDoc(data), source, notes)


def _ungroup(examples: list[Any]) -> tuple[list[Any], list[dict[str, Any]] | None, int]:
    """Plain conversations with "user" speakers, the group headers (None if no group), renames."""
    conversations: list[Any] = []
    headers: list[dict[str, Any]] = []
    grouped = False
    renamed = 0
    for conversation in examples:
        header: dict[str, Any] = {}
        if isinstance(conversation, dict) and isinstance(conversation.get("examples"), list):
            grouped = True
            header = {k: copy.deepcopy(v) for k, v in conversation.items() if k != "examples"}
            conversation = conversation["examples"]
        if isinstance(conversation, list):
            messages = [rename_key(copy.deepcopy(m), "name", "user") for m in conversation]
            renamed += sum(
                isinstance(m, dict) and "name" in m and "user" not in m for m in conversation
            )
            conversations.append(messages)
        else:
            conversations.append(copy.deepcopy(conversation))
        headers.append(header)
    return conversations, (headers if grouped else None), renamed


# -- export ----------------------------------------------------------------------------------

#: What ElizaOS 0.1.x requires of a character (its zod schema), with the empty value an export
#: writes when the document has none. ``modelProvider`` is filled from the studio's model.
_V0_REQUIRED: dict[str, Any] = {
    "name": "",
    "modelProvider": "openai",
    "bio": [],
    "lore": [],
    "messageExamples": [],
    "postExamples": [],
    "topics": [],
    "adjectives": [],
    "clients": [],
    "plugins": [],
    "style": {"all": [], "chat": [], "post": []},
}


def export_eliza_v0(doc: CharacterDoc) -> ExportResult:
    """The character as an ElizaOS v0 characterfile: Carrier keys left out, secrets blanked."""
    label = "ElizaOS v0"
    clean, secrets = without_secrets(doc.data)
    lost = secrets.lost(f"set it again in {label}")
    out: dict[str, Any] = {}
    for key, value in clean.items():
        if key == "version":
            continue  # the Carrier file's own version, not part of the character
        if key in CARRIER_KEYS or key in (CARD_KEY, GROUPS_KEY):
            if not is_empty(value):
                lost.append(_why(key, value, label, None))
            continue
        if key == "bio" and isinstance(value, str):
            value = [value] if value else []  # the characterfile schema wants an array
        elif key == "messageExamples" and isinstance(value, list):
            value = _v0_examples(value, lost)
        elif key == "clients" and isinstance(value, list):
            value = [c.lower() if isinstance(c, str) else c for c in value]
        out[key] = value
    model = clean.get("model")
    provider = model.get("provider") if isinstance(model, dict) else None
    for key, empty in _V0_REQUIRED.items():
        if key not in out:
            out[key] = provider if key == "modelProvider" and provider else copy.deepcopy(empty)
    style = out.get("style")
    if isinstance(style, dict):
        for part in ("all", "chat", "post"):
            style.setdefault(part, [])
    out = scrub(out, secrets.values, "$", lost)
    return ExportResult(out, lost)


def _v0_examples(examples: list[Any], lost: list[str]) -> list[Any]:
    """Plain conversations with "user" speakers; a v2 group's title is reported as lost."""
    out: list[Any] = []
    for index, conversation in enumerate(examples):
        if isinstance(conversation, dict) and isinstance(conversation.get("examples"), list):
            title = {k: v for k, v in conversation.items() if k != "examples"}
            if not is_empty(title):
                lost.append(
                    f"$.messageExamples[{index}].name (ElizaOS v0 has no titles for example "
                    f"conversations; {amount('name', title.get('name', ''))})"
                )
            conversation = conversation["examples"]
        if isinstance(conversation, list):
            conversation = [rename_key(message, "name", "user") for message in conversation]
        out.append(conversation)
    return out


def export_eliza_v1(doc: CharacterDoc) -> ExportResult:
    """The character as an ElizaOS v1 file: strict keys, secret values blanked."""
    return _export(doc, grouped=False)


def export_eliza_v2(doc: CharacterDoc) -> ExportResult:
    """As :func:`export_eliza_v1`, with example conversations as titled groups.

    Titles come from ``messageExampleGroups`` (kept by a v2 import) while it still lines up
    with the conversations; otherwise each group is titled "Conversation N".
    """
    return _export(doc, grouped=True)


def _export(doc: CharacterDoc, grouped: bool) -> ExportResult:
    label = "ElizaOS v2" if grouped else "ElizaOS v1"
    clean, secrets = without_secrets(doc.data)
    lost = secrets.lost(f"set it again in {label}")
    out: dict[str, Any] = {}
    plugins = _plugins(clean)
    for key in ELIZA_KEYS:
        if key == "messageExamples" and key in clean:
            out[key] = _examples(clean, grouped, lost)
        elif key == "plugins" and plugins is not None:
            out[key] = plugins
        elif key in clean:
            out[key] = clean[key]
        elif key in _REQUIRED:
            out[key] = copy.deepcopy(_REQUIRED[key])
    for key, value in clean.items():
        if key in ELIZA_KEYS or key == "version" or (key == GROUPS_KEY and grouped):
            continue  # version is the Carrier file's own version, not part of the character
        if key == "secrets":
            continue  # its values are listed above; the key names alone are no loss
        if not is_empty(value):
            lost.append(_why(key, value, label, plugins if "plugins" not in clean else None))
    out = scrub(out, secrets.values, "$", lost)
    return ExportResult(out, lost)


def _why(key: str, value: Any, label: str, derived: list[str] | None) -> str:
    reason = _WHY.get(key, "not an {v} field").format(v=label)
    mapped = {"modelProvider": PROVIDER_PLUGINS, "clients": CLIENT_PLUGINS}.get(key, {})
    written = [p for name, p in mapped.items() if derived and p in derived and _names(value, name)]
    if written:
        reason += f"; written as the plugin {', '.join(written)}"
    elif not isinstance(value, dict):
        reason += f"; {amount(key, value)}"
    return f"{json_path('$', key)} ({reason})"


def _key(value: Any) -> Any:
    """A provider or client name as the tables spell it: files say "Discord" or "OpenAI" too."""
    return value.lower() if isinstance(value, str) else value


def _names(value: Any, name: str) -> bool:
    return _key(value) == name or (isinstance(value, list) and name in map(_key, value))


def _plugins(data: dict[str, Any]) -> list[Any] | None:
    """The document's plugins, or the ones its model provider and clients stand for."""
    if "plugins" in data:
        return data["plugins"]
    model = data.get("model")
    provider = model.get("provider") if isinstance(model, dict) else None
    provider = _key(provider or data.get("modelProvider"))
    plugins = [PROVIDER_PLUGINS[provider]] if provider in PROVIDER_PLUGINS else []
    clients = data.get("clients")
    for client in map(_key, clients if isinstance(clients, list) else []):
        if client in CLIENT_PLUGINS and CLIENT_PLUGINS[client] not in plugins:
            plugins.append(CLIENT_PLUGINS[client])
    return plugins or None


def _examples(data: dict[str, Any], grouped: bool, lost: list[str]) -> Any:
    examples = data["messageExamples"]
    if not isinstance(examples, list):
        return examples  # a wrong shape goes out as it is; validation reports it
    headers = data.get(GROUPS_KEY)
    aligned = isinstance(headers, list) and len(headers) == len(examples)
    if grouped and not is_empty(headers) and not aligned:
        lost.append(
            f"$.{GROUPS_KEY} (the titles no longer line up with the example conversations; "
            f'"Conversation N" titles were written instead)'
        )
    out: list[Any] = []
    for index, conversation in enumerate(examples):
        header: dict[str, Any] = {}
        if isinstance(conversation, dict) and isinstance(conversation.get("examples"), list):
            header = {k: v for k, v in conversation.items() if k != "examples"}
            conversation = conversation["examples"]
            if not grouped and not is_empty(header):
                lost.append(
                    f"$.messageExamples[{index}].name (ElizaOS v1 has no titles for example "
                    f"conversations; {amount('name', header.get('name', ''))})"
                )
        elif aligned and isinstance(headers[index], dict):
            header = headers[index]
        if not isinstance(conversation, list):
            out.append(conversation)
            continue
        messages = [rename_key(message, "user", "name") for message in conversation]
        if grouped:
            group = {"name": "", **header, "examples": messages}
            if not group["name"]:
                group["name"] = f"Conversation {index + 1}"
            out.append(group)
        else:
            out.append(messages)
    return out
