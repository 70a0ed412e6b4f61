"""The Supabase memory store on real PostgreSQL 18 + pgvector: recall, latency, insert rate.

Run: ``uv run python bench/memory_supabase.py [--rows 10000] [--queries 50]``.

The store runs through the real supabase client against the tests' PostgREST RPC bridge over an
embedded PostgreSQL (tests/services/memory/supabase_env.py), all on this machine: the latencies
include the client, HTTP on 127.0.0.1, the bridge and the SQL function, but no network. Beside
them, in the same run on the same vectors: the same HNSW query in plain SQL at pgvector's
default ef_search (40) and at the store's (400), and a numpy brute-force baseline (``M @ q`` +
argpartition) that is also the exact answer recall is measured against.

``--move N`` also times `MemoryService.move_to` of N local memories three ways in the same run:
with the database URL (binary COPY on a direct connection, `services/memory/supabase_copy.py`),
through the API with the index built once, and row by row (the baseline); each with its index
build's share. The COPY move returns once its rows are committed there and deleted here, and
builds the vector index afterwards in the background: it is printed twice, until the rows are
safe (what the user waits for) and until the index is ready (searches are exact meanwhile).

Data: 384-d unit vectors clustered like sentence embeddings (as bench/memory.py makes them), or
with ``--hard`` close to uniform; queries are new points from the same clusters.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
# bench/ holds mcp.py, which would shadow the `mcp` package: run from the project root instead.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != ROOT / "bench"]
sys.path.insert(0, str(ROOT))

from carrier_studio.core.memory import (  # noqa: E402
    EmbeddingSpace,
    MemoryFilter,
    MemoryQuery,
    MemoryRecord,
    StoredMemory,
)
from tests.services.memory.supabase_env import SERVICE_KEY, SupabaseTestEnv  # noqa: E402

SPACE = EmbeddingSpace("bench-minilm", 384)
T0 = datetime(2026, 1, 1, tzinfo=UTC)


def unit(rows: np.ndarray) -> np.ndarray:
    return (rows / np.linalg.norm(rows, axis=-1, keepdims=True)).astype(np.float32)


def data(rows: int, queries: int, hard: bool) -> tuple[np.ndarray, np.ndarray]:
    """Sentence-like vectors (bench/memory.py's recipe: 2,000 topics, a shared direction,
    noise; nearest neighbours at cosine ≈0.5–0.7), or with --hard loose clusters drowned in
    noise, close to uniform: HNSW's worst case, nothing like text."""
    rng = np.random.default_rng(11)
    n = rows + queries
    if hard:
        centres = rng.normal(size=(max(40, rows // 100), 384))
        points = unit(
            centres[rng.integers(0, len(centres), n)] + rng.normal(scale=4.0, size=(n, 384))
        )
    else:
        centres = unit(rng.standard_normal((2000, 384)))
        shared = unit(rng.standard_normal(384))
        noise = rng.standard_normal((n, 384)) / np.sqrt(384)
        points = unit(0.35 * shared + centres[rng.integers(0, 2000, n)] + 1.1 * noise)
    return points[:rows], points[rows:]


def ms(values: list[float]) -> str:
    return f"{statistics.median(values) * 1000:7.2f} ms"


def recall(found: list[list[str]], exact: list[set[str]]) -> float:
    return float(np.mean([len(set(f) & e) / 10 for f, e in zip(found, exact, strict=True)]))


def with_recall(times: list[float], found: list[list[str]], exact: list[set[str]]) -> str:
    return f"{ms(times)}  recall@10 {recall(found, exact):.3f}"


def bulk_load(env: SupabaseTestEnv, memories: list[StoredMemory]) -> None:
    """COPY the rows in, then build the HNSW index once (≈20× faster than keeping it current
    row by row): how a large table gets there for the search figures."""
    with env.connect() as connection:
        connection.execute("insert into memories_space values (1, %s, %s)", [SPACE.embedder_id,
                           SPACE.dimension])  # fmt: skip
        connection.execute("drop index memories_embedding_hnsw_384")
        with connection.cursor() as cursor:
            columns = "id, character, kind, content, created_at, embedding"
            with cursor.copy(f"copy memories ({columns}) from stdin") as copy:
                for m in memories:
                    r = m.record
                    text = "[" + ",".join(map("{:.9g}".format, m.vector.tolist())) + "]"
                    copy.write_row((r.id, r.character, r.kind, r.content, r.created_at, text))
        connection.execute("set maintenance_work_mem = '512MB'")
        connection.execute(
            "create index memories_embedding_hnsw_384 on memories using hnsw "
            "((embedding::vector(384)) vector_cosine_ops) where vector_dims(embedding) = 384"
        )


async def through_store(env: SupabaseTestEnv, vectors: np.ndarray, queries: np.ndarray, bulk: bool):
    memories = [
        StoredMemory(
            MemoryRecord("Ada", f"memory {i} about topic", created_at=T0 + timedelta(seconds=i)), v
        )  # fmt: skip
        for i, v in enumerate(vectors)
    ]
    store = await env.open_store()
    try:
        started = time.perf_counter()
        if bulk:
            await asyncio.to_thread(bulk_load, env, memories)
        else:
            await store.add(memories, SPACE)
        insert_seconds = time.perf_counter() - started
        semantic, found = [], []
        for q in queries:
            started = time.perf_counter()
            hits = await store.search(MemoryQuery("", mode="semantic", limit=10), q)
            semantic.append(time.perf_counter() - started)
            found.append([h.record.id for h in hits])
        hybrid = []
        for q in queries:
            started = time.perf_counter()
            await store.search(MemoryQuery("memory about 17", limit=10), q)
            hybrid.append(time.perf_counter() - started)
        first_page = []
        for _ in range(len(queries)):
            started = time.perf_counter()
            await store.page(MemoryFilter(character="Ada"), limit=200)
            first_page.append(time.perf_counter() - started)
        ids = [m.record.id for m in memories]
        return insert_seconds, semantic, found, hybrid, first_page, ids
    finally:
        await store.close()


class _RowByRow:
    """The Supabase store as a move saw it before #21: no bulk functions, so every row keeps the
    HNSW index current, 200 rows per call (the baseline)."""

    def __init__(self, store) -> None:
        self._store = store
        self.name = store.name

    async def space(self):
        return await self._store.space()

    async def add(self, items, space, **kwargs):
        return await self._store.add(items, space, **kwargs)


class _NoEmbedder:
    """A move embeds nothing; the service only asks the space."""

    id = SPACE.embedder_id
    dimension = SPACE.dimension


async def move(
    env: SupabaseTestEnv,
    vectors: np.ndarray,
    tmp: Path,
    bulk: bool,
    copy: bool = False,
    inline: bool = False,
) -> tuple[float, float]:
    """Seconds for `MemoryService.move_to` of a local store holding ``vectors`` into an empty
    Supabase store: the copy, the local deletes and (bulk through the API) the one index build
    at the end; and the seconds of that index build alone. With ``copy`` the store has the
    database URL, so the rows go over COPY on a direct connection instead of the RPC API, and
    the index is built after `move_to` returned: the second figure is then the seconds from the
    start until the index is ready. With ``inline`` too, the COPY move as it was before it left
    the build to the background (memory functions of schema 3): the build inside `move_to`."""
    from carrier_studio.services.memory.service import MemoryService
    from carrier_studio.services.memory.sqlite_store import SqliteMemoryStore
    from carrier_studio.services.memory.supabase_copy import CopyLoader
    from carrier_studio.services.memory.supabase_store import SupabaseMemoryStore

    real_begin = CopyLoader._begin

    def begin_as_schema_3(self, *args):  # noqa: ANN001, ANN202
        real_begin(self, *args)
        self.builds_later = False

    CopyLoader._begin = begin_as_schema_3 if inline else real_begin  # type: ignore[method-assign]

    env.empty()
    local = await SqliteMemoryStore.open(tmp / f"move-{bulk}-{copy}.db")
    memories = [
        StoredMemory(MemoryRecord("Ada", f"memory {i} about topic {i % 97}",
                                  created_at=T0 + timedelta(seconds=i)), v)
        for i, v in enumerate(vectors)
    ]  # fmt: skip
    for start in range(0, len(memories), 5000):
        await local.add(memories[start : start + 5000], SPACE)
    service = MemoryService(local, _NoEmbedder())  # type: ignore[arg-type]
    target = await env.open_store()
    if copy:
        await target.close()
        assert env.bridge is not None
        target = await SupabaseMemoryStore.open(
            env.bridge.url, SERVICE_KEY, database_url=env.postgres_url
        )
    building = [0.0]
    real_end = target.end_bulk

    async def timed_end() -> None:
        began = time.perf_counter()
        await real_end()
        building[0] = time.perf_counter() - began

    target.end_bulk = timed_end  # type: ignore[method-assign]
    try:
        started = time.perf_counter()
        moved = await service.move_to(target if bulk else _RowByRow(target))  # type: ignore[arg-type]
        seconds = time.perf_counter() - started
        assert moved == len(vectors), moved
        if copy and not inline:
            assert target.index_build is not None, "the COPY move builds the index afterwards"
            await target.index_build
            building[0] = time.perf_counter() - started
        assert await target.count(MemoryFilter()) == len(vectors)
        with env.connect() as connection:
            (indexed,) = connection.execute(
                "select count(*) from pg_indexes where indexname = 'memories_embedding_hnsw_384'"
            ).fetchone()
        assert indexed == 1, "the move must leave the vector index built"
    finally:
        CopyLoader._begin = real_begin  # type: ignore[method-assign]
        await target.close()
        await service.close()
    return seconds, building[0]


def in_sql(env: SupabaseTestEnv, queries: np.ndarray, ef_search: int):
    times, found = [], []
    with env.connect() as connection:
        connection.execute(f"set hnsw.ef_search = {ef_search}")
        for q in queries:
            literal = str(q.tolist())
            started = time.perf_counter()
            rows = connection.execute(
                "select id from memories where vector_dims(embedding) = 384 "
                "order by embedding::vector(384) <=> %s::vector(384) limit 10",
                [literal],
            ).fetchall()
            times.append(time.perf_counter() - started)
            found.append([r[0] for r in rows])
    return times, found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument("--queries", type=int, default=50)
    parser.add_argument("--hard", action="store_true", help="near-uniform vectors instead")
    parser.add_argument(
        "--bulk", action="store_true", help="load with COPY + one index build, not store.add"
    )
    parser.add_argument(
        "--move", type=int, default=0,
        help="also time MemoryService.move_to of this many local memories, bulk and row by row",
    )  # fmt: skip
    args = parser.parse_args()
    vectors, queries = data(args.rows, args.queries, args.hard)
    env = SupabaseTestEnv()
    env.start()
    try:
        if args.move:
            moving, _ = data(args.move, 0, args.hard)
            with tempfile.TemporaryDirectory(prefix="carrier-move-") as tmp:
                copied, copy_build = asyncio.run(move(env, moving, Path(tmp), True, copy=True))
                inline, inline_build = asyncio.run(
                    move(env, moving, Path(tmp), True, copy=True, inline=True)
                )
                now, build = asyncio.run(move(env, moving, Path(tmp), bulk=True))
                before, _ = asyncio.run(move(env, moving, Path(tmp), bulk=False))
            print(
                f"move {args.move} local memories into Supabase (MemoryService.move_to, "
                f"local deletes included, {os.getloadavg()[0]:.1f} load)"
            )
            print(
                f"  COPY (database URL), rows safe    {args.move / copied:8.0f} rows/s  "
                f"({copied:.1f} s: committed there, deleted here; the index builds after)"
            )
            print(f"  COPY (database URL), index ready  {args.move / copy_build:8.0f} rows/s  "
                  f"({copy_build:.1f} s from the start; the build in the background "
                  f"{copy_build - copied:.1f} s of it, searches exact meanwhile)")  # fmt: skip
            print(f"  COPY, index built in the move     {args.move / inline:8.0f} rows/s  "
                  f"({inline:.1f} s, index build {inline_build:.1f} s of it: the move before "
                  "it left the build to the background)")  # fmt: skip
            print(f"  API, bulk (index built once)      {args.move / now:8.0f} rows/s  "
                  f"({now:.1f} s, index build {build:.1f} s of it)")  # fmt: skip
            print(f"  API, row by row (before #21)      {args.move / before:8.0f} rows/s  "
                  f"({before:.1f} s)")  # fmt: skip
        env.empty()
        inserted, semantic, found, hybrid, first_page, ids = asyncio.run(
            through_store(env, vectors, queries, args.bulk)
        )
        brute, exact = [], []
        for q in queries:
            started = time.perf_counter()
            top = np.argpartition(-(vectors @ q), 10)[:10]
            brute.append(time.perf_counter() - started)
            exact.append({ids[i] for i in top})
        sql40, found40 = in_sql(env, queries, 40)
        sql400, found400 = in_sql(env, queries, 400)
    finally:
        env.close()
    rows = [
        (
            "bulk COPY + index build" if args.bulk else "store.add (HNSW kept current)",
            f"{args.rows / inserted:8.0f} rows/s",
        ),
        ("numpy brute force (exact)", ms(brute)),
        ("SQL, ef_search=40 (pgvector default)", with_recall(sql40, found40, exact)),
        ("SQL, ef_search=400 (as match_memories)", with_recall(sql400, found400, exact)),
        ("store.search semantic (client+HTTP+SQL)", with_recall(semantic, found, exact)),
        ("store.search hybrid", ms(hybrid)),
        ("store.page, first 200 rows", ms(first_page)),
    ]  # fmt: skip
    kind = "near-uniform" if args.hard else "sentence-like"
    print(f"{args.rows} {kind} memories x 384-d, {args.queries} queries, k=10, medians")
    for label, value in rows:
        print(f"  {label:<44} {value}")


if __name__ == "__main__":
    main()
