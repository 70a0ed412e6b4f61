"""Waiting on observable state while the qasync loop runs (Qt events and asyncio tasks)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

#: A deadline for a new Python process of the app to get going: interpreter start, imports, then
#: its first log line. It is not a measure of speed, only the end of a hang: tests wait on the
#: process's own output or its exit and go on as soon as either comes. The app imports openai,
#: agents, mcp and numpy, ~4 s of CPU when no bytecode is cached (PYTHONDONTWRITEBYTECODE=1, or a
#: fresh uv venv); with both cores busy with other work, `carrier_studio headless` took 55 s to
#: log its first line, so a 30 or 60 s deadline from spawn failed on a busy machine.
PROCESS_START_DEADLINE = 180.0


def wait_until(loop: asyncio.AbstractEventLoop, predicate: Callable[[], bool], timeout=5.0):
    """Run the loop until ``predicate()`` holds; fail after ``timeout`` seconds.

    This polls state (like pytest-qt's waitUntil) but keeps asyncio running, which
    waitUntil does not under qasync.
    """

    async def poll() -> None:
        deadline = time.monotonic() + timeout
        while not predicate():
            if time.monotonic() > deadline:
                raise AssertionError(f"condition not met within {timeout} s: {predicate}")
            await asyncio.sleep(0.01)

    loop.run_until_complete(poll())
