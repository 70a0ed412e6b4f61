"""An MCP stdio server that only SIGKILL stops, for `test_mcp_orphans`: it ignores SIGTERM,
stays after its stdin ends, and writes its pid to the file named by its first argument once it
runs (atomically, so a reader never sees half a number)."""

from __future__ import annotations

import os
import signal
import sys
import time
from pathlib import Path

from mcp.server.mcpserver import MCPServer

server = MCPServer("stubborn")


@server.tool()
def ping() -> str:
    """Answers pong."""
    return "pong"


if __name__ == "__main__":
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    target = Path(sys.argv[1])
    partial = target.with_name(target.name + ".partial")
    partial.write_text(str(os.getpid()))
    os.replace(partial, target)
    server.run()
    while True:
        time.sleep(60)
