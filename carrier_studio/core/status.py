"""Live status of the background services, one slot each, shown in the status bar.

Services report into a `StatusBoard`; the UI listens. Plain Python so headless mode can log the
same states the window shows.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from carrier_studio.core.events import Emitter


class State(enum.Enum):
    STOPPED = "stopped"
    STARTING = "starting"
    RUNNING = "running"
    ERROR = "error"


@dataclass(frozen=True)
class ServiceStatus:
    key: str
    title: str
    state: State
    detail: str = ""


class StatusBoard:
    """The current status of every background service, in a fixed order."""

    def __init__(self) -> None:
        self._slots: dict[str, ServiceStatus] = {}
        #: Emits each slot's new status.
        self.changed: Emitter[ServiceStatus] = Emitter("status board")

    def add(self, key: str, title: str, state: State = State.STOPPED, detail: str = "") -> None:
        self._slots[key] = ServiceStatus(key, title, state, detail)

    def set(self, key: str, state: State, detail: str = "") -> None:
        current = self._slots[key]
        status = ServiceStatus(key, current.title, state, detail)
        if status == current:
            return
        self._slots[key] = status
        self.changed.emit(status)

    def get(self, key: str) -> ServiceStatus:
        return self._slots[key]

    def all(self) -> list[ServiceStatus]:
        return list(self._slots.values())
