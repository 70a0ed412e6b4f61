"""A throw-away memory service in a file of its own: what a character test seeds its memories
into, so a test never reads or writes the user's memories."""

from __future__ import annotations

from pathlib import Path
from typing import Any


async def open_scratch_memory(path: Path, embedder: Any = None) -> Any:
    """A `MemoryService` over a new local store at ``path`` (close it after use); the local
    embedder unless ``embedder`` is given."""
    from carrier_studio.services.memory.embedders import LocalEmbedder
    from carrier_studio.services.memory.service import MemoryService
    from carrier_studio.services.memory.sqlite_store import SqliteMemoryStore

    store = await SqliteMemoryStore.open(path)
    return MemoryService(store, embedder or LocalEmbedder())
