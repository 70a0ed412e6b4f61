"""MCP servers as data: the mcp_servers.json model, ``${VAR}`` filling and status values.

No SDK here: `carrier_studio.services.mcp.manager` turns these into running servers.
"""

from carrier_studio.core.mcp.config import (
    CATALOGUE_VERSION,
    TRANSPORTS,
    Catalogue,
    McpConfigError,
    ServerConfig,
    Transport,
    check_server,
    claude_desktop_config_path,
    find_carrier_config,
    import_claude_desktop,
)
from carrier_studio.core.mcp.status import (
    BackoffPolicy,
    McpServerError,
    ServerState,
    ServerStatus,
    ToolInfo,
    ToolResult,
)
from carrier_studio.core.mcp.variables import (
    Lookup,
    McpVariableError,
    lookup_chain,
    resolve,
    variables_in,
)

__all__ = [
    "CATALOGUE_VERSION",
    "TRANSPORTS",
    "BackoffPolicy",
    "Catalogue",
    "Lookup",
    "McpConfigError",
    "McpServerError",
    "McpVariableError",
    "ServerConfig",
    "ServerState",
    "ServerStatus",
    "ToolInfo",
    "ToolResult",
    "Transport",
    "check_server",
    "claude_desktop_config_path",
    "find_carrier_config",
    "import_claude_desktop",
    "lookup_chain",
    "resolve",
    "variables_in",
]
