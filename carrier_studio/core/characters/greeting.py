"""A character's greetings: the first message of a new conversation, said by the character.

The studio keeps them where a Character Card import puts them, ``$.card.first_mes`` and
``$.card.alternate_greetings`` (formats/card.py keeps both verbatim and writes them back on
export), so a card's greeting opens the chat and survives a round trip. ``{{char}}`` is the
character's name; ``{{user}}`` (and ElizaOS's ``{{user1}}``) reads "you" in a chat, since the
studio's user has no name.
"""

from __future__ import annotations

import re

from carrier_studio.core.characters.document import CharacterDoc
from carrier_studio.core.characters.formats.base import CARD_KEY

_CHAR = re.compile(r"\{\{char\}\}", re.IGNORECASE)
_USER = re.compile(r"\{\{user1?\}\}", re.IGNORECASE)


def greetings(doc: CharacterDoc) -> list[str]:
    """The character's greetings, the main one (``first_mes``) first; [] when it has none."""
    card = doc.data.get(CARD_KEY)
    if not isinstance(card, dict):
        return []
    found: list[str] = []
    first = card.get("first_mes")
    if isinstance(first, str):
        found.append(first)
    alternates = card.get("alternate_greetings")
    if isinstance(alternates, list):
        found += [g for g in alternates if isinstance(g, str)]
    seen: list[str] = []
    for text in found:
        said = _USER.sub("you", _CHAR.sub(doc.name, text)).strip()
        if said and said not in seen:
            seen.append(said)
    return seen
