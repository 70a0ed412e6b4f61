"""Recall@10 of the local memory store on real sentence embeddings, at 100k and at 1M.

Run: ``uv run python bench/memory_real.py [--queries 200] [--large 1000000] [--quick]``.

bench/memory.py measures the store on synthetic clustered vectors, where the sign-bit
candidates reach recall@10 1.000 (and 0.33 on uniform ones). This one asks the same of what
users store: chat lines embedded by the shipped model.

Text: 100,000 distinct chat lines plus the queries (other lines from the same generator), made
by bench/chat_corpus.py — generated, no package here ships a chat corpus (its docstring says how
they are made and how they differ from real chat).

Vectors: each line embedded by the app's own `LocalEmbedder` (all-MiniLM-L6-v2, static int8,
one onnxruntime thread, batches of 16). Embedding 100k lines takes minutes on 2 shared cores,
so the vectors are cached in --cache (``real-chat-<version>-<n>.npy``, ≈150 MB), filled in
chunks (an interrupted run resumes), and the embedding rate is printed: from the run that
filled the cache, and measured again on 2,000 lines every run.

1M: the 100k vectors and nine copies of each, every copy the original plus Gaussian noise of
norm 0.33 (per dimension σ = 0.33/√384), normalised again: a copy's cosine to its original is
≈0.95 and to another copy of the same line ≈0.90, as a reworded line would be. The copies keep
the real vectors' shape (the same directions, the same sign-bit structure) but crowd each
query's neighbourhood with near-ties, which is harder for candidates than a million distinct
lines would be. The 1M database is cached in --cache like bench/memory.py's.

At 1M the store is measured in two states of the OS page cache, each with queries not asked
before (re-asking queries finds their own rows cached and overstates a warm store): "cold",
the database file dropped from the cache first, as after a reboot (four passes: the store's
background warming of the file off, then on from opening, from 2 s after opening, and once
it finished), and "cached", the file read whole first, as in daily use (bench/memory.py's
`drop_from_cache` and `read_into_cache`).

Each figure stands beside numpy's exact search (``M @ q``, all vectors in RAM) on the same
vectors and queries in the same run, and the store is measured at several candidate counts
(its default first) so a change of the default shows before and after side by side.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
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

from bench.chat_corpus import chat_lines  # noqa: E402
from bench.memory import PACE, PROBES, WARM_AFTER, drop_from_cache, read_into_cache  # noqa: E402
from carrier_studio.core.memory import (  # noqa: E402
    EmbeddingSpace,
    MemoryFilter,
    MemoryQuery,
    MemoryRecord,
    Provenance,
    StoredMemory,
)
from carrier_studio.services.memory.embedders import LocalEmbedder  # noqa: E402
from carrier_studio.services.memory.sqlite_store import (  # noqa: E402
    DEFAULT_CANDIDATES,
    SqliteMemoryStore,
)

K = 10
N = 100_000
SEED = 20261203
#: Sets of query lines: the 100k store's (and the 1M store's cold pass from opening), the
#: cached passes', and three more cold passes (warming off, from 2 s after opening, warmed).
SETS = 5
#: Changes when the lines or the way they are embedded change (the cache key).
VERSION = "v1"
COPY_NOISE = 0.33
T0 = datetime(2021, 1, 1, tzinfo=UTC)
SPACE = EmbeddingSpace(LocalEmbedder.id, LocalEmbedder.dimension)
EMBED_CHUNK = 5_000


def _load() -> str:
    one, five, fifteen = os.getloadavg()
    return f"load average {one:.1f} {five:.1f} {fifteen:.1f} on {os.cpu_count()} cores"


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


# -- the lines and their vectors ------------------------------------------------------------


def corpus(queries: int) -> tuple[list[str], list[str]]:
    """N stored lines and SETS sets of ``queries`` + 1 other lines to ask with (never stored):
    the 1M store is asked each set once, cached and in each cold pass (100k and numpy take the
    first)."""
    lines = chat_lines(N + 2_000, SEED)
    return lines[:N], lines[N : N + min(SETS * (queries + 1), 2_000)]


def _key(lines: list[str]) -> str:
    digest = hashlib.sha256("\n".join(lines).encode()).hexdigest()[:10]
    return f"{VERSION}-{LocalEmbedder.id}-{digest}"


def embedded(lines: list[str], cache: Path, label: str) -> tuple[np.ndarray, str]:
    """The vectors of ``lines``, from the cache or embedded now (chunk by chunk, saved as it
    goes); and a line saying where they came from, with the embedding rate when embedded."""
    cache.mkdir(parents=True, exist_ok=True)
    path = cache / f"real-chat-{label}-{_key(lines)}.npy"
    if path.exists():
        return np.load(path), f"cached {path}"
    partial = path.with_suffix(".partial.npy")
    done = np.load(partial) if partial.exists() else np.empty((0, SPACE.dimension), np.float32)
    embedder = LocalEmbedder()
    embedder.embed_now(lines[:1])  # load the model before timing
    began, first = time.perf_counter(), len(done)
    while len(done) < len(lines):
        chunk = lines[len(done) : len(done) + EMBED_CHUNK]
        done = np.concatenate([done, embedder.embed_now(chunk)])
        np.save(partial, done)
        rate = (len(done) - first) / (time.perf_counter() - began)
        print(f"    … embedded {len(done):,} of {len(lines):,} ({rate:,.0f}/s)", flush=True)
    rate = (len(done) - first) / max(time.perf_counter() - began, 1e-9)
    np.save(path, done)
    partial.unlink(missing_ok=True)
    return done, f"embedded now at {rate:,.0f} lines/s ({_load()}), cached in {path}"


def embedding_rate(lines: list[str]) -> float:
    """Lines per second of the shipped embedder on 2,000 of the lines (batch 16, 1 thread)."""
    embedder = LocalEmbedder()
    embedder.embed_now(lines[:1])
    sample = lines[:2_000]
    began = time.perf_counter()
    embedder.embed_now(sample)
    return len(sample) / (time.perf_counter() - began)


def noisy_copies(vectors: np.ndarray, copies: int) -> np.ndarray:
    """``vectors`` followed by ``copies`` noisy copies of each (see the module docstring)."""
    rng = np.random.default_rng(SEED)
    n, dim = vectors.shape
    out = np.empty(((copies + 1) * n, dim), np.float32)
    out[:n] = vectors
    for c in range(1, copies + 1):
        noise = rng.standard_normal((n, dim), dtype=np.float32) * (COPY_NOISE / np.sqrt(dim))
        block = vectors + noise
        block /= np.linalg.norm(block, axis=1, keepdims=True)
        out[c * n : (c + 1) * n] = block
    return out


# -- the store --------------------------------------------------------------------------------


def _items(lines: list[str], vectors: np.ndarray, start: int, size: int) -> list[StoredMemory]:
    out = []
    for i in range(start, start + size):
        record = MemoryRecord(
            character="Ada",
            content=lines[i % len(lines)],
            kind="message",
            provenance=Provenance("chat", room=str(i % 50)),
            created_at=T0 + timedelta(seconds=i),
            id=f"r{i:08d}",
        )
        out.append(StoredMemory(record, vectors[i]))
    return out


async def fill(path: Path, lines: list[str], vectors: np.ndarray) -> float:
    """Insert every vector (row i gets line i mod 100k); rows per second."""
    store = await SqliteMemoryStore.open(path)
    spent = 0.0
    try:
        for start in range(0, len(vectors), 5_000):
            items = _items(lines, vectors, start, min(5_000, len(vectors) - start))
            began = time.perf_counter()
            await store.add(items, SPACE)
            spent += time.perf_counter() - began
            if len(vectors) >= 200_000 and start % 200_000 == 0:
                print(f"    … {start + len(items):,} rows", flush=True)
    finally:
        await store.close()
    return len(vectors) / spent


def exact(matrix: np.ndarray, queries: np.ndarray) -> tuple[list[set[str]], list[float]]:
    """numpy's exact top 10 of each query, and its time per query."""
    wanted, times = [], []
    for q in queries:
        began = time.perf_counter()
        scores = matrix @ q
        top = np.argpartition(-scores, K)[:K]
        times.append(time.perf_counter() - began)
        wanted.append({f"r{i:08d}" for i in top})
    return wanted, times


async def measure(
    path: Path,
    candidates: int,
    queries: np.ndarray,
    texts: list[str],
    wanted: list[set[str]],
    *,
    warm: bool = True,
    after: float | None = 0.0,
    pace: float = 0.0,
) -> tuple[float, float, float, float]:
    """(first query after open s, p50 s, p95 s, recall@10) of the store at ``candidates``: the
    first query timed alone (it loads the bit index), the others after it (the first is not
    asked again: its rows would be cached by then). ``warm``: the store warms its vectors
    (`sqlite_warm`); ``after``: seconds waited after opening (None: until the warming
    finished, kept in ``measure.waited``); ``pace``: seconds between the queries' starts."""
    store = await SqliteMemoryStore.open(path, candidates=candidates, warm_vectors=warm)
    f = MemoryFilter(character="Ada")
    try:
        opened = time.perf_counter()
        if after is None:
            await asyncio.to_thread(store.warmer.finished.wait)
        else:
            await asyncio.sleep(after)
        measure.waited = time.perf_counter() - opened
        began = time.perf_counter()
        await store.search(MemoryQuery(texts[0], f, K, "semantic"), queries[0])
        first = time.perf_counter() - began
        times, recalls = [], []
        for q, text, want in zip(queries[1:], texts[1:], wanted[1:], strict=True):
            await asyncio.sleep(max(0.0, pace - (time.perf_counter() - began)))
            began = time.perf_counter()
            hits = await store.search(MemoryQuery(text, f, K, "semantic"), q)
            times.append(time.perf_counter() - began)
            recalls.append(len(want & {h.record.id for h in hits}) / K)
    finally:
        await store.close()
    return first, statistics.median(times), _percentile(times, 0.95), float(np.mean(recalls))


async def report(
    label: str,
    path: Path,
    matrix: np.ndarray,
    queries: np.ndarray,
    texts: list[str],
    counts: list[int],
) -> None:
    wanted, base = exact(matrix, queries)
    print(f"  {label}: {len(matrix):,} memories, {len(queries) - 1} queries after the first")
    p50, p95 = statistics.median(base), _percentile(base, 0.95)
    print(f"    numpy exact        p50 {p50 * 1e3:7.2f} ms  p95 {p95 * 1e3:7.2f} ms"
          "  recall@10 1.000 (the baseline)")  # fmt: skip
    for count in counts:
        first, p50, p95, recall = await measure(path, count, queries, texts, wanted)
        # The store rescores at least total/2000 candidates (500 at 1M) whatever is asked.
        used = max(count, 4 * K, len(matrix) // 2000)
        note = " (the default)" if count == DEFAULT_CANDIDATES else ""
        print(f"    store, {used:>5} cand. p50 {p50 * 1e3:7.2f} ms  p95 {p95 * 1e3:7.2f} ms"
              f"  recall@10 {recall:.3f}  first query {first * 1e3:5.0f} ms{note}",
              flush=True)  # fmt: skip


async def report_1m(
    label: str,
    path: Path,
    matrix: np.ndarray,
    colds: list[tuple[np.ndarray, list[str]]],
    cached: tuple[np.ndarray, list[str]],
    counts: list[int],
) -> None:
    """The 1M store cold (each pass: the file dropped from the OS cache, then open and its
    queries from ``colds``, a recall every PACE s: warming off, from opening, from 2 s after
    opening, once the warming finished) at the default candidates, then cached (the file read
    whole, then the ``cached`` queries) at each distinct candidate count. Once the whole file
    is cached, asking the same queries at the next count reads nothing from the disk, so the
    counts compare like with like."""
    wanted, base = exact(matrix, cached[0])
    cold_wanted = []
    for queries, _ in colds:
        found, times = exact(matrix, queries)
        cold_wanted.append(found)
        base += times
    print(f"  {label}: {len(matrix):,} memories, {len(cached[0]) - 1} queries in each state"
          " after the first, none asked in the other")  # fmt: skip
    p50, p95 = statistics.median(base), _percentile(base, 0.95)
    print(f"    numpy exact        p50 {p50 * 1e3:7.2f} ms  p95 {p95 * 1e3:7.2f} ms"
          "  recall@10 1.000 (the baseline)")  # fmt: skip
    floor = len(matrix) // 2000  # the store rescores at least this many, whatever is asked
    probe_disk, probe_cache = drop_from_cache(path)
    print("    file not in the OS page cache (each pass: dropped with POSIX_FADV_DONTNEED, then"
          f" opened; {PROBES} random 4 KiB reads of it then took {probe_disk:.1f} ms,"
          f" {probe_cache:.1f} ms again), a recall every {PACE} s, as after a reboot; the"
          " store's warming (services/memory/sqlite_warm.py) reads the file into the OS cache"
          " in the background from opening, pausing while a recall runs:")  # fmt: skip
    used = max(DEFAULT_CANDIDATES, 4 * K, floor)
    passes = (
        ("cold, no warming", False, 0.0, "immediately after opening, warming off (as before it)"),
        ("cold", True, 0.0, "immediately after opening, while the file warms"),
        (f"cold {WARM_AFTER:g} s after opening", True, WARM_AFTER,
         f"from {WARM_AFTER:g} s after opening"),
        ("cold, warming done", True, None, "after the warming finished, {:.1f} s after opening"),
    )  # fmt: skip
    for (state, warm, after, note), queries, want in zip(passes, colds, cold_wanted, strict=True):
        drop_from_cache(path)
        first, p50, p95, recall = await measure(
            path, DEFAULT_CANDIDATES, *queries, want, warm=warm, after=after, pace=PACE
        )
        print(f"    {state}: store, {used:>5} cand. p50 {p50 * 1e3:7.2f} ms  p95"
              f" {p95 * 1e3:7.2f} ms  recall@10 {recall:.3f}  first query {first * 1e3:5.0f} ms"
              f" ({note.format(measure.waited)})", flush=True)  # fmt: skip
    seconds, size = read_into_cache(path)
    print(f"    file in the OS page cache (read whole first: {size / 1e9:.2f} GB in"
          f" {seconds:.1f} s), as in daily use:")  # fmt: skip
    done: set[int] = set()
    for count in counts:
        used = max(count, 4 * K, floor)
        if used in done:
            continue
        done.add(used)
        first, p50, p95, recall = await measure(path, count, *cached, wanted)
        note = " (the default)" if count == DEFAULT_CANDIDATES else ""
        print(f"    cached: store, {used:>5} cand. p50 {p50 * 1e3:7.2f} ms  p95 {p95 * 1e3:7.2f}"
              f" ms  recall@10 {recall:.3f}  first query {first * 1e3:5.0f} ms{note}",
              flush=True)  # fmt: skip


async def main(args: argparse.Namespace) -> None:
    print(f"real-embedding recall bench; {_load()}")
    lines, query_lines = corpus(args.queries)
    vectors, source = embedded(lines, args.cache, "store")
    queries, _ = embedded(query_lines, args.cache, "queries")
    print(f"  {len(lines):,} generated chat lines (bench/chat_corpus.py), vectors {source}")
    if args.embed_only:
        return
    rate = embedding_rate(lines)
    print(f"  embedding rate now: {rate:,.0f} lines/s (LocalEmbedder, batch 16, 1 thread)")
    counts = [DEFAULT_CANDIDATES, *args.candidates]
    with tempfile.TemporaryDirectory(prefix="carrier-bench-real-") as tmp:
        path = Path(tmp) / "real-100k.db"
        inserted = await fill(path, lines, vectors)
        print(f"  inserted 100k at {inserted:,.0f} rows/s")
        each = len(query_lines) // SETS
        await report("100k", path, vectors, queries[:each], query_lines[:each], counts)
    if not args.large:
        return
    copies = args.large // N - 1
    matrix = noisy_copies(vectors, copies)
    path = args.cache / f"memory-real-{len(matrix) // 1000}k-{_key(lines)}.db"
    ready = path.with_suffix(".ready")
    if not ready.exists():
        for stale in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
            stale.unlink(missing_ok=True)
        print(f"  building {len(matrix):,} rows into {path} (cached for later runs) …", flush=True)
        inserted = await fill(path, lines, matrix)
        ready.write_text(f"{inserted:.0f}\n")
        print(f"  built at {inserted:,.0f} rows/s")
    # Set 0 is the 100k's and the cold pass from opening; set 1 the cached passes'.
    each = len(query_lines) // SETS
    sets = [(queries[i * each : (i + 1) * each], query_lines[i * each : (i + 1) * each])
            for i in range(SETS)]  # fmt: skip
    await report_1m(
        f"1M (100k + {copies} noisy copies)", path, matrix,
        [sets[2], sets[0], sets[3], sets[4]], sets[1], counts,
    )  # fmt: skip
    print(f"done; {_load()}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--large", type=int, default=1_000_000, help="0 skips the 1M store")
    parser.add_argument(
        "--candidates", type=int, nargs="*", default=[100, 800],
        help="candidate counts measured after the default",
    )  # fmt: skip
    parser.add_argument("--quick", action="store_true", help="50 queries, no 1M store")
    parser.add_argument("--embed-only", action="store_true", help="fill the vector cache only")
    parser.add_argument(
        "--cache", type=Path, default=Path.home() / ".cache" / "carrier-studio" / "bench"
    )
    arguments = parser.parse_args()
    if arguments.quick:
        arguments.queries, arguments.large = 50, 0
    asyncio.run(main(arguments))
