"""A conversation's MCP tools: which servers a character needs, and their tools, gathered
without letting a broken or slow server hold the reply up.

Each server is asked for on its own, so one that fails is left out at once and the others' tools
are used. A server still starting is waited for up to `MCP_START_WAIT` (the Chat page shows each
server's state meanwhile, and the user may stop waiting); after that the reply goes on without
it, and the next message picks its tools up.
"""

from __future__ import annotations

import asyncio
import weakref
from dataclasses import dataclass, field
from typing import Any

from carrier_studio.core.characters.document import CharacterDoc
from carrier_studio.core.mcp import McpServerError, ServerState, ServerStatus
from carrier_studio.core.mcp.status import unavailable_reason
from carrier_studio.services.mcp import McpManager

#: How long a message waits for its character's MCP servers to start before going without.
MCP_START_WAIT = 15.0
#: Failed servers being started again by `gather_tools`, per manager, until that start ends,
#: each with why it failed.
_RETRYING: weakref.WeakKeyDictionary[McpManager, dict[str, str]] = weakref.WeakKeyDictionary()


def server_names(docs: dict[str, CharacterDoc], doc: CharacterDoc) -> list[str]:
    """The MCP servers of this character and of every character it can hand off to, sorted."""
    names: set[str] = set()
    seen: set[str] = set()
    pending = [doc]
    while pending:
        current = pending.pop()
        if current.name in seen:
            continue
        seen.add(current.name)
        names.update(current.strings("mcp_servers"))
        pending.extend(docs[n] for n in current.strings("handoffs") if n in docs)
    return sorted(names)


def server_status(manager: McpManager | None, name: str) -> ServerStatus | None:
    """The server's status; None when there is no such server (or no MCP at all)."""
    if manager is None:
        return None
    try:
        return manager.status(name)
    except McpServerError:
        return None


@dataclass
class McpTools:
    """What a reply gets from its MCP servers."""

    #: Function tools by server name, for `AgentFactory`.
    tools: dict[str, list[Any]] = field(default_factory=dict)
    #: The server objects the tools call (by identity), to notice a restart.
    servers: dict[str, int] = field(default_factory=dict)
    #: Servers left out, with why ("is still starting", "failed: …").
    unavailable: dict[str, str] = field(default_factory=dict)

    @property
    def starting(self) -> bool:
        """Some server was still starting: the next message should look again."""
        return any(why == "is still starting" for why in self.unavailable.values())


async def gather_tools(
    manager: McpManager | None, names: list[str], go_on: asyncio.Event
) -> McpTools:
    """The tools of the servers among ``names`` that run within `MCP_START_WAIT` (or until
    ``go_on`` is set); the others are named with why."""
    found = McpTools()
    if manager is None or not names:
        return found
    from agents.mcp import MCPUtil

    # A server that has just failed is tried again in the background but not waited for: the
    # reply goes on without it (its last error says why) and a later message gets it if it runs.
    failed = {}
    retrying = _RETRYING.setdefault(manager, {})
    for name in names:
        status = server_status(manager, name)
        if status is not None and status.state is ServerState.FAILED:
            failed[name] = unavailable_reason(status)
        elif (
            status is not None
            and status.state is ServerState.STARTING
            and (status.restarts or name in retrying)
        ):
            # Started again after a failure (by its supervisor's back-off, or by the retry
            # below for an earlier reply or the agent's set-up): as good as failed for this
            # reply, which must not wait for it (it did, and the notice said "still starting").
            why = retrying.get(name) or "failed: it is being started again after a failure"
            failed[name] = why
    for name in failed:
        if name in retrying:
            continue
        retrying[name] = failed[name]
        retry = asyncio.ensure_future(manager.ensure([name]))
        retry.add_done_callback(lambda f, name=name: retrying.pop(name, None))
        retry.add_done_callback(lambda f: f.cancelled() or f.exception())
    starts = {
        name: asyncio.ensure_future(manager.ensure([name])) for name in names if name not in failed
    }
    found.unavailable.update(failed)
    if not starts:
        return found
    everyone = asyncio.gather(*starts.values(), return_exceptions=True)
    stop = asyncio.ensure_future(go_on.wait())
    try:
        await asyncio.wait({everyone, stop}, timeout=MCP_START_WAIT, return_when="FIRST_COMPLETED")
    finally:
        stop.cancel()
        # Let the cancelled wait take its step now: a task cancelled before it ever ran keeps
        # an unstarted coroutine, and if the loop ends first (a closing window, a test's end)
        # that is a "coroutine 'Event.wait' was never awaited" warning.
        await asyncio.wait({stop})
    if not everyone.done():
        # The servers go on starting under their supervisors; only this wait ends.
        everyone.add_done_callback(lambda f: f.cancelled() or f.exception())
    for name, start in starts.items():
        servers = start.result() if start.done() and not start.exception() else []
        for server in servers:
            try:
                listed = await server.list_tools()
            except Exception as exc:  # noqa: BLE001 - one broken server must not stop the chat
                found.unavailable[name] = f"did not list its tools: {exc}"
                continue
            found.servers[name] = id(server)
            found.tools[name] = [MCPUtil.to_function_tool(t, server, False) for t in listed]
        if name not in found.servers and name not in found.unavailable:
            status = server_status(manager, name)
            found.unavailable[name] = unavailable_reason(status) or "is not running"
    return found
