"""Memory: recall latency and recall@10 of the local store, insert rate, local embedding rate.

Run: ``uv run python bench/memory.py [--queries 50] [--large 1000000] [--cache DIR]``.

Everything is measured through the store's real async API (`SqliteMemoryStore.search`, with its
thread hop), beside a numpy brute-force baseline (``M @ q`` + argpartition, all vectors in RAM)
computed in the same run on the same vectors and queries.

Data: 384-d unit vectors, clustered like sentence embeddings (2,000 topics, a shared direction,
per-memory noise: nearest neighbours at cosine ≈0.5–0.7, random pairs ≈0.1), all memories of
one character, which is the worst case for the per-character index. Queries are new points from
the same topics. Random uniform vectors — no structure, every distance alike — are the worst
case for sign-bit candidates; their recall@10 at 100k is printed too, for honesty.

The 1M-row database takes a few minutes to build; it is cached in --cache (default
~/.cache/carrier-studio/bench/memory-1000k-v1.db, ≈2.5 GB) and rebuilt when missing. The vectors are
regenerated from a fixed seed each run (seconds) rather than stored.

(a) recall k=10 over 100k memories, p50   (target ≤ 10 ms; raw sqlite-vec exact KNN ≈ 90 ms)
(b) recall k=10 over 1M memories, p50 / p95, first recall after opening, recall@10 against
    exact (target ≤ 25 / ≤ 60 ms, ≤ 0.25 s, ≥ 0.97), in two states of the OS page cache, each
    with queries not asked before: "cold", the file dropped from the cache first (what a user
    sees after a reboot; four passes: the store's background warming of the file off, then
    on from opening, from 2 s after opening, and once it finished), and "cached", the file
    read whole first (see `drop_from_cache`)
(c) batched insert rate   (target ≥ 20k rows/s)
(d) local embedding rate   (target ≥ 150 sentences/s)
(e) the Memory page's first screen over 1M rows   (target ≤ 150 ms) — see the hook below
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import NamedTuple

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
    Provenance,
    StoredMemory,
)
from carrier_studio.services.memory.embedders import LOCAL_BATCH, LocalEmbedder  # noqa: E402
from carrier_studio.services.memory.sqlite_store import SqliteMemoryStore  # noqa: E402

DIM = 384
K = 10
SPACE = EmbeddingSpace("bench-clustered", DIM)
TOPICS = 2000
SEED = 20261122
CACHE_VERSION = "v1"
COMMON = (
    "i you we the a to of and in is it that for on with was my me what do like about "
    "sam ada today yesterday morning coffee tea lunch meeting"
).split()
#: Text: common words plus Zipf-distributed words from a 30,000-word made-up vocabulary, so
#: keyword search sees both very common and rare terms, as in real chat.
VOCABULARY = 30_000
SYLLABLES = "ka lo mi ne ru sa ti vo ze pa do fi gu he ja".split()


def _word(n: int) -> str:
    out = []
    while True:
        out.append(SYLLABLES[n % len(SYLLABLES)])
        n //= len(SYLLABLES)
        if n == 0:
            return "".join(out)


T0 = datetime(2020, 1, 1, tzinfo=UTC)
CHUNK = 50_000


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


class Clustered:
    """Deterministic clustered vectors: row i is the same in every run."""

    def __init__(self, seed: int = SEED) -> None:
        rng = np.random.default_rng(seed)
        centers = rng.standard_normal((TOPICS, DIM)).astype(np.float32)
        self.centers = centers / np.linalg.norm(centers, axis=1, keepdims=True)
        shared = rng.standard_normal(DIM).astype(np.float32)
        self.shared = shared / np.linalg.norm(shared)
        self.seed = seed

    def _make(self, rng: np.random.Generator, n: int) -> np.ndarray:
        topics = rng.integers(0, TOPICS, n)
        noise = rng.standard_normal((n, DIM)).astype(np.float32) / np.sqrt(DIM)
        v = 0.35 * self.shared + self.centers[topics] + 1.1 * noise
        return (v / np.linalg.norm(v, axis=1, keepdims=True)).astype(np.float32)

    def rows(self, start: int, n: int, chunk: int = 50_000) -> np.ndarray:
        # The chunk size is part of the data: always use the default (CHUNK).
        """Rows [start, start+n), generated chunk by chunk from per-chunk seeds."""
        assert start % chunk == 0
        parts = []
        for c in range(start // chunk, (start + n + chunk - 1) // chunk):
            parts.append(self._make(np.random.default_rng((self.seed, c)), chunk))
        return np.concatenate(parts)[:n]

    def queries(self, n: int) -> np.ndarray:
        return self._make(np.random.default_rng((self.seed, 999_999)), n)


def _text(rng: np.random.Generator) -> str:
    common = rng.choice(COMMON, rng.integers(3, 9))
    rare = [_word(int(w) % VOCABULARY) for w in rng.zipf(1.3, rng.integers(3, 10))]
    return " ".join([*common, *rare])


def _records(start: int, n: int) -> list[MemoryRecord]:
    rng = np.random.default_rng((SEED, start))
    out = []
    for i in range(n):
        out.append(
            MemoryRecord(
                character="Ada",
                content=_text(rng),
                kind="message",
                provenance=Provenance("chat", room=str((start + i) % 50)),
                created_at=T0 + timedelta(seconds=start + i),
                id=f"m{start + i:08d}",
            )
        )
    return out


async def _fill(
    store: SqliteMemoryStore, data: Clustered, n: int, batch: int = 5000
) -> tuple[float, float]:
    """Insert n rows in batches; rows/s of the store calls alone, and rows per CPU-second of
    this process (the machine is shared: the second says what a quiet one would do)."""
    spent = 0.0
    cpu = 0.0
    for start in range(0, n, batch):
        size = min(batch, n - start)
        if start % CHUNK == 0:
            block = data.rows(start, min(CHUNK, n - start))
        vectors = block[start % CHUNK : start % CHUNK + size]
        items = [StoredMemory(r, v) for r, v in zip(_records(start, size), vectors, strict=True)]
        began, began_cpu = time.perf_counter(), time.process_time()
        await store.add(items, SPACE)
        spent += time.perf_counter() - began
        cpu += time.process_time() - began_cpu
        if n >= 200_000 and start % 100_000 == 0:
            print(f"    … {start + size:,} rows", flush=True)
    return n / spent, n / cpu


#: Random 4 KiB reads that show whether `drop_from_cache` took.
PROBES = 64


def _files(path: Path) -> list[Path]:
    """The database file and its -wal / -shm, those that exist."""
    names = (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm"))
    return [p for p in names if p.exists()]


def drop_from_cache(path: Path) -> tuple[float, float]:
    """Drop the SQLite file ``path`` (and its -wal / -shm) from the OS page cache, as a reboot
    would, so the next recall reads its pages from the disk. Call it with the store closed.

    Recall at 1M rescores ≈500 random rows of a 1.5 GB table, so its latency depends mostly on
    whether the file is cached; a bench that does not set that measures whatever the last run
    left. POSIX_FADV_DONTNEED needs no root (only a descriptor), but leaves dirty pages, hence
    the fsync. Returns the ms of PROBES random 4 KiB reads of the file just after the drop, and
    of the same reads again: the first read the disk if the drop took, the second the cache
    (their pages are dropped again afterwards)."""
    rng = random.Random(5)
    size = path.stat().st_size
    offsets = [rng.randrange(max(1, size // 4096)) * 4096 for _ in range(PROBES)]

    def probe(fd: int) -> float:
        began = time.perf_counter()
        for at in offsets:
            os.pread(fd, 4096, at)
        return (time.perf_counter() - began) * 1e3

    main = os.open(path, os.O_RDONLY)
    try:
        for name in _files(path):
            fd = os.open(name, os.O_RDONLY)
            try:
                os.fsync(fd)
                os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
            finally:
                os.close(fd)
        dropped, again = probe(main), probe(main)
        os.posix_fadvise(main, 0, 0, os.POSIX_FADV_DONTNEED)
    finally:
        os.close(main)
    return dropped, again


def read_into_cache(path: Path) -> tuple[float, int]:
    """Read the SQLite file ``path`` (and its -wal) once, sequentially, so all of it is in the
    OS page cache: the state of a file in daily use. Seconds and bytes; 2.5 GB took 7.5 s on
    this machine's disk from cold (≈0.2 s when already cached), so quick runs do it too."""
    buffer = bytearray(8 << 20)
    began, total = time.perf_counter(), 0
    for name in _files(path):
        with name.open("rb", buffering=0) as handle:
            while read := handle.readinto(buffer):
                total += read
    return time.perf_counter() - began, total


def _exact(matrix: np.ndarray, q: np.ndarray) -> tuple[np.ndarray, float]:
    began = time.perf_counter()
    scores = matrix @ q
    top = np.argpartition(-scores, K)[:K]
    top = top[np.argsort(-scores[top])]
    return top, time.perf_counter() - began


class Pass(NamedTuple):
    """One pass of queries over a store, in seconds."""

    first: float
    p50: float
    p95: float
    numpy_p50: float
    numpy_p95: float
    recall: float


async def _measure(
    store, matrix: np.ndarray, queries: np.ndarray, mode: str = "semantic", pace: float = 0.0
) -> Pass:
    """The first query (timed alone: after an open it loads the bit index), then the others:
    their p50 / p95, numpy's, and recall@10. The first is not asked again, as its rows would be
    cached by then. ``pace``: seconds from one query's start to the next (0: back to back)."""
    f = MemoryFilter(character="Ada")
    rng = np.random.default_rng(11)
    texts = [_text(rng) for _ in range(len(queries))]
    began = time.perf_counter()
    await store.search(MemoryQuery(texts[0], f, K, mode), queries[0])
    first = time.perf_counter() - began
    times, base, recalls = [], [], []
    for q, text in zip(queries[1:], texts[1:], strict=True):
        await asyncio.sleep(max(0.0, pace - (time.perf_counter() - began)))
        began = time.perf_counter()
        hits = await store.search(MemoryQuery(text, f, K, mode), q)
        times.append(time.perf_counter() - began)
        exact, spent = _exact(matrix, q)
        base.append(spent)
        want = {f"m{i:08d}" for i in exact}
        recalls.append(len(want & {h.record.id for h in hits}) / K)
    return Pass(
        first,
        statistics.median(times),
        _percentile(times, 0.95),
        statistics.median(base),
        _percentile(base, 0.95),
        float(np.mean(recalls)),
    )


async def _under_writes(
    store, data: Clustered, queries: np.ndarray, chunk: int | None = None, queued: bool = False
):
    """Recall p50 / p95 while an import writes ``chunk`` memories per transaction (default: the
    import's own chunk, `IMPORT_CHUNK`) into the same store, as a chat recalls during an import.
    ``queued``: the searches run on the writer's thread, behind its transactions, as before
    they had a thread of their own (the baseline). The rows written are deleted again, so the
    cached database stays as built."""
    from carrier_studio.services.memory.service import IMPORT_CHUNK, IMPORT_PAUSE

    chunk = chunk or IMPORT_CHUNK
    side = store._search_side
    own_thread = side._executor
    if queued:
        side._executor = store._executor  # apsw connections may be used from any thread
    stop, started = asyncio.Event(), asyncio.Event()
    written: list[str] = []
    rng = np.random.default_rng(77)

    async def importer() -> None:
        n = 0
        while not stop.is_set():
            vectors = data._make(rng, chunk)
            records = [
                MemoryRecord("Ada", _text(rng), id=f"w{n + i:08d}", provenance=Provenance("import"))
                for i in range(chunk)
            ]
            items = [StoredMemory(r, v) for r, v in zip(records, vectors, strict=True)]
            began = time.perf_counter()
            await store.add(items, SPACE)
            written.extend(r.id for r in records)
            started.set()
            n += chunk
            # As MemoryService.import_jsonl gives way between its transactions.
            await asyncio.sleep(min(IMPORT_PAUSE, time.perf_counter() - began))

    task = asyncio.create_task(importer())
    f = MemoryFilter(character="Ada")
    times = []
    try:
        await started.wait()  # the import is under way
        for q in queries:
            began = time.perf_counter()
            await store.search(MemoryQuery("", f, K, "semantic"), q)
            times.append(time.perf_counter() - began)
    finally:
        stop.set()
        await task
        side._executor = own_thread
    for start in range(0, len(written), 5000):
        await store.delete(written[start : start + 5000])
    return statistics.median(times), _percentile(times, 0.95), len(written)


async def bench_100k(data: Clustered, queries: np.ndarray, tmp: Path) -> None:
    n = 100_000
    store = await SqliteMemoryStore.open(tmp / "memory-100k.db")
    try:
        rate, per_cpu = await _fill(store, data, n)
        matrix = data.rows(0, n)
        first, p50, p95, numpy_p50, _, recall = await _measure(store, matrix, queries)
        hp50 = (await _measure(store, matrix, queries, "hybrid")).p50
    finally:
        await store.close()
    print(f"(c) batched insert (5,000 per add, fresh file, FTS5 + vectors): {rate:,.0f} rows/s"
          f" wall, {per_cpu:,.0f} rows per CPU-second  (target >= 25,000)")  # fmt: skip
    print(f"(a) recall k=10 over {n:,} memories (clustered 384-d)")
    print(f"    store semantic   p50 {p50 * 1e3:6.2f} ms  p95 {p95 * 1e3:6.2f} ms"
          f"  recall@10 {recall:.3f}  (target p50 <= 10 ms)")  # fmt: skip
    print(f"    store hybrid     p50 {hp50 * 1e3:6.2f} ms  (vector + FTS5 keywords, fused)")
    print(f"    numpy brute force p50 {numpy_p50 * 1e3:6.2f} ms   ratio store/numpy "
          f"{p50 / numpy_p50:.2f}x")  # fmt: skip
    print(f"    first query after open (loads the bit index): {first * 1e3:.0f} ms")


async def bench_uniform(tmp: Path, queries_n: int) -> None:
    """Random uniform unit vectors: the hard case for sign-bit candidates."""
    n = 100_000
    rng = np.random.default_rng(7)
    matrix = rng.standard_normal((n, DIM)).astype(np.float32)
    matrix /= np.linalg.norm(matrix, axis=1, keepdims=True)
    queries = rng.standard_normal((queries_n, DIM)).astype(np.float32)
    queries /= np.linalg.norm(queries, axis=1, keepdims=True)
    store = await SqliteMemoryStore.open(tmp / "memory-uniform.db")
    try:
        for start in range(0, n, 10_000):
            recs = _records(start, 10_000)
            await store.add(
                [StoredMemory(r, v) for r, v in zip(recs, matrix[start : start + 10_000],
                                                   strict=True)], SPACE)  # fmt: skip
        _, p50, _, numpy_p50, _, recall = await _measure(store, matrix, queries)
    finally:
        await store.close()
    print(f"    random uniform vectors instead: p50 {p50 * 1e3:.2f} ms, recall@10 {recall:.3f}"
          f" (numpy {numpy_p50 * 1e3:.2f} ms)")  # fmt: skip


async def bench_1m(data: Clustered, sets: list[np.ndarray], cache: Path, n: int) -> None:
    """``sets``: four sets of queries, each asked once: cold, cached, hybrid, during writes."""
    cache.mkdir(parents=True, exist_ok=True)
    path = cache / f"memory-{n // 1000}k-{CACHE_VERSION}.db"
    ready = path.with_suffix(".ready")
    if not ready.exists():
        for stale in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
            stale.unlink(missing_ok=True)
        print(f"    building {n:,} rows into {path} (cached for later runs) …", flush=True)
        store = await SqliteMemoryStore.open(path)
        try:
            rate, per_cpu = await _fill(store, data, n)
        finally:
            await store.close()
        ready.write_text(f"{rate:.0f}\n")
        print(f"    built at {rate:,.0f} rows/s ({per_cpu:,.0f} per CPU-second)")
    else:
        print(f"    using the cached {path} (delete {ready.name} to rebuild)")
    store = await SqliteMemoryStore.open(path)  # migrates a database built before schema 10
    try:
        kept = await store._run(
            lambda conn: conn.execute("SELECT count(*) FROM memory_bit_ready").fetchone()[0]
        )
        if not kept:
            began = time.perf_counter()
            await store.warm("Ada")
            print(f"    once: the bit index read from the rows and kept in the database "
                  f"(schema 10) in {time.perf_counter() - began:.2f} s")  # fmt: skip
    finally:
        await store.close()
    matrix = data.rows(0, n)
    cold_queries, cached_queries, hybrid_queries, write_queries, *later = sets
    # Cold: the file out of the OS cache, then open and the first recalls, as after a reboot:
    # without the vectors' warming (as before it), with it from opening, from 2 s after
    # opening, and once it finished.
    probe_disk, probe_cache = drop_from_cache(path)
    unwarmed, _ = await cold_pass(path, matrix, later[0], warm=False)
    cold, _ = await cold_pass(path, matrix, cold_queries)
    after, _ = await cold_pass(path, matrix, later[1], after=WARM_AFTER)
    warmed, warm_s = await cold_pass(path, matrix, later[2], after=None)
    # Cached: all of the file in the OS cache, then open again and queries not asked before
    # (asking the cold ones again would find only their own rows cached).
    read_s, read_bytes = read_into_cache(path)
    store = await SqliteMemoryStore.open(path)
    try:
        cached = await _measure(store, matrix, cached_queries)
        hp50 = (await _measure(store, matrix, hybrid_queries, "hybrid")).p50
        began = time.perf_counter()
        total = await store.count(MemoryFilter())
        count_s = time.perf_counter() - began
        pages = await _paging(store, total)
        rows_s = await store._run(_index_from_rows)
        wp50, wp95, wrote = await _under_writes(store, data, write_queries)
        _, qp95, _ = await _under_writes(store, data, write_queries, queued=True)
        _, bp95, _ = await _under_writes(store, data, write_queries, 2000, queued=True)
    finally:
        await store.close()
    asked = len(cold_queries) - 1
    print(f"(b) recall k=10 over {total:,} memories (clustered 384-d), {asked} queries in each"
          " state after the first, none asked before")  # fmt: skip
    print(f"    numpy brute force p50 {cached.numpy_p50 * 1e3:6.2f} ms  p95"
          f" {cached.numpy_p95 * 1e3:6.2f} ms  (exact, vectors in RAM: the baseline)")  # fmt: skip
    print(
        f"    file in the OS page cache (read whole first: {read_bytes / 1e9:.2f} GB in"
        f" {read_s:.1f} s), as in daily use:"
    )
    print(
        f"      cached: store semantic p50 {cached.p50 * 1e3:6.2f} ms  p95"
        f" {cached.p95 * 1e3:6.2f} ms  recall@10 {cached.recall:.3f}"
        f"  ratio p50 store/numpy {cached.p50 / cached.numpy_p50:.2f}x"
        "  (target p50 <= 25 ms, p95 <= 60 ms, recall >= 0.97)"
    )
    print(
        f"      cached: first query after open (loads the bit index):"
        f" {cached.first * 1e3:.0f} ms  (target <= 250 ms)"
    )
    print(
        f"    the drop took: {PROBES} random 4 KiB reads of the file then took"
        f" {probe_disk:.1f} ms, {probe_cache:.1f} ms again"
    )
    print_cold(cold, unwarmed, after, warmed, warm_s, cached.numpy_p50)  # fmt: skip
    print(f"    store hybrid     p50 {hp50 * 1e3:6.2f} ms  (file cached)")
    print(f"    during an import (same store, {wrote:,} written): "
          f"p50 {wp50 * 1e3:6.2f} ms  p95 {wp95 * 1e3:6.2f} ms;"
          f" searches queued on the writer's thread (before) p95 {qp95 * 1e3:6.2f} ms;"
          f" and with 2,000 per transaction (before) p95 {bp95 * 1e3:6.2f} ms")  # fmt: skip
    print(f"    the bit index read from the rows, as before schema 10: {rows_s * 1e3:.0f} ms")
    print(f"    count(*) {count_s * 1e3:.0f} ms")
    print(
        "    keyset paging, 200 rows newest first: first page p50 {:.2f} ms, a page at row"
        " {:,} p50 {:.2f} ms, one character's p50 {:.2f} ms".format(*pages)
    )


#: Cold passes ask a recall every PACE seconds, as chat turns do (and give the warming, which
#: waits while a recall runs, room between them); the cached pass asks back to back.
PACE = 0.25
#: The "2 s after opening" pass starts this long after the store opened.
WARM_AFTER = 2.0


async def cold_pass(
    path: Path,
    matrix: np.ndarray,
    queries: np.ndarray,
    *,
    warm: bool = True,
    after: float | None = 0.0,
) -> tuple[Pass, float]:
    """Drop the file from the OS cache, open the store (warming its vectors unless not
    ``warm``), wait ``after`` seconds (None: until the warming finished) and measure the
    queries a PACE apart. Returns the pass and the seconds waited."""
    drop_from_cache(path)
    store = await SqliteMemoryStore.open(path, warm_vectors=warm)
    began = time.perf_counter()
    try:
        if after is None:
            await asyncio.to_thread(store.warmer.finished.wait)
        else:
            await asyncio.sleep(after)
        waited = time.perf_counter() - began
        return await _measure(store, matrix, queries, pace=PACE), waited
    finally:
        await store.close()


def print_cold(
    cold: Pass, unwarmed: Pass, after: Pass, warmed: Pass, warm_s: float, numpy_p50: float
) -> None:
    """The four cold passes, each beside the one without warming."""
    print(
        f"    file not in the OS page cache (each pass: dropped with POSIX_FADV_DONTNEED, then"
        f" opened), a recall every {PACE} s, as after a reboot; the store's warming"
        " (services/memory/sqlite_warm.py) reads the file into the OS cache in the background"
        " from opening, pausing while a recall runs:"
    )
    rows = (
        ("cold, no warming", unwarmed, "immediately after opening, warming off (as before it)"),
        ("cold", cold, "immediately after opening, while the file warms"),
        (
            f"cold {WARM_AFTER:g} s after opening",
            after,
            f"from {WARM_AFTER:g} s after opening (warming still running or done)",
        ),
        ("cold, warming done", warmed, f"after the warming finished, {warm_s:.1f} s after opening"),
    )
    for state, result, heading in rows:
        print(
            f"      {state}: store semantic p50 {result.p50 * 1e3:6.2f} ms  p95"
            f" {result.p95 * 1e3:6.2f} ms  recall@10 {result.recall:.3f}"
            f"  ratio p50 store/numpy {result.p50 / numpy_p50:.2f}x  ({heading})"
        )
        print(
            f"      {state}: first query after open (loads the bit index):"
            f" {result.first * 1e3:.0f} ms  (target <= 250 ms)"
        )


def _index_from_rows(conn) -> float:
    """Seconds to build Ada's bit index from ``memories.bits`` (a row per memory), the way
    every store opened before schema 10 did: the baseline of the first recall."""
    from carrier_studio.core.memory.bitindex import BitIndex
    from carrier_studio.services.memory import sqlite_bits

    began = time.perf_counter()
    seqs, blob, _ = sqlite_bits.snapshot(conn, "Ada")
    index = BitIndex(DIM // 64)
    index.add(seqs, np.frombuffer(blob, "<u8").reshape(seqs.size, -1))
    assert len(index) == seqs.size
    return time.perf_counter() - began


async def _paging(store: SqliteMemoryStore, total: int) -> tuple[float, int, float, float]:
    """The Memory page's queries: the first page, a page deep down (reached by its cursor, as
    scrolling there would), and a page filtered to one character."""
    from carrier_studio.services.memory.sqlite_rows import to_micros

    # Rows are numbered oldest first (row i made at T0 + i s, seq i + 1); the page after row
    # 1,200 is, newest first, the one ending at the millionth row. The local store's cursor is
    # "created_at micros:seq".
    deep = 1200
    cursor = f"{to_micros(T0 + timedelta(seconds=deep))}:{deep + 1}"
    runs: dict[str, list[float]] = {"first": [], "deep": [], "character": []}
    for _ in range(15):
        for name, f, at in (
            ("first", MemoryFilter(), None),
            ("deep", MemoryFilter(), cursor),
            ("character", MemoryFilter(character="Ada", kinds=frozenset({"message"})), None),
        ):
            began = time.perf_counter()
            page = await store.page(f, at, 200)
            runs[name].append(time.perf_counter() - began)
            assert len(page.records) == 200
    first, deep_s, character = (statistics.median(runs[k]) * 1e3 for k in runs)
    return first, total - 1 - deep, deep_s, character


def bench_embedding() -> None:
    rng = np.random.default_rng(3)
    sentences = [
        " ".join(rng.choice(COMMON, rng.integers(6, 24))).capitalize() + "." for _ in range(300)
    ]
    print("(d) local embedding (all-MiniLM-L6-v2 static int8 ONNX, 1 onnxruntime thread)")
    for batch in (1, LOCAL_BATCH):
        embedder = LocalEmbedder(batch=batch)
        began = time.perf_counter()
        embedder.embed_now(sentences[:1])
        load = time.perf_counter() - began
        began = time.perf_counter()
        embedder.embed_now(sentences)
        rate = len(sentences) / (time.perf_counter() - began)
        # Every batch size gives the same vectors (static quantization), so batching is safe.
        note = "the default" if batch == LOCAL_BATCH else "the baseline: one text per call"
        print(f"    batch {batch}: {rate:6.0f} sentences/s (load {load:.2f} s)  {note}"
              "  (target >= 150)")  # fmt: skip


def _load() -> str:
    one, five, fifteen = os.getloadavg()
    return f"load average {one:.1f} {five:.1f} {fifteen:.1f} on {os.cpu_count()} cores"


def run_page_bench(args: argparse.Namespace) -> None:
    # (e) the Memory page's first screen over 1M rows (target <= 150 ms): bench/memory_page.py
    # measures the real page over the same cached database, in a process of its own (a Qt
    # application on a qasync loop, which this asyncio.run cannot host).
    if not args.large:
        return
    print("(e) the Memory page's first screen (bench/memory_page.py):", flush=True)
    page = Path(__file__).with_name("memory_page.py")
    subprocess.run(
        [sys.executable, str(page), "--rows", str(args.large), "--cache", str(args.cache)],
        check=False,
        env={**os.environ, "QT_QPA_PLATFORM": os.environ.get("QT_QPA_PLATFORM", "offscreen")},
    )


async def main(args: argparse.Namespace) -> None:
    print(f"memory bench; {_load()}: figures are wall time on a shared machine")
    data = Clustered()
    # Each pass asks a first query (timed alone) and then --queries others, none asked before.
    each = args.queries + 1
    sets = list(data.queries(7 * each).reshape(7, each, DIM))
    with tempfile.TemporaryDirectory(prefix="carrier-bench-") as tmp:
        await bench_100k(data, sets[0], Path(tmp))
        await bench_uniform(Path(tmp), each)
    if args.large:
        await bench_1m(data, sets, args.cache, args.large)
    bench_embedding()
    print(f"done; {_load()}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--queries", type=int, default=50)
    parser.add_argument("--large", type=int, default=1_000_000, help="0 skips (b)")
    parser.add_argument(
        "--cache", type=Path, default=Path.home() / ".cache" / "carrier-studio" / "bench"
    )
    arguments = parser.parse_args()
    asyncio.run(main(arguments))
    run_page_bench(arguments)
