"""Waiting on observable state while the qasync loop runs (Qt events and asyncio tasks)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable


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
