"""The names in a workspace's mcp_servers.json, for pickers (the full model comes with MCP)."""

from __future__ import annotations

from pathlib import Path

from carrier_studio.core.jsonfile import read_json_file
from carrier_studio.core.mcp.config import McpConfigError


def server_names(path: Path) -> list[str]:
    """Server names in ``path``; an unreadable file gives no names (the MCP page reports it)."""
    try:
        data = read_json_file(path, error=McpConfigError)
    except McpConfigError:
        return []
    servers = data.get("mcpServers") if isinstance(data, dict) else None
    return list(servers) if isinstance(servers, dict) else []
