"""The agents SDK's MCP server objects, and what is special about stdio servers.

`build_server` makes the SDK object for a server's settings; the agents SDK is imported on first
use (it costs seconds of CPU). A stdio server's child writes its stderr into a pipe that a
thread reads (`StderrPipe`): end of file means the server died, noticed at once. Its process
is found through Linux's /proc (`child_with_stderr`) and its process group killed when it
lingers (`kill_group`); on Linux it is started so that it dies with the studio, even a studio
killed by SIGKILL (`dies_with_studio`). The SDK's answers become the core's values here too
(`tool_info`, `tool_result`, `describe` for its errors, and `start_error` for why a server did
not start).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import os
import shutil
import signal
import sys
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol

from carrier_studio.core.mcp import ServerConfig, ToolInfo, ToolResult
from carrier_studio.core.sdk_import import import_modules
from carrier_studio.services.mcp.oauth import connection_auth

if TYPE_CHECKING:
    from agents.mcp import MCPServer

log = logging.getLogger(__name__)


class ServerRun(Protocol):
    """What a transport tells the connection it serves (`supervisor.ServerRun` is one): a
    Protocol, so transports need not import the supervisor that imports them."""

    loop: asyncio.AbstractEventLoop
    #: The server's entry; transports call its ``add_stderr(line)``.
    entry: Any

    def open_pipe(self) -> StderrPipe: ...

    def pipe_closed(self, pipe: StderrPipe) -> None: ...

    def spawned(self, pid: int | None) -> None: ...


#: Bytes of one stderr line that are kept (the rest of a longer line comes as further lines).
_MAX_LINE = 8192


class StderrPipe:
    """A stdio server's stderr: the child writes one end, a thread reads lines from the other.

    End of file means every process holding the write end has exited, which is how a death is
    noticed at once.
    """

    def __init__(self, run: ServerRun, name: str) -> None:
        self._run = run
        read_fd, write_fd = os.pipe()
        self.inode = os.fstat(read_fd).st_ino
        self.writer = os.fdopen(write_fd, "w", encoding="utf-8")
        reader = os.fdopen(read_fd, "rb")
        self._thread = threading.Thread(
            target=self._pump, args=(reader,), name=f"mcp-stderr:{name}", daemon=True
        )
        self._start_lock = threading.Lock()

    def start(self) -> None:
        """Start the reader thread (once). The spawner does, off the loop: starting a thread
        waits until it runs, milliseconds on a busy machine (#21)."""
        with self._start_lock:
            if self._thread.ident is None:
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
        loop = self._run.loop
        # A closed loop must not be touched at all: qasync's wakes its Qt objects, which may
        # already be deleted (a late stderr line after shutdown crashed the process).
        if loop.is_closed():
            return
        with contextlib.suppress(RuntimeError):  # closed between the check and the call
            loop.call_soon_threadsafe(callback, *args)


# -- the agents SDK, imported on first use ----------------------------------------------------


_SDK_MODULES = ("agents.mcp", "mcp.client.stdio")


#: Set once `import_sdk` has run to its end. `spawn` is imported with the SDK, not with this
#: module: it needs anyio (20 ms). A flag, not a look in sys.modules: the loop asks while a
#: worker may be half-way through the import.
_ready = False


def sdk_imported() -> bool:
    """Whether the SDK is imported and the spawner thread runs (both are done off the loop)."""
    return _ready and all(name in sys.modules for name in _SDK_MODULES)


def import_sdk() -> None:
    """Import the SDK and start the thread stdio servers are spawned on (`spawn`): call it in
    a worker thread, both take long enough to stall the loop."""
    global _ready
    import_modules(*_SDK_MODULES)  # not beside another thread's SDK import
    from carrier_studio.services.mcp import spawn

    spawn.start_spawner()
    _ready = True


def build_server(config: ServerConfig) -> MCPServer:
    """The SDK object for ``config``, of a class that connects through the studio's own MCP
    client (`client.studio_class`: its name, capabilities, callbacks and retry loop)."""
    from agents.mcp import MCPServerSse, MCPServerStreamableHttp

    from carrier_studio.services.mcp.client import studio_class

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
        return studio_class(_stdio_class())(params, **common)
    http = {"url": config.url or "", "headers": dict(config.headers), "timeout": config.timeout}
    if (auth := connection_auth(config)) is not None:  # an OAuth sign-in (`oauth`)
        http["auth"] = auth
    if config.type == "sse":
        return studio_class(MCPServerSse)(http, **common)
    return studio_class(MCPServerStreamableHttp)(http, **common)


@functools.cache
def _stdio_class() -> type:
    import mcp.client.stdio
    from agents.mcp import MCPServerStdio
    from mcp.client.stdio import stdio_client

    from carrier_studio.services.mcp import spawn

    spawn.install(mcp.client.stdio)

    class WatchedStdioServer(MCPServerStdio):
        """MCPServerStdio whose child writes stderr into a pipe the manager watches."""

        carrier_run: ServerRun | None = None

        def create_streams(self) -> Any:
            return _watched_stdio(self.params, self.carrier_run, stdio_client)

    return WatchedStdioServer


@contextlib.asynccontextmanager
async def _watched_stdio(params: Any, run: ServerRun | None, stdio_client: Any) -> Any:
    from carrier_studio.services.mcp import spawn

    params = dies_with_studio(params)
    if run is None:
        async with stdio_client(params) as streams:
            yield streams
        return
    pipe = run.open_pipe()
    # The SDK's spawn of this server happens on the spawner thread, which starts the pipe's
    # reader too (`spawn`): the loop waits for neither.
    token = spawn.spawning.set(pipe)
    try:
        async with stdio_client(params, errlog=pipe.writer) as streams:
            spawn.spawning.reset(token)
            token = None
            pipe.start()  # already started, unless the SDK spawned it (Windows)
            pipe.close_writer()
            run.spawned(child_with_stderr(pipe.inode))
            yield streams
    finally:
        if token is not None:
            spawn.spawning.reset(token)
        pipe.start()  # the spawn failed before the spawner got to it: its end is still read
        pipe.close_writer()


# -- processes ----------------------------------------------------------------------------------

#: Run by the studio's own interpreter in front of a stdio server (Linux): ask the kernel to
#: SIGKILL this process when its parent dies (prctl PR_SET_PDEATHSIG = 1), give up if the parent
#: is already gone (argv[1] is its pid), then become the server with execvp, which keeps the
#: setting. argv[2:] is the server's command line.
_PDEATHSIG_SHIM = """\
import ctypes, os, sys
ctypes.CDLL(None).prctl(1, 9)
if os.getppid() != int(sys.argv[1]):
    os._exit(1)
try:
    os.execvp(sys.argv[2], sys.argv[2:])
except OSError as exc:
    sys.stderr.write(f"{sys.argv[2]}: {exc.strerror}\\n")
    os._exit(127)
"""


def dies_with_studio(params: Any) -> Any:
    """``params`` (the SDK's StdioServerParameters) with the command wrapped so that the
    server is killed when the studio dies, even by SIGKILL, on Linux; unchanged elsewhere.

    The SDK already starts the server in its own session and process group
    (``start_new_session``), so a stop (the SDK's, or `kill_group`) kills the whole group,
    npx's node children included; this covers the studio's own death, where nobody is left to
    stop it and a server that ignores SIGTERM and stdin's end would run on forever (#20).

    The SDK spawns through anyio, which takes no ``preexec_fn``, so a shim run by this very
    interpreter (``-I -S``: no site, no PYTHON* variables; ~45 ms a start, measured) sets
    PR_SET_PDEATHSIG=SIGKILL and execs the server: same pid, same process group, same pipes.
    The signal is sent to the direct child only: a grandchild (node under npx) is not killed
    by it, though it loses its stdin, which most servers take as the end.

    PR_SET_PDEATHSIG fires when the *thread* that forked the child ends, not the process. The
    servers are spawned on the spawner thread (`spawn`), which runs as long as the studio, so
    they stay up until the studio dies. Spawning from `asyncio.to_thread` or another worker
    thread would kill the server when that thread ends: don't.

    Elsewhere: Windows needs nothing, the SDK puts the server in a Job Object with
    KILL_ON_JOB_CLOSE, which the kernel closes when the studio dies. macOS has no parent-death
    signal; it would need a watcher process (kqueue EVFILT_PROC NOTE_EXIT on the studio's pid)
    that kills the group. A frozen app has no ``python -c``: ``setpriv --pdeathsig KILL``
    (util-linux) does the same when it is installed; without it the server is not wrapped.
    """
    if not sys.platform.startswith("linux"):
        return params
    command = params.command
    env = {**os.environ, **(params.env or {})}
    if not _findable(command, env.get("PATH"), params.cwd):
        return params  # spawning fails as before, with the SDK's own error
    if not getattr(sys, "frozen", False):
        prefix = [sys.executable, "-I", "-S", "-c", _PDEATHSIG_SHIM, str(os.getpid())]
    elif setpriv := shutil.which("setpriv"):
        prefix = [setpriv, "--pdeathsig", "KILL", "--"]
    else:
        return params
    return params.model_copy(
        update={"command": prefix[0], "args": [*prefix[1:], command, *params.args]}
    )


def _findable(command: str, path: str | None, cwd: Any) -> bool:
    """Whether execvp would find ``command`` (a name on PATH, or a path from ``cwd``)."""
    if os.sep in command:
        target = os.path.join(str(cwd or os.getcwd()), command)
        return os.path.isfile(target) and os.access(target, os.X_OK)
    return shutil.which(command, path=path) is not None


def child_with_stderr(inode: int) -> int | None:
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


def kill_group(pid: int | None) -> None:
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


# -- the SDK's answers --------------------------------------------------------------------------


def tool_info(tool: Any) -> ToolInfo:
    schema = getattr(tool, "input_schema", None) or getattr(tool, "inputSchema", None) or {}
    return ToolInfo(name=tool.name, description=tool.description or "", input_schema=dict(schema))


def tool_result(result: Any) -> ToolResult:
    content = tuple(getattr(result, "content", None) or ())
    parts = tuple(part.model_dump(mode="json", exclude_none=True) for part in content)
    text = "\n".join(part.text for part in content if getattr(part, "type", "") == "text")
    structured = getattr(result, "structured_content", None)
    is_error = bool(getattr(result, "is_error", False))
    return ToolResult(is_error=is_error, text=text, content=parts, structured=structured)


def describe(exc: BaseException) -> str:
    """The most useful line of an error (the first leaf of an exception group)."""
    while isinstance(exc, BaseExceptionGroup) and exc.exceptions:
        exc = exc.exceptions[0]
    if isinstance(exc, TimeoutError):
        return "timed out"
    text = str(exc).strip()
    return text or type(exc).__name__


def start_error(failure: BaseException, config: ServerConfig) -> str:
    """Why a server did not start, in words: a missing program or folder is named as such,
    not as "[Errno 2] No such file or directory: 'xyz'" (#15)."""
    leaf = failure
    while isinstance(leaf, BaseExceptionGroup) and leaf.exceptions:
        leaf = leaf.exceptions[0]
    if config.command and isinstance(leaf, (FileNotFoundError, NotADirectoryError)):
        if config.cwd and leaf.filename is not None and str(leaf.filename) == config.cwd:
            return (
                f"the folder {config.cwd} does not exist: create it, or check the server's "
                "working folder (cwd)"
            )
        return (
            f"the program {config.command} was not found on this computer: install it, or "
            "check the server's command"
        )
    if config.command and isinstance(leaf, PermissionError):
        return (
            f"the program {config.command} could not be run (permission denied): check the "
            "server's command, and that the file is a program you may run"
        )
    return describe(failure)
