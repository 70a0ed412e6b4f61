"""A small Python MCP server for the tests: FastMCP, which mcp 2 calls `MCPServer`.

Run as ``python tests/mcp/fastmcp_server.py`` (stdio). It writes a line to stderr when it is
ready, so tests see stderr being collected. With ``--stubborn`` it ignores SIGTERM and keeps
running after its stdin closes, like a badly behaved server that only SIGKILL stops.
"""

from __future__ import annotations

import signal
import sys
import time

from mcp.server.mcpserver import MCPServer

server = MCPServer("carrier-test")


@server.tool()
def add(a: int, b: int) -> int:
    """Add two whole numbers."""
    return a + b


@server.tool()
def shout(text: str) -> str:
    """The text in capitals, with an exclamation mark."""
    return text.upper() + "!"


@server.tool()
def fail(message: str) -> str:
    """Always fails with ``message`` (to test tool errors)."""
    raise ValueError(message)


if __name__ == "__main__":
    stubborn = "--stubborn" in sys.argv
    if stubborn:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
    print("carrier-test MCP server ready", file=sys.stderr, flush=True)
    server.run()
    while stubborn:
        time.sleep(60)
