"""Which format a decoded JSON object is in; the rules are in the package docstring."""

from __future__ import annotations

from carrier_studio.core.characters.formats.base import CARRIER_KEYS, Format, speaker_keys
from carrier_studio.core.characters.formats.card import looks_like_card

_V0_KEYS = ("modelProvider", "clients", "lore")
_V1_KEYS = ("plugins", "knowledge", "templates", "secrets", "id")
_CHARACTER_KEYS = (
    "name",
    "bio",
    "system",
    "messageExamples",
    "postExamples",
    "topics",
    "adjectives",
    "style",
)


def detect_format(raw: object) -> Format:
    if not isinstance(raw, dict):
        return Format.UNKNOWN
    if looks_like_card(raw):
        return Format.CARD_V3 if raw.get("spec") == "chara_card_v3" else Format.CARD_V2
    if any(key in raw for key in CARRIER_KEYS):
        return Format.CARRIER
    if any(key in raw for key in _V0_KEYS):
        return Format.ELIZA_V0
    examples = raw.get("messageExamples")
    if isinstance(examples, list) and any(
        isinstance(c, dict) and isinstance(c.get("examples"), list) for c in examples
    ):
        return Format.ELIZA_V2
    speakers = set(speaker_keys(examples))
    if speakers == {"name"}:
        return Format.ELIZA_V1
    if "user" in speakers:
        return Format.ELIZA_V0
    if any(key in raw for key in _V1_KEYS):
        return Format.ELIZA_V1
    if any(key in raw for key in _CHARACTER_KEYS):
        return Format.ELIZA_V0
    return Format.UNKNOWN
