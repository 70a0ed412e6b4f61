"""A soak of McpManager: one server per transport and per protocol version, called steadily.

Shared by bench/mcp_soak.py (ten minutes at the default liveness interval) and
tests/services/test_mcp_soak.py (a few short intervals). The servers:

- ``fastmcp-stdio``: the FastMCP test server (mcp 2.3, protocol 2026-07-28, which has no ping)
- ``everything-stdio``: npm's server-everything (protocol 2025-11-25, which has ping)
- ``fastmcp-http``: the FastMCP test server over streamable HTTP (2026-07-28)
- ``everything-sse``: server-everything over SSE (2025-11-25)

Each round calls one tool on every server at once; a call that raises or answers with an
error counts as failed.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import queue
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from carrier_studio.services.mcp.manager import McpManager
from tests.mcp.servers import (
    ROOT,
    NodeServers,
    _wait_for_line,
    everything_over_http,
    fastmcp_stdio,
    free_port,
)

#: Each server's tool and arguments, and a piece of the answer that shows it worked.
CALLS: dict[str, tuple[str, dict[str, Any], str]] = {
    "fastmcp-stdio": ("add", {"a": 2, "b": 3}, "5"),
    "everything-stdio": ("echo", {"message": "soak"}, "soak"),
    "fastmcp-http": ("shout", {"text": "soak"}, "SOAK!"),
    "everything-sse": ("echo", {"message": "soak"}, "soak"),
}
NAMES = list(CALLS)

#: Runs the FastMCP test server over streamable HTTP on the port given as the first argument.
_HTTP_FASTMCP = (
    "import sys; sys.path.insert(0, sys.argv[2]); "
    "from tests.mcp.fastmcp_server import server; "
    "server.run('streamable-http', port=int(sys.argv[1]))"
)


@contextlib.contextmanager
def fastmcp_over_http(timeout: float = 30.0) -> Iterator[str]:
    """Run the FastMCP test server over streamable HTTP; yields its URL once it listens."""
    port = free_port()
    command = [sys.executable, "-c", _HTTP_FASTMCP, str(port), str(ROOT)]
    lines: queue.Queue[str | None] = queue.Queue()
    with subprocess.Popen(
        command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
    ) as process:
        assert process.stderr is not None
        stderr = process.stderr

        def pump() -> None:  # drain stderr for the server's whole life, so it never blocks
            for line in stderr:
                lines.put(line)
            lines.put(None)

        reader = threading.Thread(target=pump, name="fastmcp-http", daemon=True)
        reader.start()
        try:
            _wait_for_line(lines, f":{port}", timeout)  # uvicorn: "running on http://…:PORT"
            yield f"http://127.0.0.1:{port}/mcp"
        finally:
            process.terminate()
            try:
                process.wait(5)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
            reader.join(5)


@contextlib.contextmanager
def soak_catalogue(folder: Path, servers: NodeServers) -> Iterator[Path]:
    """The four servers in a catalogue in ``folder``; the HTTP ones run until the end."""
    with (
        fastmcp_over_http() as http_url,
        everything_over_http(servers, "sse") as sse_url,
    ):
        catalogue = {
            "fastmcp-stdio": fastmcp_stdio(),
            "everything-stdio": servers.everything_stdio(),
            "fastmcp-http": {"type": "streamable-http", "url": http_url},
            "everything-sse": {"type": "sse", "url": sse_url},
        }
        path = folder / "mcp_servers.json"
        path.write_text(json.dumps({"version": 1, "mcpServers": catalogue}, indent=2))
        yield path


@dataclass
class Tally:
    """What the soak saw, per server."""

    calls: dict[str, int] = field(default_factory=lambda: dict.fromkeys(NAMES, 0))
    failures: dict[str, list[str]] = field(default_factory=lambda: {n: [] for n in NAMES})
    #: Seconds per call, for the median and the slowest.
    seconds: dict[str, list[float]] = field(default_factory=lambda: {n: [] for n in NAMES})

    @property
    def failed(self) -> int:
        return sum(len(f) for f in self.failures.values())


async def call_once(manager: McpManager, name: str, tally: Tally) -> None:
    tool, arguments, expect = CALLS[name]
    started = time.perf_counter()
    tally.calls[name] += 1
    try:
        result = await manager.call_tool(name, tool, arguments)
    except Exception as exc:  # noqa: BLE001 - every failure is counted and shown, none raised
        tally.failures[name].append(f"{type(exc).__name__}: {exc}")
        return
    tally.seconds[name].append(time.perf_counter() - started)
    if result.is_error or expect not in result.text:
        tally.failures[name].append(f"{tool} answered {result.text!r} (error: {result.is_error})")


async def keep_calling(
    manager: McpManager, every: float, until: Callable[[], bool], tally: Tally
) -> None:
    """A round of calls (one per server, at once) every ``every`` seconds until ``until()``."""
    loop = asyncio.get_running_loop()
    next_round = loop.time()
    while not until():
        await asyncio.gather(*(call_once(manager, name, tally) for name in NAMES))
        next_round += every
        await asyncio.sleep(max(0.0, next_round - loop.time()))  # the soak's own pace


def protocol_versions(manager: McpManager) -> dict[str, str]:
    """The protocol version each running server negotiated."""
    versions = {}
    for name in NAMES:
        server = manager._entry(name).server
        session = getattr(server, "session", None)
        versions[name] = str(getattr(session, "protocol_version", None) or "?")
    return versions
