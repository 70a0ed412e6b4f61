"""What every memory store and every embedder does. Both are async: nothing here may block the
loop; implementations push CPU and disk work to threads and network work to their clients."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from typing import TYPE_CHECKING, Protocol, runtime_checkable

from carrier_studio.core.memory.model import (
    EmbeddingSpace,
    MemoryFilter,
    MemoryPage,
    MemoryQuery,
    MemoryRecord,
    SearchHit,
    StoredMemory,
)

if TYPE_CHECKING:
    import numpy as np


@runtime_checkable
class Embedder(Protocol):
    #: Stable id of the model and its settings, recorded with the vectors it made.
    id: str
    dimension: int

    async def embed(self, texts: Sequence[str]) -> np.ndarray:
        """float32 array of shape (len(texts), dimension), each row L2-normalised."""
        ...


@runtime_checkable
class MemoryStore(Protocol):
    #: ``local`` or ``supabase``; shown to the user.
    name: str

    async def space(self) -> EmbeddingSpace | None:
        """The embedding space of the stored vectors; None for a store never written to."""
        ...

    async def add(
        self, items: Sequence[StoredMemory], space: EmbeddingSpace, *, keep_existing: bool = False
    ) -> int:
        """Store records with their vectors (ids are kept, so a deleted memory comes back as
        it was) and return how many rows were written. A stored id is replaced, or with
        ``keep_existing`` left as it is and not counted — decided inside the write, so two
        imports of one file store each memory once. Raises if ``space`` differs from the
        store's."""
        ...

    async def get(self, ids: Sequence[str]) -> list[MemoryRecord]: ...

    async def update(self, record: MemoryRecord, vector: np.ndarray | None = None) -> None:
        """Replace a record's content/kind/importance/pinned/metadata; a new vector when the
        content changed."""
        ...

    async def delete(self, ids: Sequence[str]) -> list[StoredMemory]:
        """Remove and return what was removed, so an undo can ``add`` it back."""
        ...

    async def search(self, query: MemoryQuery, vector: np.ndarray | None) -> list[SearchHit]:
        """Best first. ``vector`` is the embedded query text (None in keyword mode)."""
        ...

    async def page(
        self, filter: MemoryFilter, cursor: str | None = None, limit: int = 200
    ) -> MemoryPage:
        """Newest first, keyset-paged: fast on the millionth row as on the first."""
        ...

    async def count(self, filter: MemoryFilter) -> int: ...

    async def vectors(self, filter: MemoryFilter, limit: int = 5000) -> list[StoredMemory]:
        """Records with their vectors (for the memory map and for moving between stores)."""
        ...

    def iter_all(self, batch: int = 500) -> AsyncIterator[list[StoredMemory]]:
        """Every memory in batches: moving stores, exporting, re-embedding."""
        ...

    async def replace_vectors(
        self, vectors: Sequence[tuple[str, np.ndarray]], space: EmbeddingSpace
    ) -> None:
        """Re-embedding: new vectors for existing ids, recorded as ``space``."""
        ...

    async def close(self) -> None: ...


@runtime_checkable
class BulkLoading(Protocol):
    """A store that takes many memories faster when told first: the Supabase store drops its
    vector index and builds it once at the end, instead of keeping it current row by row."""

    async def begin_bulk(self, space: EmbeddingSpace, expected: int) -> int:
        """Prepare for ``expected`` memories; returns the memories per `add` that suit."""
        ...

    async def end_bulk(self) -> None:
        """Finish: build what `begin_bulk` deferred (may take minutes for a large store)."""
        ...
