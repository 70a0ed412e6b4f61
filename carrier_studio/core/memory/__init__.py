"""Long-term memory: records, queries, hits, and the store and embedder contracts.

Plain Python (numpy for vectors); the SQLite and Supabase stores and the embedders live in
``carrier_studio.services``.
"""

from carrier_studio.core.memory.model import (
    KINDS,
    EmbeddingSpace,
    MemoryFilter,
    MemoryKind,
    MemoryPage,
    MemoryQuery,
    MemoryRecord,
    Provenance,
    SearchHit,
    StoredMemory,
    new_memory_id,
)
from carrier_studio.core.memory.protocols import Embedder, MemoryStore

__all__ = [
    "KINDS",
    "Embedder",
    "EmbeddingSpace",
    "MemoryFilter",
    "MemoryKind",
    "MemoryPage",
    "MemoryQuery",
    "MemoryRecord",
    "MemoryStore",
    "Provenance",
    "SearchHit",
    "StoredMemory",
    "new_memory_id",
]
