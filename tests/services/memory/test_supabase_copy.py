"""Moving local memories into Supabase over the project's database URL: binary COPY, the vector
index built once, resumable by id, and the URL's password in no message or log (#21).

Real PostgreSQL 18 + pgvector (supabase_env.py); the store's API calls go through the RPC
bridge, the move's rows over a direct connection as a password-checked role.
"""

from __future__ import annotations

import asyncio
import logging
import socket
import threading
import traceback

import numpy as np
import psycopg
import pytest
from psycopg import sql

from carrier_studio.core.memory import EmbeddingSpace, MemoryFilter, MemoryRecord
from carrier_studio.core.memory.errors import MemoryStoreError
from carrier_studio.core.memory.model import StoredMemory
from carrier_studio.services.memory import supabase_copy, supabase_index, supabase_store
from carrier_studio.services.memory.service import MemoryService
from carrier_studio.services.memory.sqlite_store import SqliteMemoryStore
from carrier_studio.services.memory.supabase_store import SupabaseMemoryStore
from tests.services.memory.supabase_env import (
    SERVICE_KEY,
    SupabaseTestEnv,
    index_built,
    index_state,
    nearest,
    session_env,
)

SPACE = EmbeddingSpace("copy-test", 384)
N = 120
ROLE = "carrier_mover"
PASSWORD = "Right-Pass-4711"


class _Embedder:
    """A move embeds nothing: the service only asks its space."""

    id = SPACE.embedder_id
    dimension = SPACE.dimension


@pytest.fixture
def env(pytestconfig) -> SupabaseTestEnv:
    found = session_env(pytestconfig)
    found.empty()
    _password_role(found)
    return found


def _password_role(env: SupabaseTestEnv) -> None:
    """A role that must give its password (the server trusts everyone else), as Supabase's
    `postgres` user must: checked before any other rule of pg_hba.conf."""
    with env.connect() as connection:
        if connection.execute("select 1 from pg_roles where rolname = %s", [ROLE]).fetchone():
            return
        connection.execute(
            sql.SQL("create role {} login superuser password {}").format(
                sql.Identifier(ROLE), sql.Literal(PASSWORD)
            )
        )
        (hba,) = connection.execute("show hba_file").fetchone()
        with open(hba, encoding="utf-8") as f:
            rules = f.read()
        with open(hba, "w", encoding="utf-8") as f:
            f.write(f"local all {ROLE} scram-sha-256\n{rules}")
        connection.execute("select pg_reload_conf()")


def _url(
    env: SupabaseTestEnv, password: str = PASSWORD, database: str = "postgres", form: str = "uri"
) -> str:
    """The connection string in one of the forms libpq reads: the password in the user part of
    a URI, as a URI's ``password=`` parameter, or as a keyword of a keyword/value string."""
    socket_dir = env.postgres_url.split("host=", 1)[1]
    if form == "query":
        return f"postgresql://{ROLE}@/{database}?host={socket_dir}&password={password}"
    if form == "keywords":
        return f"host={socket_dir} user={ROLE} password={password} dbname={database}"
    return f"postgresql://{ROLE}:{password}@/{database}?host={socket_dir}"


def _vectors(n: int, seed: int) -> np.ndarray:
    v = np.random.default_rng(seed).standard_normal((n, SPACE.dimension)).astype(np.float32)
    return v / np.linalg.norm(v, axis=1, keepdims=True)


async def _local(tmp_path, vectors: np.ndarray) -> MemoryService:
    store = await SqliteMemoryStore.open(tmp_path / "studio.db")
    await store.add(
        [StoredMemory(MemoryRecord("Ada", f"memory {i}", metadata={"n": i}, id=f"m{i:04d}"), v)
         for i, v in enumerate(vectors)],
        SPACE,
    )  # fmt: skip
    return MemoryService(store, _Embedder(), batch=10)  # type: ignore[arg-type]


async def _target(env: SupabaseTestEnv, database_url: str) -> SupabaseMemoryStore:
    assert env.bridge is not None
    return await SupabaseMemoryStore.open(env.bridge.url, SERVICE_KEY, database_url=database_url)


def _exact(vectors: np.ndarray, q: np.ndarray, ids: list[str] | None = None) -> list[str]:
    ids = ids or [f"m{i:04d}" for i in range(len(vectors))]
    return [ids[i] for i in np.argsort(-(vectors @ q))[:5]]


def _no_password(*texts: str) -> None:
    for text in texts:
        assert PASSWORD not in text
        assert "Wrong-Pass" not in text


def test_a_copy_move_brings_every_row_and_vector_and_builds_the_index_once(
    env, tmp_path, monkeypatch, caplog
):
    monkeypatch.setattr(supabase_copy, "COPY_BATCH", 25)
    caplog.set_level(logging.DEBUG)
    vectors = _vectors(N, seed=21)
    states: list[tuple[bool, bool]] = []
    api_calls: list[str] = []

    async def scenario():
        service = await _local(tmp_path, vectors)
        target = await _target(env, _url(env))
        real_rpc, real_copy_add = target._rpc, supabase_copy.CopyLoader.add

        async def spy_rpc(function, args, **kwargs):
            api_calls.append(function)
            return await real_rpc(function, args, **kwargs)

        async def add_and_look(self, items, space):
            states.append(await asyncio.to_thread(index_state, env))
            return await real_copy_add(self, items, space)

        target._rpc = spy_rpc  # type: ignore[method-assign]
        monkeypatch.setattr(supabase_copy.CopyLoader, "add", add_and_look)
        try:
            assert await service.move_to(target) == N
            assert await service.store.count(MemoryFilter()) == 0
            assert await target.count(MemoryFilter()) == N
            moved = {s.record.id: s for s in await target.vectors(MemoryFilter(), N)}
            for i, v in enumerate(vectors):
                np.testing.assert_array_equal(moved[f"m{i:04d}"].vector, v)
                assert moved[f"m{i:04d}"].record.metadata == {"n": i}
                assert moved[f"m{i:04d}"].record.content == f"memory {i}"
            for q in vectors[:5]:
                assert await nearest(target, q) == _exact(vectors, q)
            await index_built(target)
        finally:
            await target.close()
            await service.close()

    asyncio.run(scenario())
    assert len(states) == N // 25 + 1  # COPY batches, not the service's 10
    assert set(states) == {(False, True)}  # no index kept current while loading
    assert index_state(env) == (True, False)  # built at the end
    assert "memories_insert" not in api_calls and "memories_bulk_begin" not in api_calls
    _no_password(caplog.text)


def test_an_interrupted_copy_move_resumes_without_duplicates_or_loss(env, tmp_path, monkeypatch):
    monkeypatch.setattr(supabase_copy, "COPY_BATCH", 30)
    vectors = _vectors(N, seed=22)

    async def scenario():
        service = await _local(tmp_path, vectors)
        local = service.store
        real_delete = local.delete
        deletes = 0

        async def crash_after_commit(ids):
            # The second batch is committed in Postgres, then the studio dies before deleting
            # it here: it is in both places until the move runs again.
            nonlocal deletes
            deletes += 1
            if deletes == 2:
                raise MemoryStoreError("the studio was closed")
            return await real_delete(ids)

        local.delete = crash_after_commit  # type: ignore[method-assign]
        target = await _target(env, _url(env))
        try:
            with pytest.raises(MemoryStoreError, match="was closed"):
                await service.move_to(target)
        finally:
            await target.close()
        assert await local.count(MemoryFilter()) == N - 30
        local.delete = real_delete  # type: ignore[method-assign]

        # Then the connection drops in the middle of the next batch's COPY.
        target = await _target(env, _url(env))
        real_rows = supabase_copy._rows

        def rows_then_cut(items, space):
            with env.connect() as connection:
                connection.execute(
                    "select pg_terminate_backend(pid) from pg_stat_activity where usename = %s",
                    [ROLE],
                )
            return real_rows(items, space)

        monkeypatch.setattr(supabase_copy, "_rows", rows_then_cut)
        try:
            with pytest.raises(MemoryStoreError, match="connection to the database broke") as e:
                await service.move_to(target)
            assert "again" in (e.value.hint or "")
        finally:
            await target.close()
        assert await local.count(MemoryFilter()) == N - 30  # nothing lost here either
        with env.connect() as connection:
            (there,) = connection.execute("select count(*) from public.memories").fetchone()
        assert there == 60  # batches one and two, the second not doubled

        monkeypatch.setattr(supabase_copy, "_rows", real_rows)
        target = await _target(env, _url(env))
        try:
            assert await service.move_to(target) == N - 30
            assert await target.count(MemoryFilter()) == N
            assert await local.count(MemoryFilter()) == 0
            moved = {s.record.id: s.vector for s in await target.vectors(MemoryFilter(), N)}
            assert sorted(moved) == [f"m{i:04d}" for i in range(N)]
            for i, v in enumerate(vectors):
                np.testing.assert_array_equal(moved[f"m{i:04d}"], v)
            for q in vectors[-3:]:
                assert await nearest(target, q) == _exact(vectors, q)
            await index_built(target)
        finally:
            await target.close()
            await service.close()

    asyncio.run(scenario())
    assert index_state(env) == (True, False)


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.parametrize(
    ("case", "said"),
    [
        ("unreachable", "cannot reach the database server"),
        ("password", "refused the user name or password"),
        ("no pgvector", "no pgvector"),
        ("no tables", "no Carrier Studio memory tables"),
        ("another database", "another database than the Supabase URL"),
        ("old functions", "predate bulk moves"),
    ],
)
def test_a_wrong_database_url_is_named_and_nothing_moves(env, tmp_path, case, said, caplog):
    caplog.set_level(logging.DEBUG)
    vectors = _vectors(20, seed=23)
    url = _url(env)
    if case == "unreachable":
        url = f"postgresql://{ROLE}:{PASSWORD}@127.0.0.1:{_closed_port()}/postgres"
    elif case == "password":
        url = _url(env, password="Wrong-Pass-0815")
    elif case in ("no pgvector", "no tables", "another database", "old functions"):
        name = {"no pgvector": "bare", "no tables": "vector_only", "another database": "other",
                "old functions": "old"}  # fmt: skip
        database = f"copy_test_{name[case]}"
        with env.connect() as connection:
            if not connection.execute(
                "select 1 from pg_database where datname = %s", [database]
            ).fetchone():
                connection.execute(sql.SQL("create database {}").format(sql.Identifier(database)))
        url = _url(env, database=database)
        if case != "no pgvector":
            with psycopg.connect(env.postgres_url.replace("/postgres?", f"/{database}?")) as c:
                c.execute("create extension if not exists vector")
                if case in ("another database", "old functions"):
                    from carrier_studio.services.memory.supabase_store import migration_sql

                    c.execute(migration_sql())
                if case == "old functions":  # a project set up before bulk moves (schema 2)
                    c.execute(
                        "drop function public.memories_bulk_begin(text, integer, bigint, real)"
                    )
                    c.commit()
                elif case == "another database":
                    c.execute("truncate public.memories, public.memories_space")
                    c.execute(
                        "insert into public.memories (id, character, kind, content, embedding) "
                        "values ('x', 'Bob', 'note', 'elsewhere', %s::vector)",
                        [str([0.0] * 384)],
                    )
                    c.commit()

    async def scenario():
        service = await _local(tmp_path, vectors)
        target = await _target(env, url)
        try:
            with pytest.raises(MemoryStoreError, match=said) as e:
                await service.move_to(target)
            assert await service.store.count(MemoryFilter()) == 20  # nothing left here
            assert await target.count(MemoryFilter()) == 0
        finally:
            await target.close()
            await service.close()
        return e.value

    error = asyncio.run(scenario())
    assert error.hint
    assert index_state(env) == (True, False)  # the project's index untouched
    _no_password(
        str(error),
        repr(error),
        "".join(traceback.format_exception(error)),
        caplog.text,
    )
    if case != "unreachable":
        assert ROLE in (error.where or "")  # which database, by its user and host


_STATUS_BEFORE_IDENTITY = """
create or replace function public.memories_status() returns jsonb language sql stable
security definer set search_path = pg_catalog, public, extensions as $$
    select jsonb_build_object(
        'schema_version', 3,
        'embedder_id', (select embedder_id from public.memories_space where id = 1),
        'dimension', (select dimension from public.memories_space where id = 1),
        'vector_index_deferred',
            coalesce((select vector_index_deferred from public.memories_space where id = 1),
                     false))
$$"""


@pytest.mark.parametrize("sql_from", ["now", "before the identity"])
def test_a_write_by_someone_else_as_the_move_begins_does_not_stop_it(
    env, tmp_path, monkeypatch, sql_from
):
    """Another client stores a memory between the API's look at the project and the direct
    connection's: still the same database (by its name and server, or, with memory functions
    from before they told that, by counts that differ no more than writes meanwhile explain)."""
    vectors = _vectors(30, seed=26)
    real_connect = supabase_copy.connect

    def connect_after_a_write(database_url, **kwargs):
        with env.connect() as connection:
            connection.execute(
                "insert into public.memories (id, character, kind, content, embedding) "
                "values ('elsewhere', 'Bob', 'note', 'written meanwhile', %s::vector)",
                [str([1.0] + [0.0] * 383)],
            )
        return real_connect(database_url, **kwargs)

    monkeypatch.setattr(supabase_copy, "connect", connect_after_a_write)
    if sql_from != "now":
        with env.connect() as connection:
            connection.execute(_STATUS_BEFORE_IDENTITY)

    async def scenario():
        service = await _local(tmp_path, vectors)
        target = await _target(env, _url(env))
        try:
            assert await service.move_to(target) == 30
            assert await target.count(MemoryFilter()) == 31
            await index_built(target)
        finally:
            await target.close()
            await service.close()

    try:
        asyncio.run(scenario())
    finally:
        if sql_from != "now":
            monkeypatch.setattr(supabase_copy, "connect", real_connect)
            supabase_store.apply_migration(env.postgres_url)  # the other tests need it
    assert index_state(env) == (True, False)


def test_a_password_in_a_driver_message_is_scrubbed():
    """psycopg may quote the connection string it could not parse."""
    url = f"postgresql://{ROLE}:{PASSWORD}@db.example.invalid:notaport/postgres"
    with pytest.raises(MemoryStoreError) as e:
        supabase_copy.connect(url)
    _no_password(str(e.value), "".join(traceback.format_exception(e.value)))
    assert (
        supabase_copy.redact_url(url)
        == f"postgresql://{ROLE}:***@db.example.invalid:notaport/postgres"
    )


@pytest.mark.parametrize("form", ["uri", "query", "keywords"])
def test_a_password_in_any_form_of_the_url_is_in_no_message(env, form, caplog, monkeypatch):
    """libpq takes the password in the URI's user part, as ``?password=`` or as a keyword:
    each is left out of the database's name, of the driver's and the server's words."""
    caplog.set_level(logging.DEBUG)
    redacted = supabase_copy.redact_url(_url(env, form=form))
    assert PASSWORD not in redacted and ROLE in redacted and "***" in redacted
    errors = []
    # Not in the raising line: a traceback quotes that line.
    wrong = _url(env, password="Wrong-Pass-0815", form=form)
    with pytest.raises(MemoryStoreError, match="refused the user name or password") as e:
        supabase_copy.connect(wrong)
    errors.append(e.value)
    # The server's own message may quote the password (here a script that reads it as a number).
    monkeypatch.setattr(supabase_store, "migration_sql", lambda: f"select '{PASSWORD}'::int")
    with pytest.raises(MemoryStoreError, match="the migration failed") as e:
        supabase_store.apply_migration(_url(env, form=form))
    errors.append(e.value)
    for error in errors:
        assert ROLE in (error.where or "")
        _no_password(
            str(error), repr(error), "".join(traceback.format_exception(error)), caplog.text
        )


def test_a_password_with_url_characters_is_redacted():
    """Passwords pasted unencoded: libpq's user part ends at the first "@" before any "/"."""
    for url, password in [
        ("postgresql://postgres:pa?ss#w:rd@db.x.supabase.co:5432/postgres", "pa?ss#w:rd"),
        ("postgres://postgres:p%40ss@h/d?sslmode=require&password=other-one", "other-one"),
        ("host=h user=postgres password = 'my \\'pass word' dbname=postgres", "pass word"),
        ("postgresq://postgres:mistyped-scheme@h/postgres", "mistyped-scheme"),
    ]:
        redacted = supabase_copy.redact_url(url)
        assert password not in redacted and "p@ss" not in redacted and "p%40ss" not in redacted
        assert "postgres" in redacted
        assert password not in supabase_copy.first_line(ValueError(f"bad {url}"), url)


def test_the_session_opens_the_store_with_the_database_url_from_the_secrets(env, tmp_path):
    """The URL is a secret like the service key (keyring, .env or environment), never a
    setting: `open_store` hands it to the store, so a move from the Memory page uses COPY."""
    import keyring.backends.fail

    from carrier_studio.core.settings import MemorySettings
    from carrier_studio.services.memory.controller import open_store
    from carrier_studio.services.platform.secrets import SecretStore

    secrets = SecretStore(
        "session", tmp_path / ".env", backend=keyring.backends.fail.Keyring(), environ={}
    )
    secrets.set("SUPABASE_SERVICE_KEY", SERVICE_KEY)
    secrets.set("SUPABASE_DB_URL", _url(env))
    assert env.bridge is not None
    settings = MemorySettings(backend="supabase", supabase_url=env.bridge.url)
    assert PASSWORD not in settings.model_dump_json()

    async def scenario():
        store = await open_store(settings, secrets, tmp_path / "studio.db")
        try:
            assert await store.begin_bulk(SPACE, 10) == supabase_copy.COPY_BATCH
            await store.end_bulk()
            await index_built(store)
        finally:
            await store.close()

    asyncio.run(scenario())
    assert secrets.redactor.redact(f"moving to {_url(env)}").count(PASSWORD) == 0


def test_the_cli_applies_the_migration_to_the_url_saved_in_the_workspace(env, tmp_path):
    """`memory init --supabase --apply` finds the URL where Settings keeps it (here the
    workspace .env, as a keyless machine keeps it) when $SUPABASE_DB_URL is not set."""
    import os
    import subprocess
    import sys

    database = "copy_test_cli"
    with env.connect() as connection:
        connection.execute(sql.SQL("drop database if exists {}").format(sql.Identifier(database)))
        connection.execute(sql.SQL("create database {}").format(sql.Identifier(database)))
    workspace = tmp_path / "workspace"
    workspace.mkdir()
    (workspace / ".env").write_text(f"SUPABASE_DB_URL='{_url(env, database=database)}'\n")
    environ = {k: v for k, v in os.environ.items() if k != "SUPABASE_DB_URL"}
    result = subprocess.run(
        [sys.executable, "-m", "carrier_studio", "memory", "init", "--supabase", "--apply"],
        env={**environ, "CARRIER_STUDIO_HOME": str(workspace), "HOME": str(tmp_path)},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    _no_password(result.stdout, result.stderr)
    with psycopg.connect(env.postgres_url.replace("/postgres?", f"/{database}?")) as c:
        (status,) = c.execute("select public.memories_status()").fetchone()
    assert status["schema_version"] == 4


def test_a_move_cancelled_while_a_batch_is_copied_loses_nothing(env, tmp_path, monkeypatch):
    """Cancel (the Memory page's Stop) lands while a batch is on its way: the batch is either
    committed there or still here, and the next move ends with each memory once."""
    monkeypatch.setattr(supabase_copy, "COPY_BATCH", 40)
    vectors = _vectors(N, seed=24)
    real_rows = supabase_copy._rows
    calls = 0

    async def scenario():
        nonlocal calls
        service = await _local(tmp_path, vectors)
        target = await _target(env, _url(env))
        loop = asyncio.get_running_loop()
        moving = asyncio.ensure_future(service.move_to(target))

        closed = threading.Event()
        real_close = supabase_copy.CopyLoader.close_blocking

        def close_and_tell(self):
            real_close(self)
            closed.set()

        def rows_then_cancel(items, space):
            # The second batch's rows are ready when Stop comes; the window closes the store
            # before they reach the database.
            nonlocal calls
            calls += 1
            if calls == 2:
                loop.call_soon_threadsafe(moving.cancel)
                assert closed.wait(30)
            return real_rows(items, space)

        monkeypatch.setattr(supabase_copy, "_rows", rows_then_cancel)
        monkeypatch.setattr(supabase_copy.CopyLoader, "close_blocking", close_and_tell)
        try:
            with pytest.raises(asyncio.CancelledError):
                await moving
        finally:
            await target.close()
        here = {r.id for r in (await service.store.page(MemoryFilter(), limit=N)).records}
        with env.connect() as connection:
            there = {r[0] for r in connection.execute("select id from public.memories")}
        assert here | there == {f"m{i:04d}" for i in range(N)}
        assert (len(here), len(there)) == (N - 40, 40)  # the second batch stayed here

        monkeypatch.setattr(supabase_copy, "_rows", real_rows)
        target = await _target(env, _url(env))
        try:
            await service.move_to(target)
            assert await target.count(MemoryFilter()) == N
            assert await service.store.count(MemoryFilter()) == 0
            await index_built(target)
        finally:
            await target.close()
            await service.close()

    asyncio.run(scenario())
    assert index_state(env) == (True, False)


def test_a_move_stopped_while_it_connects_leaves_no_connection_and_moves_nothing(
    env, tmp_path, monkeypatch
):
    """Stop (the task cancelled, then the Memory page closes the store) while the direct
    connection is being made, which may take up to 15 s: the connection that comes is closed
    at once, the project's vector index stays, nothing moves."""
    vectors = _vectors(20, seed=25)
    connected, go, begun = threading.Event(), threading.Event(), threading.Event()
    real_connect, real_begin = supabase_copy.connect, supabase_copy.CopyLoader._begin

    made = []

    def connect_and_hold(database_url, **kwargs):
        connection = real_connect(database_url, **kwargs)
        made.append(connection)
        connected.set()
        assert go.wait(30)
        return connection

    def begin_and_tell(self, *args):
        try:
            return real_begin(self, *args)
        finally:
            begun.set()

    monkeypatch.setattr(supabase_copy, "connect", connect_and_hold)
    monkeypatch.setattr(supabase_copy.CopyLoader, "_begin", begin_and_tell)

    async def scenario():
        service = await _local(tmp_path, vectors)
        target = await _target(env, _url(env))
        moving = asyncio.ensure_future(service.move_to(target))
        try:
            assert await asyncio.to_thread(connected.wait, 30)
            moving.cancel()
            with pytest.raises(asyncio.CancelledError):
                await moving
        finally:
            await target.close()
        go.set()
        assert await asyncio.to_thread(begun.wait, 30)
        assert made[0].closed
        await _until(lambda: not _sessions(env), "the direct connection was not closed")
        assert await service.store.count(MemoryFilter()) == 20
        await service.close()

    asyncio.run(scenario())
    assert index_state(env) == (True, False)  # not dropped by a move that never began
    with env.connect() as connection:
        assert connection.execute("select count(*) from public.memories").fetchone() == (0,)


def _sessions(env: SupabaseTestEnv) -> list[int]:
    """The server's sessions of the moving role (the move's direct connections)."""
    with env.connect() as connection:
        rows = connection.execute("select pid from pg_stat_activity where usename = %s", [ROLE])
        return [pid for (pid,) in rows]


async def _until(predicate, failure: str) -> None:
    """Wait for state another process changes (a server session ending), as
    `tests.helpers.waiting.wait_until` does: poll; 30 s is only the end of a hang."""
    deadline = asyncio.get_running_loop().time() + 30
    while not await asyncio.to_thread(predicate):
        assert asyncio.get_running_loop().time() < deadline, failure
        await asyncio.sleep(0.02)


def test_only_a_large_move_through_the_api_points_to_the_database_url():
    """The Memory page's "Moved … to Supabase." message adds the advice after a move of
    10,000 or more through the API; a small one or one over the database URL has none."""
    from carrier_studio.services.memory.supabase_store import LARGE_MOVE

    api = SupabaseMemoryStore("https://p.supabase.co", "k")
    assert api.title == "Supabase"
    assert api.move_advice(12) == "" and api.move_advice(LARGE_MOVE - 1) == ""
    assert api.move_advice(LARGE_MOVE) == (
        "Large moves are faster with the database URL (Settings → Memory)."
    )
    direct = SupabaseMemoryStore("https://p.supabase.co", "k", database_url="postgresql://x@h/d")
    assert direct.move_advice(10 * LARGE_MOVE) == ""


def _status_board(store: SupabaseMemoryStore):
    """The window's status bar entry for the memory, as the session's controller keeps it
    over ``store``."""
    from carrier_studio.core.events import Emitter
    from carrier_studio.core.status import StatusBoard
    from carrier_studio.services.memory.controller import MemoryController

    class _Settings:
        changed: Emitter = Emitter("settings")

    board = StatusBoard()
    board.add("memory", "Memory")
    # Only its status line is asked of it: no workspace, settings or secrets behind it.
    controller = MemoryController(None, _Settings(), None, board)  # type: ignore[arg-type]
    controller.service = MemoryService(store, _Embedder())  # type: ignore[arg-type]
    return controller, lambda: board.get("memory").detail


class _HeldBuild:
    """Holds the background index build where a long one spends its time, in CREATE INDEX
    CONCURRENTLY: the test's open transaction holds a write lock on the table, which the build
    waits out (after it said it is building). `release` commits it."""

    def __init__(self, env: SupabaseTestEnv, monkeypatch) -> None:
        self._env = env
        self._locked = threading.Event()
        self._holder: psycopg.Connection | None = None
        real_build = supabase_index.build_index

        def build_after_the_lock(loader, **kwargs):
            assert self._locked.wait(30), "the test never took its lock"
            return real_build(loader, **kwargs)

        monkeypatch.setattr(supabase_index, "build_index", build_after_the_lock)

    def lock(self) -> None:
        """Take the lock (blocking: from a thread), then let the build begin."""
        self._holder = psycopg.connect(self._env.postgres_url)
        self._holder.execute("lock table public.memories in row exclusive mode")
        self._locked.set()

    def release(self) -> None:
        holder, self._holder = self._holder, None
        if holder is not None:
            holder.commit()
            holder.close()
        self._locked.set()

    def building(self) -> bool:
        with self._env.connect() as connection:
            (status,) = connection.execute("select public.memories_status()").fetchone()
        return status["vector_index_building"]


def test_a_copy_move_returns_once_the_rows_are_safe_and_builds_the_index_after(
    env, tmp_path, monkeypatch
):
    """The user waits for the rows, not the index: `move_to` returns with every memory stored
    there and deleted here and no index yet; searches answer (an exact scan) while it builds,
    the store's status says it is building, and then that it is ready."""
    vectors = _vectors(N, seed=27)
    held = _HeldBuild(env, monkeypatch)

    async def scenario():
        service = await _local(tmp_path, vectors)
        target = await _target(env, _url(env))
        viewer = await env.open_store()  # another window on the project: no database URL
        try:
            assert await service.move_to(target) == N
            assert await asyncio.to_thread(index_state, env) == (False, True)
            assert await service.store.count(MemoryFilter()) == 0
            assert await target.count(MemoryFilter()) == N
            assert "Search index building" in target.move_advice(N)

            await asyncio.to_thread(held.lock)
            await _until(held.building, "the build never said it was building")
            assert await asyncio.to_thread(index_state, env) == (False, True)
            assert await viewer.index_note() == supabase_store.INDEX_BUILDING
            controller, status_line = _status_board(target)
            await controller.refresh_status()
            assert status_line() == f"supabase · {N:,} memories · {supabase_store.INDEX_BUILDING}"
            for q in vectors[:5]:
                assert await nearest(viewer, q) == _exact(vectors, q)
            # Writes go on meanwhile (a plain CREATE INDEX would hold them).
            await viewer.add([StoredMemory(MemoryRecord("Ada", "new", id="new"), vectors[0])],
                             SPACE)  # fmt: skip

            await asyncio.to_thread(held.release)
            await index_built(target)
            assert await asyncio.to_thread(index_state, env) == (True, False)
            assert await viewer.index_note() == ""
            # The status bar says so when the build ends, by itself.
            await _until(lambda: status_line() == f"supabase · {N + 1:,} memories", status_line())
            assert not held.building()
            stored = np.vstack([vectors, vectors[:1]])
            ids = [f"m{i:04d}" for i in range(N)] + ["new"]
            for q in vectors[5:10]:
                assert await nearest(viewer, q) == _exact(stored, q, ids)
        finally:
            held.release()
            await viewer.close()
            await target.close()
            await service.close()

    asyncio.run(scenario())


def test_an_index_build_stopped_by_quitting_is_reported_then_built_on_the_next_open(
    env, tmp_path, monkeypatch
):
    """The app quits while the index builds (its session ends on the server): the store is left
    saying the index is not built, which a store opened without the database URL reports and
    one opened with it builds again, in the background."""
    vectors = _vectors(N, seed=28)
    held = _HeldBuild(env, monkeypatch)

    async def scenario():
        service = await _local(tmp_path, vectors)
        target = await _target(env, _url(env))
        try:
            assert await service.move_to(target) == N
            await asyncio.to_thread(held.lock)
            await _until(held.building, "the build never said it was building")
            with env.connect() as connection:  # the app's process ends: so does its session
                connection.execute(
                    "select pg_terminate_backend(pid, 10000) from pg_locks "
                    "where locktype = 'advisory' and classid = 1129533267"
                )
            with pytest.raises(MemoryStoreError):
                await index_built(target)
        finally:
            held.release()
            await target.close()
            await service.close()
        assert await asyncio.to_thread(index_state, env) == (False, True)
        assert not held.building()

        viewer = await env.open_store()
        try:
            assert viewer.index_build is None
            assert await viewer.index_note() == supabase_store.INDEX_MISSING
            controller, status_line = _status_board(viewer)
            await controller.refresh_status()
            assert status_line().endswith(supabase_store.INDEX_MISSING)
            assert await nearest(viewer, vectors[0]) == _exact(vectors, vectors[0])
        finally:
            await viewer.close()

        reopened = await _target(env, _url(env))
        try:
            await index_built(reopened)
            assert await asyncio.to_thread(index_state, env) == (True, False)
            assert await reopened.index_note() == ""
            assert await nearest(reopened, vectors[1]) == _exact(vectors, vectors[1])
            # A quit just after the index became valid, before the flag was cleared: the index
            # is there, and nothing is reported.
            with env.connect() as connection:
                connection.execute("update public.memories_space set vector_index_deferred = true")
            assert await reopened.index_note() == ""
        finally:
            await reopened.close()

    asyncio.run(scenario())
