"""`Session.start` / `Session.stop` on a real workspace, without the window: each service stops
once, after everything that may still use it (the reverse of start)."""

from __future__ import annotations

import asyncio

import pytest

from carrier_studio.core.status import State
from carrier_studio.session import Session
from tests.helpers.stops import STOP_ORDER, record_stops


@pytest.fixture
def session(app_paths, keyring_backend, tmp_path) -> Session:
    return Session.build(
        app_paths, str(tmp_path / "workspace"), keyring_backend=keyring_backend, environ={}
    )


def test_stop_runs_in_reverse_order_of_start(session, monkeypatch):
    stopped: list[str] = []
    record_stops(session, monkeypatch, stopped)

    async def go():
        await session.start()
        running = session.status.get("database").state
        assert not stopped, "nothing stops while the session runs"
        await session.stop()
        return running

    running = asyncio.run(go())
    assert running is State.RUNNING
    assert stopped == STOP_ORDER
    assert session.database._conn is None
    assert session.status.get("database").state is State.STOPPED
    assert not session.running


def test_a_stop_that_fails_does_not_keep_the_rest_from_stopping(session, monkeypatch):
    stopped: list[str] = []
    record_stops(session, monkeypatch, stopped, fail="memory")

    async def go():
        await session.start()
        await session.stop()

    asyncio.run(go())
    assert stopped == STOP_ORDER
    assert session.database._conn is None


def test_without_instagram_the_rest_still_stops_in_order(session, monkeypatch):
    stopped: list[str] = []
    record_stops(session, monkeypatch, stopped)

    async def go():
        await session.start(instagram=False)
        await session.stop()

    asyncio.run(go())
    assert stopped == [name for name in STOP_ORDER if name != "instagram"]
