"""A conversation as Markdown (to copy or save) and as JSON (to save): what was said and done.

Both are built from the stored transcript items (transcript.py), so they read the same as the
chat page. Markdown is for people: each message under the speaker's name, tool calls as fenced
blocks, memories and approvals as one-line notes. JSON is for programs: a version, the
conversation's title and character, and every item with its kind and fields, as stored.
"""

from __future__ import annotations

import json
from dataclasses import asdict
from typing import Any

from carrier_studio.core.runtime.transcript import (
    Approval,
    ApprovalResult,
    AssistantText,
    Failure,
    Handoff,
    Memories,
    Stored,
    ToolCall,
    UserText,
)

#: The JSON export's format version (a reader checks it before trusting the fields).
EXPORT_VERSION = 1


def _fence(text: str, lang: str = "") -> str:
    # A fence longer than any run of backticks inside, so the block cannot be closed early.
    ticks = "`" * max(3, _longest_backticks(text) + 1)
    return f"{ticks}{lang}\n{text}\n{ticks}"


def _longest_backticks(text: str) -> int:
    best = run = 0
    for char in text:
        run = run + 1 if char == "`" else 0
        best = max(best, run)
    return best


def to_markdown(title: str, character: str, stored: list[Stored]) -> str:
    """The conversation as Markdown: a heading, then each item in order."""
    parts = [f"# {title}", f"*A conversation with {character}.*"]
    for entry in stored:
        item = entry.item
        if isinstance(item, UserText):
            parts.append(f"**You:**\n\n{item.text}")
        elif isinstance(item, AssistantText):
            parts.append(f"**{item.agent or character}:**\n\n{item.text}")
        elif isinstance(item, ToolCall):
            body = f"arguments: {item.arguments}\nresult: {item.result}"
            parts.append(f"> Tool `{item.name}` ({item.agent})\n\n{_fence(body)}")
        elif isinstance(item, Handoff):
            parts.append(f"> Handed off: {item.from_agent} → {item.to_agent}")
        elif isinstance(item, Memories):
            lines = "\n".join(f"> - {m.text}" for m in item.memories)
            parts.append(f"> Recalled memories:\n{lines}")
        elif isinstance(item, Approval):
            parts.append(f"> Asked to approve `{item.tool}`: {item.arguments}")
        elif isinstance(item, ApprovalResult):
            verdict = "approved" if item.approved else "rejected"
            parts.append(f"> `{item.tool}` call {verdict}")
        elif isinstance(item, Failure):
            hint = f" {item.hint}" if item.hint else ""
            parts.append(f"> Error: {item.message}{hint}")
    return "\n\n".join(parts) + "\n"


def to_json(title: str, character: str, stored: list[Stored]) -> str:
    """The conversation as JSON: ``{"version", "title", "character", "items": [...]}``, each
    item its stored kind (``item``: user, assistant, tool, …) and its fields."""
    items: list[dict[str, Any]] = []
    for entry in stored:
        fields = asdict(entry.item)
        if isinstance(entry.item, Failure):
            fields["kind"] = entry.item.kind.value  # an error's own kind (rate limit, auth, …)
        items.append({"item": entry.item.KIND, **fields})
    document = {
        "version": EXPORT_VERSION,
        "title": title,
        "character": character,
        "items": items,
    }
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"
