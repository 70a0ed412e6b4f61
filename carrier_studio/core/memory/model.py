"""The memory record and the shapes a store takes and returns.

A memory is one thing a character may recall later: a message it saw or wrote, a fact, a
summary, an Instagram post, a note the user wrote. Where it came from (its provenance) travels
with it, so the studio can say *why* something was recalled and where it was first said.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Literal, get_args

if TYPE_CHECKING:
    import numpy as np

MemoryKind = Literal["message", "fact", "summary", "post", "note"]
KINDS: tuple[str, ...] = get_args(MemoryKind)

#: Where a memory came from: ``chat``, ``discord``, ``instagram``, ``import`` or ``user``.
Client = str


def new_memory_id() -> str:
    """A random, sortable-enough, store-independent id (UUID4 hex)."""
    return uuid.uuid4().hex


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True, slots=True)
class Provenance:
    client: Client = "user"
    #: The conversation id (chat), channel id (Discord) or post id (Instagram), as text.
    room: str | None = None
    #: The message the memory was taken from, when there is one.
    message_id: str | None = None
    #: Who said it: a user name, a Discord user, or the character itself.
    speaker: str | None = None


@dataclass(frozen=True, slots=True)
class MemoryRecord:
    character: str
    content: str
    kind: MemoryKind = "message"
    provenance: Provenance = field(default_factory=Provenance)
    id: str = field(default_factory=new_memory_id)
    #: Always timezone-aware UTC.
    created_at: datetime = field(default_factory=utc_now)
    #: 0 (trivia) … 1 (never forget); recall breaks near-ties with it.
    importance: float = 0.5
    pinned: bool = False
    metadata: Mapping[str, object] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class StoredMemory:
    """A record with its embedding, as deleted (for undo) or moved between stores."""

    record: MemoryRecord
    vector: np.ndarray  # float32, shape (dimension,), L2-normalised


@dataclass(frozen=True, slots=True)
class MemoryFilter:
    """Which memories: every field left as None matches everything."""

    character: str | None = None
    kinds: frozenset[str] | None = None
    client: str | None = None
    room: str | None = None
    since: datetime | None = None  # inclusive
    until: datetime | None = None  # exclusive
    pinned: bool | None = None
    #: (client, room): leave out the memories that came from this conversation or channel.
    #: A turn's own conversation is already in the model's input; recalling it again only
    #: repeats it (issue #16).
    not_from: tuple[str, str] | None = None


SearchMode = Literal["hybrid", "semantic", "keyword"]


@dataclass(frozen=True, slots=True)
class MemoryQuery:
    text: str
    filter: MemoryFilter = field(default_factory=MemoryFilter)
    limit: int = 10
    mode: SearchMode = "hybrid"


@dataclass(frozen=True, slots=True)
class SearchHit:
    """One recalled memory and why: the parts of its score."""

    record: MemoryRecord
    #: The combined score used for ranking, 0…1 (higher is better).
    score: float
    #: Cosine similarity of the query and the memory, when the vector search found it.
    semantic: float | None = None
    #: Keyword relevance 0…1 (normalised full-text rank), when the keyword search found it.
    keyword: float | None = None


@dataclass(frozen=True, slots=True)
class MemoryPage:
    """One page of a listing, newest first; pass ``next_cursor`` back for the next page."""

    records: list[MemoryRecord]
    next_cursor: str | None


@dataclass(frozen=True, slots=True)
class EmbeddingSpace:
    """Which embedder produced a store's vectors. Vectors of two spaces never mix."""

    embedder_id: str
    dimension: int
