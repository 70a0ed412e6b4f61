"""Stdio MCP servers are forked by the spawner thread, not the event loop's (#21), and what the
SDK does with the process afterwards (talk, stop, restart) still works on it.

Linux /proc says which thread forked a child (``/proc/self/task/<tid>/children``); the loop
runs on the main thread here, as in the studio.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import threading
from pathlib import Path

import pytest

from carrier_studio.core.mcp import ServerState
from carrier_studio.services.mcp import spawn
from carrier_studio.services.mcp.manager import McpManager
from tests.mcp.servers import fastmcp_stdio

pytestmark = pytest.mark.skipif(
    not Path("/proc/self/task").is_dir(), reason="reads which thread forked a child in /proc"
)


def _forked_by(tid: int) -> set[int]:
    try:
        return {int(p) for p in Path(f"/proc/self/task/{tid}/children").read_text().split()}
    except FileNotFoundError:
        return set()


def _catalogue(tmp_path: Path) -> Path:
    path = tmp_path / "mcp_servers.json"
    path.write_text(json.dumps({"version": 1, "mcpServers": {"py": fastmcp_stdio()}}))
    return path


def test_a_stdio_server_is_forked_by_the_spawner_and_lives_while_the_loop_runs(tmp_path):
    async def scenario() -> None:
        manager = McpManager(_catalogue(tmp_path), lambda name: None)
        try:
            [server] = await manager.ensure(["py"])
            pid = manager.status("py").pid
            assert pid is not None
            spawner = next(t for t in threading.enumerate() if t.name == "mcp-spawner")
            assert spawner.native_id is not None
            assert pid in _forked_by(spawner.native_id)
            assert pid not in _forked_by(threading.get_native_id())  # the loop's thread
            result = await server.call_tool("add", {"a": 2, "b": 3})
            assert result.content[0].text == "5"  # the pipes handed to the loop work
        finally:
            await manager.shutdown()
        assert manager.status("py").state is ServerState.STOPPED
        assert not (_forked_by(spawner.native_id) & {pid})  # stopped and reaped

    asyncio.run(scenario())


def test_a_cancelled_spawn_leaves_no_process(tmp_path):
    class Pipe:
        def __init__(self) -> None:
            self.writer = open(os.devnull, "w")  # noqa: SIM115 - closed below
            self.started = False

        def start(self) -> None:
            self.started = True

    async def scenario() -> None:
        spawn.start_spawner()
        pipe = Pipe()
        argv = [sys.executable, "-c", "import time; time.sleep(60)"]
        task = asyncio.ensure_future(spawn.spawn_process(argv, None, pipe.writer, None, pipe))
        await asyncio.sleep(0)  # the spawn is on its way to the spawner thread
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        # The spawn still runs to its end on the spawner (jobs run in order: a job queued
        # after it returns once the process exists), then the process is killed and reaped.
        await asyncio.wrap_future(spawn._submit(lambda: None))
        assert pipe.started
        spawner = next(t for t in threading.enumerate() if t.name == "mcp-spawner")
        assert spawner.native_id is not None
        async with asyncio.timeout(10):
            while _forked_by(spawner.native_id):  # noqa: ASYNC110 - /proc has no event
                await asyncio.sleep(0.01)
        pipe.writer.close()

    asyncio.run(scenario())
