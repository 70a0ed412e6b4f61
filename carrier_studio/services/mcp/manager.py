"""MCP servers for the studio: started on demand, shared, watched, restarted and stopped.

`McpManager` turns the catalogue (mcp_servers.json) into agents-SDK server objects
(`MCPServerStdio`, `MCPServerSse`, `MCPServerStreamableHttp`) and keeps three things apart:
what is configured (the catalogue), what is active (a supervisor task per started server) and
what failed (state FAILED with the reason and the server's last stderr lines).

Each started server's supervisor task (`supervisor`) connects it, notices its death,
restarts it with exponential back-off and gives up after `BackoffPolicy.max_failures` failures
in a row. Building the SDK objects and the stdio specifics (the watched stderr pipe, the child's
process group) are in `transports`.

Everything here runs on the event loop; file I/O and the variable lookup (a keyring) run in
threads. The agents SDK is imported on first use (it costs seconds of CPU).
"""

from __future__ import annotations

import asyncio
import logging
import warnings
from collections.abc import Awaitable, Callable, Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from carrier_studio.core.events import Emitter
from carrier_studio.core.mcp import (
    BackoffPolicy,
    Catalogue,
    Lookup,
    McpConfigError,
    McpServerError,
    ServerConfig,
    ServerState,
    ServerStatus,
    ToolInfo,
    ToolResult,
)
from carrier_studio.core.mcp.config import server_path
from carrier_studio.core.mcp.requests import ListChanged, ServerLog, ToolProgress
from carrier_studio.services.mcp.client import ClientSide
from carrier_studio.services.mcp.supervisor import (
    CLEANUP_TIMEOUT,
    CONFIRM_TIMEOUT,
    ServerEntry,
    Supervision,
    Supervisor,
)
from carrier_studio.services.mcp.transports import describe, tool_info, tool_result
from carrier_studio.services.platform.files import atomic_write_text

if TYPE_CHECKING:
    from agents.mcp import MCPServer

__all__ = ["CLEANUP_TIMEOUT", "CONFIRM_TIMEOUT", "McpManager"]

log = logging.getLogger(__name__)

T = TypeVar("T")


class McpManager:
    """The lifecycle of the catalogue's MCP servers.

    Args:
        catalogue_path: The workspace's mcp_servers.json (a missing file is an empty catalogue).
        lookup: Fills ``${VAR}``: the app passes `SecretStore.get` chained after
            ``{"WORKSPACE": <workspace path>}`` (see `core.mcp.lookup_chain`). It may block.
        backoff: When to restart a dead server and when to give up.
        ping_interval: Seconds between liveness pings of a running server.
        stderr_lines: How many of a stdio server's last stderr lines to keep.
    """

    def __init__(
        self,
        catalogue_path: Path,
        lookup: Lookup,
        *,
        backoff: BackoffPolicy | None = None,
        ping_interval: float = 10.0,
        stderr_lines: int = 50,
    ) -> None:
        #: The catalogue path, restart policy and liveness interval the supervisor reads.
        self.supervision = Supervision(
            Path(catalogue_path), backoff or BackoffPolicy(), ping_interval
        )
        self._stderr_lines = stderr_lines
        self._entries: dict[str, ServerEntry] = {}
        #: Emits a server's new `ServerStatus` on the event loop on every change.
        self.changed: Emitter[ServerStatus] = Emitter("MCP servers")
        #: What the studio's MCP client does for servers (elicitation, sampling, roots) and
        #: the emitters of what they tell during calls: the window sets ``client.asker``.
        self.client: ClientSide = self.supervision.client
        self._loaded = False
        self._closed = False
        self._supervisor = Supervisor(self.supervision, lookup)
        self._file_lock = asyncio.Lock()
        self._load_lock = asyncio.Lock()

    @property
    def path(self) -> Path:
        return self.supervision.path

    @property
    def backoff(self) -> BackoffPolicy:
        return self.supervision.backoff

    @property
    def ping_interval(self) -> float:
        return self.supervision.ping_interval

    # -- reads ---------------------------------------------------------------------------------

    @property
    def configured(self) -> list[str]:
        """Every server in the catalogue, in file order (broken ones included)."""
        return list(self._entries)

    @property
    def active(self) -> list[str]:
        """Servers that are connected now."""
        return [n for n, e in self._entries.items() if e.state is ServerState.RUNNING]

    @property
    def failed(self) -> dict[str, str]:
        """Servers that failed, with the reason."""
        return {n: e.error for n, e in self._entries.items() if e.state is ServerState.FAILED}

    def config(self, name: str) -> ServerConfig | None:
        """The server's settings as configured (variables not filled), None if it is broken."""
        return self._entry(name).config

    def status(self, name: str) -> ServerStatus:
        return self._entry(name).snapshot()

    def statuses(self) -> list[ServerStatus]:
        return [entry.snapshot() for entry in self._entries.values()]

    # -- what servers tell during calls (all emitted on the event loop) -----------------------

    def on_progress(self, listener: Callable[[ToolProgress], None]) -> Callable[[], None]:
        """Call ``listener(ToolProgress)`` for each progress notification of a running tool
        call: ``server``, ``call_id`` (the agents SDK's tool call id, as in the chat's
        ToolCallStarted; "" for a call from the MCP page), ``tool``, ``progress``, ``total``
        (None when unknown; ``fraction`` is 0..1 or None) and ``message``. Returns the
        function that unsubscribes."""
        return self.client.progress.subscribe(listener)

    def on_log(self, listener: Callable[[ServerLog], None]) -> Callable[[], None]:
        """Call ``listener(ServerLog)`` for each log message a server sends over MCP:
        ``server``, ``level`` (MCP's: debug … emergency), ``text`` (redacted) and ``logger``.
        The message is also kept: `server_logs`, and ``[level] text`` in the status's
        ``stderr_tail``. Returns the function that unsubscribes."""
        return self.client.logs.subscribe(listener)

    def on_list_changed(self, listener: Callable[[ListChanged], None]) -> Callable[[], None]:
        """Call ``listener(ListChanged)`` when a server says its ``kind`` ("tools",
        "resources" or "prompts") changed (2025-11-25 notifications; on 2026-07-28 the listen
        stream `client._listen` keeps open beside each connection). The SDK's tools cache is
        dropped first, and for tools the server is listed again (`changed` emits the status if
        they differ). Returns the function that unsubscribes."""
        return self.client.lists_changed.subscribe(listener)

    def server_logs(self, name: str) -> list[ServerLog]:
        """The server's last log messages over MCP, oldest first (redacted)."""
        return list(self._entry(name).logs)

    async def roots_changed(self, name: str | None = None) -> None:
        """Tell the running server ``name`` (None: every running one) that its roots changed
        (``notifications/roots/list_changed``; 2026-07-28 servers ask each time instead)."""
        for entry in self._entries.values():
            if name not in (None, entry.name) or entry.state is not ServerState.RUNNING:
                continue
            session = getattr(entry.server, "session", None)
            version = getattr(session, "protocol_version", None) or ""
            if session is None or version >= "2026-07-28":
                continue
            try:
                with warnings.catch_warnings():  # deprecated in 2026-07-28, current before it
                    warnings.simplefilter("ignore", UserWarning)  # MCPDeprecationWarning
                    await session.send_roots_list_changed()
            except Exception as exc:  # noqa: BLE001 - the server asks again on its next start
                log.info("telling MCP server %s its roots changed failed: %s", entry.name, exc)

    # -- the catalogue -------------------------------------------------------------------------

    async def load(self) -> None:
        """Read the catalogue; `ensure`, `start` and `set_enabled` do it on first use.

        A file that is not a JSON object raises McpConfigError. A broken server does not: it
        shows as FAILED with its problem, and the others work.
        """
        async with self._file_lock:
            catalogue = await asyncio.to_thread(self._read)
        await self._apply(catalogue)
        self._loaded = True

    async def reload(self) -> None:
        """Read the catalogue again and apply it: removed or turned-off servers stop, changed
        running ones restart. A bad file raises McpConfigError and changes nothing."""
        async with self._file_lock:
            catalogue = await asyncio.to_thread(self._read)
        catalogue.check()
        await self._apply(catalogue)
        self._loaded = True

    async def set_enabled(self, name: str, enabled: bool) -> None:
        """Turn a server on or off in mcp_servers.json (only that value changes) and live:
        turning it off stops it; turning it on lets the next `ensure` start it."""
        await self.ensure_loaded()
        entry = self._entry(name)

        def edit() -> Catalogue:
            catalogue = self._read()
            catalogue.set_enabled(name, enabled)
            atomic_write_text(self.path, catalogue.to_text())
            return catalogue

        async with self._file_lock:
            catalogue = await asyncio.to_thread(edit)
        entry.config = catalogue.servers.get(name, entry.config)
        if not enabled:
            await self._supervisor.stop(entry)
        self._changed(entry)

    async def save_server(
        self, name: str, raw: Mapping[str, Any], *, replaces: str | None = None
    ) -> ServerConfig:
        """Add a server to mcp_servers.json, or replace ``replaces`` (renamed to ``name`` in
        its place), then apply it: a changed running server restarts, a renamed one stops.

        McpConfigError if ``raw`` is invalid (with JSON paths), or if adding would overwrite a
        server of the same name; the file is then left as it was.
        """
        await self.ensure_loaded()

        def edit() -> Catalogue:
            catalogue = self._read()
            if replaces is None and name in catalogue.names:
                raise McpConfigError(
                    f"there is already an MCP server called {name!r}",
                    path=self.path,
                    where=server_path(name),
                )
            catalogue.put(name, raw, replaces=replaces)
            atomic_write_text(self.path, catalogue.to_text())
            return catalogue

        async with self._file_lock:
            catalogue = await asyncio.to_thread(edit)
        await self._apply(catalogue)
        return catalogue.server(name)

    async def remove_server(self, name: str) -> None:
        """Stop a server and take it out of mcp_servers.json."""
        await self.ensure_loaded()
        await self._supervisor.stop(self._entry(name))

        def edit() -> Catalogue:
            catalogue = self._read()
            catalogue.remove(name)
            atomic_write_text(self.path, catalogue.to_text())
            return catalogue

        async with self._file_lock:
            catalogue = await asyncio.to_thread(edit)
        await self._apply(catalogue)

    # -- lifecycle -----------------------------------------------------------------------------

    async def ensure(self, names: Iterable[str], *, strict: bool = False) -> list[MCPServer]:
        """Start the enabled servers among ``names`` that are not running (concurrently) and
        return the connected ones, ready for ``agents.Agent(mcp_servers=...)``.

        Each server runs once and is shared by every caller. Servers that are unknown, turned
        off, broken or failing are left out (their status says why); with ``strict`` that is
        an McpServerError naming each of them instead.
        """
        await self.ensure_loaded()
        self._check_open()
        chosen: list[ServerEntry] = []
        missing: dict[str, str] = {}
        for name in dict.fromkeys(names):
            entry = self._entries.get(name)
            if entry is None:
                missing[name] = "is not in the MCP catalogue"
            elif entry.problem is not None:
                missing[name] = str(entry.problem)
            elif entry.config is None or not entry.config.enabled:
                missing[name] = "is turned off"
            elif entry.gave_up:
                missing[name] = entry.error
            else:
                if not entry.supervised:
                    self._supervisor.spawn(entry)
                chosen.append(entry)
        await asyncio.gather(*(entry.idle.wait() for entry in chosen))
        running = [entry for entry in chosen if entry.state is ServerState.RUNNING]
        missing.update({e.name: e.error for e in chosen if e.state is not ServerState.RUNNING})
        if strict and missing:
            details = "; ".join(f"{name}: {why}" for name, why in missing.items())
            raise McpServerError(f"MCP servers not available: {details}")
        return [entry.server for entry in running if entry.server is not None]

    async def start(self, name: str) -> ServerStatus:
        """Start one server (the user's Start button) and wait until it runs or fails."""
        await self.ensure_loaded()
        self._check_open()
        entry = self._entry(name)
        if entry.problem is not None:
            raise entry.problem
        if entry.config is None or not entry.config.enabled:
            raise McpServerError(f"{name} is turned off", hint="Turn it on first.")
        if entry.supervised and entry.retry_in is not None:
            await self._supervisor.stop(entry)  # waiting to retry: start now instead
        if not entry.supervised:
            self._supervisor.spawn(entry)
        await entry.idle.wait()
        return entry.snapshot()

    async def stop(self, name: str) -> None:
        await self._supervisor.stop(self._entry(name))

    async def restart(self, name: str) -> ServerStatus:
        await self.stop(name)
        return await self.start(name)

    async def shutdown(self, grace: float = 5.0) -> None:
        """Stop every server, the last started first, within ``grace`` seconds in all (each gets
        at least 0.5 s). A stdio server that has not stopped by then has its process group
        killed (SIGKILL), which lets its cleanup finish; its task is cancelled only if even that
        does not end it."""
        self._closed = True
        loop = asyncio.get_running_loop()
        deadline = loop.time() + grace
        started = sorted(
            (e for e in self._entries.values() if e.supervised), key=lambda e: e.sequence
        )
        for entry in reversed(started):
            await self._supervisor.stop(entry, within=max(0.5, deadline - loop.time()))

    # -- tools ---------------------------------------------------------------------------------

    async def list_tools(self, name: str, refresh: bool = False) -> list[ToolInfo]:
        """The server's tools; with cache_tools_list the first answer is reused unless
        ``refresh`` asks the server again."""
        entry, server = self._running(name)
        if refresh:
            server.invalidate_tools_cache()
        try:
            tools = await server.list_tools()
        except Exception as exc:
            raise self._request_failed(entry, "listing tools", exc) from exc
        entry.tools = tuple(tool_info(tool) for tool in tools)
        self._changed(entry)
        return list(entry.tools)

    async def call_tool(
        self, name: str, tool: str, arguments: Mapping[str, Any] | None = None
    ) -> ToolResult:
        """Call one tool (the MCP page's test form). A tool's own error is a result with
        ``is_error``; a failed request raises McpServerError."""
        entry, server = self._running(name)
        try:
            result = await server.call_tool(tool, dict(arguments or {}))
        except Exception as exc:
            raise self._request_failed(entry, f"calling {tool}", exc) from exc
        return tool_result(result)

    async def request(self, name: str, doing: str, call: Callable[[MCPServer], Awaitable[T]]) -> T:
        """Run ``call`` on the running server's SDK object (resources and prompts,
        services/mcp/browse.py). A failure is an McpServerError saying what was being done,
        with the server's own error as its cause."""
        entry, server = self._running(name)
        try:
            return await call(server)
        except Exception as exc:
            raise self._request_failed(entry, doing, exc) from exc

    # -- internals: entries --------------------------------------------------------------------

    def _entry(self, name: str) -> ServerEntry:
        entry = self._entries.get(name)
        if entry is None:
            raise McpServerError(f"there is no MCP server called {name!r}", path=self.path)
        return entry

    def _running(self, name: str) -> tuple[ServerEntry, MCPServer]:
        entry = self._entry(name)
        if entry.state is not ServerState.RUNNING or entry.server is None:
            raise McpServerError(f"{name} is not running", hint="Start it first.")
        return entry, entry.server

    def _request_failed(self, entry: ServerEntry, doing: str, exc: Exception) -> McpServerError:
        message = describe(exc)
        if "connection closed" in message.lower() and entry.run is not None:
            entry.run.suspect()
        return McpServerError(f"{entry.name}: {doing} failed: {message}")

    def _check_open(self) -> None:
        if self._closed:
            raise McpServerError("the MCP servers are shutting down")

    async def ensure_loaded(self) -> None:
        """Read the catalogue unless it was read (its servers' states known; none started)."""
        async with self._load_lock:  # concurrent first calls read the file once
            if not self._loaded:
                await self.load()

    def _read(self) -> Catalogue:
        try:
            text = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return Catalogue.empty(self.path)
        except OSError as exc:
            raise McpConfigError(f"cannot be read: {exc.strerror}", path=self.path) from exc
        return Catalogue.from_text(text, self.path)

    async def _apply(self, catalogue: Catalogue) -> None:
        servers = catalogue.servers
        to_stop: list[ServerEntry] = []
        to_restart: list[ServerEntry] = []
        entries: dict[str, ServerEntry] = {}
        for name in catalogue.names:
            config = servers.get(name)
            problems = catalogue.problems_of(name)
            problem = problems[0] if problems else None
            entry = self._entries.get(name) or ServerEntry(name, self._stderr_lines, self._changed)
            changed = entry.config is None or config is None or entry.config.raw != config.raw
            entry.had_problem = entry.problem is not None
            entry.config, entry.problem = config, problem
            if entry.supervised and (problem or config is None or not config.enabled):
                to_stop.append(entry)
            elif entry.supervised and changed:
                to_restart.append(entry)
            entries[name] = entry
        to_stop += [e for n, e in self._entries.items() if n not in entries and e.supervised]
        self._entries = entries
        for entry in to_stop + to_restart:
            await self._supervisor.stop(entry)
        for entry in to_restart:
            self._supervisor.spawn(entry)
        await asyncio.gather(*(entry.idle.wait() for entry in to_restart))
        for entry in entries.values():
            if entry.problem is not None and not entry.supervised:
                entry.update(state=ServerState.FAILED, error=str(entry.problem))
            elif entry.had_problem and entry.problem is None and not entry.supervised:
                entry.update(state=ServerState.STOPPED, error="")
            self._changed(entry)

    def _changed(self, entry: ServerEntry) -> None:
        self.changed.emit(entry.snapshot())
