"""MemoryService over the real local store with real embedders: the shipped ONNX model, and
OpenAI embeddings through the real client against the local wire-format server."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from carrier_studio.core.memory import MemoryFilter, MemoryQuery, MemoryRecord, Provenance
from carrier_studio.core.memory.errors import EmbeddingSpaceError, MemoryStoreError
from carrier_studio.services.memory.embedders import LocalEmbedder, OpenAIEmbedder
from carrier_studio.services.memory.service import MemoryService, Progress
from carrier_studio.services.memory.sqlite_store import SqliteMemoryStore
from carrier_studio.services.platform.secrets import SecretStore
from tests.fakes import ScriptedLLMServer

T0 = datetime(2026, 5, 1, tzinfo=UTC)
FACTS = [
    ("Ada", "Sam is allergic to peanuts and carries an epipen.", "r1"),
    ("Ada", "The product launch moved to Thursday because the venue flooded.", "r1"),
    ("Ada", "Sam's favourite band is a jazz quartet from Lisbon.", "r2"),
    ("Ada", "The office wifi password changes every Monday.", "r2"),
    ("Ada", "Quarterly revenue grew twelve percent over last year.", None),
    ("Bob", "Bob's cat is allergic to peanuts too.", "r9"),
]


def records() -> list[MemoryRecord]:
    return [
        MemoryRecord(
            character=character,
            content=content,
            kind="fact",
            provenance=Provenance("chat", room=room),
            created_at=T0 + timedelta(minutes=n),
        )
        for n, (character, content, room) in enumerate(FACTS)
    ]


async def open_service(tmp_path, name="studio.db", embedder=None, batch=500) -> MemoryService:
    store = await SqliteMemoryStore.open(tmp_path / name)
    return MemoryService(store, embedder or LocalEmbedder(), batch=batch)


def test_recall_finds_by_meaning_within_the_character(tmp_path):
    async def main():
        service = await open_service(tmp_path)
        try:
            await service.remember(records())
            await service.warm("Ada")
            assert "Ada" in service.store._indexes  # the local store's index is ready
            hits = await service.recall("Ada", "What food makes Sam sick?", limit=3)
            assert hits[0].record.content.startswith("Sam is allergic to peanuts")
            assert all(h.record.character == "Ada" for h in hits)
            assert hits[0].semantic is not None and hits[0].semantic > 0.3
            assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)
            # A room's own memories are in its conversation already: never recalled into it.
            in_room = await service.recall("Ada", "jazz music", room="r2", limit=5)
            assert not any(h.record.provenance.room == "r2" for h in in_room)
            elsewhere = await service.recall("Ada", "jazz music", room="r1", limit=5)
            assert "jazz" in elsewhere[0].record.content
            # Only that client's room: a Discord channel named "r2" is another room.
            discord = await service.recall("Ada", "jazz music", room="r2", client="discord")
            assert "jazz" in discord[0].record.content
            assert await service.recall("Ada", "   ") == []
            keyword = await service.search(MemoryQuery("wifi", mode="keyword"))
            assert [h.record.content for h in keyword] == [FACTS[3][1]]
        finally:
            await service.close()

    asyncio.run(main())


def test_update_reembeds_changed_content_and_delete_undoes(tmp_path):
    async def main():
        service = await open_service(tmp_path)
        try:
            rows = records()
            await service.remember(rows)
            wifi = rows[3]
            edited = MemoryRecord(
                character=wifi.character,
                content="The team lunch is on Fridays at the Thai place.",
                id=wifi.id,
                created_at=wifi.created_at,
                pinned=True,
            )
            await service.update(edited)
            hits = await service.recall("Ada", "where do we eat lunch?", limit=1)
            assert hits[0].record == edited
            removed = await service.delete([edited.id, rows[0].id])
            assert await service.count() == len(rows) - 2
            assert rows[0].id not in [h.record.id for h in await service.recall("Ada", "peanuts")]
            await service.undo_delete(removed)
            assert await service.count() == len(rows)
            hits = await service.recall("Ada", "What food makes Sam sick?", limit=1)
            assert hits[0].record == rows[0]
        finally:
            await service.close()

    asyncio.run(main())


def _secrets(tmp_path, keyring_backend) -> SecretStore:
    store = SecretStore("keyring", tmp_path / ".env", backend=keyring_backend, environ={})
    store.set("OPENAI_API_KEY", "sk-test")
    return store


def test_reembedding_switches_only_when_complete(tmp_path, keyring_backend):
    async def main():
        async with ScriptedLLMServer() as server:
            service = await open_service(tmp_path, batch=2)
            openai_embedder = OpenAIEmbedder(
                _secrets(tmp_path, keyring_backend), base_url=server.openai_base_url, dimensions=32
            )
            try:
                rows = records()
                await service.remember(rows)
                local_space = await service.store.space()

                # Cancelled after the first batch: nothing changes.
                task: asyncio.Task | None = None
                seen: list[Progress] = []

                def cancel_at_first(progress: Progress) -> None:
                    seen.append(progress)
                    assert task is not None
                    task.cancel()

                task = asyncio.create_task(
                    service.reembed(openai_embedder, progress=cancel_at_first)
                )
                with pytest.raises(asyncio.CancelledError):
                    await task
                assert seen == [Progress("reembed", 2, len(rows))]
                assert await service.store.space() == local_space
                assert service.embedder.id == LocalEmbedder.id
                hits = await service.recall("Ada", "What food makes Sam sick?", limit=1)
                assert hits[0].record.id == rows[0].id

                # Run to the end, with a memory written while it runs.
                late = MemoryRecord(character="Ada", content="Ada moved to Porto in May.")
                progress: list[Progress] = []
                started = asyncio.Event()

                def note(p: Progress) -> None:
                    progress.append(p)
                    started.set()

                async def write_meanwhile() -> None:
                    await started.wait()
                    await service.remember([late])

                await asyncio.gather(
                    service.reembed(openai_embedder, progress=note), write_meanwhile()
                )
                assert progress[-1].done == progress[-1].total >= len(rows)
                assert [p.done for p in progress] == sorted(p.done for p in progress)
                assert await service.store.space() == openai_embedder_space(openai_embedder)
                assert service.embedder is openai_embedder
                assert await service.count() == len(rows) + 1
                for record in (*rows, late):
                    query = MemoryQuery(record.content, MemoryFilter(), 1, "semantic")
                    top = await service.search(query)
                    assert top[0].record.id == record.id
                    assert top[0].semantic == pytest.approx(1.0, abs=1e-4)
            finally:
                await service.close()

    asyncio.run(main())


def openai_embedder_space(embedder):
    from carrier_studio.services.memory.service import space_of

    return space_of(embedder)


def test_search_falls_back_to_keywords_when_spaces_differ(tmp_path, keyring_backend):
    async def main():
        async with ScriptedLLMServer() as server:
            service = await open_service(tmp_path)
            try:
                await service.remember(records())
                service.embedder = OpenAIEmbedder(
                    _secrets(tmp_path, keyring_backend), base_url=server.openai_base_url
                )
                hits = await service.recall("Ada", "peanuts")
                assert [h.semantic for h in hits] == [None]
                with pytest.raises(EmbeddingSpaceError, match="Re-embed"):
                    await service.search(MemoryQuery("peanuts", mode="semantic"))
            finally:
                await service.store.close()
                await service.embedder.close()

    asyncio.run(main())


def test_move_to_another_store_is_resumable(tmp_path):
    async def main():
        source = await open_service(tmp_path, "a.db", batch=2)
        target = await SqliteMemoryStore.open(tmp_path / "b.db")
        try:
            rows = records()
            await source.remember(rows)
            before = {s.record.id: s for b in [x async for x in source.store.iter_all()] for s in b}
            # An earlier, interrupted move already copied two of them.
            await target.add([before[rows[0].id], before[rows[1].id]], source.space)
            progress: list[Progress] = []
            moved = await source.move_to(target, progress=progress.append)
            assert moved == len(rows)
            assert progress[-1] == Progress("move", len(rows), len(rows))
            assert await source.count() == 0
            assert await target.count(MemoryFilter()) == len(rows)
            for batch in [x async for x in target.iter_all()]:
                for stored in batch:
                    assert stored.record == before[stored.record.id].record
                    np.testing.assert_allclose(stored.vector, before[stored.record.id].vector)
            assert await source.move_to(target) == 0

            other = await SqliteMemoryStore.open(tmp_path / "c.db")
            try:
                from carrier_studio.core.memory import EmbeddingSpace, StoredMemory

                await other.add(
                    [StoredMemory(rows[0], np.eye(4, dtype=np.float32)[0])],
                    EmbeddingSpace("else", 4),
                )
                mover = MemoryService(target, source.embedder)
                with pytest.raises(EmbeddingSpaceError, match="else"):
                    await mover.move_to(other)
                assert await target.count(MemoryFilter()) == len(rows)
            finally:
                await other.close()
        finally:
            await source.close()
            await target.close()

    asyncio.run(main())


class GatedStore(SqliteMemoryStore):
    """The real store, whose re-embedding switch waits for the test to let it go."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.entered, self.release = asyncio.Event(), asyncio.Event()

    async def replace_vectors(self, vectors, space) -> None:
        self.entered.set()
        await self.release.wait()
        await super().replace_vectors(vectors, space)


def test_a_cancel_during_the_switch_lets_it_finish(tmp_path, keyring_backend):
    async def main():
        async with ScriptedLLMServer() as server:
            store = await GatedStore.open(tmp_path / "studio.db")
            service = MemoryService(store, LocalEmbedder())
            new = OpenAIEmbedder(
                _secrets(tmp_path, keyring_backend), base_url=server.openai_base_url, dimensions=8
            )
            try:
                await service.remember(records())
                task = asyncio.create_task(service.reembed(new))
                await store.entered.wait()
                with pytest.raises(MemoryStoreError, match="already running"):
                    await service.reembed(new)
                task.cancel()
                store.release.set()
                with pytest.raises(asyncio.CancelledError):
                    await task
                # The switch had begun: it finished, and the service follows the store.
                assert (await store.space()).embedder_id == new.id
                assert service.embedder is new
                hits = await service.recall("Ada", FACTS[1][1], limit=1)
                assert hits[0].semantic == pytest.approx(1.0, abs=1e-4)
            finally:
                await service.close()

    asyncio.run(main())


def test_every_write_moves_the_generation_on(tmp_path):
    """A recall made before any of these may hold memories since changed, so a chat's recall
    ahead of Send is not reused across one (services.chat.recall); nor across a service opened
    in place of another."""

    async def main():
        service = await open_service(tmp_path, "a.db")
        target = await SqliteMemoryStore.open(tmp_path / "b.db")
        seen = [service.generation]

        def moved_on() -> bool:
            fresh = service.generation not in seen
            seen.append(service.generation)
            return fresh

        try:
            rows = records()
            await service.remember(rows)
            assert moved_on(), "remember"
            await service.update(replace(rows[0], content="Sam is no longer allergic."))
            assert moved_on(), "edit"
            removed = await service.delete([rows[1].id])
            assert moved_on(), "delete"
            await service.undo_delete(removed)
            assert moved_on(), "undo"
            exported = tmp_path / "all.jsonl"
            await service.export_jsonl(exported)
            assert not moved_on(), "an export changes no memory"
            await service.import_jsonl(exported, replace=True)
            assert moved_on(), "import"
            await service.reembed(service.embedder)
            assert moved_on(), "re-embedding"
            await service.move_to(target)
            assert moved_on(), "move"
            reopened = MemoryService(target, service.embedder)
            assert reopened.generation not in seen, "another service repeats a generation"
        finally:
            await service.close()
            await target.close()

    asyncio.run(main())
