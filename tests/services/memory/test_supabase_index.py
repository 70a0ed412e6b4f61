"""The Supabase vector index built in the background after a COPY move (#21): what the status
bar and `memory stats` say of it, whoever builds it, and what may run meanwhile.

Real PostgreSQL 18 + pgvector (supabase_env.py), as test_supabase_copy.py, whose helpers these
use: `_HeldBuild` keeps a build inside CREATE INDEX CONCURRENTLY until the test lets it end.
"""

from __future__ import annotations

import asyncio
import io
import logging
from types import SimpleNamespace

import psycopg
import pytest

from carrier_studio import memory_cli
from carrier_studio.core.memory import MemoryFilter, MemoryRecord, StoredMemory
from carrier_studio.core.memory.errors import MemoryStoreError
from carrier_studio.core.status import State
from carrier_studio.services.memory import controller as controller_module
from carrier_studio.services.memory import supabase_copy, supabase_store
from carrier_studio.services.memory.service import MemoryService
from carrier_studio.services.memory.sqlite_store import SqliteMemoryStore
from carrier_studio.services.memory.supabase_store import apply_migration
from tests.services.memory.supabase_env import (
    SupabaseTestEnv,
    index_built,
    index_state,
    session_env,
)
from tests.services.memory.test_supabase_copy import (
    PASSWORD,
    SPACE,
    N,
    _Embedder,
    _HeldBuild,
    _local,
    _password_role,
    _status_board,
    _target,
    _until,
    _url,
    _vectors,
)

#: The status line once the index is ready.
READY = f"supabase · {N:,} memories"


@pytest.fixture
def env(pytestconfig) -> SupabaseTestEnv:
    """As test_supabase_copy's: an empty store and a role that must give its password."""
    found = session_env(pytestconfig)
    found.empty()
    _password_role(found)
    return found


def _terminate_build(env) -> None:
    """The building session ends on the server (the app was killed, the server restarted)."""
    with env.connect() as connection:
        connection.execute(
            "select pg_terminate_backend(pid, 10000) from pg_locks "
            "where locktype = 'advisory' and classid = 1129533267"
        )


async def _move_and_hold(env, tmp_path, held: _HeldBuild, seed: int):
    """A move over the database URL whose background build is held building; returns the
    local service and the (closed, as the app's move closes it) target store."""
    service = await _local(tmp_path, _vectors(N, seed=seed))
    target = await _target(env, _url(env))
    try:
        assert await service.move_to(target) == N
    finally:
        await target.close()  # as the Memory page's move does: the build goes on
    await asyncio.to_thread(held.lock)
    await _until(held.building, "the build never said it was building")
    return service, target


def test_the_status_of_a_store_that_did_not_start_the_build_clears_when_it_ends(
    env, tmp_path, monkeypatch
):
    """The app's move builds the index from its own (closed) target store; the session's store,
    opened meanwhile (the user switched to Supabase, or another studio moved), starts no build
    of its own: its status bar entry says "building", looks again, and clears when it ends."""
    monkeypatch.setattr(controller_module, "INDEX_RECHECK", 0.05)
    held = _HeldBuild(env, monkeypatch)

    async def scenario():
        service, target = await _move_and_hold(env, tmp_path, held, seed=41)
        mine = await _target(env, _url(env))
        controller, line = _status_board(mine)
        try:
            assert mine.index_build is None  # another session holds the build
            await controller.refresh_status()
            assert line() == f"{READY} · {supabase_store.INDEX_BUILDING}"
            await asyncio.to_thread(held.release)
            await index_built(target)
            await _until(lambda: line() == READY, line())
        finally:
            held.release()
            await controller._close()  # closes `mine`; no look left scheduled
            assert controller._recheck is None
            await service.close()

    asyncio.run(scenario())


def test_the_status_is_said_again_once_per_build_with_one_status_call(env, tmp_path, monkeypatch):
    """However often the status is refreshed while the store's own build runs (each memory
    stored refreshes it), its end refreshes it once; and each refresh asks the store's status
    once, not once for the space and again for the index."""
    held = _HeldBuild(env, monkeypatch)

    async def scenario():
        service = await _local(tmp_path, _vectors(N, seed=43))
        target = await _target(env, _url(env))
        controller, line = _status_board(target)
        try:
            assert await service.move_to(target) == N
            await asyncio.to_thread(held.lock)
            await _until(held.building, "the build never said it was building")
            asked = []
            real_rpc = target._rpc

            async def counting_rpc(function, args, **kwargs):
                asked.append(function)
                return await real_rpc(function, args, **kwargs)

            target._rpc = counting_rpc  # type: ignore[method-assign]
            for _ in range(3):
                await controller.refresh_status()
            assert asked.count("memories_status") == 3
            assert line() == f"{READY} · {supabase_store.INDEX_BUILDING}"

            refreshed = []
            real_refresh = controller.refresh_status

            async def counting_refresh():
                refreshed.append(1)
                await real_refresh()

            controller.refresh_status = counting_refresh  # type: ignore[method-assign]
            await asyncio.to_thread(held.release)
            await index_built(target)
            await _until(lambda: line() == READY, line())
            await asyncio.gather(*controller._refreshes)
            assert len(refreshed) == 1
        finally:
            held.release()
            await target.close()
            await service.close()

    asyncio.run(scenario())


def test_a_resumed_build_that_fails_says_why_in_the_status(env, tmp_path, monkeypatch, caplog):
    """A build stopped on the server is resumed by the next open with the database URL; when
    that URL is refused, the status bar says the build failed and why (password left out) and
    where to fix it, not that setting the URL would build it."""
    held = _HeldBuild(env, monkeypatch)

    async def scenario():
        service, target = await _move_and_hold(env, tmp_path, held, seed=42)
        try:
            _terminate_build(env)
            with pytest.raises(MemoryStoreError):
                await index_built(target)
        finally:
            held.release()
            await service.close()
        bad = await _target(env, _url(env, password="Wrong-Pass-0000"))
        controller, line = _status_board(bad)
        try:
            await controller.refresh_status()
            with pytest.raises(MemoryStoreError):
                await index_built(bad)
            await _until(lambda: "search index build failed" in line(), line())
            # Not a green dot: searches still answer (exactly, slowly), but it needs fixing.
            assert controller._status.get("memory").state is State.ERROR
            assert "refused the user name or password" in line()
            assert supabase_copy.SETTINGS in line()
            assert "Wrong-Pass" not in line() and PASSWORD not in line()
            assert await bad.index_note() == line().removeprefix(f"{READY} · ")
        finally:
            await bad.close()

    with caplog.at_level(logging.WARNING):
        asyncio.run(scenario())
    assert "Wrong-Pass" not in caplog.text


def test_applying_the_sql_during_a_build_is_refused_not_deadlocked(env, tmp_path, monkeypatch):
    """`memory init --supabase --apply` while a background build runs: its DDL and CREATE INDEX
    CONCURRENTLY would wait on each other; it says to run it again once the index is ready,
    which then works."""
    held = _HeldBuild(env, monkeypatch)

    async def scenario():
        service, target = await _move_and_hold(env, tmp_path, held, seed=44)
        try:
            # 30 s only ends a hang (the deadlock this refuses): held.release then frees it.
            with pytest.raises(MemoryStoreError) as refused:
                await asyncio.wait_for(asyncio.to_thread(apply_migration, _url(env)), 30)
            assert refused.value.message == supabase_store.MIGRATION_DURING_BUILD
            await asyncio.to_thread(held.release)
            await index_built(target)
            await asyncio.to_thread(apply_migration, _url(env))
            assert await asyncio.to_thread(index_state, env) == (True, False)
        finally:
            held.release()
            await service.close()

    asyncio.run(scenario())


def test_a_new_move_stops_the_stores_own_build_and_builds_once_at_its_end(
    env, tmp_path, monkeypatch, caplog
):
    """A second move into a store whose first move's build still runs stops that build (its
    rows join the new move's, one build covers both), without reporting it as a failure."""
    held = _HeldBuild(env, monkeypatch)

    async def scenario():
        service = await _local(tmp_path, _vectors(N, seed=45))
        target = await _target(env, _url(env))
        (tmp_path / "second").mkdir()
        second = await SqliteMemoryStore.open(tmp_path / "second" / "studio.db")
        more = _vectors(20, seed=46)
        try:
            assert await service.move_to(target) == N
            first = target.index_build
            await asyncio.to_thread(held.lock)
            await _until(held.building, "the build never said it was building")
            await second.add(
                [StoredMemory(MemoryRecord("Ada", f"more {i}", id=f"x{i}"), v)
                 for i, v in enumerate(more)],
                SPACE,
            )  # fmt: skip
            assert await MemoryService(second, _Embedder()).move_to(target) == len(more)  # type: ignore[arg-type]
            assert first is not None and first.done()
            assert target.index_build is not first
            await asyncio.to_thread(held.release)
            await index_built(target)
            assert await asyncio.to_thread(index_state, env) == (True, False)
            assert await target.count(MemoryFilter()) == N + len(more)
        finally:
            held.release()
            await target.close()
            await second.close()
            await service.close()

    with caplog.at_level(logging.WARNING):
        asyncio.run(scenario())
    assert "index build" not in caplog.text


def test_sql_without_background_builds_builds_the_index_within_the_move(env, tmp_path, monkeypatch):
    """A project whose SQL predates background builds (schema 3) gets its index built inside
    the move, over the move's connection, as before: the move returns with it ready."""
    monkeypatch.setattr(supabase_copy, "_BUILD_BEGIN", "public.memories_no_such_function()")

    async def scenario():
        service = await _local(tmp_path, _vectors(N, seed=47))
        target = await _target(env, _url(env))
        try:
            assert await service.move_to(target) == N
            assert target.index_build is None
            assert await asyncio.to_thread(index_state, env) == (True, False)
            assert await target.index_note() == ""
        finally:
            await target.close()
            await service.close()

    asyncio.run(scenario())


def test_two_stores_resuming_one_build_build_it_once(env, tmp_path, monkeypatch):
    """Two studios open the store with the database URL while a stopped build is left: both
    try; the advisory lock lets one build and the other's attempt ends at once, fine."""
    held = _HeldBuild(env, monkeypatch)

    async def scenario():
        service, target = await _move_and_hold(env, tmp_path, held, seed=48)
        try:
            _terminate_build(env)
            with pytest.raises(MemoryStoreError):
                await index_built(target)
        finally:
            await service.close()
        # Both open before either builds: the first build waits behind the test's lock.
        await asyncio.to_thread(held.release)
        held._locked.clear()
        one = await _target(env, _url(env))
        two = await _target(env, _url(env))
        try:
            builds = [one.index_build, two.index_build]
            assert all(b is not None for b in builds)
            await asyncio.to_thread(held.lock)
            await _until(lambda: sum(b.done() for b in builds) == 1, "neither or both ended")
            assert held.building()
            assert await asyncio.to_thread(index_state, env) == (False, True)
            await asyncio.to_thread(held.release)
            await asyncio.gather(*builds)  # neither failed
            assert await asyncio.to_thread(index_state, env) == (True, False)
        finally:
            held.release()
            await one.close()
            await two.close()

    asyncio.run(scenario())


def test_memory_stats_says_how_the_search_index_is(env, tmp_path, monkeypatch):
    """`carrier-studio memory stats` has a "Search index:" line: building, then ready."""
    held = _HeldBuild(env, monkeypatch)
    session = SimpleNamespace(characters=SimpleNamespace(list=list))

    async def stats(store) -> str:
        out = io.StringIO()
        service = MemoryService(store, _Embedder())  # type: ignore[arg-type]
        assert await memory_cli._stats(session, service, None, out) == 0
        return out.getvalue()

    async def scenario():
        service, target = await _move_and_hold(env, tmp_path, held, seed=49)
        viewer = await env.open_store()
        try:
            said = await stats(viewer)
            assert f"Search index: {supabase_store.INDEX_BUILDING}\n" in said
            await asyncio.to_thread(held.release)
            await index_built(target)
            assert "Search index: ready\n" in await stats(viewer)
        finally:
            held.release()
            await viewer.close()
            await service.close()

    asyncio.run(scenario())


def test_a_refresh_in_flight_when_the_memory_closes_says_nothing_after():
    """A status refresh (the index's end started it) still waiting on the store when the
    session closes the memory must not put the closed store's line back in the status bar."""
    from carrier_studio.core.status import State

    class _SlowStore:
        name = "supabase"

        def __init__(self) -> None:
            self.asked = asyncio.Event()
            self.answer = asyncio.Event()
            self.closed = asyncio.Event()

        async def count(self, filter) -> int:  # noqa: ANN001 - a MemoryFilter
            return 3

        async def index_status(self):  # noqa: ANN202
            self.asked.set()
            await self.answer.wait()
            return SPACE, supabase_store.INDEX_BUILDING, True

        async def close(self) -> None:
            self.closed.set()

    async def scenario():
        store = _SlowStore()
        controller, line = _status_board(store)  # type: ignore[arg-type]
        refreshing = asyncio.ensure_future(controller.refresh_status())
        await store.asked.wait()
        closing = asyncio.ensure_future(controller._close())
        await store.closed.wait()
        store.answer.set()
        await asyncio.gather(refreshing, closing)
        assert controller._status.get("memory").state == State.STOPPED
        assert line() == ""
        assert controller._recheck is None

    asyncio.run(scenario())


def _script_with_a_gate(env, monkeypatch):
    """The migration script waits after its first statement (the build lock taken) until the
    test commits its lock on public.test_gate; returns whether it is waiting there."""
    real_sql = supabase_store.migration_sql
    monkeypatch.setattr(
        supabase_store,
        "migration_sql",
        lambda: real_sql().replace(
            "create extension if not exists vector;",
            "select from public.test_gate;\ncreate extension if not exists vector;",
            1,
        ),
    )

    def waiting_at_the_gate() -> bool:
        with env.connect() as connection:
            return connection.execute(
                "select exists (select from pg_locks where not granted "
                "and relation = 'public.test_gate'::regclass)"
            ).fetchone()[0]

    return waiting_at_the_gate


async def _gate(env) -> psycopg.Connection:
    gate = await asyncio.to_thread(psycopg.connect, env.postgres_url)
    gate.execute("create table if not exists public.test_gate ()")
    gate.commit()
    gate.execute("lock table public.test_gate in access exclusive mode")
    return gate


def test_applying_the_sql_to_a_store_with_its_index_says_nothing_of_a_build(
    env, tmp_path, monkeypatch
):
    """While the script runs it holds the build's lock: a store whose index is there does not
    say "building" meanwhile."""
    waiting_at_the_gate = _script_with_a_gate(env, monkeypatch)

    async def scenario():
        service = await _local(tmp_path, _vectors(N, seed=51))
        store = await env.open_store()
        try:
            assert await service.move_to(store) == N  # through the API: its index stays
            assert await asyncio.to_thread(index_state, env) == (True, False)
            gate = await _gate(env)
            applying = asyncio.ensure_future(asyncio.to_thread(apply_migration, _url(env)))
            try:
                await _until(waiting_at_the_gate, "the script never reached the gate")
                assert (await store.index_status())[1:] == ("", False)
            finally:
                await asyncio.to_thread(gate.commit)
                await applying
                with env.connect() as connection:
                    connection.execute("drop table if exists public.test_gate")
                gate.close()
        finally:
            await store.close()
            await service.close()

    asyncio.run(scenario())


def test_a_build_resumed_while_the_sql_is_applied_leaves_it_to_the_script(
    env, tmp_path, monkeypatch
):
    """A store opened with the database URL while `memory init --supabase --apply` runs (past
    its check that no build runs) starts no concurrent build that would deadlock with the
    script: the script holds the build's lock (the store says it is building) and builds the
    index left unbuilt itself."""
    held = _HeldBuild(env, monkeypatch)
    waiting_at_the_gate = _script_with_a_gate(env, monkeypatch)

    async def scenario():
        service, target = await _move_and_hold(env, tmp_path, held, seed=50)
        try:
            _terminate_build(env)
            with pytest.raises(MemoryStoreError):
                await index_built(target)
        finally:
            held.release()
            await service.close()
        gate = await _gate(env)
        applying = asyncio.ensure_future(asyncio.to_thread(apply_migration, _url(env)))
        try:
            await _until(waiting_at_the_gate, "the script never reached the gate")
            store = await _target(env, _url(env))
            try:
                # The script's lock says "building": the store leaves the build to it (one
                # that began would wait on the script; 30 s only ends that hang).
                assert await store.index_note() == supabase_store.INDEX_BUILDING
                if store.index_build is not None:
                    await asyncio.wait_for(store.index_build, 30)
                assert await asyncio.to_thread(index_state, env) == (False, True)
            finally:
                await store.close()
        finally:
            await asyncio.to_thread(gate.commit)
            await applying
            with env.connect() as connection:
                connection.execute("drop table if exists public.test_gate")
            gate.close()
        assert await asyncio.to_thread(index_state, env) == (True, False)

    asyncio.run(scenario())
