"""Character Cards (V2 ``chara_card_v2``, V3 ``chara_card_v3``, V1) to and from the studio's shape.

Import maps the card's prose onto ElizaOS fields: ``description`` → ``bio`` (one item per
sentence), ``personality`` → ``adjectives`` when it is a list of traits (else more ``bio``),
``scenario`` → ``lore`` (one item per line), ``mes_example`` → ``messageExamples``,
``system_prompt`` → ``system``, ``tags`` → ``topics``. ``{{char}}`` becomes the character's name
and ``{{user}}`` the ElizaOS placeholder ``{{user1}}``.

Every other card field (``first_mes``, ``alternate_greetings``, ``character_book``,
``creator_notes``, ``post_history_instructions``, ``creator``, ``character_version``, the other
apps' ``extensions``, unknown fields) and the original text of the four prose fields is kept
verbatim under ``$.card``; keys beside ``data`` (SillyTavern's ``avatar``, ``chat``,
``create_date``, ``creatorcomment``, ``talkativeness``, ``fav`` and its V1 copies of the card
fields) go to ``$.card.envelope`` and are written back beside ``data`` on export, the V1 copies
refreshed from ``data`` so they never contradict it. Export writes the original text back while
the native fields still read the same as on import, so a card that only passes through the
studio comes out as it went in; an edited field is written afresh.

A V3 card is a V2 card with a few more fields (``group_only_greetings``, ``assets``,
``nickname``, …): they are kept under ``$.card`` like any field the studio has no place for, and
a V3 export writes them back (``group_only_greetings``, which V3 requires, as ``[]`` if absent).

Export also puts the whole document (secret values blanked) in
``data.extensions.carrier_studio``; importing such a card restores that document exactly, taking
from the card only the fields another app changed in the meantime.
"""

from __future__ import annotations

import copy
from typing import Any

from carrier_studio.core.characters.document import (
    CHARACTER_VERSION,
    CharacterDoc,
    CharacterError,
    _json_type,
)
from carrier_studio.core.characters.formats.base import (
    CARD_KEY,
    ExportResult,
    Format,
    ImportResult,
    amount,
    scrub,
    without_secrets,
)
from carrier_studio.core.characters.formats.card_text import (
    OTHER_MACRO,
    expand,
    lore,
    parse_examples,
    persona,
    render_examples,
    to_card,
)

SPEC = "chara_card_v2"
SPEC_VERSION = "2.0"
SPEC_V3 = "chara_card_v3"
SPEC_VERSION_V3 = "3.0"
EXTENSION = "carrier_studio"

_LISTS = ("alternate_greetings", "tags")
_OBJECTS = ("character_book", "extensions")
#: The card's own fields, in the order the V2 spec lists them (``character_book`` is optional).
CARD_FIELDS = (
    "name",
    "description",
    "personality",
    "scenario",
    "first_mes",
    "mes_example",
    "creator_notes",
    "system_prompt",
    "post_history_instructions",
    "alternate_greetings",
    "character_book",
    "tags",
    "creator",
    "character_version",
    "extensions",
)
#: A V1 card has no spec and no data: its fields are the top level.
_V1_MARKS = ("first_mes", "mes_example")
#: Native keys each card field turns into (the rest live under ``$.card`` only).
_TARGETS = {
    "name": ("name",),
    "description": ("bio", "adjectives"),
    "personality": ("bio", "adjectives"),
    "scenario": ("lore",),
    "mes_example": ("messageExamples",),
    "system_prompt": ("system",),
    "tags": ("topics",),
}
#: Keys beside ``data`` that SillyTavern fills with a copy of a ``data`` field (V1 readers use
#: them): on export they take the current value, so the two never disagree.
_MIRRORS = {
    "name": "name",
    "description": "description",
    "personality": "personality",
    "scenario": "scenario",
    "first_mes": "first_mes",
    "mes_example": "mes_example",
    "creatorcomment": "creator_notes",
    "tags": "tags",
}
#: Card fields read together: a change to one re-reads both.
_COUPLED = {
    "description": ("description", "personality"),
    "personality": ("description", "personality"),
}


def looks_like_card(raw: dict[str, Any]) -> bool:
    spec = raw.get("spec")
    if isinstance(spec, str) and spec.startswith("chara_card"):
        return True
    data = raw.get("data")
    if isinstance(data, dict) and "name" in data and any(k in data for k in _V1_MARKS):
        return True
    return is_v1_card(raw)


def is_v1_card(raw: dict[str, Any]) -> bool:
    if "spec" in raw or "data" in raw or "bio" in raw or "messageExamples" in raw:
        return False
    return any(k in raw for k in _V1_MARKS) or (
        "description" in raw and ("personality" in raw or "scenario" in raw)
    )


# -- import ----------------------------------------------------------------------------------


def import_card(raw: dict[str, Any]) -> ImportResult:
    """A Character Card (V2 or V3; a V1 card is read as V2) in the studio's shape."""
    notes: list[str] = []
    source = Format.CARD_V3 if raw.get("spec") == SPEC_V3 else Format.CARD_V2
    if is_v1_card(raw):
        data, base, envelope = raw, "$", {}
        notes.append("This is a Character Card V1 (no spec); it was read as a V2 card.")
    else:
        data, base = raw.get("data"), "$.data"
        if not isinstance(data, dict):
            raise CharacterError(
                "a character card keeps its fields in an object under data, "
                + ("and this card has none" if data is None else f"not {_json_type(data)}"),
                where=base,
            )
        spec = raw.get("spec")
        if spec not in (SPEC, SPEC_V3, None):
            notes.append(f'The card says spec "{spec}"; it was read as a V2 card.')
        envelope = {k: v for k, v in raw.items() if k not in ("spec", "spec_version", "data")}
    _check(data, base)
    ext = data.get("extensions")
    embedded = ext.get(EXTENSION) if isinstance(ext, dict) else None
    if isinstance(embedded, dict):
        doc = _restore(embedded, data, envelope, notes, source)
    else:
        if embedded is not None:
            notes.append(
                f"{base}.extensions.{EXTENSION} is not a character document; it was kept as "
                "another app's extension."
            )
        doc = from_card(data, envelope, notes)
    return ImportResult(CharacterDoc(doc), source, notes)


def _check(data: dict[str, Any], base: str) -> None:
    """Card fields of the wrong type cannot be converted: say which (null counts as absent)."""
    for key, value in data.items():
        where = f"{base}.{key}"
        if value is None or key not in CARD_FIELDS:
            continue
        if key in _LISTS:
            if not isinstance(value, list):
                raise CharacterError(f"must be an array, not {_json_type(value)}", where=where)
            for index, item in enumerate(value):
                if not isinstance(item, str):
                    raise CharacterError(
                        f"must be a string, not {_json_type(item)}", where=f"{where}[{index}]"
                    )
        elif not isinstance(value, dict if key in _OBJECTS else str):
            kind = "an object" if key in _OBJECTS else "a string"
            raise CharacterError(f"must be {kind}, not {_json_type(value)}", where=where)
    if not isinstance(data.get("name"), str) or not data["name"].strip():
        raise CharacterError("a character card needs a name", where=f"{base}.name")


def _text(data: dict[str, Any], key: str) -> str:
    value = data.get(key)
    return value if isinstance(value, str) else ""


def from_card(data: dict[str, Any], envelope: dict[str, Any], notes: list[str]) -> dict[str, Any]:
    """The studio's document for the card fields in ``data`` (no embedded document)."""
    name = data["name"]
    bio, adjectives, prose = persona(_text(data, "description"), _text(data, "personality"), name)
    doc: dict[str, Any] = {"version": CHARACTER_VERSION, "name": name}
    system = expand(_text(data, "system_prompt"), name)
    if system:
        doc["system"] = system
    doc["bio"] = bio
    doc["lore"] = lore(_text(data, "scenario"), name)
    doc["messageExamples"] = parse_examples(_text(data, "mes_example"), name)
    doc["topics"] = list(data.get("tags") or [])
    doc["adjectives"] = adjectives
    card = _card_section(data, system)
    if envelope:
        card["envelope"] = copy.deepcopy(envelope)
        notes.append(f"Keys beside data ({', '.join(envelope)}) are kept under $.card.envelope.")
    if card:
        doc[CARD_KEY] = card
    if prose:
        notes.append("personality reads as prose, not a list of traits; it was added to bio.")
    alternates = card.get("alternate_greetings")
    said = [card.get("first_mes"), *(alternates if isinstance(alternates, list) else [])]
    count = len([g for g in said if isinstance(g, str) and g.strip()])
    if count:
        what = "greeting opens" if count == 1 else f"{count} greetings open"
        notes.append(f"The card's {what} a new chat (Examples tab → Greetings).")
    kept = [_measure(k, v) for k, v in card.items() if _unused(k, v)]
    if kept:
        notes.append(
            "Kept under $.card for a card export (Carrier Studio does not use them): "
            + ", ".join(kept)
            + "."
        )
    macros = sorted({m for t in (system, *bio, *doc["lore"]) for m in OTHER_MACRO.findall(t)})
    if macros:
        notes.append(f"The studio does not expand {', '.join(macros)}; edit the text by hand.")
    return doc


def _card_section(data: dict[str, Any], system: str) -> dict[str, Any]:
    card: dict[str, Any] = {}
    for key, value in data.items():
        if key in ("name", "tags") or (key == "system_prompt" and (value or "") == system):
            continue  # carried exactly by name, topics and system
        if key == "extensions":
            value = {k: v for k, v in value.items() if k != EXTENSION or not isinstance(v, dict)}
            if not value:
                continue
        card[key] = copy.deepcopy(value)
    return card


def _unused(key: str, value: Any) -> bool:
    if key in ("description", "personality", "scenario", "mes_example", "system_prompt"):
        return False  # mapped; the original text is only kept to write it back
    if key in ("first_mes", "alternate_greetings"):
        return False  # the chat's greetings (core/characters/greeting.py)
    return key != "envelope" and value not in (None, "", [], {})


def _measure(key: str, value: Any) -> str:
    entries = value.get("entries") if isinstance(value, dict) else None
    if key == "character_book" and isinstance(entries, list):
        return f"character_book ({len(entries)} {'entry' if len(entries) == 1 else 'entries'})"
    return f"{key} ({amount(key, value)})" if isinstance(value, list) else key


def _restore(
    embedded: dict[str, Any],
    data: dict[str, Any],
    envelope: dict[str, Any],
    notes: list[str],
    source: Format,
) -> dict[str, Any]:
    """The embedded document, with the fields another app changed since export taken from it."""
    doc = copy.deepcopy(embedded)
    # Compared with what the studio itself would have written in the card's own version, so a
    # field a V3 export adds (group_only_greetings) is not mistaken for another app's edit.
    exporter = export_card_v3 if source is Format.CARD_V3 else export_card_v2
    expected = exporter(CharacterDoc(copy.deepcopy(doc))).data["data"]
    changed = [
        key
        for key in dict.fromkeys([*data, *expected])
        if _comparable(data, key) != _comparable(expected, key)
    ]
    notes.append("Restored the Carrier Studio document stored in the card.")
    if changed or envelope:
        fresh = from_card(data, envelope, [])
        card = doc.get(CARD_KEY) if isinstance(doc.get(CARD_KEY), dict) else {}
        fresh_card = fresh.get(CARD_KEY, {})
        for key in [*changed, *(["envelope"] if envelope else [])]:
            for target in _TARGETS.get(key, ()):
                _put(doc, target, fresh)
            for section_key in _COUPLED.get(key, (key,)):
                _put(card, section_key, fresh_card)
        _put(doc, CARD_KEY, {CARD_KEY: card} if card else {})
    if changed:
        notes.append(
            f"The card was changed in another app since it was exported ({', '.join(changed)}); "
            "those fields were taken from the card."
        )
    blank = [k for k, v in _secrets(doc).items() if v == ""]
    if blank:
        notes.append(
            f"Cards never carry secret values: {', '.join(blank)} "
            f"{'is' if len(blank) == 1 else 'are'} empty; set them again if the character needs "
            "them."
        )
    return doc


def _comparable(data: dict[str, Any], key: str) -> Any:
    value = data.get(key)
    if key == "extensions" and isinstance(value, dict):
        return {k: v for k, v in value.items() if k != EXTENSION}
    return value


def _put(target: dict[str, Any], key: str, source: dict[str, Any]) -> None:
    if key in source:
        target[key] = copy.deepcopy(source[key])
    else:
        target.pop(key, None)


def _secrets(doc: dict[str, Any]) -> dict[str, Any]:
    settings = doc.get("settings")
    secrets = settings.get("secrets") if isinstance(settings, dict) else None
    return secrets if isinstance(secrets, dict) else {}


# -- export ----------------------------------------------------------------------------------


def export_card_v2(doc: CharacterDoc) -> ExportResult:
    """The character as a Character Card V2 that any card app reads and the studio restores."""
    clean, secrets = without_secrets(doc.data)
    lost = secrets.lost("the card keeps the key with an empty value")
    name = doc.name
    section = doc.data.get(CARD_KEY)
    card: dict[str, Any] = section if isinstance(section, dict) else {}
    description, personality = _persona_text(doc, card)
    discord = doc.section("discord_config").get("initial_message")
    system = card.get("system_prompt")
    data: dict[str, Any] = {
        "name": name,
        "description": description,
        "personality": personality,
        "scenario": _scenario_text(doc, card),
        "first_mes": _text(card, "first_mes") or (discord if isinstance(discord, str) else ""),
        "mes_example": _examples_text(doc, card),
        "creator_notes": _text(card, "creator_notes"),
        "system_prompt": (
            system
            if isinstance(system, str) and expand(system, name) == doc.text("system")
            else to_card(doc.text("system"))
        ),
        "post_history_instructions": _text(card, "post_history_instructions"),
        "alternate_greetings": copy.deepcopy(card.get("alternate_greetings") or []),
    }
    if card.get("character_book") is not None:
        data["character_book"] = copy.deepcopy(card["character_book"])
    data["tags"] = doc.strings("topics")
    data["creator"] = _text(card, "creator")
    data["character_version"] = _text(card, "character_version")
    for key, value in card.items():
        if key not in CARD_FIELDS and key != "envelope":
            data[key] = copy.deepcopy(value)  # fields of later card versions (V3) go back too
    extensions = card.get("extensions")
    data["extensions"] = {**copy.deepcopy(extensions or {}), EXTENSION: clean}
    out = {**_envelope(card, data), "spec": SPEC, "spec_version": SPEC_VERSION, "data": data}
    return ExportResult(scrub(out, secrets.values, "$", lost), lost)


def export_card_v3(doc: CharacterDoc) -> ExportResult:
    """The character as a Character Card V3: the V2 card with V3's spec and required fields."""
    result = export_card_v2(doc)
    out = result.data
    out["spec"], out["spec_version"] = SPEC_V3, SPEC_VERSION_V3
    data = out["data"]
    if not isinstance(data.get("group_only_greetings"), list):
        data["group_only_greetings"] = []
    return ExportResult(out, result.lost)


def _envelope(card: dict[str, Any], data: dict[str, Any]) -> dict[str, Any]:
    """The keys the card had beside ``data``, their copies of card fields made current."""
    envelope = card.get("envelope")
    if not isinstance(envelope, dict):
        return {}
    out = {}
    for key, value in envelope.items():
        if key in ("spec", "spec_version", "data"):
            continue  # written by the exporter itself
        mirror = _MIRRORS.get(key)
        out[key] = copy.deepcopy(data[mirror] if mirror in data else value)
    return out


def _persona_text(doc: CharacterDoc, card: dict[str, Any]) -> tuple[str, str]:
    description, personality = card.get("description"), card.get("personality")
    if isinstance(description, str) or isinstance(personality, str):
        description = description if isinstance(description, str) else ""
        personality = personality if isinstance(personality, str) else ""
        bio, adjectives, _ = persona(description, personality, doc.name)
        if bio == doc.data.get("bio", []) and adjectives == doc.data.get("adjectives", []):
            return description, personality
    bio_value = doc.data.get("bio")
    text = bio_value if isinstance(bio_value, str) else "\n\n".join(doc.strings("bio"))
    return to_card(text), to_card(", ".join(doc.strings("adjectives")))


def _scenario_text(doc: CharacterDoc, card: dict[str, Any]) -> str:
    scenario = card.get("scenario")
    if isinstance(scenario, str) and lore(scenario, doc.name) == doc.data.get("lore", []):
        return scenario
    return to_card("\n".join(doc.strings("lore")))


def _examples_text(doc: CharacterDoc, card: dict[str, Any]) -> str:
    text = card.get("mes_example")
    examples = doc.data.get("messageExamples", [])
    if isinstance(text, str) and parse_examples(text, doc.name) == examples:
        return text
    return render_examples(examples, doc.name)
