"""Memory around a run: what is recalled before it, how it is shown to the model, and what is
stored after it.

Recalled memories are added to the character's instructions for that turn only (through the
SDK's model-input filter), never to the conversation's history: a conversation does not fill up
with stale memory blocks, and the next turn recalls afresh.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, Protocol

from carrier_studio.core.memory import MemoryRecord, Provenance, SearchHit
from carrier_studio.core.runtime.events import MemoriesRecalled, RecalledMemory

#: Recalled memories with a combined score below this are not put in the context, unless the
#: character's ``memory.min_score`` says otherwise. Measured with the shipped embedder on
#: related and unrelated chat memories (bench/memory_scores.py, docs/performance.md): at 0.30
#: 29 of 32 messages still get a related memory while the unrelated ones sent drop from 3.1 to
#: 1.9 per turn (at 0.05 every memory of the top five was sent, 62% of them unrelated).
DEFAULT_MIN_SCORE = 0.30
#: A memory longer than this is cut in the context (the memory page shows all of it).
MAX_MEMORY_CHARS = 600


class RecallService(Protocol):
    """What the chat needs of the memory service."""

    async def recall(
        self,
        character: str,
        text: str,
        *,
        room: str | None = None,
        limit: int = 8,
        client: str | None = None,
    ) -> list[SearchHit]:
        """``client`` is where the turn comes from (chat, discord): other rooms' private
        memories are kept out of it (the rule is `core.memory.privacy`), and so are the
        memories of ``room`` itself, the turn's own conversation, which the model already has."""
        ...

    async def remember(self, records: Sequence[MemoryRecord]) -> None: ...


def memory_settings(section: dict) -> tuple[bool, int]:
    """(enabled, how many to recall) from a character's ``memory`` section."""
    enabled = section.get("enabled", True)
    recall_k = section.get("recall_k", 5)
    if not isinstance(recall_k, int) or isinstance(recall_k, bool) or recall_k < 1:
        recall_k = 5
    return bool(enabled), min(recall_k, 50)


def min_score(section: dict) -> float:
    """The lowest combined score a recalled memory needs to be sent, from a character's
    ``memory`` section (0…1; anything else falls back to the default)."""
    value = section.get("min_score", DEFAULT_MIN_SCORE)
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 1:
        return DEFAULT_MIN_SCORE
    return float(value)


def recalled_event(
    character: str, hits: Sequence[SearchHit], floor: float = DEFAULT_MIN_SCORE
) -> MemoriesRecalled:
    """The memories a turn sends: those scoring at least ``floor``."""
    kept = [hit for hit in hits if hit.score >= floor]
    return MemoriesRecalled(
        character,
        tuple(
            RecalledMemory(
                memory_id=hit.record.id,
                kind=hit.record.kind,
                content=hit.record.content,
                score=round(hit.score, 4),
                semantic=None if hit.semantic is None else round(hit.semantic, 4),
                keyword=None if hit.keyword is None else round(hit.keyword, 4),
                client=hit.record.provenance.client,
                created_at=hit.record.created_at.isoformat(timespec="seconds"),
                pinned=hit.record.pinned,
            )
            for hit in kept
        ),
    )


def _when(iso: str) -> str:
    try:
        return datetime.fromisoformat(iso).strftime("%Y-%m-%d")
    except ValueError:
        return iso[:10]


def context_block(recalled: MemoriesRecalled) -> str:
    """The text added to the character's instructions for this turn ("" when none)."""
    if not recalled.memories:
        return ""
    lines = [
        "# What you remember",
        "These are your own memories that may matter for this message (most relevant first). "
        "Use them when they help; do not mention this list.",
    ]
    for memory in recalled.memories:
        content = " ".join(memory.content.split())
        if len(content) > MAX_MEMORY_CHARS:
            content = content[: MAX_MEMORY_CHARS - 1] + "…"
        lines.append(f"- [{memory.kind}, {memory.client}, {_when(memory.created_at)}] {content}")
    return "\n".join(lines)


def with_memory_block(model_data: Any, block: str) -> Any:
    """The SDK's model input (``ModelInputData``) with ``block`` after its instructions: the
    memories go to the character's instructions only, the history stays as it was said."""
    if not block:
        return model_data
    from agents.run_config import ModelInputData

    instructions = model_data.instructions or ""
    return ModelInputData(
        input=model_data.input,
        instructions=f"{instructions}\n\n{block}" if instructions else block,
    )


def turn_records(
    character: str,
    user_text: str,
    reply: str,
    *,
    client: str,
    room: str | None,
    speaker: str | None,
    user_message_id: str | None = None,
    reply_message_id: str | None = None,
) -> list[MemoryRecord]:
    """The two memories a finished turn leaves: what was said to the character and its reply."""
    records = []
    if user_text.strip():
        records.append(
            MemoryRecord(
                character=character,
                content=user_text.strip(),
                kind="message",
                provenance=Provenance(client, room, user_message_id, speaker or "user"),
            )
        )
    if reply.strip():
        records.append(
            MemoryRecord(
                character=character,
                content=reply.strip(),
                kind="message",
                provenance=Provenance(client, room, reply_message_id, character),
            )
        )
    return records
