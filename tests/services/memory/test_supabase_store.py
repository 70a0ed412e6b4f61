"""What only the Supabase store does: its migration, its errors, and HNSW recall on real pgvector.

The store runs unchanged through the real supabase client against the PostgREST RPC bridge over
an embedded PostgreSQL 18 + pgvector (see supabase_env.py); the shared behaviour is in
test_store_contract.py.
"""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta

import numpy as np
import psycopg
import pytest

from carrier_studio.core.memory import (
    EmbeddingSpace,
    MemoryFilter,
    MemoryQuery,
    MemoryRecord,
    StoredMemory,
)
from carrier_studio.core.memory.errors import EmbeddingSpaceError, MemoryStoreError
from carrier_studio.services.memory import supabase_store as memory_supabase
from carrier_studio.services.memory.supabase_store import (
    SupabaseMemoryStore,
    apply_migration,
    migration_sql,
)
from tests.fakes.postgrest_bridge import running_bridge
from tests.helpers.waiting import wait_until
from tests.services.memory.supabase_env import (
    ANON_KEY,
    SERVICE_KEY,
    SupabaseTestEnv,
    session_env,
)

MINILM = EmbeddingSpace("test-minilm", 384)
T0 = datetime(2026, 5, 1, tzinfo=UTC)


def unit(rows: np.ndarray) -> np.ndarray:
    return (rows / np.linalg.norm(rows, axis=-1, keepdims=True)).astype(np.float32)


def memories(vectors: np.ndarray, character: str = "Ada") -> list[StoredMemory]:
    return [
        StoredMemory(
            MemoryRecord(character, f"memory {i}", created_at=T0 + timedelta(seconds=i)), v
        )
        for i, v in enumerate(vectors)
    ]


@pytest.fixture
def env(pytestconfig) -> SupabaseTestEnv:
    """The session's PostgreSQL + bridge, with empty memory tables."""
    found = session_env(pytestconfig)
    found.empty()
    return found


@contextmanager
def other_database(env: SupabaseTestEnv, name: str) -> Iterator[str]:
    """A second, empty database on the same server (no migration), dropped afterwards."""
    with env.connect() as connection:
        connection.execute(f"drop database if exists {name}")
        connection.execute(f"create database {name}")
    try:
        yield env.postgres_url.replace("/postgres?", f"/{name}?")
    finally:
        with env.connect() as connection:
            connection.execute(f"drop database {name} with (force)")


def test_migration_is_idempotent_and_keeps_memories(env):
    async def add_then_reapply_then_read():
        store = await env.open_store()
        try:
            stored = memories(unit(np.eye(384, dtype=np.float32)[:3]))
            await store.add(stored, MINILM)
            await asyncio.to_thread(apply_migration, env.postgres_url)
            await asyncio.to_thread(apply_migration, env.postgres_url)
            assert await store.space() == MINILM
            assert await store.get([s.record.id for s in stored]) == [s.record for s in stored]
        finally:
            await store.close()

    asyncio.run(add_then_reapply_then_read())
    with env.connect() as connection:
        indexes = {
            row[0]
            for row in connection.execute(
                "select indexname from pg_indexes where tablename = 'memories'"
            )
        }
        assert {"memories_embedding_hnsw_384", "memories_fts", "memories_newest"} <= indexes
        # The table is closed to PostgREST's table endpoints: RLS on, no policies.
        rls = connection.execute(
            "select relrowsecurity from pg_class where oid = 'public.memories'::regclass"
        ).fetchone()
        assert rls == (True,)
        assert connection.execute("select count(*) from pg_policies").fetchone() == (0,)


@pytest.mark.slow
def test_match_memories_recall_against_exact_search(env):
    rng = np.random.default_rng(7)
    # Loosely clustered vectors, close to uniform: a hard case for HNSW, where pgvector's
    # default ef_search (40) finds only ≈70% of the true top 10 (asserted below, so this test
    # can tell whether match_memories raised it).
    centres = rng.normal(size=(40, 384))
    data = unit(centres[rng.integers(0, 40, 3000)] + rng.normal(scale=4.0, size=(3000, 384)))
    queries = unit(centres[rng.integers(0, 40, 40)] + rng.normal(scale=4.0, size=(40, 384)))
    stored = memories(data)
    ids = np.array([s.record.id for s in stored])
    exact = [set(ids[np.argsort(-(data @ q))[:10]]) for q in queries]

    def index_scans() -> int:
        with env.connect() as connection:
            row = connection.execute(
                "select idx_scan from pg_stat_user_indexes "
                "where indexrelname = 'memories_embedding_hnsw_384'"
            ).fetchone()
            return int(row[0])

    async def search_all() -> list[set[str]]:
        store = await env.open_store()
        try:
            await store.add(stored, MINILM)
            found = []
            for q in queries:
                hits = await store.search(MemoryQuery("", mode="semantic", limit=10), q)
                assert len(hits) == 10
                found.append({h.record.id for h in hits})
            return found
        finally:
            await store.close()

    before = index_scans()
    found = asyncio.run(search_all())
    recall = np.mean([len(f & e) / 10 for f, e in zip(found, exact, strict=True)])
    assert recall >= 0.97, recall
    # The answers came from the HNSW index, not from an exact scan the planner preferred.
    loop = asyncio.new_event_loop()
    try:
        wait_until(loop, lambda: index_scans() >= before + len(queries), timeout=15)
    finally:
        loop.close()
    # The same index at pgvector's default ef_search misses far more.
    with env.connect() as connection:
        connection.execute("set hnsw.ef_search = 40")
        default_found = [
            {
                row[0]
                for row in connection.execute(
                    "select id from memories where vector_dims(embedding) = 384 "
                    "order by embedding::vector(384) <=> %s::vector(384) limit 10",
                    [str(q.tolist())],
                )
            }
            for q in queries
        ]
    default_recall = np.mean([len(f & e) / 10 for f, e in zip(default_found, exact, strict=True)])
    assert default_recall < 0.9, default_recall


def test_a_wrong_key_is_refused_clearly(env):
    with pytest.raises(MemoryStoreError, match="refused the key") as refused:
        asyncio.run(env.open_store("not-a-key"))
    assert "service_role key" in refused.value.hint
    # The public anon key reaches Supabase but may not call the functions.
    with pytest.raises(MemoryStoreError, match="may not call the memory functions") as anon:
        asyncio.run(env.open_store(ANON_KEY))
    assert "not the anon key" in anon.value.hint


def test_a_project_without_the_migration_says_how_to_apply_it(env):
    with (
        other_database(env, "no_migration") as url,
        running_bridge(url, {SERVICE_KEY: "service_role"}) as bridge,
    ):
        with pytest.raises(MemoryStoreError, match="no memory functions") as missing:
            asyncio.run(SupabaseMemoryStore.open(bridge.url, SERVICE_KEY))
    assert "carrier-studio memory init --supabase" in str(missing.value)


def test_an_unreachable_url_is_named():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # nothing listens on it once the socket closes
    url = f"http://127.0.0.1:{port}"
    with pytest.raises(MemoryStoreError, match="cannot reach Supabase") as unreachable:
        asyncio.run(SupabaseMemoryStore.open(url, SERVICE_KEY))
    assert unreachable.value.where == url
    with pytest.raises(MemoryStoreError, match="Invalid URL"):
        asyncio.run(SupabaseMemoryStore.open("db.example.supabase.co", SERVICE_KEY))


def test_vectors_of_another_dimension_are_refused(env):
    async def scenario():
        store = await env.open_store()
        try:
            await store.add(memories(unit(np.ones((2, 384), np.float32))), MINILM)
            with pytest.raises(EmbeddingSpaceError, match="query vector has 40 dimensions"):
                await store.search(MemoryQuery("x", mode="semantic"), np.ones(40, np.float32))
            too_long = memories(unit(np.ones((1, 385), np.float32)))
            with pytest.raises(EmbeddingSpaceError, match="wrong dimension"):
                await store.add(too_long, MINILM)
            with pytest.raises(EmbeddingSpaceError, match="384"):
                await store.add(too_long, EmbeddingSpace("test-minilm", 385))
            assert await store.count(MemoryFilter()) == 2
        finally:
            await store.close()

    asyncio.run(scenario())


def test_reembedding_in_several_batches_swaps_only_when_complete(env, monkeypatch):
    monkeypatch.setattr(memory_supabase, "WRITE_BATCH", 3)
    wide = EmbeddingSpace("test-wide", 48)

    async def scenario():
        store = await env.open_store()
        try:
            stored = memories(unit(np.eye(384, dtype=np.float32)[:8]))
            await store.add(stored, MINILM)
            new = unit(np.eye(48, dtype=np.float32)[10:18])
            pairs = [(s.record.id, v) for s, v in zip(stored, new, strict=True)]
            # Seven of eight, over three calls: the last one finds a memory without a vector.
            with pytest.raises(EmbeddingSpaceError, match="every memory"):
                await store.replace_vectors(pairs[:7], wide)
            assert await store.space() == MINILM
            hits = await store.search(MemoryQuery("", mode="semantic", limit=1), stored[5].vector)
            assert hits[0].record.id == stored[5].record.id
            await store.replace_vectors(pairs, wide)
            assert await store.space() == wide
            hits = await store.search(MemoryQuery("", mode="semantic", limit=1), new[5])
            assert hits[0].record.id == stored[5].record.id
            assert hits[0].semantic == pytest.approx(1.0, abs=1e-5)
        finally:
            await store.close()

    asyncio.run(scenario())
    with env.connect() as connection:
        indexes = {
            row[0]
            for row in connection.execute(
                "select indexname from pg_indexes where indexname like 'memories_embedding_%'"
            )
        }
    assert indexes == {"memories_embedding_hnsw_48"}


def test_apply_migration_prepares_an_empty_database(env):
    with other_database(env, "fresh_project") as url:
        apply_migration(url)
        with psycopg.connect(url) as connection:
            status = connection.execute("select public.memories_status()").fetchone()[0]
        assert float(status.pop("server_started")) > 0  # which database answers, with its name
        assert status == {
            "schema_version": 4,
            "embedder_id": None,
            "dimension": None,
            "vector_index_deferred": False,
            "vector_index_building": False,
            "database": "fresh_project",
        }


def test_the_cli_applies_the_migration(env, tmp_path):
    with other_database(env, "cli_project") as url:
        result = subprocess.run(
            [
                sys.executable,
                "-m",
                "carrier_studio",
                "memory",
                "init",
                "--supabase",
                "--apply",
            ],
            # The URL (with its password) comes from the environment, not the command line.
            env={
                **os.environ,
                "CARRIER_STUDIO_HOME": str(tmp_path / "workspace"),
                "SUPABASE_DB_URL": url,
            },
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert result.returncode == 0, result.stderr
        with psycopg.connect(url) as connection:
            status = connection.execute("select public.memories_status()").fetchone()[0]
        assert status["schema_version"] == 4


def test_apply_migration_leaves_a_foreign_memories_table_alone(env):
    with other_database(env, "foreign_table") as url:
        with psycopg.connect(url, autocommit=True) as connection:
            connection.execute("create table memories (note text)")
            connection.execute("insert into memories values ('mine')")
        with pytest.raises(MemoryStoreError, match="not created by Carrier Studio"):
            apply_migration(url)
        with psycopg.connect(url) as connection:
            assert connection.execute("select note from memories").fetchall() == [("mine",)]


def test_apply_migration_names_the_database_without_its_password():
    url = "postgresql://postgres:s3cret@127.0.0.1:1/postgres"
    with pytest.raises(MemoryStoreError, match="cannot reach the database server") as failed:
        apply_migration(url)
    assert failed.value.where == "postgresql://postgres:***@127.0.0.1:1/postgres"
    assert "s3cret" not in str(failed.value)


def test_migration_sql_is_the_shipped_file():
    text = migration_sql()
    assert "create extension if not exists vector" in text
    assert "create or replace function public.match_memories" in text
