"""One message API for the whole process: ``messages.error/warning/info`` from anywhere.

Any layer may tell the user something without knowing about the window. Messages posted before a
listener exists (during start-up, before the window is built) are held and delivered when the
first listener connects, so nothing said early is lost. The Qt side (`ui/messages.py`) is one such
listener; it hops to the GUI thread with a queued signal, so posting from a worker thread is safe.
"""

from __future__ import annotations

import enum
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass

log = logging.getLogger(__name__)


class Level(enum.Enum):
    INFO = "info"
    WARNING = "warning"
    ERROR = "error"


@dataclass(frozen=True)
class Message:
    level: Level
    text: str
    details: str | None = None


Listener = Callable[[Message], None]


class MessageBus:
    """Delivers messages to listeners; holds them while there is none."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._listeners: list[Listener] = []
        self._held: list[Message] = []

    def connect(self, listener: Listener) -> None:
        with self._lock:
            self._listeners.append(listener)
            held, self._held = self._held, []
        for message in held:
            listener(message)

    def disconnect(self, listener: Listener) -> None:
        with self._lock:
            if listener in self._listeners:
                self._listeners.remove(listener)

    def post(self, level: Level, text: str, details: str | None = None) -> None:
        message = Message(level, text, details)
        log.log(
            {Level.INFO: logging.INFO, Level.WARNING: logging.WARNING, Level.ERROR: logging.ERROR}[
                level
            ],
            "%s%s",
            text,
            f"\n{details}" if details else "",
        )
        with self._lock:
            listeners = list(self._listeners)
            if not listeners:
                self._held.append(message)
        for listener in listeners:
            listener(message)

    def held(self) -> list[Message]:
        with self._lock:
            return list(self._held)


#: The process-wide bus. It is the one deliberate global: the point of this API is that any
#: layer can reach the user without being handed an object.
bus = MessageBus()


def error(text: str, details: str | None = None) -> None:
    bus.post(Level.ERROR, text, details)


def warning(text: str, details: str | None = None) -> None:
    bus.post(Level.WARNING, text, details)


def info(text: str, details: str | None = None) -> None:
    bus.post(Level.INFO, text, details)
