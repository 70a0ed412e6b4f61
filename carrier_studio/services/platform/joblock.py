"""One running job of a kind per workspace, across processes: the window, `headless`, the CLI.

A re-embedding (or a move to Supabase) run twice at once — two windows on one workspace, the
window and `headless` both finding the vectors stale at start — does the work twice and races
on the switch. `job_lock` takes an OS file lock (``flock``; ``msvcrt.locking`` on Windows) on
``<locks>/<kind>.lock`` for the job's duration and writes its pid there; a second taker gets
`JobRunningError` at once ("another re-embedding of this workspace is running (pid N)").

The OS releases the lock when its holder's process ends, however it ends (kill -9, a crash, a
power cut): no stale lock to clean up, unlike a pid file checked for liveness. The pid in the
file is only for the message. Locks are per machine: two machines sharing one Supabase
project do not see each other's.
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterator
from pathlib import Path

from carrier_studio.core.errors import CarrierError

#: Windows locks a byte range; this one lies past the pid, which stays readable.
_WINDOWS_LOCK_OFFSET = 1 << 20


class JobRunningError(CarrierError):
    """Another process (or task) holds the workspace's lock for this kind of job."""

    def __init__(self, what: str, pid: int | None, path: Path) -> None:
        who = f" (pid {pid})" if pid else ""
        super().__init__(
            f"another {what} is running{who}",
            hint="Wait for it to finish, or stop it, then try again.",
        )
        self.pid = pid
        self.lock_path = path


def _try_lock(fd: int) -> bool:
    if sys.platform == "win32":
        import msvcrt

        os.lseek(fd, _WINDOWS_LOCK_OFFSET, os.SEEK_SET)
        try:
            msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
        except OSError:
            return False
        return True
    import fcntl

    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    return True


def _unlock(fd: int) -> None:
    if sys.platform == "win32":
        import msvcrt

        os.lseek(fd, _WINDOWS_LOCK_OFFSET, os.SEEK_SET)
        msvcrt.locking(fd, msvcrt.LK_UNLCK, 1)
        return
    import fcntl

    fcntl.flock(fd, fcntl.LOCK_UN)


def _read_pid(fd: int) -> int | None:
    os.lseek(fd, 0, os.SEEK_SET)
    text = os.read(fd, 32).decode("ascii", "replace").strip()
    return int(text) if text.isdigit() else None


@contextlib.contextmanager
def job_lock(folder: Path, kind: str, what: str) -> Iterator[None]:
    """Hold the workspace's lock for ``kind`` (a file name: "reembed") while the block runs.

    ``what`` names the job in the message, "re-embedding of this workspace". Raises
    `JobRunningError` at once when it is held, by another process or by this one (each taker
    opens the file anew, and these locks belong to the open file).
    """
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{kind}.lock"
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        if not _try_lock(fd):
            raise JobRunningError(what, _read_pid(fd), path)
        try:
            os.ftruncate(fd, 0)
            os.lseek(fd, 0, os.SEEK_SET)
            os.write(fd, f"{os.getpid()}\n".encode("ascii"))
            yield
        finally:
            with contextlib.suppress(OSError):
                os.ftruncate(fd, 0)
            _unlock(fd)
    finally:
        os.close(fd)
