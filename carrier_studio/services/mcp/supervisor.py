"""One MCP server's supervision: its state, its connections and the task that restarts it.

Each started server has one supervisor task that connects it, waits, and cleans it up: the MCP
SDK's anyio cancel scopes require connect and cleanup in the same task. The supervisor notices
a death promptly (a stdio server's stderr pipe reaching end of file, confirmed by a ping; a
periodic ping for every transport), restarts the server with exponential back-off, and gives up
after `BackoffPolicy.max_failures` failures in a row. The same SDK object is reconnected, so an
agent that holds it gets its tools back.
"""

# Long: a server's entry (state, stderr, its MCP log and list changes) and the supervisor
# task that owns its connection's whole lifecycle share one module; the transports and the
# studio's client answers already live apart.

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from carrier_studio.core.errors import with_hint
from carrier_studio.core.mcp import (
    BackoffPolicy,
    Lookup,
    McpConfigError,
    ServerConfig,
    ServerState,
    ServerStatus,
    ToolInfo,
    resolve,
)
from carrier_studio.core.mcp.requests import ServerLog
from carrier_studio.core.mcp.stderr import telling_line
from carrier_studio.core.redaction import Redactor
from carrier_studio.services.mcp.client import ClientSide
from carrier_studio.services.mcp.transports import (
    StderrPipe,
    build_server,
    describe,
    import_sdk,
    kill_group,
    sdk_imported,
    start_error,
    tool_info,
)
from carrier_studio.services.platform.secrets import mcp_secret_values, worth_redacting

if TYPE_CHECKING:
    from agents.mcp import MCPServer


log = logging.getLogger(__name__)

#: Seconds a server gets to clean up (the SDK's stdio shutdown is bounded at about 6.5 s).
CLEANUP_TIMEOUT = 10.0
#: Seconds to wait for a ping when the stderr pipe closed, before calling the server dead.
CONFIRM_TIMEOUT = 2.0


def _entry_problem(exc: McpConfigError) -> str:
    """What is wrong with one server's entry, said without the catalogue's path: the MCP
    table's Last error column showed only "/home/…/workspace/mcp_servers.json (…", cut off
    before "GITHUB_PERSONAL_ACCESS_TOKEN is not set"."""
    text = exc.message
    if exc.where and exc.where not in text:
        text = f"{exc.where}: {text}"
    return with_hint(text, exc.hint)


class ServerEntry:
    """One configured server: its settings, its state and, while active, its supervisor."""

    def __init__(
        self, name: str, stderr_lines: int, on_change: Callable[[ServerEntry], None]
    ) -> None:
        self._on_change = on_change
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
        #: The log messages the server sent over MCP (``notifications/message``), redacted;
        #: each also joins ``stderr`` as ``[level] text`` so the server's log shows it.
        self.logs: deque[ServerLog] = deque(maxlen=stderr_lines)
        #: Bumped when the server says its tools, resources or prompts changed (by kind).
        self.list_versions: dict[str, int] = {"tools": 0, "resources": 0, "prompts": 0}
        self._relisting: asyncio.Task[None] | None = None
        #: Cleans stderr lines and errors before they are kept: both reach the MCP page, the
        #: status bar and the log, and a server may print its own key. The supervisor hands
        #: every entry it starts the workspace's redactor; until then shapes are redacted.
        self.redactor = Redactor()
        self.server: MCPServer | None = None
        self._server_config: ServerConfig | None = None
        self.task: asyncio.Task[None] | None = None
        self.run: ServerRun | None = None
        self.stop_requested = asyncio.Event()
        self.idle = asyncio.Event()
        self.idle.set()
        self.gave_up = False
        self.had_problem = False
        self.sequence = 0
        self.stderr_count = 0
        #: Liveness intervals the server has been through while running (tests wait on it).
        self.liveness_checks = 0
        #: Set after each liveness interval (tests wait on it instead of sleeping).
        self.liveness_checked = asyncio.Event()
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
        if changes.get("error"):
            changes["error"] = self.redactor.redact(changes["error"])
        for key, value in changes.items():
            setattr(self, key, value)
        if self.state is ServerState.STARTING:
            self.idle.clear()
        else:
            self.idle.set()
        self._on_change(self)

    def add_stderr(self, line: str) -> None:
        self.stderr.append(self.redactor.redact(line))
        self.stderr_count += 1
        if not self._stderr_pending:  # one notification per burst of lines
            self._stderr_pending = True
            asyncio.get_running_loop().call_soon(self._flush_stderr)

    def _flush_stderr(self) -> None:
        self._stderr_pending = False
        self._on_change(self)

    def add_log(self, level: str, text: str, logger: str = "") -> str:
        """A log message the server sent over MCP: kept redacted, and shown in its log as
        ``[level] text``. Returns the redacted text."""
        text = self.redactor.redact(text)
        self.logs.append(ServerLog(self.name, level, text, logger))
        self.add_stderr(f"[{level}] {text}")
        return text

    def list_changed(self, kind: str) -> None:
        """The server's tools, resources or prompts changed: the SDK's tools cache is dropped
        and the tools listed again (the status then shows them)."""
        self.list_versions[kind] = self.list_versions.get(kind, 0) + 1
        if kind != "tools" or self.server is None:
            return  # resources and prompts: the manager's ListChanged is the news
        self.server.invalidate_tools_cache()
        if self._relisting is None or self._relisting.done():
            self._relisting = asyncio.get_running_loop().create_task(self._relist(self.server))

    async def _relist(self, server: MCPServer) -> None:
        try:
            tools = await server.list_tools()
        except Exception as exc:  # noqa: BLE001 - the next start lists them again
            log.info("MCP server %s: listing its changed tools failed: %s", self.name, exc)
            return
        listed = tuple(tool_info(t) for t in tools)
        # Only a real change is told: some servers say "changed" at every start.
        if server is self.server and self.state is ServerState.RUNNING and listed != self.tools:
            self.tools = listed
            self._on_change(self)

    def server_for(self, config: ServerConfig, run: ServerRun, side: ClientSide) -> MCPServer:
        """The SDK object for ``config``: the same one across restarts (agents keep it)."""
        if self.server is None or self._server_config != config:
            self.server = build_server(config)
            self._server_config = config
        else:
            self.server.invalidate_tools_cache()
        self.server.carrier_run = run  # type: ignore[attr-defined]
        self.server.carrier_side = side  # type: ignore[attr-defined]
        return self.server


@dataclass
class Supervision:
    """The settings the supervisor works by, as a value the manager owns and may change."""

    #: The catalogue file, named in errors and used to resolve relative paths.
    path: Path
    backoff: BackoffPolicy
    #: Seconds between liveness checks of a running server.
    ping_interval: float
    #: The workspace's redactor (the session sets it); each started server's settings join it.
    redactor: Redactor = field(default_factory=Redactor)
    #: What the studio's MCP client does for servers' requests and notifications.
    client: ClientSide = field(default_factory=ClientSide)


class ServerRun:
    """One connection of one server: why it should end, and its process and stderr pipe."""

    def __init__(self, loop: asyncio.AbstractEventLoop, entry: ServerEntry) -> None:
        self.loop = loop
        self.entry = entry
        self.wake = asyncio.Event()
        self.reason: str | None = None
        self.suspected = False
        self.pid: int | None = None
        self.deadline: asyncio.Timeout | None = None
        self._stderr_start = entry.stderr_count
        self._pipes: list[StderrPipe] = []
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
        """An error, with the most telling line this run wrote to stderr when that says more."""
        new = min(len(self.entry.stderr), self.entry.stderr_count - self._stderr_start)
        lines = list(self.entry.stderr)[len(self.entry.stderr) - new :]
        line = telling_line(lines)
        return f"{error} (stderr: {line})" if line and line not in error else error

    def open_pipe(self) -> StderrPipe:
        self._closed.clear()
        pipe = StderrPipe(self, self.entry.name)
        self._pipes.append(pipe)
        return pipe

    def spawned(self, pid: int | None) -> None:
        self.pid = pid
        self.entry.update(pid=pid)

    def pipe_closed(self, pipe: StderrPipe) -> None:
        # Called on the loop when a stderr pipe reached end of file.
        if pipe in self._pipes:
            self._pipes.remove(pipe)
        if not self._pipes:
            self._closed.set()
        self.suspect()

    async def pipes_closed(self, within: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._closed.wait(), within)


class Supervisor:
    """Starts, watches, restarts and stops the manager's servers, each in a task of its own.

    Args:
        supervision: The ``path``, ``backoff`` and ``ping_interval`` that apply (read at each
            use: the manager owns the value and may change it).
        lookup: Fills ``${VAR}`` in a server's settings before each start. It may block.
    """

    def __init__(self, supervision: Supervision, lookup: Lookup) -> None:
        self._supervision = supervision
        self._lookup = lookup
        self._sequence = 0

    def _filling(self, name: str) -> str | None:
        """The lookup, telling the redactor each secret it fills in (wherever it lands: env,
        args, a URL), since the server or the SDK may quote it back."""
        value = self._lookup(name)
        if value and worth_redacting(name, value):
            self._supervision.redactor.add(value)
        return value

    def spawn(self, entry: ServerEntry) -> None:
        self._sequence += 1
        entry.sequence = self._sequence
        entry.redactor = self._supervision.redactor
        entry.stop_requested = asyncio.Event()
        entry.gave_up = False
        entry.restarts = 0
        entry.update(state=ServerState.STARTING, error="", retry_in=None)
        entry.task = asyncio.create_task(self._supervise(entry), name=f"mcp-server:{entry.name}")
        entry.task.add_done_callback(functools.partial(self._supervisor_done, entry))

    def _supervisor_done(self, entry: ServerEntry, task: asyncio.Task[None]) -> None:
        if task.cancelled() or task.exception() is None:
            return
        error = task.exception()
        log.error("the supervisor of MCP server %s failed", entry.name, exc_info=error)
        entry.update(state=ServerState.FAILED, error=f"internal error: {describe(error)}")

    async def stop(self, entry: ServerEntry, within: float = CLEANUP_TIMEOUT + 2) -> None:
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
        kill_group(pid)
        done, _ = await asyncio.wait({task}, timeout=3.0)
        if not done:
            task.cancel()
            done, _ = await asyncio.wait({task}, timeout=2.0)
        if not done:
            log.error("MCP server %s could not be stopped", entry.name)

    # -- one server's supervisor task ----------------------------------------------------------

    async def _supervise(self, entry: ServerEntry) -> None:
        """Connect, watch, clean up and restart one server; the only task that touches its
        connection's lifecycle."""
        loop = asyncio.get_running_loop()
        failures = 0
        ever_ran = False
        try:
            if not sdk_imported():
                # The agents SDK costs seconds of CPU to import: not on the event loop.
                await asyncio.to_thread(import_sdk)
            while not entry.stop_requested.is_set():
                entry.update(state=ServerState.STARTING, retry_in=None)
                assert entry.config is not None
                try:
                    config = await asyncio.to_thread(
                        resolve, entry.config, self._filling, path=self._supervision.path
                    )
                except McpConfigError as exc:
                    entry.update(state=ServerState.FAILED, error=_entry_problem(exc))
                    return
                except Exception as exc:  # noqa: BLE001 - a failing lookup (keyring) is shown
                    entry.update(state=ServerState.FAILED, error=f"variables: {describe(exc)}")
                    return
                # The child may echo its env or headers in stderr or an error: before it runs,
                # the redactor learns the values as filled (literal ones in the file included).
                self._supervision.redactor.add_all(mcp_secret_values(config))
                started = loop.time()
                ran, reason = await self._run_once(entry, config)
                if entry.stop_requested.is_set():
                    break
                backoff = self._supervision.backoff
                if ran:
                    ever_ran = True
                    stable = loop.time() - started >= backoff.stable_after
                    failures = 1 if stable else failures + 1
                else:
                    failures += 1
                    if not ever_ran:  # it never started: retrying will not help
                        entry.update(state=ServerState.FAILED, error=reason)
                        return
                if failures >= backoff.max_failures:
                    entry.gave_up = True
                    entry.update(
                        state=ServerState.FAILED,
                        error=f"{reason} (gave up after {failures} failures in a row; "
                        "start it again when it is fixed)",
                    )
                    return
                delay = backoff.delay(failures)
                entry.update(state=ServerState.FAILED, error=reason, retry_in=delay)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(entry.stop_requested.wait(), delay)
                entry.restarts += 1
        finally:
            if entry.stop_requested.is_set() or entry.state is not ServerState.FAILED:
                entry.update(state=ServerState.STOPPED, error="", retry_in=None)

    async def _run_once(self, entry: ServerEntry, config: ServerConfig) -> tuple[bool, str]:
        """One connection: (True, why it ended) after it ran, (False, the error) if it never
        got going. Cleans up before returning, whatever happened."""
        run = ServerRun(asyncio.get_running_loop(), entry)
        entry.run = run
        server = entry.server_for(config, run, self._supervision.client)
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
                    tools=tuple(tool_info(t) for t in tools),
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
            return False, run.explain(start_error(failure, config))
        return True, run.reason or "the server stopped"

    async def _watch(self, server: MCPServer, run: ServerRun, entry: ServerEntry) -> None:
        """Wait until the server dies or a stop is asked for."""
        while not entry.stop_requested.is_set() and run.reason is None:
            await run.wake.wait()
            run.wake.clear()
            if run.suspected and run.reason is None and not entry.stop_requested.is_set():
                run.suspected = False
                # Without ping (protocol 2026-07-28 on), the stderr pipe's end of file is the
                # transport's own word that every process holding it has exited.
                if not _has_ping(server) or not await _answers_ping(server, CONFIRM_TIMEOUT):
                    run.died("the server process exited")

    async def _ping(self, server: MCPServer, run: ServerRun, request_timeout: float) -> None:
        """Check the link every ``ping_interval``: a ping where the negotiated protocol has
        one; otherwise only that the session is still open (process exit and stream close are
        noticed by the transport itself: the stderr pipe and the SDK's streams)."""
        misses = 0
        pings = _has_ping(server)
        entry = run.entry
        while run.reason is None:
            await asyncio.sleep(self._supervision.ping_interval)
            entry.liveness_checks += 1
            entry.liveness_checked.set()
            session = getattr(server, "session", None)
            if session is None:
                run.died("the connection was closed")
                return
            if not pings:
                continue
            try:
                async with asyncio.timeout(min(request_timeout, 10.0)):
                    await session.send_ping()
                misses = 0
            except TimeoutError:
                misses += 1
                if misses >= 2:
                    run.died("the server stopped answering (two pings timed out)")
            except Exception as exc:  # noqa: BLE001 - any failed ping means the link is gone
                if _is_error_reply(exc):
                    misses = 0  # it answered "Method not found": the link is alive
                    continue
                run.died(f"the connection was lost: {describe(exc)}")

    async def _cleanup(self, server: MCPServer, run: ServerRun) -> None:
        try:
            async with asyncio.timeout(CLEANUP_TIMEOUT):
                await server.cleanup()
        except Exception as exc:  # noqa: BLE001 - cleanup goes on to the kill regardless
            log.warning("cleaning up MCP server %s failed: %s", server.name, describe(exc))
        finally:
            # The SDK closes stdin and kills the leader if it lingers; helpers it started in
            # the same process group (npx -> node) go too.
            kill_group(run.pid)
        await run.pipes_closed(within=2.0)


#: The first protocol version without ``ping`` (it was removed from the 2026-07-28 protocol;
#: servers built on it answer "Method not found").
PROTOCOL_WITHOUT_PING = "2026-07-28"


def _has_ping(server: MCPServer) -> bool:
    """Whether the protocol version the server negotiated has ``ping`` (versions are dates,
    so they compare as strings; an unknown version is treated as having it)."""
    session = getattr(server, "session", None)
    version = getattr(session, "protocol_version", None)
    return not (isinstance(version, str) and version >= PROTOCOL_WITHOUT_PING)


#: JSON-RPC's "Method not found": the answer of a server whose protocol has no ``ping``.
METHOD_NOT_FOUND = -32601


def _is_error_reply(exc: BaseException) -> bool:
    """The server answered the ping with "Method not found": it is alive, it just has no ping.
    (The SDK reports a closed connection as an error too, with another code.)"""
    error = getattr(exc, "error", None)
    return getattr(error, "code", None) == METHOD_NOT_FOUND


async def _answers_ping(server: MCPServer, within: float) -> bool:
    session = getattr(server, "session", None)
    if session is None:
        return False
    try:
        async with asyncio.timeout(within):
            await session.send_ping()
    except Exception as exc:  # noqa: BLE001 - no answer, whatever the reason
        return _is_error_reply(exc)
    return True
