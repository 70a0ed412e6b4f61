"""Long-term memory: records, queries, hits, the store and embedder contracts, privacy rules.

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
from carrier_studio.core.memory.privacy import fetch_limit, may_recall, recallable
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
    "fetch_limit",
    "may_recall",
    "new_memory_id",
    "recallable",
]
