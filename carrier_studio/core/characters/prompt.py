"""Prompt composition: a character becomes agent instructions.

A pure function: the same character and seed give the same text, so the editor's preview is
exactly what a run will send. Long lists (bio, lore, topics, examples) are sampled with the seed,
the way ElizaOS varies its prompts between runs while staying reproducible.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any

from carrier_studio.core.characters.document import CharacterDoc


@dataclass(frozen=True)
class PromptLimits:
    bio: int = 6
    lore: int = 5
    topics: int = 10
    adjectives: int = 6
    examples: int = 3
    posts: int = 3


def _sample(rng: random.Random, items: list[Any], k: int) -> list[Any]:
    """Up to ``k`` items chosen with ``rng``, kept in their original order."""
    if len(items) <= k:
        return list(items)
    chosen = sorted(rng.sample(range(len(items)), k))
    return [items[i] for i in chosen]


def _conversations(doc: CharacterDoc) -> list[list[dict[str, Any]]]:
    found = []
    for conversation in doc.data.get("messageExamples") or []:
        if isinstance(conversation, dict):
            conversation = conversation.get("examples")
        if isinstance(conversation, list):
            messages = [m for m in conversation if isinstance(m, dict)]
            if messages:
                found.append(messages)
    return found


def _render_message(message: dict[str, Any], name: str) -> str:
    speaker = message.get("user", message.get("name", "?"))
    speaker = "User" if speaker != name and str(speaker).startswith("{{") else speaker
    content = message.get("content")
    text = content.get("text", "") if isinstance(content, dict) else ""
    return f"{speaker}: {text}"


def compose_instructions(
    doc: CharacterDoc, seed: int = 0, limits: PromptLimits | None = None
) -> str:
    """The agent instructions for ``doc``; deterministic for a given ``seed``."""
    limits = limits or PromptLimits()
    rng = random.Random(seed)
    name = doc.name or "the assistant"
    parts = [doc.text("system").strip() or f"You are {name}."]

    def section(title: str, lines: list[str]) -> None:
        if lines:
            parts.append(f"# {title}\n" + "\n".join(lines))

    section(f"About {name}", [f"- {b}" for b in _sample(rng, doc.strings("bio"), limits.bio)])
    section("Background", [f"- {lo}" for lo in _sample(rng, doc.strings("lore"), limits.lore)])
    topics = _sample(rng, doc.strings("topics"), limits.topics)
    if topics:
        section("Topics you know well", [", ".join(topics)])
    adjectives = _sample(rng, doc.strings("adjectives"), limits.adjectives)
    if adjectives:
        section("Personality", [f"You are {', '.join(adjectives)}."])
    style = doc.style("all") + doc.style("chat")
    section("How you write", [f"- {rule}" for rule in style])
    examples = _sample(rng, _conversations(doc), limits.examples)
    rendered = ["\n".join(_render_message(m, name) for m in convo) for convo in examples]
    if rendered:
        section(f"Example conversations (how {name} talks)", ["\n\n".join(rendered)])
    posts = _sample(rng, doc.strings("postExamples"), limits.posts)
    section("Example posts", [f"- {p}" for p in posts])
    return "\n\n".join(parts).strip() + "\n"
