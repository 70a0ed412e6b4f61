"""`carrier-studio mcp list | import FILE`: the workspace's MCP catalogue without a window.

Imports no Qt. The import plans with the same core code as the MCP page's preview
(`carrier_studio.core.mcp.importing`), so the command line and the window agree.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TextIO

from carrier_studio.core.errors import CarrierError


def add_parser(commands: argparse._SubParsersAction) -> None:
    mcp = commands.add_parser("mcp", help="list the MCP servers, import a Claude Desktop config")
    actions = mcp.add_subparsers(dest="mcp_command", metavar="ACTION", required=True)
    actions.add_parser("list", help="the servers of the workspace's mcp_servers.json")
    imported = actions.add_parser(
        "import",
        help="add the servers of a claude_desktop_config.json (or Cursor/VS Code mcp.json)",
    )
    imported.add_argument("file", type=Path, help="the JSON file to read")
    clash = imported.add_mutually_exclusive_group()
    clash.add_argument(
        "--rename",
        action="store_true",
        help="a server whose name is taken is added as name-2 (default: it is skipped)",
    )
    clash.add_argument(
        "--replace", action="store_true", help="a server whose name is taken replaces it"
    )
    imported.add_argument(
        "--move-secrets",
        action="store_true",
        help="store secret-looking env values in the keyring; the file then says ${VAR}",
    )


def run_mcp(args: argparse.Namespace, out: TextIO = sys.stdout, err: TextIO = sys.stderr) -> int:
    try:
        raise CarrierError("not built yet")
    except CarrierError as exc:
        print(f"carrier-studio mcp {args.mcp_command}: {exc}", file=err)
        return 1
