"""A process that writes memories into a studio.db until it is killed (see test_crash_safety).

Run as ``python -m tests.services.memory.crash_writer DB SEED``. After each ``add`` returns it
prints the ids it wrote, one a line, flushed: those memories must survive a kill -9.
"""

from __future__ import annotations

import asyncio
import random
import sys

import numpy as np

from carrier_studio.core.memory import (
    EmbeddingSpace,
    MemoryQuery,
    MemoryRecord,
    Provenance,
    StoredMemory,
)
from carrier_studio.services.memory.sqlite_store import SqliteMemoryStore

SPACE = EmbeddingSpace("crash-test", 64)


async def main(path: str, seed: int) -> None:
    rng = random.Random(seed)
    vectors = np.random.default_rng(seed)
    store = await SqliteMemoryStore.open(path)
    try:
        n = 0
        while True:
            size = rng.choice((1, 1, 2, 5, 50))
            items = []
            for _ in range(size):
                n += 1
                v = vectors.standard_normal(SPACE.dimension).astype(np.float32)
                record = MemoryRecord(
                    character=rng.choice(("Ada", "Bob")),
                    content=f"memory {seed}-{n} " + "lorem ipsum " * rng.randint(0, 40),
                    provenance=Provenance("chat", room=str(seed)),
                )
                items.append(StoredMemory(record, v / np.linalg.norm(v)))
            await store.add(items, SPACE)
            sys.stdout.write("".join(f"{item.record.id}\n" for item in items))
            sys.stdout.flush()
            if rng.random() < 0.2:  # searches between writes keep the index loaded and in use
                await store.search(MemoryQuery("lorem memory", limit=3), items[0].vector)
    finally:
        await store.close()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], int(sys.argv[2])))
