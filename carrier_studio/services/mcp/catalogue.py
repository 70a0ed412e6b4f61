"""The names in a workspace's mcp_servers.json, for pickers (the full model comes with MCP)."""

from __future__ import annotations

import json
from pathlib import Path


def server_names(path: Path) -> list[str]:
    """Server names in ``path``; an unreadable file gives no names (the MCP page reports it)."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return []
    servers = data.get("mcpServers") if isinstance(data, dict) else None
    return list(servers) if isinstance(servers, dict) else []
