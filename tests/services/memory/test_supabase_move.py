"""Moving local memories into Supabase in bulk (#21): the vector index is built once at the
end, an interrupted move leaves every memory in exactly one place and searchable, and running
it again finishes it. Real PostgreSQL + pgvector behind the RPC bridge (supabase_env.py)."""

from __future__ import annotations

import asyncio

import numpy as np
import pytest

from carrier_studio.core.memory import EmbeddingSpace, MemoryFilter, MemoryRecord
from carrier_studio.core.memory.errors import MemoryStoreError
from carrier_studio.core.memory.model import StoredMemory
from carrier_studio.services.memory import supabase_store
from carrier_studio.services.memory.service import MemoryService
from carrier_studio.services.memory.sqlite_store import SqliteMemoryStore
from carrier_studio.services.memory.supabase_store import apply_migration
from tests.services.memory.supabase_env import SupabaseTestEnv, index_state, nearest, session_env

SPACE = EmbeddingSpace("move-test", 384)
N = 120


class _Embedder:
    """A move embeds nothing: the service only asks its space."""

    id = SPACE.embedder_id
    dimension = SPACE.dimension


@pytest.fixture
def env(pytestconfig) -> SupabaseTestEnv:
    found = session_env(pytestconfig)
    found.empty()
    return found


def _vectors(n: int, seed: int = 3) -> np.ndarray:
    v = np.random.default_rng(seed).standard_normal((n, SPACE.dimension)).astype(np.float32)
    return v / np.linalg.norm(v, axis=1, keepdims=True)


async def _local(tmp_path, vectors: np.ndarray) -> MemoryService:
    store = await SqliteMemoryStore.open(tmp_path / "studio.db")
    await store.add(
        [StoredMemory(MemoryRecord("Ada", f"memory {i}", id=f"m{i:04d}"), v)
         for i, v in enumerate(vectors)],
        SPACE,
    )  # fmt: skip
    return MemoryService(store, _Embedder(), batch=10)  # type: ignore[arg-type]


def _exact(vectors: np.ndarray, q: np.ndarray) -> list[str]:
    return [f"m{i:04d}" for i in np.argsort(-(vectors @ q))[:5]]


def test_a_bulk_move_builds_the_index_once_and_moves_everything(env, tmp_path, monkeypatch):
    monkeypatch.setattr(supabase_store, "BULK_BATCH", 25)
    vectors = _vectors(N)
    states: list[tuple[bool, bool]] = []

    async def scenario():
        service = await _local(tmp_path, vectors)
        target = await env.open_store()
        real_add = target.add

        async def add_and_look(items, space, **kwargs):
            states.append(await asyncio.to_thread(index_state, env))
            return await real_add(items, space, **kwargs)

        target.add = add_and_look  # type: ignore[method-assign]
        try:
            assert await service.move_to(target) == N
            assert await service.store.count(MemoryFilter()) == 0
            assert await target.count(MemoryFilter()) == N
            moved = {s.record.id: s.vector for s in await target.vectors(MemoryFilter(), N)}
            for i, v in enumerate(vectors):
                np.testing.assert_array_equal(moved[f"m{i:04d}"], v)
            for q in vectors[:5]:
                assert await nearest(target, q) == _exact(vectors, q)
        finally:
            await target.close()
            await service.close()

    asyncio.run(scenario())
    assert len(states) == N // 25 + 1  # the bulk batch, not the service's 10
    assert set(states) == {(False, True)}  # no index kept current while loading
    assert index_state(env) == (True, False)  # built at the end


def test_an_interrupted_move_stays_searchable_and_finishes_when_run_again(
    env, tmp_path, monkeypatch
):
    monkeypatch.setattr(supabase_store, "BULK_BATCH", 30)
    vectors = _vectors(N, seed=4)

    async def scenario():
        service = await _local(tmp_path, vectors)
        target = await env.open_store()
        real_add = target.add
        calls = 0

        async def add_then_drop(items, space, **kwargs):
            nonlocal calls
            calls += 1
            if calls == 3:  # the network goes after two batches
                raise MemoryStoreError("cannot reach Supabase: connection reset")
            return await real_add(items, space, **kwargs)

        target.add = add_then_drop  # type: ignore[method-assign]
        try:
            with pytest.raises(MemoryStoreError, match="cannot reach"):
                await service.move_to(target)
            here = await service.store.count(MemoryFilter())
            there = await target.count(MemoryFilter())
            assert (here, there) == (N - 60, 60)  # each memory in exactly one place
            assert await asyncio.to_thread(index_state, env) == (False, True)
            moved = vectors[:60]  # iter_all goes in storage order
            for q in moved[:3]:  # no index: searched exactly, by a scan
                assert await nearest(target, q) == _exact(moved, q)

            target.add = real_add  # type: ignore[method-assign]
            assert await service.move_to(target) == N - 60
            assert await target.count(MemoryFilter()) == N
            assert await service.store.count(MemoryFilter()) == 0
            assert await asyncio.to_thread(index_state, env) == (True, False)
            for q in vectors[-3:]:
                assert await nearest(target, q) == _exact(vectors, q)
        finally:
            await target.close()
            await service.close()

    asyncio.run(scenario())


def test_a_small_move_into_a_larger_store_keeps_its_index(env, tmp_path):
    vectors = _vectors(N, seed=5)

    async def scenario():
        target = await env.open_store()
        try:
            big = [StoredMemory(MemoryRecord("Bob", f"old {i}", id=f"old{i}"), v)
                   for i, v in enumerate(_vectors(200, seed=6))]  # fmt: skip
            await target.add(big, SPACE)
            assert await target.begin_bulk(SPACE, N) == supabase_store.BULK_BATCH
            assert await asyncio.to_thread(index_state, env) == (True, False)
            await target.end_bulk()
        finally:
            await target.close()
        service = await _local(tmp_path, vectors)
        target = await env.open_store()
        try:
            assert await service.move_to(target) == N
            assert await target.count(MemoryFilter()) == N + 200
        finally:
            await target.close()
            await service.close()

    asyncio.run(scenario())
    assert index_state(env) == (True, False)


def test_a_project_with_schema_2_sql_moves_row_by_row_then_upgrades_keeping_data(env, tmp_path):
    vectors = _vectors(40, seed=7)
    # Schema 2 as projects have it: no bulk functions, no deferred flag.
    with env.connect() as connection:
        connection.execute("drop function public.memories_bulk_begin(text, integer, bigint, real)")
        connection.execute("drop function public.memories_bulk_end()")
        connection.execute(
            "create or replace function public.memories_status() returns jsonb language sql "
            "stable security definer as $$ select jsonb_build_object('schema_version', 2, "
            "'embedder_id', (select embedder_id from public.memories_space where id = 1), "
            "'dimension', (select dimension from public.memories_space where id = 1)) $$"
        )
        connection.execute("alter table public.memories_space drop column vector_index_deferred")
    try:

        async def scenario():
            service = await _local(tmp_path, vectors)
            target = await env.open_store()
            try:
                assert await service.move_to(target) == 40  # the plain path, index kept
                with env.connect() as connection:
                    assert connection.execute(
                        "select count(*) from pg_indexes "
                        "where indexname = 'memories_embedding_hnsw_384'"
                    ).fetchone() == (1,)
                await asyncio.to_thread(apply_migration, env.postgres_url)  # to schema 3
                assert await target.count(MemoryFilter()) == 40
                assert await target.space() == SPACE
                assert await nearest(target, vectors[9]) == _exact(vectors, vectors[9])
            finally:
                await target.close()
                await service.close()

        asyncio.run(scenario())
        assert index_state(env) == (True, False)
    finally:
        apply_migration(env.postgres_url)  # the session's other tests need schema 3


def test_the_index_is_dropped_only_when_its_build_fits_the_time_limit(env):
    """Over the API a function cannot lengthen its caller's statement_timeout (8 s on Supabase):
    a build that would not fit keeps the index, and the move goes row by row."""
    with env.connect() as connection:
        begin = "select public.memories_bulk_begin('move-test', 384, %s)"
        connection.execute("set statement_timeout = '1s'")  # 500 ms to spare: 500 rows
        (status,) = connection.execute(begin, [2000]).fetchone()
        assert status["vector_index_deferred"] is False
        (status,) = connection.execute(begin, [400]).fetchone()
        assert status["vector_index_deferred"] is True
        connection.execute("set statement_timeout = 0")
        connection.execute("select public.memories_bulk_end()")
    assert index_state(env) == (True, False)


def test_a_build_that_fails_is_named_and_finished_by_applying_the_sql(env, tmp_path):
    vectors = _vectors(40, seed=8)

    async def scenario():
        service = await _local(tmp_path, vectors)
        target = await env.open_store()
        real_rpc = target._rpc

        async def timing_out(function, args, **kwargs):
            if function == "memories_bulk_end":
                raise MemoryStoreError("canceling statement due to statement timeout")
            return await real_rpc(function, args, **kwargs)

        target._rpc = timing_out  # type: ignore[method-assign]
        try:
            with pytest.raises(MemoryStoreError, match="were moved, but their vector index") as e:
                await service.move_to(target)
            assert "--apply" in (e.value.hint or "")
            assert await target.count(MemoryFilter()) == 40
            assert await asyncio.to_thread(index_state, env) == (False, True)
            await asyncio.to_thread(apply_migration, env.postgres_url)
            assert await asyncio.to_thread(index_state, env) == (True, False)
        finally:
            await target.close()
            await service.close()

    asyncio.run(scenario())
