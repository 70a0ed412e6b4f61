"""What the studio knows about a running MCP server, as plain values the UI can show.

The service (`carrier_studio.services.mcp.manager.McpManager`) owns the processes and
connections; it publishes a fresh `ServerStatus` snapshot on every change.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from carrier_studio.core.errors import CarrierError
from carrier_studio.core.status import State


class McpServerError(CarrierError):
    """A server cannot be started, is not running, or a request to it failed."""


class ServerState(enum.Enum):
    STOPPED = "stopped"
    STARTING = "starting"
    RUNNING = "running"
    FAILED = "failed"


@dataclass(frozen=True)
class ToolInfo:
    name: str
    description: str = ""
    input_schema: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class ServerStatus:
    """One server at one moment.

    ``error`` says why it failed (empty otherwise); ``stderr_tail`` holds the last lines a stdio
    server wrote to stderr; ``restarts`` counts automatic restarts since the user last started
    it; ``retry_in`` is the back-off delay before the next automatic start, when one is planned;
    ``pid`` is the stdio server's process id while it runs (where the platform tells it).
    """

    name: str
    state: ServerState
    transport: str
    enabled: bool = True
    tools: tuple[ToolInfo, ...] = ()
    error: str = ""
    stderr_tail: tuple[str, ...] = ()
    restarts: int = 0
    pid: int | None = None
    retry_in: float | None = None


@dataclass(frozen=True)
class ToolResult:
    """What a tool call returned: its text, every content part as JSON, and any structure."""

    is_error: bool
    text: str
    content: tuple[dict[str, Any], ...] = ()
    structured: dict[str, Any] | None = None


@dataclass(frozen=True)
class BackoffPolicy:
    """When to restart a server that died, and when to give up.

    After the n-th consecutive failure the next start waits ``initial * factor**(n-1)`` seconds,
    at most ``cap``. A server that ran at least ``stable_after`` seconds before dying starts a
    new count; one that keeps dying sooner (or fails to start again) counts up, and after
    ``max_failures`` in a row it stays FAILED until the user starts it again.
    """

    initial: float = 0.5
    factor: float = 2.0
    cap: float = 30.0
    max_failures: int = 8
    stable_after: float = 10.0

    def delay(self, failures: int) -> float:
        return min(self.cap, self.initial * self.factor ** max(0, failures - 1))


def unavailable_reason(status: ServerStatus | None) -> str:
    """Why a server's tools cannot be used now, as words after its name ("" when it runs)."""
    if status is None:
        return "is not in the MCP catalogue"
    if status.state is ServerState.RUNNING:
        return ""
    if not status.enabled:
        return "is turned off"
    if status.state is ServerState.STARTING:
        return "is still starting"
    if status.state is ServerState.FAILED:
        return f"failed: {status.error}" if status.error else "failed"
    return "is not started"


def without_tools_line(servers: Iterable[tuple[str, str]]) -> str:
    """One line for a reply that runs without some servers' tools, from (name, why) pairs as
    `unavailable_reason` words them: servers with the same reason together, the detail after a
    colon left to the tooltip. "This reply runs without the tools of filesystem and
    sequential-thinking (left out of this model's requests); github (still starting)"."""
    groups: dict[str, list[str]] = {}
    for name, why in servers:
        short = why.split(":", 1)[0].strip()
        short = short[3:] if short.startswith("is ") else short
        groups.setdefault(short, []).append(name)
    parts = [f"{_and(names)} ({short})" for short, names in groups.items()]
    return "This reply runs without the tools of " + "; ".join(parts)


def _and(names: list[str]) -> str:
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


def mcp_summary(statuses: list[ServerStatus]) -> tuple[State, str]:
    """The MCP slot of the status board: one state and a line such as "2 running, failed: x"."""
    running = sum(s.state is ServerState.RUNNING for s in statuses)
    starting = sum(s.state is ServerState.STARTING for s in statuses)
    failed = [s.name for s in statuses if s.state is ServerState.FAILED]
    parts = [f"{running} running"] + ([f"{starting} starting"] if starting else [])
    if failed:
        parts.append(f"failed: {', '.join(failed)}")
    if failed:
        state = State.ERROR
    elif running:
        state = State.RUNNING
    else:
        state = State.STARTING if starting else State.STOPPED
    return state, ", ".join(parts)
