"""Stdio MCP servers are started on a thread of their own, not on the event loop (#21).

The MCP SDK's ``stdio_client`` spawns through ``anyio.open_process`` on the loop's thread:
``fork``/``exec`` waits there until the child has exec'd, and asyncio then starts a thread to
wait for the child's exit, waiting in turn until that thread runs. On 2 busy cores the two
took 8 ms at the median and up to 36 ms (bench/mcp.py: the loop's longest stall while three
servers start was 24–68 ms), during which the window cannot paint.

Here the spawn happens on the *spawner*: one thread that runs spawn jobs for as long as the
studio lives. That lifetime matters: PR_SET_PDEATHSIG (`transports.dies_with_studio`) fires
when the thread that forked the server ends, so servers must not be forked by short-lived
workers. The spawner also starts the server's stderr reader and a thread that waits for the
server's exit; the loop only connects the pipes (non-blocking, no waiting).

The SDK's spawn is replaced for the stdio servers the studio starts, and for them only:
`transports` passes the server's `StderrPipe` in `spawning`, and `install` puts
`spawn_process` where the SDK looks for its spawn function. Everything else of the SDK's
transport (its reader and writer tasks, its shutdown: close stdin, wait, SIGTERM the group,
SIGKILL) runs unchanged on the `SpawnedProcess` returned, an ``anyio.abc.Process``.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import contextvars
import logging
import os
import queue
import signal
import subprocess
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol, TextIO

import anyio
import anyio.abc
import anyio.lowlevel

log = logging.getLogger(__name__)


class StartablePipe(Protocol):
    """A stderr pipe whose reader thread the spawner starts (`transports.StderrPipe`)."""

    writer: TextIO

    def start(self) -> None: ...


#: False: the studio's servers are spawned by the SDK on the loop, as before #21 (bench/mcp.py
#: measures both in one run).
off_loop = True

#: The stderr pipe of the stdio server being started in this task, if the studio started it;
#: the SDK's spawn is replaced only then (and only for the spawn whose errlog is its writer).
spawning: contextvars.ContextVar[StartablePipe | None] = contextvars.ContextVar(
    "carrier_mcp_spawning", default=None
)


# -- the spawner thread -----------------------------------------------------------------------


class _Spawner:
    """One thread that runs jobs until the process ends (it never ends before)."""

    def __init__(self) -> None:
        self._jobs: queue.SimpleQueue[tuple[Callable[[], Any], concurrent.futures.Future]] = (
            queue.SimpleQueue()
        )
        self.thread = threading.Thread(target=self._work, name="mcp-spawner", daemon=True)
        self.thread.start()

    def submit(self, job: Callable[[], Any]) -> concurrent.futures.Future:
        future: concurrent.futures.Future = concurrent.futures.Future()
        self._jobs.put((job, future))
        return future

    def _work(self) -> None:
        while True:
            job, future = self._jobs.get()
            if not future.set_running_or_notify_cancel():
                continue
            try:
                result = job()
            except BaseException as exc:  # noqa: BLE001 - handed to the waiting task
                future.set_exception(exc)
            else:
                future.set_result(result)


_spawner: _Spawner | None = None
_spawner_lock = threading.Lock()


def start_spawner() -> None:
    """Start the spawner thread if it is not running. Starting a thread waits until it runs
    (milliseconds on a busy machine): call this off the loop (the supervisor does, in the
    worker thread that imports the SDK)."""
    global _spawner
    with _spawner_lock:
        if _spawner is None:
            _spawner = _Spawner()


def spawner_started() -> bool:
    return _spawner is not None


def _submit(job: Callable[[], Any]) -> concurrent.futures.Future:
    if _spawner is None:
        start_spawner()  # one stall, once per studio, when nobody started it earlier
    assert _spawner is not None
    return _spawner.submit(job)


# -- the process, as the SDK's transport uses it -------------------------------------------


class _Receive(anyio.abc.ByteReceiveStream):
    """The server's stdout: what anyio's asyncio backend gives the SDK, on a read pipe."""

    def __init__(self, reader: asyncio.StreamReader, transport: asyncio.BaseTransport) -> None:
        self._reader = reader
        self._transport = transport

    async def receive(self, max_bytes: int = 65536) -> bytes:
        data = await self._reader.read(max_bytes)
        if not data:
            raise anyio.EndOfStream
        return data

    async def aclose(self) -> None:
        # A pending receive fails with this, as with anyio's own stream: the SDK's shutdown
        # relies on it to stop its reader.
        self._reader.set_exception(anyio.ClosedResourceError())
        self._transport.close()
        await anyio.lowlevel.checkpoint()


class _Send(anyio.abc.ByteSendStream):
    """The server's stdin, on a write pipe with flow control (``drain``)."""

    def __init__(self, writer: asyncio.StreamWriter) -> None:
        self._writer = writer
        self._closed = False

    async def send(self, item: bytes) -> None:
        if self._closed:
            raise anyio.ClosedResourceError
        try:
            self._writer.write(item)
            await self._writer.drain()
        except (ConnectionResetError, BrokenPipeError, RuntimeError) as exc:
            if self._closed:
                raise anyio.ClosedResourceError from exc
            raise anyio.BrokenResourceError from exc

    async def aclose(self) -> None:
        self._closed = True
        self._writer.close()
        await anyio.lowlevel.checkpoint()


class SpawnedProcess(anyio.abc.Process):
    """A server process started on the spawner, with its pipes on the loop."""

    def __init__(self, popen: subprocess.Popen[bytes], stdin: _Send, stdout: _Receive) -> None:
        self._popen = popen
        self._stdin = stdin
        self._stdout = stdout
        self._returncode: int | None = None
        self._exited = asyncio.Event()

    def exited(self, returncode: int) -> None:
        """Called on the loop by the thread that waited for the process."""
        self._returncode = returncode
        self._exited.set()

    async def wait(self) -> int:
        await self._exited.wait()
        assert self._returncode is not None
        return self._returncode

    def send_signal(self, sig: signal.Signals) -> None:
        if self._returncode is None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self._popen.pid, sig)

    def terminate(self) -> None:
        self.send_signal(signal.SIGTERM)

    def kill(self) -> None:
        self.send_signal(signal.SIGKILL)

    async def aclose(self) -> None:
        with anyio.CancelScope(shield=True):
            await self._stdin.aclose()
            await self._stdout.aclose()
        await self.wait()

    @property
    def pid(self) -> int:
        return self._popen.pid

    @property
    def returncode(self) -> int | None:
        return self._returncode

    @property
    def stdin(self) -> anyio.abc.ByteSendStream:
        return self._stdin

    @property
    def stdout(self) -> anyio.abc.ByteReceiveStream:
        return self._stdout

    @property
    def stderr(self) -> None:
        return None


def _popen(
    argv: list[str], env: dict[str, str] | None, errlog: TextIO, cwd: Path | str | None,
    pipe: StartablePipe,
) -> subprocess.Popen[bytes]:  # fmt: skip
    """On the spawner: start the stderr reader, then the server, as the SDK would (its own
    session, so a stop kills its whole process group)."""
    pipe.start()
    return subprocess.Popen(
        argv,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=errlog,
        env=env,
        cwd=cwd,
        start_new_session=True,
        bufsize=0,
    )


def _watch_exit(popen: subprocess.Popen[bytes], loop: asyncio.AbstractEventLoop) -> Callable:
    """On the spawner: a thread that waits for the exit and tells the process on the loop.
    Returns the setter for the `SpawnedProcess`, which the loop makes later."""
    box: dict[str, SpawnedProcess | None] = {}
    ready = threading.Event()

    def wait() -> None:
        code = popen.wait()
        ready.wait()
        process = box.get("process")
        if process is not None and not loop.is_closed():
            with contextlib.suppress(RuntimeError):  # closed between the check and the call
                loop.call_soon_threadsafe(process.exited, code)

    threading.Thread(target=wait, name=f"mcp-exit:{popen.pid}", daemon=True).start()

    def attach(process: SpawnedProcess | None) -> None:
        """The process the exit is reported to (None: nobody, the spawn was given up)."""
        box["process"] = process
        ready.set()

    return attach


async def _adopt(popen: subprocess.Popen[bytes], attach: Callable) -> SpawnedProcess:
    """Connect the child's pipes to the running loop (non-blocking: no process waits here)."""
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader(loop=loop)
    made: list[asyncio.BaseTransport] = []
    try:
        read_transport, _ = await loop.connect_read_pipe(
            lambda: asyncio.StreamReaderProtocol(reader, loop=loop), popen.stdout
        )
        made.append(read_transport)
        # StreamReaderProtocol is asyncio's public protocol with flow control: drain() works.
        write_transport, write_protocol = await loop.connect_write_pipe(
            lambda: asyncio.StreamReaderProtocol(asyncio.StreamReader(loop=loop), loop=loop),
            popen.stdin,
        )
    except BaseException:
        for transport in made:
            transport.close()
        raise
    writer = asyncio.StreamWriter(write_transport, write_protocol, None, loop)
    process = SpawnedProcess(popen, _Send(writer), _Receive(reader, read_transport))
    attach(process)
    return process


def _discard(popen: subprocess.Popen[bytes]) -> None:
    """A spawn whose caller was cancelled: the server must not live on."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(popen.pid, signal.SIGKILL)
    for stream in (popen.stdin, popen.stdout):
        if stream is not None:
            with contextlib.suppress(OSError):
                stream.close()


async def spawn_process(
    argv: list[str],
    env: dict[str, str] | None,
    errlog: TextIO,
    cwd: Path | str | None,
    pipe: StartablePipe,
) -> SpawnedProcess:
    """Start ``argv`` on the spawner and return it with its pipes on the running loop.

    Errors are the ones ``subprocess.Popen`` raises (a missing program or folder is a
    FileNotFoundError naming it), as with the SDK's own spawn. A cancelled caller leaves no
    process behind: the spawn finishes on its thread and the process is killed.
    """
    loop = asyncio.get_running_loop()

    def job() -> tuple[subprocess.Popen[bytes], Callable]:
        popen = _popen(argv, env, errlog, cwd, pipe)
        return popen, _watch_exit(popen, loop)

    async def spawned() -> SpawnedProcess:
        popen, attach = await asyncio.wrap_future(_submit(job))
        try:
            return await _adopt(popen, attach)
        except BaseException:
            attach(None)
            _discard(popen)
            raise

    task = asyncio.ensure_future(spawned())
    try:
        return await asyncio.shield(task)
    except asyncio.CancelledError:
        task.add_done_callback(_kill_when_done)
        raise


def _kill_when_done(task: asyncio.Future[SpawnedProcess]) -> None:
    if task.cancelled() or task.exception() is not None:
        return
    process = task.result()
    _discard(process._popen)
    process._stdout._transport.close()
    process._stdin._writer.close()


# -- the SDK's spawn, replaced for the studio's servers --------------------------------------


def install(stdio_module: Any) -> None:
    """Put `spawn_process` where ``mcp.client.stdio`` looks for its spawn function, for the
    spawns `spawning` marks (the rest go to the SDK's own). Windows keeps the SDK's own spawn
    (it puts the server in a Job Object). If the SDK no longer has the function, the studio
    says so in the log and keeps the SDK's spawn (on the loop, as before)."""
    if os.name != "posix" or getattr(stdio_module, "_carrier_spawn", False):
        return
    original = getattr(stdio_module, "_create_platform_compatible_process", None)
    if original is None:
        log.warning("the MCP SDK has no _create_platform_compatible_process: stdio servers "
                    "are spawned on the event loop")  # fmt: skip
        return

    async def create(
        command: str,
        args: list[str],
        env: dict[str, str] | None = None,
        errlog: TextIO = sys.stderr,
        cwd: Path | str | None = None,
    ) -> Any:
        pipe = spawning.get()
        if pipe is not None and errlog is pipe.writer:
            if off_loop:
                return await spawn_process([command, *args], env, errlog, cwd, pipe)
            pipe.start()
        return await original(command=command, args=args, env=env, errlog=errlog, cwd=cwd)

    stdio_module._create_platform_compatible_process = create
    stdio_module._carrier_spawn = True
