"""The character's MCP servers in the chat transcript: one line per server, starting, ready or
failed, so a reply that waits for a server (or goes without one) says so where the user looks."""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QPushButton, QVBoxLayout

from carrier_studio.core.mcp import ServerState, ServerStatus
from carrier_studio.core.mcp.status import unavailable_reason

#: A failure's text is cut here in the line (the tooltip and the MCP page have all of it).
ERROR_CHARS = 160


def server_line(name: str, status: ServerStatus | None) -> str:
    """One server's state in words, as the transcript shows it."""
    if status is not None and status.state is ServerState.RUNNING:
        count = len(status.tools)
        return f"✓ {name} ready · {count} tool{'s' if count != 1 else ''}"
    if status is not None and status.state is ServerState.STARTING:
        return f"○ {name} starting…"
    if status is not None and status.state is ServerState.STOPPED and status.enabled:
        return f"– {name} not started"
    why = unavailable_reason(status)
    if len(why) > ERROR_CHARS:
        why = why[: ERROR_CHARS - 1] + "…"
    if status is not None and status.retry_in is not None:
        why += f" (trying again in {status.retry_in:.0f} s)"
    return f"✕ {name} {why} — replies run without its tools"


class ServersCard(QFrame):
    """The MCP servers of the chosen character, updated as each one starts, runs or fails."""

    #: The user does not want the running reply to wait for the servers still starting.
    go_on_requested = Signal()

    def __init__(self, character: str, names: list[str]) -> None:
        super().__init__()
        self.setObjectName("serversCard")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(12, 6, 12, 6)
        layout.setSpacing(2)
        title = QLabel(f"{character}'s tools (MCP servers)")
        title.setProperty("muted", True)
        layout.addWidget(title)
        self.lines: dict[str, QLabel] = {}
        self._states: dict[str, ServerState | None] = {}
        for name in names:
            line = QLabel(server_line(name, None))
            line.setObjectName("serverLine")
            line.setWordWrap(True)
            layout.addWidget(line)
            self.lines[name] = line
            self._states[name] = None
        row = QHBoxLayout()
        row.addStretch(1)
        self.go_on_button = QPushButton("Go on without the servers still starting")
        self.go_on_button.setObjectName("goOnWithoutServers")
        self.go_on_button.clicked.connect(self.go_on_requested)
        self.go_on_button.hide()
        row.addWidget(self.go_on_button)
        layout.addLayout(row)
        self._waiting = False

    @property
    def starting(self) -> list[str]:
        return [n for n, s in self._states.items() if s is ServerState.STARTING]

    def show_status(self, name: str, status: ServerStatus | None) -> None:
        line = self.lines.get(name)
        if line is None:
            return
        self._states[name] = status.state if status is not None else None
        line.setText(server_line(name, status))
        line.setToolTip(status.error if status is not None else "")
        self._update_button()

    def set_waiting(self, waiting: bool) -> None:
        """A reply is running (and may be waiting for the servers still starting)."""
        self._waiting = waiting
        self._update_button()

    def _update_button(self) -> None:
        self.go_on_button.setVisible(self._waiting and bool(self.starting))
