"""The memory writer redacts secrets before storing: what `remember` and `update` store never
holds a registered value or a credential shape, so keyword search and exports cannot find it."""

from __future__ import annotations

import asyncio
from dataclasses import replace

from carrier_studio.core.memory import MemoryFilter, MemoryQuery, MemoryRecord
from carrier_studio.core.redaction import REDACTED, Redactor
from carrier_studio.services.memory.embedders import LocalEmbedder
from carrier_studio.services.memory.service import MemoryService
from carrier_studio.services.memory.sqlite_store import SqliteMemoryStore

REGISTERED = "plain-looking-secret-4471"
SHAPED = "ghp_" + "Zq9" * 12


def test_remember_and_update_store_no_secret(tmp_path):
    redactor = Redactor()
    redactor.add(REGISTERED)

    async def main():
        store = await SqliteMemoryStore.open(tmp_path / "studio.db")
        service = MemoryService(store, LocalEmbedder(), redactor=redactor)
        try:
            pasted = MemoryRecord("Ada", f"my key is {REGISTERED}, keep it safe", "message")
            await service.remember([pasted])
            edited = replace(pasted, content=f"the token {SHAPED} is for the repo")
            await service.update(edited)
            other = MemoryRecord("Ada", f"also {REGISTERED} again", "message")
            await service.remember([other])
            stored = await service.get([pasted.id, other.id])
            by_keyword = await service.search(MemoryQuery(REGISTERED, mode="keyword"))
            export = tmp_path / "memories.jsonl"
            await service.export_jsonl(export, vectors=False)
            return stored, by_keyword, export.read_text()
        finally:
            await service.close()

    stored, by_keyword, exported = asyncio.run(main())
    contents = sorted(r.content for r in stored)
    assert contents == [f"also {REDACTED} again", f"the token {REDACTED} is for the repo"]
    assert by_keyword == []
    assert REGISTERED not in exported and SHAPED not in exported
    assert "is for the repo" in exported


def test_an_ordinary_memory_is_stored_as_it_was_said(tmp_path):
    said = "Sam keeps the spare key under the blue flowerpot; the password hint is his cat."

    async def main():
        store = await SqliteMemoryStore.open(tmp_path / "studio.db")
        service = MemoryService(store, LocalEmbedder())
        try:
            record = MemoryRecord("Ada", said, "fact")
            await service.remember([record])
            return await service.get([record.id])
        finally:
            await service.close()

    (stored,) = asyncio.run(main())
    assert stored.content == said


def test_an_imported_file_stores_no_secret_and_its_vector_is_made_again(tmp_path):
    from carrier_studio.core.memory.jsonl import header_line, record_line

    leaked = MemoryRecord("Ada", f"the deploy token is {SHAPED}", "fact")
    plain = MemoryRecord("Ada", "Sam likes green tea", "fact")

    async def main():
        store = await SqliteMemoryStore.open(tmp_path / "studio.db")
        service = MemoryService(store, LocalEmbedder())
        try:
            (leaked_vec, plain_vec) = await service.embedder.embed([leaked.content, plain.content])
            source = tmp_path / "old-export.jsonl"
            source.write_text(
                header_line(service.space)
                + "\n"
                + record_line(leaked, leaked_vec)
                + "\n"
                + record_line(plain, plain_vec)
                + "\n"
            )
            await service.import_jsonl(source)
            stored = await service.get([leaked.id, plain.id])
            vectors = {s.record.id: s.vector for s in await service.vectors(MemoryFilter())}
            (expected,) = await service.embedder.embed([f"the deploy token is {REDACTED}"])
            return stored, vectors, expected, leaked_vec
        finally:
            await service.close()

    stored, vectors, expected, leaked_vec = asyncio.run(main())
    assert [r.content for r in stored] == [f"the deploy token is {REDACTED}", plain.content]
    # The stored vector is of the stored text, not of the text with the key in it.
    assert float(vectors[leaked.id] @ expected) > 0.999
    assert float(vectors[leaked.id] @ leaked_vec) < 0.999
