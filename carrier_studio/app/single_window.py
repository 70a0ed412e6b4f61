"""One window per workspace (#16): a second `carrier-studio` on a workspace that already has a
window brings that window forward and exits, instead of opening a second writer.

The first window takes the workspace's lock (services/platform/window_claim.py) and listens on
a local socket named after the workspace, as qutebrowser's ipc does (QLocalServer; a named pipe on
Windows). A second start finds the lock held, connects, sends ``raise <pid>`` and waits for the
first to answer with its pid. If nobody answers, it says which process holds the workspace. The
lock, not the socket, decides who is first, so two starts at the same moment cannot both win and
a socket file left by a crash is simply replaced.
"""

from __future__ import annotations

import logging
import os
import time
from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import QObject, Qt, QThread, Signal
from PySide6.QtNetwork import QLocalServer, QLocalSocket
from PySide6.QtWidgets import QWidget

from carrier_studio.services.platform.window_claim import (
    JobRunningError,
    WindowClaim,
    claim_window,
    socket_name,
)

log = logging.getLogger(__name__)

#: How long a second start waits for the first window to answer (it may be busy starting up:
#: its session is built before its event loop runs freely).
ANSWER_WAIT_S = 20.0
#: How long to keep trying to connect: the first may hold the lock a moment before it listens.
CONNECT_WAIT_S = 3.0


class WindowGuard(QObject):
    """The first window's side: holds the lock, listens, brings the window forward on request."""

    #: A second start asked for the window (its pid).
    raise_requested = Signal(int)

    def __init__(self, claim: WindowClaim, name: str) -> None:
        super().__init__()
        self._claim = claim
        self._window: QWidget | None = None
        self.server = QLocalServer(self)
        # Only this user may connect (the socket file's mode on Unix).
        self.server.setSocketOptions(QLocalServer.SocketOption.UserAccessOption)
        QLocalServer.removeServer(name)  # a crashed window's socket file; the lock is ours
        if not self.server.listen(name):
            log.warning("cannot listen for a second start: %s", self.server.errorString())
        self.server.newConnection.connect(self._on_server_new_connection)

    def set_window(self, window: QWidget) -> None:
        self._window = window

    def close(self) -> None:
        self.server.close()
        self._claim.release()

    def _on_server_new_connection(self) -> None:
        while (socket := self.server.nextPendingConnection()) is not None:
            socket.readyRead.connect(lambda s=socket: self._on_socket_ready_read(s))
            socket.disconnected.connect(socket.deleteLater)

    def _on_socket_ready_read(self, socket: QLocalSocket) -> None:
        if not socket.canReadLine():
            return
        line = bytes(socket.readLine().data()).decode("ascii", "replace").split()
        if line[:1] != ["raise"]:
            socket.disconnectFromServer()
            return
        pid = int(line[1]) if len(line) > 1 and line[1].isdigit() else 0
        self._bring_forward()
        log.info("a second start on this workspace (process %s): brought the window forward", pid)
        socket.write(f"{os.getpid()}\n".encode("ascii"))
        socket.flush()
        socket.disconnectFromServer()
        self.raise_requested.emit(pid)

    def _bring_forward(self) -> None:
        window = self._window
        if window is None:
            return  # still starting: it is about to show anyway
        state = window.windowState() & ~Qt.WindowState.WindowMinimized
        window.setWindowState(state | Qt.WindowState.WindowActive)
        window.show()
        window.raise_()
        window.activateWindow()


def _ask_first(name: str) -> int | None:
    """Ask the workspace's window to come forward; its pid, or None when it did not answer."""
    socket = QLocalSocket()
    deadline = time.monotonic() + CONNECT_WAIT_S
    while True:
        socket.connectToServer(name)
        if socket.waitForConnected(500):
            break
        if time.monotonic() > deadline:
            return None
        QThread.msleep(50)  # it holds the lock and is about to listen
    socket.write(f"raise {os.getpid()}\n".encode("ascii"))
    socket.waitForBytesWritten(1000)
    answer = b""
    deadline = time.monotonic() + ANSWER_WAIT_S
    while b"\n" not in answer and time.monotonic() < deadline:
        if socket.waitForReadyRead(200):
            answer += bytes(socket.readAll().data())
        elif socket.state() is QLocalSocket.LocalSocketState.UnconnectedState:
            break
    socket.abort()
    text = answer.decode("ascii", "replace").strip()
    return int(text) if text.isdigit() else None


@dataclass(frozen=True)
class HandedOver:
    """Another window has the workspace: what to tell the user, and whether it answered."""

    message: str
    answered: bool


def claim_or_hand_over(locks_dir: Path, workspace_root: Path) -> WindowGuard | HandedOver:
    """This process's guard when it is the workspace's first window; otherwise what the user
    should read (the other window was asked to come forward), and this start should end."""
    name = socket_name(workspace_root)
    try:
        claim = claim_window(locks_dir, workspace_root)
    except JobRunningError as held:
        pid = _ask_first(name)
        if pid is not None:
            return HandedOver(
                f"Carrier Studio already has {workspace_root} open (process {pid}); "
                "its window was brought forward.",
                answered=True,
            )
        who = f"process {held.pid}" if held.pid else "another process"
        return HandedOver(
            f"Carrier Studio already has {workspace_root} open ({who}), but it does not answer. "
            f"Close that window (or end {who}) and start again.",
            answered=False,
        )
    return WindowGuard(claim, name)
