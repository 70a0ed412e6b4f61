"""MCP servers: the catalogue in mcp_servers.json, their processes and connections
(`McpManager`), and the tool maker that writes new ones.

Other features use these names only; the modules inside are this package's own business.
"""

from carrier_studio.services.mcp.browse import McpBrowser
from carrier_studio.services.mcp.manager import McpManager

__all__ = ["McpBrowser", "McpManager"]
