"""How long memory jobs hold studio.db's write lock (chat's writes on the other connection give
up after the 5 s busy timeout).

Imports N memories (default 150k) and re-embeds them, timing every write transaction of the
local store (BEGIN IMMEDIATE … COMMIT) while a second connection writes a row every few
milliseconds, as chat does, and notes how long its longest wait was. Baselines in the same run:
the import as one transaction (``import_chunk`` = N), and the old row-by-row switch.

    uv run python bench/memory_locks.py [--n 150000]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import tempfile
import threading
import time
import zlib
from pathlib import Path

import apsw
import numpy as np

from carrier_studio.core.memory.bitindex import pack_signs
from carrier_studio.core.memory.jsonl import header_line
from carrier_studio.services.memory.service import IMPORT_CHUNK, MemoryService
from carrier_studio.services.memory.sqlite_rows import as_vector as _as_vector
from carrier_studio.services.memory.sqlite_store import SqliteMemoryStore
from carrier_studio.services.platform.db import connect


class HashEmbedder:
    """Deterministic, instant vectors: the bench measures the database, not a model."""

    def __init__(self, name: str, dimension: int = 384) -> None:
        self.id, self.dimension = name, dimension

    async def embed(self, texts):
        out = np.empty((len(texts), self.dimension), np.float32)
        for n, text in enumerate(texts):
            rng = np.random.default_rng(zlib.crc32(f"{self.id}:{text}".encode()))
            out[n] = rng.standard_normal(self.dimension)
        return out / np.linalg.norm(out, axis=1, keepdims=True)


class TimedStore(SqliteMemoryStore):
    """The real store, timing each write transaction."""

    def __init__(self, *args, row_by_row: bool = False, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.holds: list[float] = []
        self.row_by_row = row_by_row

    def _write(self, conn, body, follow=None):
        began = time.perf_counter()
        try:
            return super()._write(conn, body, follow)
        finally:
            self.holds.append(time.perf_counter() - began)

    def _replace_vectors(self, conn, vectors, space):
        if not self.row_by_row:
            return super()._replace_vectors(conn, vectors, space)

        def body():  # the switch as it was: every row updated inside one transaction
            for mid, vector in vectors:
                new = _as_vector(vector, space.dimension, mid)
                row = conn.execute("SELECT seq FROM memories WHERE id=?", (mid,)).fetchone()
                if row is None:
                    continue
                conn.execute(
                    "UPDATE memory_vectors SET vector=? WHERE memory=?", (new.tobytes(), row[0])
                )
                conn.execute(
                    "UPDATE memories SET bits=? WHERE seq=?", (pack_signs(new).tobytes(), row[0])
                )
            conn.execute(
                "UPDATE memory_space SET embedder_id=?, dimension=?",
                (space.embedder_id, space.dimension),
            )

        self._write(conn, body)  # drops the search side's bit indexes (the default edit)


class ChatWriter(threading.Thread):
    """Another connection writing small rows meanwhile; records its longest wait."""

    def __init__(self, path: Path) -> None:
        super().__init__(daemon=True)
        self.path, self.stop, self.longest, self.failures = path, threading.Event(), 0.0, 0

    def run(self) -> None:
        conn = connect(self.path)
        conn.execute("CREATE TABLE IF NOT EXISTS bench_chat (n INTEGER)")
        while not self.stop.wait(0.005):
            began = time.perf_counter()
            try:
                conn.execute("INSERT INTO bench_chat VALUES (1)")
            except apsw.BusyError:
                self.failures += 1
            self.longest = max(self.longest, time.perf_counter() - began)
        conn.close()


async def run(path: Path, source: Path, n: int, *, chunk: int, row_by_row: bool) -> None:
    store = await TimedStore.open(path, row_by_row=row_by_row)
    service = MemoryService(store, HashEmbedder("bench-a"), import_chunk=chunk)
    chat = ChatWriter(path)
    chat.start()
    try:
        began = time.perf_counter()
        await service.import_jsonl(source)
        took = time.perf_counter() - began
        label = "one transaction" if chunk >= n else f"chunks of {chunk:,}"
        print(f"  import of {n:,} ({label}): {n / took:,.0f} rows/s end to end, "
              f"longest lock hold {max(store.holds):.3f} s, "
              f"chat's longest write wait {chat.longest:.3f} s")  # fmt: skip
        store.holds.clear()
        chat.longest = 0.0
        began = time.perf_counter()
        await service.reembed(HashEmbedder("bench-b"))
        took = time.perf_counter() - began
        how = "row by row (old)" if row_by_row else "staged, then copied in chunks"
        print(f"  re-embedding switch, {how}: job {took:.1f} s, "
              f"longest lock hold {max(store.holds):.3f} s, "
              f"chat's longest write wait {chat.longest:.3f} s")  # fmt: skip
    finally:
        chat.stop.set()
        await asyncio.to_thread(chat.join)
        await service.close()
    print(f"  chat's writes that failed with BusyError: {chat.failures}")


async def main(n: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        source = Path(tmp) / "memories.jsonl"
        with source.open("w", encoding="utf-8") as out:
            out.write(header_line(None) + "\n")
            for i in range(n):
                record = {"id": f"m{i:07d}", "character": f"c{i % 7}",
                          "content": f"memory number {i} about topic {i % 977}"}  # fmt: skip
                out.write(json.dumps(record) + "\n")
        print("before (baselines):")
        await run(Path(tmp) / "before.db", source, n, chunk=n, row_by_row=True)
        print("after:")
        await run(Path(tmp) / "after.db", source, n, chunk=IMPORT_CHUNK, row_by_row=False)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=150_000)
    asyncio.run(main(parser.parse_args().n))
