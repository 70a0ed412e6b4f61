"""MCP servers for the studio: started on demand, shared, watched, restarted and stopped.

`McpManager` turns the catalogue (mcp_servers.json) into agents-SDK server objects
(`MCPServerStdio`, `MCPServerSse`, `MCPServerStreamableHttp`) and keeps three things apart:
what is configured (the catalogue), what is active (a supervisor task per started server) and
what failed (state FAILED with the reason and the server's last stderr lines).

Each started server has one supervisor task that connects it, waits, and cleans it up: the MCP
SDK's anyio cancel scopes require connect and cleanup in the same task. The supervisor notices
a death promptly (a stdio server's stderr pipe reaching end of file, confirmed by a ping; a
periodic ping for every transport), restarts the server with exponential back-off, and gives up
after `BackoffPolicy.max_failures` failures in a row. The same SDK object is reconnected, so an
agent that holds it gets its tools back.

Everything here runs on the event loop; file I/O and the variable lookup (a keyring) run in
threads. The agents SDK is imported on first use (it costs seconds of CPU).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import importlib
import logging
import os
import signal
import sys
import threading
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

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
    resolve,
)
from carrier_studio.core.mcp.config import server_path
from carrier_studio.services.files import atomic_write_text

if TYPE_CHECKING:
    from agents.mcp import MCPServer

log = logging.getLogger(__name__)

Listener = Callable[[ServerStatus], None]

#: Seconds a server gets to clean up (the SDK's stdio shutdown is bounded at about 6.5 s).
CLEANUP_TIMEOUT = 10.0
#: Seconds to wait for a ping when the stderr pipe closed, before calling the server dead.
CONFIRM_TIMEOUT = 2.0
#: Bytes of one stderr line that are kept (the rest of a longer line comes as further lines).
_MAX_LINE = 8192


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
        self.path = Path(catalogue_path)
        self._lookup = lookup
        self.backoff = backoff or BackoffPolicy()
        self.ping_interval = ping_interval
        self._stderr_lines = stderr_lines
        self._entries: dict[str, _Entry] = {}
        self._listeners: list[Listener] = []
        self._loaded = False
        self._closed = False
        self._sequence = 0
        self._file_lock = asyncio.Lock()
        self._load_lock = asyncio.Lock()

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

    def subscribe(self, listener: Listener) -> Callable[[], None]:
        """Call ``listener(status)`` on the event loop on every change; returns an unsubscribe."""
        self._listeners.append(listener)
        return lambda: self._listeners.remove(listener) if listener in self._listeners else None

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
        await self._ensure_loaded()
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
            await self._stop_entry(entry)
        self._changed(entry)

    async def save_server(
        self, name: str, raw: Mapping[str, Any], *, replaces: str | None = None
    ) -> ServerConfig:
        """Add a server to mcp_servers.json, or replace ``replaces`` (renamed to ``name`` in
        its place), then apply it: a changed running server restarts, a renamed one stops.

        McpConfigError if ``raw`` is invalid (with JSON paths), or if adding would overwrite a
        server of the same name; the file is then left as it was.
        """
        await self._ensure_loaded()

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
        await self._ensure_loaded()
        await self._stop_entry(self._entry(name))

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
        await self._ensure_loaded()
        self._check_open()
        chosen: list[_Entry] = []
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
                    self._spawn(entry)
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
        await self._ensure_loaded()
        self._check_open()
        entry = self._entry(name)
        if entry.problem is not None:
            raise entry.problem
        if entry.config is None or not entry.config.enabled:
            raise McpServerError(f"{name} is turned off", hint="Turn it on first.")
        if entry.supervised and entry.retry_in is not None:
            await self._stop_entry(entry)  # waiting to retry: start now instead
        if not entry.supervised:
            self._spawn(entry)
        await entry.idle.wait()
        return entry.snapshot()

    async def stop(self, name: str) -> None:
        await self._stop_entry(self._entry(name))

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
            await self._stop_entry(entry, within=max(0.5, deadline - loop.time()))

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
        entry.tools = tuple(_tool_info(tool) for tool in tools)
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
        return _tool_result(result)

    # -- internals: entries --------------------------------------------------------------------

    def _entry(self, name: str) -> _Entry:
        entry = self._entries.get(name)
        if entry is None:
            raise McpServerError(f"there is no MCP server called {name!r}", path=self.path)
        return entry

    def _running(self, name: str) -> tuple[_Entry, MCPServer]:
        entry = self._entry(name)
        if entry.state is not ServerState.RUNNING or entry.server is None:
            raise McpServerError(f"{name} is not running", hint="Start it first.")
        return entry, entry.server

    def _request_failed(self, entry: _Entry, doing: str, exc: Exception) -> McpServerError:
        message = _describe(exc)
        if "connection closed" in message.lower() and entry.run is not None:
            entry.run.suspect()
        return McpServerError(f"{entry.name}: {doing} failed: {message}")

    def _check_open(self) -> None:
        if self._closed:
            raise McpServerError("the MCP servers are shutting down")

    async def _ensure_loaded(self) -> None:
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
        to_stop: list[_Entry] = []
        to_restart: list[_Entry] = []
        entries: dict[str, _Entry] = {}
        for name in catalogue.names:
            config = servers.get(name)
            problems = catalogue.problems_of(name)
            problem = problems[0] if problems else None
            entry = self._entries.get(name) or _Entry(self, name, self._stderr_lines)
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
            await self._stop_entry(entry)
        for entry in to_restart:
            self._spawn(entry)
        await asyncio.gather(*(entry.idle.wait() for entry in to_restart))
        for entry in entries.values():
            if entry.problem is not None and not entry.supervised:
                entry.update(state=ServerState.FAILED, error=str(entry.problem))
            elif entry.had_problem and entry.problem is None and not entry.supervised:
                entry.update(state=ServerState.STOPPED, error="")
            self._changed(entry)

    def _changed(self, entry: _Entry) -> None:
        status = entry.snapshot()
        for listener in list(self._listeners):
            try:
                listener(status)
            except Exception:
                log.exception("an MCP status listener failed")

    def _spawn(self, entry: _Entry) -> None:
        self._sequence += 1
        entry.sequence = self._sequence
        entry.stop_requested = asyncio.Event()
        entry.gave_up = False
        entry.restarts = 0
        entry.update(state=ServerState.STARTING, error="", retry_in=None)
        entry.task = asyncio.create_task(self._supervise(entry), name=f"mcp-server:{entry.name}")
        entry.task.add_done_callback(functools.partial(self._supervisor_done, entry))

    def _supervisor_done(self, entry: _Entry, task: asyncio.Task[None]) -> None:
        if task.cancelled() or task.exception() is None:
            return
        error = task.exception()
        log.error("the supervisor of MCP server %s failed", entry.name, exc_info=error)
        entry.update(state=ServerState.FAILED, error=f"internal error: {_describe(error)}")

    async def _stop_entry(self, entry: _Entry, within: float = CLEANUP_TIMEOUT + 2) -> None:
        task = entry.task
        if task is None or task.done():
            if entry.state is ServerState.FAILED and entry.problem is None:
                entry.gave_up = False
                entry.update(state=ServerState.STOPPED, error="", retry_in=None)
            return
        pid = entry.pid
        entry.stop_requested.set()
        if entry.run is not None:
            entry.run.interrupt()
        done, _ = await asyncio.wait({task}, timeout=within)
        if done:
            return
        # Its cleanup is most likely waiting for a process that ignores stdin closing and
        # SIGTERM: kill it, so the cleanup finishes in its own task. Cancel only as a last resort
        # (a cancel can break the SDK's shielded shutdown and leave pipes waiting).
        log.warning("MCP server %s did not stop within %.1f s: killing it", entry.name, within)
        _kill_group(pid)
        done, _ = await asyncio.wait({task}, timeout=3.0)
        if not done:
            task.cancel()
            done, _ = await asyncio.wait({task}, timeout=2.0)
        if not done:
            log.error("MCP server %s could not be stopped", entry.name)

    # -- internals: one server's supervisor ----------------------------------------------------

    async def _supervise(self, entry: _Entry) -> None:
        """Connect, watch, clean up and restart one server; the only task that touches its
        connection's lifecycle."""
        loop = asyncio.get_running_loop()
        failures = 0
        ever_ran = False
        try:
            if not _sdk_imported():
                # The agents SDK costs seconds of CPU to import: not on the event loop.
                await asyncio.to_thread(_import_sdk)
            while not entry.stop_requested.is_set():
                entry.update(state=ServerState.STARTING, retry_in=None)
                assert entry.config is not None
                try:
                    config = await asyncio.to_thread(
                        resolve, entry.config, self._lookup, path=self.path
                    )
                except McpConfigError as exc:
                    entry.update(state=ServerState.FAILED, error=str(exc))
                    return
                except Exception as exc:  # noqa: BLE001 - a failing lookup (keyring) is shown
                    entry.update(state=ServerState.FAILED, error=f"variables: {_describe(exc)}")
                    return
                started = loop.time()
                ran, reason = await self._run_once(entry, config)
                if entry.stop_requested.is_set():
                    break
                if ran:
                    ever_ran = True
                    stable = loop.time() - started >= self.backoff.stable_after
                    failures = 1 if stable else failures + 1
                else:
                    failures += 1
                    if not ever_ran:  # it never started: retrying will not help
                        entry.update(state=ServerState.FAILED, error=reason)
                        return
                if failures >= self.backoff.max_failures:
                    entry.gave_up = True
                    entry.update(
                        state=ServerState.FAILED,
                        error=f"{reason} (gave up after {failures} failures in a row; "
                        "start it again when it is fixed)",
                    )
                    return
                delay = self.backoff.delay(failures)
                entry.update(state=ServerState.FAILED, error=reason, retry_in=delay)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(entry.stop_requested.wait(), delay)
                entry.restarts += 1
        finally:
            if entry.stop_requested.is_set() or entry.state is not ServerState.FAILED:
                entry.update(state=ServerState.STOPPED, error="", retry_in=None)

    async def _run_once(self, entry: _Entry, config: ServerConfig) -> tuple[bool, str]:
        """One connection: (True, why it ended) after it ran, (False, the error) if it never
        got going. Cleans up before returning, whatever happened."""
        run = _Run(asyncio.get_running_loop(), entry)
        entry.run = run
        server = entry.server_for(config, run)
        failure: BaseException | None = None
        pinger: asyncio.Task[None] | None = None
        try:
            try:
                # A stop while starting moves this deadline to now: the connect is cancelled
                # here, in the task that owns it, and cleans up after itself.
                async with asyncio.timeout(config.connect_timeout) as run.deadline:
                    await server.connect()
                    tools = await server.list_tools()
            except Exception as exc:  # noqa: BLE001 - any start failure is shown, not raised
                run.deadline = None
                failure = exc
            else:
                run.deadline = None
                entry.update(
                    state=ServerState.RUNNING,
                    tools=tuple(_tool_info(t) for t in tools),
                    pid=run.pid,
                    error="",
                )
                pinger = asyncio.create_task(self._ping(server, run, config.timeout))
                await self._watch(server, run, entry)
                if not entry.stop_requested.is_set():  # show it at once; cleanup comes next
                    entry.update(state=ServerState.FAILED, error=run.reason or "", pid=None)
        finally:
            if pinger is not None:
                pinger.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await pinger
            await self._cleanup(server, run)
            entry.run = None
            entry.update(pid=None)
        if isinstance(failure, TimeoutError):
            return False, run.explain(f"did not start within {config.connect_timeout:g} s")
        if failure is not None:
            return False, run.explain(_describe(failure))
        return True, run.reason or "the server stopped"

    async def _watch(self, server: MCPServer, run: _Run, entry: _Entry) -> None:
        """Wait until the server dies or a stop is asked for."""
        while not entry.stop_requested.is_set() and run.reason is None:
            await run.wake.wait()
            run.wake.clear()
            if run.suspected and run.reason is None and not entry.stop_requested.is_set():
                run.suspected = False
                if not await _answers_ping(server, CONFIRM_TIMEOUT):
                    run.died("the server process exited")

    async def _ping(self, server: MCPServer, run: _Run, request_timeout: float) -> None:
        misses = 0
        while run.reason is None:
            await asyncio.sleep(self.ping_interval)
            session = getattr(server, "session", None)
            if session is None:
                run.died("the connection was closed")
                return
            try:
                async with asyncio.timeout(min(request_timeout, 10.0)):
                    await session.send_ping()
                misses = 0
            except TimeoutError:
                misses += 1
                if misses >= 2:
                    run.died("the server stopped answering (two pings timed out)")
            except Exception as exc:  # noqa: BLE001 - any failed ping means the link is gone
                run.died(f"the connection was lost: {_describe(exc)}")

    async def _cleanup(self, server: MCPServer, run: _Run) -> None:
        try:
            async with asyncio.timeout(CLEANUP_TIMEOUT):
                await server.cleanup()
        except Exception as exc:  # noqa: BLE001 - cleanup goes on to the kill regardless
            log.warning("cleaning up MCP server %s failed: %s", server.name, _describe(exc))
        finally:
            # The SDK closes stdin and kills the leader if it lingers; helpers it started in
            # the same process group (npx -> node) go too.
            _kill_group(run.pid)
        await run.pipes_closed(within=2.0)


class _Entry:
    """One configured server: its settings, its state and, while active, its supervisor."""

    def __init__(self, manager: McpManager, name: str, stderr_lines: int) -> None:
        self.manager = manager
        self.name = name
        self.config: ServerConfig | None = None
        self.problem: McpConfigError | None = None
        self.state = ServerState.STOPPED
        self.error = ""
        self.tools: tuple[ToolInfo, ...] = ()
        self.restarts = 0
        self.pid: int | None = None
        self.retry_in: float | None = None
        self.stderr: deque[str] = deque(maxlen=stderr_lines)
        self.server: MCPServer | None = None
        self._server_config: ServerConfig | None = None
        self.task: asyncio.Task[None] | None = None
        self.run: _Run | None = None
        self.stop_requested = asyncio.Event()
        self.idle = asyncio.Event()
        self.idle.set()
        self.gave_up = False
        self.had_problem = False
        self.sequence = 0
        self.stderr_count = 0
        self._stderr_pending = False

    @property
    def supervised(self) -> bool:
        """True while a supervisor task looks after the server (running, starting, retrying)."""
        return self.task is not None and not self.task.done()

    def snapshot(self) -> ServerStatus:
        config = self.config
        return ServerStatus(
            name=self.name,
            state=self.state,
            transport=config.type if config else "",
            enabled=config.enabled if config else False,
            tools=self.tools,
            error=self.error,
            stderr_tail=tuple(self.stderr),
            restarts=self.restarts,
            pid=self.pid,
            retry_in=self.retry_in,
        )

    def update(self, **changes: Any) -> None:
        for key, value in changes.items():
            setattr(self, key, value)
        if self.state is ServerState.STARTING:
            self.idle.clear()
        else:
            self.idle.set()
        self.manager._changed(self)

    def add_stderr(self, line: str) -> None:
        self.stderr.append(line)
        self.stderr_count += 1
        if not self._stderr_pending:  # one notification per burst of lines
            self._stderr_pending = True
            asyncio.get_running_loop().call_soon(self._flush_stderr)

    def _flush_stderr(self) -> None:
        self._stderr_pending = False
        self.manager._changed(self)

    def server_for(self, config: ServerConfig, run: _Run) -> MCPServer:
        """The SDK object for ``config``: the same one across restarts (agents keep it)."""
        if self.server is None or self._server_config != config:
            self.server = _build_server(config)
            self._server_config = config
        else:
            self.server.invalidate_tools_cache()
        self.server.carrier_run = run  # type: ignore[attr-defined]
        return self.server


class _Run:
    """One connection of one server: why it should end, and its process and stderr pipe."""

    def __init__(self, loop: asyncio.AbstractEventLoop, entry: _Entry) -> None:
        self.loop = loop
        self.entry = entry
        self.wake = asyncio.Event()
        self.reason: str | None = None
        self.suspected = False
        self.pid: int | None = None
        self.deadline: asyncio.Timeout | None = None
        self._stderr_start = entry.stderr_count
        self._pipes: list[_StderrPipe] = []
        self._closed = asyncio.Event()
        self._closed.set()

    def interrupt(self) -> None:
        """A stop was asked for: end the wait, or the start if it is still going on."""
        self.wake.set()
        if self.deadline is not None and not self.deadline.expired():
            self.deadline.reschedule(self.loop.time())

    def died(self, reason: str) -> None:
        if self.reason is None:
            self.reason = reason
        self.wake.set()

    def suspect(self) -> None:
        """Something hints the server died (its stderr closed): the watcher confirms it."""
        self.suspected = True
        self.wake.set()

    def explain(self, error: str) -> str:
        """An error, with the server's last stderr line when that says more."""
        new = min(len(self.entry.stderr), self.entry.stderr_count - self._stderr_start)
        lines = list(self.entry.stderr)[len(self.entry.stderr) - new :]
        last = next((line for line in reversed(lines) if line.strip()), "")
        return f"{error} (stderr: {last.strip()})" if last and last not in error else error

    def open_pipe(self) -> _StderrPipe:
        self._closed.clear()
        pipe = _StderrPipe(self, self.entry.name)
        self._pipes.append(pipe)
        return pipe

    def spawned(self, pid: int | None) -> None:
        self.pid = pid
        self.entry.update(pid=pid)

    def pipe_closed(self, pipe: _StderrPipe) -> None:
        # Called on the loop when a stderr pipe reached end of file.
        if pipe in self._pipes:
            self._pipes.remove(pipe)
        if not self._pipes:
            self._closed.set()
        self.suspect()

    async def pipes_closed(self, within: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._closed.wait(), within)


class _StderrPipe:
    """A stdio server's stderr: the child writes one end, a thread reads lines from the other.

    End of file means every process holding the write end has exited, which is how a death is
    noticed at once.
    """

    def __init__(self, run: _Run, name: str) -> None:
        self._run = run
        read_fd, write_fd = os.pipe()
        self.inode = os.fstat(read_fd).st_ino
        self.writer = os.fdopen(write_fd, "w", encoding="utf-8")
        reader = os.fdopen(read_fd, "rb")
        self._thread = threading.Thread(
            target=self._pump, args=(reader,), name=f"mcp-stderr:{name}", daemon=True
        )
        self._thread.start()

    def close_writer(self) -> None:
        """Drop our copy of the write end (the child has its own)."""
        self.writer.close()

    def _pump(self, reader: Any) -> None:
        with reader:
            while raw := reader.readline(_MAX_LINE):  # bounded: a line without end is cut
                self._post(self._run.entry.add_stderr, raw.decode("utf-8", "replace").rstrip())
        self._post(self._run.pipe_closed, self)

    def _post(self, callback: Callable[..., None], *args: Any) -> None:
        with contextlib.suppress(RuntimeError):  # the loop is already closed
            self._run.loop.call_soon_threadsafe(callback, *args)


# -- the agents SDK, imported on first use ----------------------------------------------------


_SDK_MODULES = ("agents.mcp", "mcp.client.stdio")


def _sdk_imported() -> bool:
    return all(name in sys.modules for name in _SDK_MODULES)


def _import_sdk() -> None:
    for name in _SDK_MODULES:
        importlib.import_module(name)


def _build_server(config: ServerConfig) -> MCPServer:
    from agents.mcp import MCPServerSse, MCPServerStreamableHttp

    common: dict[str, Any] = {
        "cache_tools_list": config.cache_tools_list,
        "name": config.name,
        "client_session_timeout_seconds": config.timeout,
    }
    if config.type == "stdio":
        params: dict[str, Any] = {"command": config.command or "", "args": list(config.args)}
        if config.env:
            params["env"] = dict(config.env)
        if config.cwd:
            params["cwd"] = config.cwd
        return _stdio_class()(params, **common)
    http = {"url": config.url or "", "headers": dict(config.headers), "timeout": config.timeout}
    if config.type == "sse":
        return MCPServerSse(http, **common)  # type: ignore[arg-type]
    return MCPServerStreamableHttp(http, **common)  # type: ignore[arg-type]


@functools.cache
def _stdio_class() -> type:
    from agents.mcp import MCPServerStdio
    from mcp.client.stdio import stdio_client

    class WatchedStdioServer(MCPServerStdio):
        """MCPServerStdio whose child writes stderr into a pipe the manager watches."""

        carrier_run: _Run | None = None

        def create_streams(self) -> Any:
            return _watched_stdio(self.params, self.carrier_run, stdio_client)

    return WatchedStdioServer


@contextlib.asynccontextmanager
async def _watched_stdio(params: Any, run: _Run | None, stdio_client: Any) -> Any:
    if run is None:
        async with stdio_client(params) as streams:
            yield streams
        return
    pipe = run.open_pipe()
    try:
        async with stdio_client(params, errlog=pipe.writer) as streams:
            pipe.close_writer()
            run.spawned(_child_with_stderr(pipe.inode))
            yield streams
    finally:
        pipe.close_writer()


# -- processes ----------------------------------------------------------------------------------


def _child_with_stderr(inode: int) -> int | None:
    """The child process whose stderr is the pipe ``inode`` (Linux /proc); None elsewhere."""
    target = f"pipe:[{inode}]"
    try:
        threads = os.listdir("/proc/self/task")
    except OSError:
        return None
    for tid in threads:
        try:
            with open(f"/proc/self/task/{tid}/children", encoding="ascii") as handle:
                pids = handle.read().split()
        except OSError:
            continue
        for pid in pids:
            with contextlib.suppress(OSError):
                if os.readlink(f"/proc/{pid}/fd/2") == target:
                    return int(pid)
    return None


def _is_our_child(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as handle:
            fields = handle.read().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return False
    return len(fields) > 1 and fields[1] == str(os.getpid())


def _kill_group(pid: int | None) -> None:
    """Kill what is left of a stdio server's process group (it leads its own session)."""
    if pid is None or sys.platform == "win32":
        return
    if not _is_our_child(pid) and not _group_exists(pid):
        return
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signal.SIGKILL)


def _group_exists(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except (ProcessLookupError, PermissionError):
        return False
    return True


async def _answers_ping(server: MCPServer, within: float) -> bool:
    session = getattr(server, "session", None)
    if session is None:
        return False
    try:
        async with asyncio.timeout(within):
            await session.send_ping()
    except Exception:  # noqa: BLE001 - no answer, whatever the reason
        return False
    return True


# -- results ------------------------------------------------------------------------------------


def _tool_info(tool: Any) -> ToolInfo:
    schema = getattr(tool, "input_schema", None) or getattr(tool, "inputSchema", None) or {}
    return ToolInfo(name=tool.name, description=tool.description or "", input_schema=dict(schema))


def _tool_result(result: Any) -> ToolResult:
    content = tuple(getattr(result, "content", None) or ())
    parts = tuple(part.model_dump(mode="json", exclude_none=True) for part in content)
    text = "\n".join(part.text for part in content if getattr(part, "type", "") == "text")
    structured = getattr(result, "structured_content", None)
    is_error = bool(getattr(result, "is_error", False))
    return ToolResult(is_error=is_error, text=text, content=parts, structured=structured)


def _describe(exc: BaseException) -> str:
    """The most useful line of an error (the first leaf of an exception group)."""
    while isinstance(exc, BaseExceptionGroup) and exc.exceptions:
        exc = exc.exceptions[0]
    if isinstance(exc, TimeoutError):
        return "timed out"
    text = str(exc).strip()
    return text or type(exc).__name__
