"""A short soak: one server per transport and per protocol version stays up through several
liveness intervals while its tools are called all along (bench/mcp_soak.py is the long one).

The servers (tests/mcp/soak.py): FastMCP over stdio and streamable HTTP (protocol 2026-07-28,
which has no ping) and npm's server-everything over stdio and SSE (2025-11-25, which has).
Waits are on the manager's liveness signal, never on sleeps.
"""

from __future__ import annotations

import asyncio

import pytest

from carrier_studio.core.mcp import ServerState
from carrier_studio.services.mcp.manager import McpManager
from tests.mcp.servers import node_servers
from tests.mcp.soak import NAMES, Tally, keep_calling, protocol_versions, soak_catalogue

#: Liveness intervals every server must pass through (the first starts at connection).
INTERVALS = 4

pytestmark = pytest.mark.slow


def test_every_transport_stays_up_through_liveness_intervals_while_called(tmp_path):
    servers = node_servers()

    async def scenario(path):
        manager = McpManager(path, lambda name: None, ping_interval=0.2)
        tally = Tally()
        try:
            await manager.ensure(NAMES, strict=True)
            versions = protocol_versions(manager)
            stop = asyncio.Event()
            calling = asyncio.create_task(keep_calling(manager, 0.05, stop.is_set, tally))
            async with asyncio.timeout(60):  # a deadline for a hang, not a measure
                for name in NAMES:
                    entry = manager._entry(name)
                    while entry.liveness_checks < INTERVALS and not calling.done():
                        entry.liveness_checked.clear()
                        await entry.liveness_checked.wait()
            stop.set()
            await calling
            return versions, {name: manager.status(name) for name in NAMES}, tally
        finally:
            await manager.shutdown()

    with soak_catalogue(tmp_path, servers) as path:
        versions, statuses, tally = asyncio.run(scenario(path))

    assert versions["fastmcp-stdio"] >= "2026-07-28" > versions["everything-stdio"], versions
    assert versions["fastmcp-http"] >= "2026-07-28" > versions["everything-sse"], versions
    for name, status in statuses.items():
        assert status.state is ServerState.RUNNING and status.restarts == 0, status
        assert tally.calls[name] > 0, name
    assert tally.failed == 0, tally.failures
