"""A server whose program is missing says so in words, not as "[Errno 2] …" (#15).

Through the real manager and supervisor: the server is really spawned and really fails.
"""

from __future__ import annotations

import asyncio
import json

from carrier_studio.core.mcp import ServerState
from carrier_studio.services.mcp.manager import McpManager


def _manager(tmp_path, servers: dict) -> McpManager:
    path = tmp_path / "mcp_servers.json"
    path.write_text(json.dumps({"version": 1, "mcpServers": servers}))
    return McpManager(path, lambda name: None)


def test_a_missing_program_is_named_in_words(tmp_path):
    manager = _manager(tmp_path, {"xyz-server": {"command": "carrier-h17-no-such-program"}})

    async def scenario():
        try:
            assert await manager.ensure(["xyz-server"]) == []
            status = manager.status("xyz-server")
            assert status.state is ServerState.FAILED
            assert status.error.startswith(
                "the program carrier-h17-no-such-program was not found on this computer: "
                "install it, or check the server's command"
            ), status.error
            assert "Errno" not in status.error
        finally:
            await manager.shutdown()

    asyncio.run(scenario())


def test_a_missing_working_folder_is_not_called_a_missing_program(tmp_path):
    folder = tmp_path / "not-there"
    manager = _manager(tmp_path, {"py": {"command": "python3", "cwd": str(folder)}})

    async def scenario():
        try:
            assert await manager.ensure(["py"]) == []
            status = manager.status("py")
            assert status.state is ServerState.FAILED
            assert "Errno" not in status.error
            assert "the program" not in status.error
            assert str(folder) in status.error and "folder" in status.error, status.error
        finally:
            await manager.shutdown()

    asyncio.run(scenario())
