"""A small Python MCP server for the tests: FastMCP, which mcp 2 calls `MCPServer`.

Run as ``python tests/mcp/fastmcp_server.py`` (stdio). It writes a line to stderr when it is
ready, so tests see stderr being collected. With ``--stubborn`` it ignores SIGTERM and keeps
running after its stdin closes, like a badly behaved server that only SIGKILL stops. With
``--wait-for PATH`` it starts slowly: it answers nothing until PATH exists (the test decides when
it is ready), and then also offers ``late_hello``, so a test can tell its tools from the others'.
With ``--big`` it offers only ``read_everything``, whose description alone is ≈2,500 tokens: a
large server's tools, which a 4,096-token window has no room for beside a conversation.
"""

from __future__ import annotations

import signal
import sys
import time
from pathlib import Path

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


def late_hello(name: str) -> str:
    """A greeting from the slow server."""
    return f"hello {name}, from the slow server"


def read_everything(path: str) -> str:
    """Reads every file under ``path``."""
    return path


read_everything.__doc__ = "Reads every file under the path. " + "Every detail. " * 700


def _wait_for(path: Path) -> None:
    # The server is the slow party here, not the test: polling a file is what it is asked to do.
    while not path.exists():
        time.sleep(0.05)


if __name__ == "__main__":
    stubborn = "--stubborn" in sys.argv
    if "--big" in sys.argv:
        server = MCPServer("carrier-test-big")
        server.tool()(read_everything)
    if "--wait-for" in sys.argv:
        _wait_for(Path(sys.argv[sys.argv.index("--wait-for") + 1]))
        server.tool()(late_hello)
    if stubborn:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
    print("carrier-test MCP server ready", file=sys.stderr, flush=True)
    server.run()
    while stubborn:
        time.sleep(60)
