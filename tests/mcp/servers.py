"""Real MCP servers for the tests: npm's server-everything and server-filesystem, and FastMCP.

The npm servers live in tests/mcp/node_modules (``bash scripts/npm_ci.sh tests/mcp``).
Without them the tests that need them skip, unless ``CARRIER_REQUIRE_MCP_SERVERS=1`` (CI), when
they fail. server-everything picks its transport from its first argument (``stdio``, ``sse``,
``streamableHttp``) and its HTTP port from ``PORT``.
"""

from __future__ import annotations

import os
import queue
import shutil
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import pytest

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
PACKAGES = HERE / "node_modules" / "@modelcontextprotocol"
EVERYTHING = PACKAGES / "server-everything" / "dist" / "index.js"
FILESYSTEM = PACKAGES / "server-filesystem" / "dist" / "index.js"
FASTMCP = HERE / "fastmcp_server.py"
REQUIRE = "CARRIER_REQUIRE_MCP_SERVERS"
INSTALL = "bash scripts/npm_ci.sh tests/mcp"


@dataclass(frozen=True)
class NodeServers:
    node: str
    everything: Path
    filesystem: Path

    def everything_stdio(self, **extra: Any) -> dict[str, Any]:
        return {"type": "stdio", "command": self.node, "args": [str(self.everything)], **extra}

    def filesystem_stdio(self, root: str, **extra: Any) -> dict[str, Any]:
        args = [str(self.filesystem), root]
        return {"type": "stdio", "command": self.node, "args": args, **extra}


def fastmcp_stdio(*flags: str, **extra: Any) -> dict[str, Any]:
    return {"command": sys.executable, "args": [str(FASTMCP), *flags], **extra}


def node_servers() -> NodeServers:
    """The installed npm servers; skips the test (fails it in CI) when they are missing."""
    problems = []
    node = shutil.which("node")
    if node is None:
        problems.append("node is not on PATH")
    problems += [
        f"{path.relative_to(ROOT)} is missing"
        for path in (EVERYTHING, FILESYSTEM)
        if not path.is_file()
    ]
    if problems:
        message = f"MCP test servers are not installed ({'; '.join(problems)}): run {INSTALL}"
        if os.environ.get(REQUIRE) == "1":
            pytest.fail(message, pytrace=False)
        pytest.skip(message)
    assert node is not None
    return NodeServers(node, EVERYTHING, FILESYSTEM)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def everything_over_http(
    servers: NodeServers, transport: Literal["sse", "streamableHttp"], timeout: float = 15.0
) -> Iterator[str]:
    """Run server-everything over HTTP on a free port; yields its MCP URL once it listens."""
    port = free_port()
    env = {**os.environ, "PORT": str(port)}
    command = [servers.node, str(servers.everything), transport]
    lines: queue.Queue[str | None] = queue.Queue()
    with subprocess.Popen(
        command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
    ) as process:
        assert process.stderr is not None
        stderr = process.stderr

        def pump() -> None:  # drain stderr for the server's whole life, so it never blocks
            for line in stderr:
                lines.put(line)
            lines.put(None)

        reader = threading.Thread(target=pump, name=f"everything-{transport}", daemon=True)
        reader.start()
        try:
            _wait_for_line(lines, f"port {port}", timeout)
            path = "/sse" if transport == "sse" else "/mcp"
            yield f"http://127.0.0.1:{port}{path}"
        finally:
            process.terminate()
            try:
                process.wait(5)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
            reader.join(5)


def _wait_for_line(lines: queue.Queue[str | None], needle: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    seen: list[str] = []
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise AssertionError(f"server did not say {needle!r} in {timeout} s: {seen}")
        try:
            line = lines.get(timeout=remaining)
        except queue.Empty:
            continue
        if line is None:
            raise AssertionError(f"server exited before saying {needle!r}: {seen}")
        seen.append(line.rstrip())
        if needle in line:
            return
