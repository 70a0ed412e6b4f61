"""The Memory page's reads (page, count, get) run on the local store's read side (sqlite_store,
sqlite_follow): they answer from the last commit while a write transaction is open on the
store's writer thread, and they show the app's own edits and deletes as soon as those return."""

from __future__ import annotations

import asyncio
import threading
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import numpy as np

from carrier_studio.core.memory import (
    EmbeddingSpace,
    MemoryFilter,
    MemoryRecord,
    Provenance,
    StoredMemory,
)
from carrier_studio.services.memory.embedders import LocalEmbedder
from carrier_studio.services.memory.service import MemoryService
from carrier_studio.services.memory.sqlite_store import SqliteMemoryStore
from tests.services.memory.held_write import writes_held_open

SPACE = EmbeddingSpace("page-test", 32)
T0 = datetime(2026, 6, 1, tzinfo=UTC)


def _memories(start: int, n: int, client: str = "chat") -> list[StoredMemory]:
    rng = np.random.default_rng(start)
    vectors = rng.standard_normal((n, SPACE.dimension)).astype(np.float32)
    return [
        StoredMemory(
            MemoryRecord(
                id=f"m{start + i:04d}",
                character=("Ada", "Bob")[i % 2],
                content=f"memory number {start + i}",
                provenance=Provenance(client=client),
                created_at=T0 + timedelta(minutes=start + i),
            ),
            vectors[i],
        )
        for i in range(n)
    ]


def test_the_page_reads_while_a_write_transaction_is_open(tmp_path):
    async def scenario():
        store = await SqliteMemoryStore.open(tmp_path / "studio.db")
        try:
            await store.add(_memories(0, 40), SPACE)
            with writes_held_open(store) as (inside, release):
                importing = asyncio.ensure_future(store.add(_memories(100, 10, "import"), SPACE))
                await asyncio.to_thread(inside.wait)
                # The write transaction is open on the store's writer thread. Queued behind it
                # these reads would wait until it commits; the guard turns that hang into a
                # failure.
                page = await asyncio.wait_for(store.page(MemoryFilter(), None, 5), 60)
                assert [r.id for r in page.records] == ["m0039", "m0038", "m0037", "m0036", "m0035"]
                assert await asyncio.wait_for(store.count(MemoryFilter()), 60) == 40
                got = await asyncio.wait_for(store.get(["m0100", "m0003"]), 60)
                assert [r.id for r in got] == ["m0003"]  # the uncommitted row is not seen
                only = await asyncio.wait_for(store.page(MemoryFilter(client="import")), 60)
                assert only.records == []
                assert not importing.done()
                release.set()
                assert await importing == 10
            # Committed: the next reads show it.
            page = await store.page(MemoryFilter(), None, 3)
            assert [r.id for r in page.records] == ["m0109", "m0108", "m0107"]
            assert await store.count(MemoryFilter(client="import")) == 10
            assert [r.id for r in await store.get(["m0100"])] == ["m0100"]
        finally:
            await store.close()

    asyncio.run(scenario())


def test_the_page_reads_while_a_search_is_running(tmp_path):
    """The page's reads have a thread of their own: a long count does not hold up a recall,
    nor a recall the page."""
    inside, release = threading.Event(), threading.Event()

    async def scenario():
        store = await SqliteMemoryStore.open(tmp_path / "studio.db")
        try:
            await store.add(_memories(0, 20), SPACE)

            def busy(_conn) -> None:
                inside.set()
                release.wait()

            searching = asyncio.ensure_future(store._search_side.run(busy))
            await asyncio.to_thread(inside.wait)
            # The search thread is busy; on it these would wait (the guard turns that into a
            # failure).
            page = await asyncio.wait_for(store.page(MemoryFilter(character="Bob"), None, 2), 60)
            assert [r.id for r in page.records] == ["m0019", "m0017"]
            assert await asyncio.wait_for(store.count(MemoryFilter()), 60) == 20
            assert not searching.done()
        finally:
            release.set()
            await store.close()

    asyncio.run(scenario())


def test_the_page_shows_the_apps_own_edit_and_delete_on_its_next_read(tmp_path):
    """Each read is its own read transaction begun after the write returned: a snapshot kept
    from an earlier read would show the memory as it was."""

    async def scenario():
        store = await SqliteMemoryStore.open(tmp_path / "studio.db")
        service = MemoryService(store, LocalEmbedder())
        try:
            await service.remember([m.record for m in _memories(0, 6)])
            listing = await service.page(MemoryFilter(character="Ada"))
            assert [r.id for r in listing.records] == ["m0004", "m0002", "m0000"]
            assert await service.count() == 6

            edited = replace(listing.records[1], content="Sam moved to Lisbon", pinned=True)
            await service.update(edited)
            listing = await service.page(MemoryFilter(character="Ada"))
            assert listing.records[1].content == "Sam moved to Lisbon"
            assert listing.records[1].pinned
            assert [r.id for r in (await service.page(MemoryFilter(pinned=True))).records] == [
                "m0002"
            ]
            assert (await service.get(["m0002"]))[0].content == "Sam moved to Lisbon"

            deleted = await service.delete(["m0004"])
            listing = await service.page(MemoryFilter(character="Ada"))
            assert [r.id for r in listing.records] == ["m0002", "m0000"]
            assert await service.count() == 5
            assert await service.get(["m0004"]) == []

            await service.undo_delete(deleted)
            listing = await service.page(MemoryFilter(character="Ada"))
            assert [r.id for r in listing.records] == ["m0004", "m0002", "m0000"]
            assert await service.count(MemoryFilter(character="Ada")) == 3
        finally:
            await service.close()

    asyncio.run(scenario())


def test_a_page_of_one_source_across_characters_seeks_its_rows(tmp_path):
    """The Memory page's query for every character's memories from one source seeks them by an
    index (schema 13): without it, a source with no memories read all of them (0.32 s at 1M)."""
    from carrier_studio.services.memory import sqlite_rows
    from carrier_studio.services.platform.db import connect

    path = tmp_path / "studio.db"

    async def create() -> None:
        store = await SqliteMemoryStore.open(path)
        await store.close()

    asyncio.run(create())
    conn = connect(path)
    try:
        ran: list[tuple[str, tuple]] = []
        conn.exec_trace = lambda _cursor, sql, bindings: ran.append((sql, bindings)) or True
        sqlite_rows.page(conn, MemoryFilter(client="instagram"), None, 200)  # as the page asks
        conn.exec_trace = None
        ((sql, bindings),) = ran
        plan = " ".join(str(row[-1]) for row in conn.execute(f"EXPLAIN QUERY PLAN {sql}", bindings))
    finally:
        conn.close()
    assert "memories_client_newest (client=?)" in plan, plan
    assert "TEMP B-TREE" not in plan, plan  # read in page order, not sorted afterwards
