"""A Python MCP server with resources, a resource template and prompts, for the tests.

Run as ``python tests/mcp/resources_server.py`` (stdio). It offers a Markdown note, a small PNG
(drawn here with Pillow), a binary blob, a template ``notes://day/{day}`` and two prompts: one
with a required and an optional argument, one with none.
"""

from __future__ import annotations

import io

from mcp.server.mcpserver import MCPServer
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


if __name__ == "__main__":
    server.run()
