"""The Memory page's first screen over a million memories, offscreen.

Run: ``uv run python bench/memory_page.py [--runs 15] [--rows 1000000] [--cache DIR]``.

Measured: from asking the page to list (`MemoryPage.refresh`: the model resets, the first keyset
page is fetched on the store's thread, rows are inserted) to the table's first paint with rows
(`MemoryPage.first_screen_painted`), on the real page with the real `SqliteMemoryStore`, on a
qasync loop as in the app. Target: median ≤ 150 ms. Beside it, in the same run: the bare store
call for the same page (`store.page`, the floor the UI adds to) and `count(*)` (shown after the
first screen, not part of it). Then the same while an import writes into the store as
`MemoryService.import_jsonl` does (`during_import`): all memories, and one source across all
characters (the page's reads have a read connection of their own, so they should not wait for
the import's transactions).

The database: bench/memory.py's cached 1M-row studio.db (~/.cache/carrier-studio/bench/
memory-1000k-v1.db) when it has been built; otherwise this script builds its own there
(memory-page-1000k-v1.db: three characters, every kind and source, some pinned; random 384-d
unit vectors, through the store's batched ``add``) and keeps it for later runs.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
ROOT = Path(__file__).resolve().parents[1]
# bench/ holds mcp.py, which would shadow the `mcp` package: run from the project root instead.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != ROOT / "bench"]
sys.path.insert(0, str(ROOT))

from carrier_studio.core.memory import (  # noqa: E402
    KINDS,
    EmbeddingSpace,
    MemoryFilter,
    MemoryRecord,
    Provenance,
    StoredMemory,
)
from carrier_studio.services.memory.embedders import LocalEmbedder  # noqa: E402
from carrier_studio.services.memory.service import MemoryService  # noqa: E402
from carrier_studio.services.memory.sqlite_store import SqliteMemoryStore  # noqa: E402

DIM = 384
SPACE = EmbeddingSpace("bench-random", DIM)
CHARACTERS = ("Ada", "Juniper", "Sol")
CLIENTS = ("chat", "discord", "instagram")
T0 = datetime(2024, 1, 1, tzinfo=UTC)
BATCH = 5000


def _batch(start: int, n: int, rng: np.random.Generator) -> list[StoredMemory]:
    vectors = rng.standard_normal((n, DIM)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    kinds = rng.integers(0, len(KINDS), n)
    return [
        StoredMemory(
            MemoryRecord(
                character=CHARACTERS[(start + i) % 3],
                content=f"memory {start + i}: something said in room {(start + i) % 40}",
                kind=KINDS[kinds[i]],
                provenance=Provenance(CLIENTS[(start + i) % 3], room=str((start + i) % 40)),
                created_at=T0 + timedelta(seconds=start + i),
                pinned=(start + i) % 997 == 0,
                id=f"p{start + i:08d}",
            ),
            vectors[i],
        )
        for i in range(n)
    ]


async def build(path: Path, rows: int) -> None:
    for stale in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
        stale.unlink(missing_ok=True)
    print(f"building {rows:,} memories into {path} (kept for later runs) …", flush=True)
    rng = np.random.default_rng(20261122)
    store = await SqliteMemoryStore.open(path)
    began = time.perf_counter()
    try:
        for start in range(0, rows, BATCH):
            await store.add(_batch(start, min(BATCH, rows - start), rng), SPACE)
            if start % 200_000 == 0 and start:
                print(f"  … {start:,}", flush=True)
    finally:
        await store.close()
    path.with_suffix(".ready").write_text(f"{rows / (time.perf_counter() - began):.0f}\n")


def choose_database(cache: Path, rows: int) -> tuple[Path, bool]:
    """(path, whether it has to be built)."""
    shared = cache / f"memory-{rows // 1000}k-v1.db"  # bench/memory.py's
    if shared.with_suffix(".ready").exists():
        return shared, False
    own = cache / f"memory-page-{rows // 1000}k-v1.db"
    return own, not own.with_suffix(".ready").exists()


def median_ms(values: list[float]) -> str:
    return f"{statistics.median(values) * 1e3:6.1f} ms"


async def page_alone(store, f: MemoryFilter, size: int, runs: int) -> list[float]:
    """How long ``store.page`` alone takes for the first page of ``f``, ``runs`` times: the
    baseline beside the first screen."""
    times = []
    for _ in range(runs):
        began = time.perf_counter()
        await store.page(f, None, size)
        times.append(time.perf_counter() - began)
    return times


async def during_import(store, page, first_screen, choose, absent: str, runs: int) -> None:  # noqa: ANN001
    """The first screen while an import writes into the same store, as
    `MemoryService.import_jsonl` does (`IMPORT_CHUNK` memories per transaction, giving way
    `IMPORT_PAUSE` between them): all memories, and one source across all characters. The
    rows written are deleted again, so the cached database stays as built."""
    from carrier_studio.services.memory.service import IMPORT_CHUNK, IMPORT_PAUSE

    space = await store.space()
    rng = np.random.default_rng(5)
    stop, started = asyncio.Event(), asyncio.Event()
    written: list[str] = []

    async def importer() -> None:
        n = 0
        while not stop.is_set():
            vectors = rng.standard_normal((IMPORT_CHUNK, space.dimension)).astype(np.float32)
            items = [
                StoredMemory(
                    MemoryRecord(
                        "Ada",
                        f"imported {n + i}",
                        id=f"imp{n + i:08d}",
                        provenance=Provenance("import"),
                    ),  # fmt: skip
                    v,
                )
                for i, v in enumerate(vectors)
            ]
            began = time.perf_counter()
            await store.add(items, space)
            written.extend(item.record.id for item in items)
            started.set()
            n += IMPORT_CHUNK
            await asyncio.sleep(min(IMPORT_PAUSE, time.perf_counter() - began))

    print(f"while an import writes ({IMPORT_CHUNK} per transaction, as import_jsonl):")
    cases = [
        ("all memories", lambda: choose(page.client_filter, None), MemoryFilter()),
        (
            f"source {absent}, all characters",
            lambda: choose(page.client_filter, absent),
            MemoryFilter(client=absent),
        ),
    ]
    choose(page.kind_filter, None)
    choose(page.character_filter, None)
    task = asyncio.create_task(importer())
    try:
        await started.wait()
        for label, setup, f in cases:
            times = [await first_screen(setup) for _ in range(runs)]
            bare = await page_alone(store, f, page.model.page_size, runs)
            print(
                f"  importing, {label:<33} first screen {median_ms(times)}"
                f"  (max {max(times) * 1e3:.0f} ms)   store.page alone {median_ms(bare)}"
                f"  (max {max(bare) * 1e3:.0f} ms)"
            )
    finally:
        stop.set()
        await task
    for start in range(0, len(written), 5000):
        await store.delete(written[start : start + 5000])
    print(f"  ({len(written):,} memories imported meanwhile, deleted again)")


async def measure(path: Path, runs: int) -> None:
    from PySide6.QtWidgets import QApplication

    from carrier_studio.ui.pages.memory import MemoryPage, MemoryPageDeps
    from carrier_studio.ui.tasks import TaskOwner

    store = await SqliteMemoryStore.open(path)
    service = MemoryService(store, LocalEmbedder())  # the model loads only if something embeds
    characters = sorted({r.character for r in (await store.page(MemoryFilter(), None, 50)).records})
    tasks = TaskOwner()

    async def ready() -> MemoryService:
        return service

    async def names() -> list[str]:
        return characters

    page = MemoryPage(MemoryPageDeps(ready, names), tasks)
    page.resize(1400, 900)
    page.show()
    try:
        await tasks.wait_idle()
        QApplication.processEvents()  # the window's own first paint, before measuring

        async def first_screen(setup) -> float:  # noqa: ANN001 - a callable on the page
            painted = asyncio.get_running_loop().create_future()

            def done() -> None:
                if not painted.done():
                    painted.set_result(time.perf_counter())

            page.first_screen_painted.connect(done)
            try:
                setup()
                began = time.perf_counter()
                page.refresh()
                end = await asyncio.wait_for(painted, 30)
            finally:
                page.first_screen_painted.disconnect(done)
            await tasks.wait_idle()  # the count that follows, so runs do not overlap
            return end - began

        def choose(combo, data) -> None:  # noqa: ANN001
            combo.blockSignals(True)
            combo.setCurrentIndex(max(0, combo.findData(data)))
            combo.blockSignals(False)

        first_rows = (await store.page(MemoryFilter(), None, 50)).records
        kind = first_rows[0].kind
        absent = next(c for c in ("instagram", "discord", "chat", "user") if c not in
                      {r.provenance.client for r in first_rows})  # fmt: skip
        cases = [
            ("all memories", lambda: choose(page.character_filter, None), MemoryFilter()),
            (
                f"character {characters[0]}",
                lambda: choose(page.character_filter, characters[0]),
                MemoryFilter(character=characters[0]),
            ),
            (
                f"+ kind {kind} (not indexed)",
                lambda: choose(page.kind_filter, kind),
                MemoryFilter(character=characters[0], kinds=frozenset({kind})),
            ),
            (
                f"+ source {absent}",
                lambda: choose(page.client_filter, absent),
                MemoryFilter(character=characters[0], kinds=frozenset({kind}), client=absent),
            ),
            (
                f"source {absent}, all characters",
                lambda: (choose(page.kind_filter, None), choose(page.character_filter, None)),
                MemoryFilter(client=absent),
            ),
        ]
        total = await store.count(MemoryFilter())
        print(f"Memory page, first screen over {total:,} memories ({path.name}), offscreen,")
        print(f"median of {runs} runs (target <= 150 ms):")
        for label, setup, f in cases:
            times = [await first_screen(setup) for _ in range(runs)]
            bare = await page_alone(store, f, page.model.page_size, runs)
            print(
                f"  {label:<32} first screen {median_ms(times)}  (max {max(times) * 1e3:.0f} ms)"
                f"   store.page alone {median_ms(bare)}   rows shown {page.model.rowCount()}"
            )
        await during_import(store, page, first_screen, choose, absent, runs)
        choose(page.client_filter, None)
        choose(page.kind_filter, None)
        choose(page.character_filter, None)
        began = time.perf_counter()
        await store.count(MemoryFilter())
        counted = time.perf_counter() - began
        print(f"  count(*) of all, after the first screen: {counted * 1e3:.0f} ms")
        # Scrolling: the 50th page costs what the first does (keyset paging, no OFFSET).
        cursor = None
        deep = []
        for _ in range(50):
            began = time.perf_counter()
            listing = await store.page(MemoryFilter(), cursor, page.model.page_size)
            deep.append(time.perf_counter() - began)
            cursor = listing.next_cursor
        print(f"  store.page: 1st {deep[0] * 1e3:.1f} ms, 50th {deep[-1] * 1e3:.1f} ms (keyset)")
    finally:
        await page.shutdown()
        await tasks.cancel_all()
        page.close()
        await service.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument(
        "--cache", type=Path, default=Path.home() / ".cache" / "carrier-studio" / "bench"
    )
    args = parser.parse_args()
    args.cache.mkdir(parents=True, exist_ok=True)
    path, missing = choose_database(args.cache, args.rows)
    if missing:
        asyncio.run(build(path, args.rows))

    import qasync
    from PySide6.QtWidgets import QApplication

    app = QApplication.instance() or QApplication(sys.argv)
    app.setQuitOnLastWindowClosed(False)  # as in the studio: the loop ends when main() does
    qasync.run(measure(path, args.runs))
    del app


if __name__ == "__main__":
    main()
