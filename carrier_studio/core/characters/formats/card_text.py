"""The prose of a Character Card in ElizaOS terms and back: sentences, traits, lines, examples.

Pure text functions for :mod:`.card`. Card macros become ElizaOS placeholders on the way in
(``{{char}}`` → the character's name, ``{{user}}`` → ``{{user1}}``) and ``{{user1}}`` becomes
``{{user}}`` on the way out.
"""

from __future__ import annotations

import re
from typing import Any

from carrier_studio.core.characters.formats.base import messages_of

_CHAR = re.compile(r"\{\{char\}\}|<BOT>", re.IGNORECASE)
_USER = re.compile(r"\{\{user\}\}|<USER>", re.IGNORECASE)
_ELIZA_USER = re.compile(r"\{\{(?:user|name)\d+\}\}")
OTHER_MACRO = re.compile(r"\{\{(?!(?:user|name)\d+\}\})[^{}]+\}\}")
_START = re.compile(r"<START>", re.IGNORECASE)
_BREAK = re.compile(r"[.!?…]+[\"'”’)\]*]*(\s+)")
_ABBREVIATIONS = {"mr.", "mrs.", "ms.", "dr.", "st.", "jr.", "sr.", "vs.", "etc.", "no.", "approx."}


def expand(text: str, name: str) -> str:
    """Card macros in ElizaOS terms: {{char}} → the name, {{user}} → {{user1}}."""
    return _USER.sub("{{user1}}", _CHAR.sub(lambda _: name, text))


def to_card(text: str) -> str:
    return _ELIZA_USER.sub("{{user}}", text)


def sentences(text: str) -> list[str]:
    """``text`` cut after each sentence that is followed by a capital, a digit or a quote."""
    found: list[str] = []
    start = 0
    for match in _BREAK.finditer(text):
        rest = text[match.end() :]
        before = text[start : match.start(1)]
        words = before.split()
        last = words[-1].lower() if words else ""
        if not rest or not (rest[0].isupper() or rest[0].isdigit() or rest[0] in "\"'“‘(*[{"):
            continue
        if last in _ABBREVIATIONS or re.fullmatch(r"[a-z]\.", last):  # Dr. Smith, J. R. R.
            continue
        found.append(before.strip())
        start = match.end()
    tail = text[start:].strip()
    return [*found, tail] if tail else found


def _bio(text: str, name: str) -> list[str]:
    lines = (line.strip() for line in expand(text, name).splitlines())
    return [sentence for line in lines if line for sentence in sentences(line)]


def traits(text: str) -> list[str] | None:
    """The items of a trait list ("warm, witty, a bit shy"), or None for prose."""
    parts = [part.strip().rstrip(".").strip() for part in re.split(r"[,;\n]", text)]
    parts = [part for part in parts if part]
    most_words = 4 if len(parts) > 1 else 2
    for part in parts:
        if len(part) > 40 or len(part.split()) > most_words or re.search(r"[.!?:]", part):
            return None
    return parts


def persona(description: str, personality: str, name: str) -> tuple[list[str], list[str], bool]:
    """bio and adjectives from a card's description and personality; True if prose went to bio."""
    bio = _bio(description, name)
    found = traits(expand(personality, name))
    if found is None:
        return bio + _bio(personality, name), [], True
    return bio, found, False


def lore(scenario: str, name: str) -> list[str]:
    return [line.strip() for line in expand(scenario, name).splitlines() if line.strip()]


def parse_examples(text: str, name: str) -> list[list[dict[str, Any]]]:
    """``mes_example`` as ElizaOS conversations: one per ``<START>`` block.

    A line ``{{user}}: …`` (or ``<USER>:``) starts a message from ``{{user1}}``; ``{{char}}: …``,
    ``<BOT>:`` or ``Name: …`` one from the character. Other lines continue the message before
    them; text before the first speaker of a block is the character's.
    """
    speakers = [r"\{\{user\}\}", "<USER>", r"\{\{char\}\}", "<BOT>"]
    if name:
        speakers.append(re.escape(name))
    line_re = re.compile(rf"^\s*({'|'.join(speakers)})\s*:[ \t]?(.*)$", re.IGNORECASE)
    conversations = []
    for block in _START.split(text):
        turns: list[tuple[str, list[str]]] = []
        for line in block.splitlines():
            match = line_re.match(line)
            if match:
                user = match.group(1).lower() in ("{{user}}", "<user>")
                turns.append(("{{user1}}" if user else name, [match.group(2)]))
            elif turns:
                turns[-1][1].append(line)
            elif line.strip():
                turns.append((name, [line]))
        messages = [
            {"user": speaker, "content": {"text": expand("\n".join(lines).strip(), name)}}
            for speaker, lines in turns
        ]
        if messages:
            conversations.append(messages)
    return conversations


def render_examples(examples: Any, name: str) -> str:
    """ElizaOS conversations as ``mes_example``: ``<START>`` blocks, ``{{user}}``/``{{char}}``."""
    blocks = []
    for conversation in examples if isinstance(examples, list) else []:
        lines = ["<START>"]
        for message in messages_of(conversation) or []:
            if not isinstance(message, dict):
                continue
            speaker = message.get("user", message.get("name"))
            content = message.get("content")
            text = content.get("text") if isinstance(content, dict) else None
            if speaker == name:
                tag = "{{char}}"
            elif not isinstance(speaker, str) or not speaker or speaker.startswith("{{"):
                tag = "{{user}}"
            else:
                tag = speaker
            lines.append(f"{tag}: {to_card(text) if isinstance(text, str) else ''}")
        blocks.append("\n".join(lines))
    return "\n".join(blocks)
