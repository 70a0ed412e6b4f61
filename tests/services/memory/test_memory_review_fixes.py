"""MemoryService under the races and sizes a review found: undo after an embedder switch, an
edit during a re-embedding, imports in short transactions that still add all or nothing, ids
that an import must not overwrite, export encoding off the loop, warming without embedding."""

from __future__ import annotations

import asyncio
import os
import threading
from dataclasses import replace

import numpy as np
import pytest

from carrier_studio.core.memory import MemoryFilter, MemoryQuery, MemoryRecord
from carrier_studio.core.memory import jsonl as jsonl_module
from carrier_studio.core.memory.errors import EmbeddingSpaceError, MemoryStoreError
from carrier_studio.core.memory.model import EmbeddingSpace
from carrier_studio.services.memory.embedders import OpenAIEmbedder
from carrier_studio.services.memory.service import MemoryService, _Staging, space_of
from carrier_studio.services.memory.sqlite_store import SqliteMemoryStore
from tests.fakes import ScriptedLLMServer
from tests.services.memory.test_memory_service import _secrets, open_service, records


def _openai(server, tmp_path, keyring_backend, dimensions=32) -> OpenAIEmbedder:
    return OpenAIEmbedder(
        _secrets(tmp_path, keyring_backend),
        base_url=server.openai_base_url,
        dimensions=dimensions,
    )


async def _semantic_top(service: MemoryService, text: str):
    return (await service.search(MemoryQuery(text, MemoryFilter(), 1, "semantic")))[0]


def test_undo_after_an_embedder_switch_restores_the_memories(tmp_path, keyring_backend):
    async def main():
        async with ScriptedLLMServer() as server:
            service = await open_service(tmp_path)
            new = _openai(server, tmp_path, keyring_backend)
            try:
                rows = records()
                await service.remember(rows)
                removed = await service.delete([rows[0].id, rows[2].id])
                await service.reembed(new)
                await service.undo_delete(removed)  # local vectors; the store is OpenAI's now
                assert await service.count() == len(rows)
                for record in (rows[0], rows[2]):
                    top = await _semantic_top(service, record.content)
                    assert top.record == record
                    assert top.semantic == pytest.approx(1.0, abs=1e-4)
            finally:
                await service.close()

    asyncio.run(main())


class GatedEmbedder:
    """A real embedder whose first call waits until the test lets it go."""

    def __init__(self, inner) -> None:
        self.inner, self.id, self.dimension = inner, inner.id, inner.dimension
        self.entered, self.release = asyncio.Event(), asyncio.Event()
        self.calls = 0

    async def embed(self, texts):
        self.calls += 1
        if self.calls == 1:
            self.entered.set()
            await self.release.wait()
        return await self.inner.embed(texts)

    async def close(self) -> None:
        await self.inner.close()


def test_an_edit_during_reembedding_keeps_its_new_vector(tmp_path, keyring_backend):
    async def main():
        async with ScriptedLLMServer() as server:
            service = await open_service(tmp_path)
            new = GatedEmbedder(_openai(server, tmp_path, keyring_backend))
            try:
                rows = records()
                await service.remember(rows)
                job = asyncio.create_task(service.reembed(new))
                await new.entered.wait()  # the job has read the batch with the old content
                edited = replace(rows[1], content="The launch party is on a boat in Porto.")
                await service.update(edited)
                new.release.set()
                await job
                assert service.embedder is new
                top = await _semantic_top(service, edited.content)
                assert top.record == edited
                assert top.semantic == pytest.approx(1.0, abs=1e-4)
            finally:
                await service.close()

    asyncio.run(main())


class RecordingStore(SqliteMemoryStore):
    """The real store, noting each add's size; its ``fail_at``-th add fails."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.adds: list[int] = []
        self.fail_at: int | None = None

    async def add(self, items, space, *, keep_existing=False) -> int:
        self.adds.append(len(items))
        if self.fail_at is not None and len(self.adds) == self.fail_at:
            raise MemoryStoreError("the disk is full (test)")
        return await super().add(items, space, keep_existing=keep_existing)


def test_import_writes_short_chunks_and_a_failure_keeps_what_was_committed(tmp_path):
    async def main():
        source = await open_service(tmp_path, "a.db")
        store = await RecordingStore.open(tmp_path / "b.db")
        target = MemoryService(store, source.embedder, import_chunk=2)
        path = tmp_path / "all.jsonl"
        try:
            rows = records()
            await source.remember(rows)
            await source.export_jsonl(path)
            # The target already has rows[0], edited since; everything else is new to it.
            edited = replace(rows[0], content="Sam is no longer allergic to anything.")
            await target.remember([edited])
            before = await target.count()
            store.adds.clear()
            store.fail_at = 3  # the third chunk fails, after two were committed
            with pytest.raises(MemoryStoreError, match="disk is full"):
                await target.import_jsonl(path, replace=True)
            # The two committed chunks stay (rows[0] replaced, as asked); nothing else moved.
            assert before == 1 and await target.count() == 4
            assert await target.get([rows[0].id]) == [rows[0]]
            # Importing again adds just the rest, in transactions of at most import_chunk rows.
            store.adds.clear()
            store.fail_at = None
            result = await target.import_jsonl(path)
            assert result == len(rows) - 4 and result.skipped == 4
            assert max(store.adds) <= 2 and sum(store.adds) == len(rows) - 4
            assert await target.count() == len(rows)
        finally:
            await source.close()
            await target.store.close()

    asyncio.run(main())


def test_a_cancelled_import_keeps_what_it_stored_and_a_second_run_adds_the_rest(tmp_path):
    async def main():
        source = await open_service(tmp_path, "a.db")
        store = await RecordingStore.open(tmp_path / "b.db")
        target = MemoryService(store, source.embedder, import_chunk=1)
        path = tmp_path / "all.jsonl"
        try:
            await source.remember(records())
            await source.export_jsonl(path)
            entered, release = asyncio.Event(), asyncio.Event()
            original = store.add

            async def gated_add(items, space, **kwargs):
                written = await original(items, space, **kwargs)
                if len(store.adds) == 2:
                    entered.set()
                    await release.wait()
                return written

            store.add = gated_add
            task = asyncio.create_task(target.import_jsonl(path))
            # Waits for the second chunk, or for the import to end early (its error shows).
            waiter = asyncio.create_task(entered.wait())
            await asyncio.wait({task, waiter}, return_when=asyncio.FIRST_COMPLETED)
            assert not task.done(), task.exception()
            assert await target.count() == 2  # committed and visible
            task.cancel()
            release.set()  # the chunk being written ends: a transaction cannot stop halfway
            with pytest.raises(asyncio.CancelledError):
                await task
            # Nothing is deleted again: a stale "what I added" list once deleted another
            # process's rows. The next run is idempotent by id and adds exactly the rest.
            assert await target.count() == 2
            store.add = original
            result = await target.import_jsonl(path)
            assert (result, result.skipped) == (len(records()) - 2, 2)
            assert await target.count() == len(records())
        finally:
            await source.close()
            await target.store.close()

    asyncio.run(main())


def test_import_skips_stored_ids_unless_asked_to_replace(tmp_path):
    async def main():
        service = await open_service(tmp_path)
        path = tmp_path / "backup.jsonl"
        try:
            rows = records()
            await service.remember(rows)
            await service.export_jsonl(path)
            edited = replace(rows[3], content="The wifi password is on the fridge now.")
            await service.update(edited)
            await service.delete([rows[5].id])
            progress = []
            result = await service.import_jsonl(path, progress=progress.append)
            assert (result, result.skipped) == (1, len(rows) - 1)
            assert progress[-1].done == progress[-1].total == 1
            assert await service.get([edited.id]) == [edited]  # the edit survived
            assert await service.count() == len(rows)
            result = await service.import_jsonl(path, replace=True)
            assert (result, result.skipped) == (len(rows), 0)
            assert await service.get([edited.id]) == [rows[3]]
            assert await service.count() == len(rows)
        finally:
            await service.close()

    asyncio.run(main())


def test_export_encodes_lines_off_the_event_loop(tmp_path, monkeypatch):
    async def main():
        service = await open_service(tmp_path)
        loop_thread = threading.current_thread()
        threads = []
        real = jsonl_module.record_line

        def spy(record, vector=None):
            threads.append(threading.current_thread())
            return real(record, vector)

        monkeypatch.setattr(jsonl_module, "record_line", spy)
        try:
            await service.remember(records())
            assert await service.export_jsonl(tmp_path / "out.jsonl") == len(records())
            assert len(threads) == len(records())
            assert loop_thread not in threads
        finally:
            await service.close()

    asyncio.run(main())


def test_warming_loads_the_index_without_asking_a_paid_embedder(tmp_path, keyring_backend):
    async def main():
        async with ScriptedLLMServer() as server:
            embedder = _openai(server, tmp_path, keyring_backend)
            store = await SqliteMemoryStore.open(tmp_path / "studio.db")
            service = MemoryService(store, embedder)
            try:
                vectors = await embedder.embed(["Ada likes tea."])
                from carrier_studio.core.memory import StoredMemory

                await store.add(
                    [StoredMemory(MemoryRecord("Ada", "Ada likes tea."), vectors[0])],
                    space_of(embedder),
                )
                asked = len(server.requests)
                await service.warm("Ada")
                assert "Ada" in store._indexes
                assert len(server.requests) == asked
            finally:
                await service.close()

    asyncio.run(main())


def _open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


def test_staging_keeps_one_file_and_the_latest_vector_per_id():
    space = EmbeddingSpace("test", 4)
    staging = _Staging(space)
    try:
        fds = _open_fds()
        for n in range(40):
            staging.put([f"m{n}a", f"m{n}b"], np.full((2, 4), n, np.float32))
        staging.put(["m3a"], np.full((1, 4), 99, np.float32))  # an edit: staged again
        staging.put([], np.empty((0, 4), np.float32))  # a batch whose ids were all written
        assert _open_fds() == fds
        staged = staging.snapshot()
        assert len(staged) == 80
        by_id = dict(staged[0:80])
        assert by_id["m3a"].tolist() == [99.0] * 4
        assert by_id["m39b"].tolist() == [39.0] * 4
        assert [mid for mid, _ in staged[10:12]] == ["m5a", "m5b"]
        assert staged[-1][0] == "m39b"
        assert dict(iter(staged)).keys() == by_id.keys()
    finally:
        staging.close()


def test_an_interrupted_switch_is_finished_on_open_and_searched_by_words_meanwhile(tmp_path):
    """Steps 1–2 of a switch done, step 3 (copying, in short transactions) cut off."""

    async def main():
        service = await open_service(tmp_path)
        rows = records()
        await service.remember(rows)
        new_space = EmbeddingSpace("flipped", service.embedder.dimension)
        flipped = {}
        for batch in [b async for b in service.store.iter_all()]:
            for stored in batch:
                flipped[stored.record.id] = -stored.vector

        def crash_after_marking(conn) -> None:
            store = service.store
            store._drop_staging(conn)
            conn.execute(
                "CREATE TABLE memory_vectors_next "
                "(memory INTEGER PRIMARY KEY, vector BLOB NOT NULL, bits BLOB NOT NULL) STRICT"
            )
            store._stage_vectors(conn, list(flipped.items()), new_space)
            store._write(conn, lambda: store._begin_switch(conn, new_space))

        await service.store._run(crash_after_marking)
        query = MemoryQuery(rows[0].content, MemoryFilter(), 3, "hybrid")
        hits = await service.store.search(query, flipped[rows[0].id])
        assert hits and all(h.semantic is None for h in hits)  # words only, no mixed ranking
        with pytest.raises(EmbeddingSpaceError, match="being switched"):
            await service.store.search(replace(query, mode="semantic"), flipped[rows[0].id])
        await service.close()

        reopened = await SqliteMemoryStore.open(tmp_path / "studio.db")
        try:
            assert await reopened.space() == new_space
            for batch in [b async for b in reopened.iter_all()]:
                for stored in batch:
                    np.testing.assert_allclose(stored.vector, flipped[stored.record.id], atol=1e-6)
            hits = await reopened.search(
                replace(query, mode="semantic", limit=1), flipped[rows[0].id]
            )
            assert hits[0].record.id == rows[0].id
            assert hits[0].semantic == pytest.approx(1.0, abs=1e-4)
        finally:
            await reopened.close()

    asyncio.run(main())
