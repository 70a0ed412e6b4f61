"""A Python MCP server with resources, a resource template and prompts, for the tests.

Run as ``python tests/mcp/resources_server.py`` (stdio). It offers a Markdown note, a small PNG
(drawn here with Pillow), a binary blob, a template ``notes://day/{day}`` and two prompts: one
with a required and an optional argument, one with none. Tools for notifications (#19 item 4):

- ``step(n, gate)``: reports progress 1..n of n, each time logging at info, then waits until
  the file ``gate.<step>`` exists (the test decides when it goes on); logs an error at the end;
- ``add_note(name, text)``: adds the resource ``notes://extra/<name>`` and says the resources
  changed; ``add_prompt(name)`` adds a prompt and says the prompts changed; ``add_tool(name)``
  adds a tool and says the tools changed.
"""

from __future__ import annotations

import asyncio
import io
import warnings
from pathlib import Path

from mcp.server.mcpserver import Context, MCPServer
from PIL import Image

server = MCPServer("carrier-resources")

README = "# Carrier notes\n\nThe studio reads this note through MCP resources.\n"
#: Not text and not an image: a client can only say what it is and how big.
BLOB = bytes(range(256)) * 4


def _png() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (48, 32), (200, 40, 40)).save(buffer, "PNG")
    return buffer.getvalue()


@server.resource(
    "notes://readme", name="readme", description="The notes' first page", mime_type="text/markdown"
)
def readme() -> str:
    return README


@server.resource(
    "notes://logo.png", name="logo", description="A red rectangle", mime_type="image/png"
)
def logo() -> bytes:
    return _png()


@server.resource(
    "notes://data.bin", name="data", description="Raw bytes", mime_type="application/octet-stream"
)
def data() -> bytes:
    return BLOB


@server.resource(
    "notes://day/{day}", name="day", description="The notes of one day", mime_type="text/plain"
)
def day(day: str) -> str:
    return f"Notes for {day}: water the plants."


@server.prompt(description="Ask for a summary of a topic")
def summarize(topic: str, style: str = "short") -> str:
    return f"Please summarize {topic} in a {style} way."


@server.prompt(description="Start with a greeting")
def greet() -> str:
    return "Say hello to the studio."


@server.tool()
async def step(n: int, gate: str, ctx: Context) -> str:
    """Count to n slowly: progress and a log line at each step, then wait for the test."""
    for done in range(1, n + 1):
        await ctx.report_progress(done, n, f"step {done}")
        await ctx.log("info", f"stepped {done} of {n}")
        # The test says when to go on; a file it touches is all a separate process can share.
        while not Path(f"{gate}.{done}").exists():  # noqa: ASYNC110
            await asyncio.sleep(0.02)
    await ctx.log("error", "the last step hurt")
    return f"stepped {n}"


async def _notify(ctx: Context, kind: str) -> None:
    # 2026-07-28 clients listen (subscriptions/listen); 2025-11-25 ones get the notification.
    try:
        await getattr(ctx, f"notify_{kind}_changed")()
    except Exception:  # noqa: BLE001 - nobody listening: the notification goes instead
        pass
    try:
        session = ctx.request_context.session
        await getattr(session, f"send_{kind[:-1]}_list_changed")()
    except Exception:  # noqa: BLE001 - 2026-07-28 has no such notification
        pass


@server.tool()
async def add_note(name: str, text: str, ctx: Context) -> str:
    """Add the resource notes://extra/<name> and say the resources changed."""
    server.resource(f"notes://extra/{name}", name=name, mime_type="text/plain")(lambda: text)
    await _notify(ctx, "resources")
    return f"added {name}"


@server.tool()
async def add_prompt(name: str, ctx: Context) -> str:
    """Add a prompt <name> and say the prompts changed."""

    def added() -> str:
        return f"This is the {name} prompt."

    server.prompt(name=name, description="Added while running")(added)
    await _notify(ctx, "prompts")
    return f"added {name}"


@server.tool()
async def add_tool(name: str, ctx: Context) -> str:
    """Add a tool <name> and say the tools changed."""

    def added() -> str:
        return f"{name} ran"

    server.tool(name=name, description="Added while running")(added)
    await _notify(ctx, "tools")
    return f"added {name}"


if __name__ == "__main__":
    # ctx.log warns that 2026-07-28 deprecates logging; the studio still shows what is sent.
    warnings.filterwarnings("ignore", message="The logging capability is deprecated")
    server.run()
