"""One background service in the status bar: a coloured dot, its name, and a tooltip."""

from __future__ import annotations

from PySide6.QtWidgets import QLabel, QWidget

from carrier_studio.core.status import ServiceStatus, State

_COLOR_KEY = {
    State.RUNNING: "ok",
    State.STARTING: "warn",
    State.ERROR: "error",
    State.STOPPED: "idle",
}


class StatusSlot(QLabel):
    def __init__(
        self, status: ServiceStatus, colors: dict[str, str], parent: QWidget | None = None
    ):
        super().__init__(parent)
        self.setObjectName("statusSlot")
        self.setProperty("serviceKey", status.key)
        self._colors = colors
        self.status = status
        self.show_status(status)

    def set_colors(self, colors: dict[str, str]) -> None:
        self._colors = colors
        self.show_status(self.status)

    def show_status(self, status: ServiceStatus) -> None:
        self.status = status
        color = self._colors[_COLOR_KEY[status.state]]
        self.setText(f"<span style='color:{color}'>●</span> {status.title}")
        detail = f" — {status.detail}" if status.detail else ""
        self.setToolTip(f"{status.title}: {status.state.value}{detail}")
        self.setAccessibleName(f"{status.title} {status.state.value}")
