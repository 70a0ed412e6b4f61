"""Importing the agents SDK in worker threads, one thread at a time.

The window imports the chat runtime in a thread once its first page has loaded, and each MCP
server's supervisor imports the SDK's MCP part in a thread before its first start. When both ran
at once (the Chat page starts a character's servers as soon as it shows), the two imports met
in the SDK's circular imports, Python broke the deadlock by handing one thread a half-made
module, and a server failed with "cannot import name 'MCPUtil' from partially initialized module
'agents.mcp'". One lock around these imports keeps them apart; a module already imported costs
nothing more than the lock.
"""

from __future__ import annotations

import importlib
import threading

_lock = threading.Lock()


def import_modules(*names: str) -> None:
    """Import ``names`` in order while no other thread imports through here."""
    with _lock:
        for name in names:
            importlib.import_module(name)
