"""Exporting and importing memories as JSON Lines: round trips, and bad files that change
nothing."""

from __future__ import annotations

import asyncio
import json

import numpy as np
import pytest

from carrier_studio.core.memory import MemoryFilter, MemoryRecord
from carrier_studio.core.memory.errors import MemoryImportError
from carrier_studio.core.memory.jsonl import read_lines
from carrier_studio.services.memory.embedders import OpenAIEmbedder
from carrier_studio.services.memory.service import Progress
from carrier_studio.services.platform.secrets import SecretStore
from tests.fakes import ScriptedLLMServer
from tests.services.memory.test_memory_service import open_service, records

GOOD = '{"character": "Ada", "content": "fine"}'
BAD_CORPUS = [
    ("{not json", "not valid JSON"),
    ("[1, 2]", "must be a JSON object"),
    ('{"content": "no character"}', '"character" is missing'),
    ('{"character": "Ada", "content": "   "}', '"content" is empty'),
    ('{"character": "Ada", "content": 5}', '"content" must be text'),
    ('{"character": "Ada", "content": "x", "kind": "poem"}', '"kind" must be one of'),
    ('{"character": "Ada", "content": "x", "importance": 2}', "from 0 to 1"),
    ('{"character": "Ada", "content": "x", "importance": true}', '"importance" must be'),
    ('{"character": "Ada", "content": "x", "pinned": "yes"}', '"pinned" must be'),
    ('{"character": "Ada", "content": "x", "created_at": "yesterday"}', "ISO 8601"),
    ('{"character": "Ada", "content": "x", "provenance": []}', '"provenance" must be'),
    ('{"character": "Ada", "content": "x", "metadata": 3}', '"metadata" must be'),
    ('{"character": "Ada", "content": "x", "vector": [1, "a"]}', '"vector" must be'),
    ('{"character": "Ada", "content": "x", "vector": [1, NaN]}', '"vector" must be'),
    ('{"id": "dup", "character": "Ada", "content": "x"}', None),
    ('{"id": "dup", "character": "Ada", "content": "y"}', "also on line"),
    ('{"format": "carrier-studio-memory", "version": 1}', "header must be the first line"),
]


def test_every_bad_line_is_reported_with_its_number():
    lines = [GOOD, ""] + [text for text, _ in BAD_CORPUS]
    with pytest.raises(MemoryImportError) as caught:
        read_lines(lines)
    problems = dict(caught.value.problems)
    for number, (text, expected) in enumerate(BAD_CORPUS, start=3):
        if expected is None:
            assert number not in problems, text
        else:
            assert expected in problems[number], (text, problems.get(number))
    assert 1 not in problems and 2 not in problems


def test_header_checks_vector_lengths_and_versions():
    head = '{"format": "carrier-studio-memory", "version": 1, "embedder_id": "e", "dimension": 3}'
    parsed = read_lines([head, '{"character": "A", "content": "x", "vector": [1, 0, 0]}'])
    assert parsed.space is not None and parsed.space.dimension == 3
    np.testing.assert_array_equal(parsed.vectors[0], [1, 0, 0])
    with pytest.raises(MemoryImportError, match="header says 3"):
        read_lines([head, '{"character": "A", "content": "x", "vector": [1, 0]}'])
    with pytest.raises(MemoryImportError, match="version 7"):
        read_lines(['{"format": "carrier-studio-memory", "version": 7}'])


def test_export_then_import_round_trips(tmp_path):
    async def main():
        source = await open_service(tmp_path, "a.db", batch=2)
        target = await open_service(tmp_path, "b.db")
        path = tmp_path / "ada.jsonl"
        try:
            rows = records()
            await source.remember(rows)
            progress: list[Progress] = []
            count = await source.export_jsonl(path, character="Ada", progress=progress.append)
            ada = [r for r in rows if r.character == "Ada"]
            assert count == len(ada) and progress[-1].done == len(ada)
            lines = path.read_text("utf-8").splitlines()
            assert len(lines) == len(ada) + 1 and json.loads(lines[0])["dimension"] == 384
            assert await target.import_jsonl(path) == len(ada)
            again = await target.import_jsonl(path)  # ids kept: no duplicates
            assert again == 0 and again.skipped == len(ada)
            assert await target.count() == len(ada)
            assert sorted(await target.get([r.id for r in ada]), key=lambda r: r.id) == sorted(
                ada, key=lambda r: r.id
            )
            src = {
                s.record.id: s.vector for b in [x async for x in source.store.iter_all()] for s in b
            }
            for batch in [x async for x in target.store.iter_all()]:
                for stored in batch:
                    np.testing.assert_allclose(stored.vector, src[stored.record.id], atol=1e-6)
            # Without vectors, the importer embeds the content itself.
            bare = tmp_path / "bare.jsonl"
            await source.export_jsonl(bare, vectors=False)
            assert '"vector"' not in bare.read_text("utf-8")
            fresh = await open_service(tmp_path, "c.db")
            try:
                assert await fresh.import_jsonl(bare) == len(rows)
                hits = await fresh.recall("Ada", "What food makes Sam sick?", limit=1)
                assert hits[0].record.id == rows[0].id
            finally:
                await fresh.close()
        finally:
            await source.close()
            await target.close()

    asyncio.run(main())


def test_vectors_of_another_embedder_are_embedded_again(tmp_path, keyring_backend):
    async def main():
        async with ScriptedLLMServer() as server:
            local = await open_service(tmp_path, "a.db")
            secrets = SecretStore("keyring", tmp_path / ".env", backend=keyring_backend, environ={})
            secrets.set("OPENAI_API_KEY", "sk-test")
            embedder = OpenAIEmbedder(secrets, base_url=server.openai_base_url, dimensions=16)
            remote = await open_service(tmp_path, "b.db", embedder=embedder)
            path = tmp_path / "all.jsonl"
            try:
                await local.remember(records())
                await local.export_jsonl(path)
                assert await remote.import_jsonl(path) == len(records())
                sent = [r.body["input"] for r in server.requests if r.path == "/v1/embeddings"]
                assert sorted(t for batch in sent for t in batch) == sorted(
                    r.content for r in records()
                )
                assert (await remote.store.space()).embedder_id == embedder.id
            finally:
                await local.close()
                await remote.close()

    asyncio.run(main())


def test_a_bad_file_imports_nothing_and_keeps_what_was_there(tmp_path):
    async def main():
        service = await open_service(tmp_path)
        try:
            await service.remember(records()[:2])
            lines = [GOOD, GOOD.replace("fine", "also fine"), "{oops", GOOD]
            bad = tmp_path / "bad.jsonl"
            bad.write_text("\n".join(lines), "utf-8")
            with pytest.raises(MemoryImportError) as caught:
                await service.import_jsonl(bad)
            assert caught.value.problems[0][0] == 3
            assert caught.value.path == bad
            assert "line 3" in str(caught.value)
            binary = tmp_path / "binary.jsonl"
            binary.write_bytes(b'{"character": "A", "content": "\xff\xfe"}\n')
            with pytest.raises(MemoryImportError, match="not UTF-8"):
                await service.import_jsonl(binary)
            with pytest.raises(MemoryImportError, match="cannot be read"):
                await service.import_jsonl(tmp_path / "missing.jsonl")
            assert await service.count(MemoryFilter()) == 2
            # An export that cannot finish leaves an existing file as it was.
            keep = tmp_path / "keep.jsonl"
            keep.write_text("precious", "utf-8")
            service.store.iter_all = _failing_iter  # type: ignore[method-assign]
            with pytest.raises(RuntimeError, match="disk gone"):
                await service.export_jsonl(keep)
            assert keep.read_text("utf-8") == "precious"
            assert sorted(p.name for p in tmp_path.glob("*.jsonl")) == [
                "bad.jsonl",
                "binary.jsonl",
                "keep.jsonl",
            ]
        finally:
            await service.close()

    asyncio.run(main())


async def _failing_iter(batch: int = 500):
    yield [  # one good batch, then the store fails
        _stored(MemoryRecord(character="A", content="x"))
    ]
    raise RuntimeError("disk gone")


def _stored(record):
    from carrier_studio.core.memory import StoredMemory

    return StoredMemory(record, np.ones(384, np.float32) / np.sqrt(384))
