"""The tests' qasync loop: callbacks left for qasync's last pass of Qt events still see a running
loop (plain qasync runs them with none, which killed a page's refresh task in CI)."""

from __future__ import annotations

import asyncio

from tests.helpers.waiting import wait_until


def _chains_see_a_running_loop(loop) -> list[bool]:
    seen: list[bool] = []

    def chain(n: int) -> None:
        if n == 0:
            seen.append(asyncio._get_running_loop() is loop)
        else:
            loop.call_soon(chain, n - 1)

    async def start() -> None:
        for depth in range(8):
            loop.call_soon(chain, depth)

    for _ in range(3):
        loop.run_until_complete(start())
    wait_until(loop, lambda: len(seen) == 24)  # every chain ended
    return seen


def test_callbacks_in_the_last_pass_of_qt_events_see_the_running_loop(loop):
    seen = _chains_see_a_running_loop(loop)
    assert all(seen), f"{seen.count(False)} of {len(seen)} callbacks ran with no running loop"
