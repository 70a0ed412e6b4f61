"""A tool card's times (#16): the wait for the user's approval is not the tool's run time."""

from __future__ import annotations

import asyncio

from carrier_studio.core.runtime import session as session_module
from carrier_studio.core.runtime.events import ApprovalRequested, ToolCallFinished
from carrier_studio.core.runtime.transcript import ToolCall
from tests.fakes import text, tool_call
from tests.services.test_chat_runtime import collect, workspace


class Clock:
    """The session's monotonic clock, moved by the test (no sleeping)."""

    def __init__(self) -> None:
        self.now = 100.0

    def monotonic(self) -> float:
        return self.now


def test_approval_wait_and_run_time_are_apart_and_stored(tmp_path, keyring_backend, monkeypatch):
    clock = Clock()
    monkeypatch.setattr(session_module, "time", clock)

    async def go():
        async with workspace(tmp_path, keyring_backend) as (ws, server):
            ws.edit_character("ada.json", tool_policy={"calculate": "ask"})
            server.script(
                tool_call("calculate", {"expression": "2 + 2"}),
                text("Four."),
                tool_call("calculate", {"expression": "3 + 3"}),
                text("Six."),
            )
            cid = await ws.conversations.create("Ada")
            thread = await ws.open(cid)
            paused = await collect(thread.send("2 + 2?"))
            request = next(e for e in paused if isinstance(e, ApprovalRequested))
            clock.now += 8.5  # the user reads the request for 8.5 s
            resumed = await collect(thread.resolve({request.approval_id: True}))
            # A call that did not ask: no wait at all.
            ws.edit_character("ada.json", tool_policy={"calculate": "auto"})
            thread._agent = None
            unasked = await collect(thread.send("3 + 3?"))
            stored = await ws.conversations.transcript(cid)
            return resumed, unasked, stored

    resumed, unasked, stored = asyncio.run(go())
    finished = next(e for e in resumed if isinstance(e, ToolCallFinished))
    assert finished.waited_s == 8.5
    assert finished.duration_s == 0.0, "the wait is not the tool's run time"
    assert next(e for e in unasked if isinstance(e, ToolCallFinished)).waited_s == 0.0
    calls = [s.item for s in stored if isinstance(s.item, ToolCall)]
    assert [(c.waited_s, c.duration_s) for c in calls] == [(8.5, 0.0), (0.0, 0.0)]
