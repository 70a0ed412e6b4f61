"""One window per workspace, the part without Qt: the lock that says which process has a
workspace's window, and the name that window listens on for a second start.

The window (app/single_window.py) takes the lock for its whole life. The OS drops it when the
process ends however it ends (`joblock`), so a crash leaves nothing to clean up and the pid in the
file names the holder. `headless` and the CLI commands do not take it: they are separate writers
already kept apart per job by `joblock`.
"""

from __future__ import annotations

import contextlib
import getpass
import hashlib
import os
from pathlib import Path

from carrier_studio.services.platform.joblock import JobRunningError, job_lock

__all__ = [
    "JobRunningError",
    "WindowClaim",
    "claim_window",
    "lock_path",
    "socket_name",
    "window_key",
]


def window_key(workspace_root: Path) -> str:
    """A short, stable key for a workspace folder (the same folder by any path gives one)."""
    resolved = os.path.normcase(str(Path(workspace_root).expanduser().resolve()))
    return hashlib.sha256(resolved.encode("utf-8")).hexdigest()[:20]


def socket_name(workspace_root: Path) -> str:
    """The local socket (a named pipe on Windows) a workspace's window listens on. It names the
    user too: Qt puts a plain name in the shared temp folder, where users must not collide."""
    try:
        user = getpass.getuser()
    except (KeyError, OSError):  # no name for this uid (a container): the uid will do
        user = str(os.getuid()) if hasattr(os, "getuid") else "user"
    safe = "".join(c for c in user if c.isalnum())[:16] or "user"
    return f"carrier-studio-{safe}-{window_key(workspace_root)}"


def lock_path(locks_dir: Path, workspace_root: Path) -> Path:
    return locks_dir / f"window-{window_key(workspace_root)}.lock"


class WindowClaim:
    """This process has the workspace's window; `release` lets go (the process end does too)."""

    def __init__(self, stack: contextlib.ExitStack, path: Path) -> None:
        self._stack = stack
        self.path = path

    def release(self) -> None:
        self._stack.close()


def claim_window(locks_dir: Path, workspace_root: Path) -> WindowClaim:
    """Take the workspace's window lock, kept in ``locks_dir`` (the user's, not the workspace's:
    a folder made there would stop a new workspace from being seeded).

    Raises `JobRunningError` (with the holder's ``pid``) when another window has it.
    """
    path = lock_path(locks_dir, workspace_root)
    stack = contextlib.ExitStack()
    stack.enter_context(
        job_lock(locks_dir, path.stem, f"Carrier Studio window on {workspace_root}")
    )
    return WindowClaim(stack, path)
