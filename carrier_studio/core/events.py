"""One small change mechanism for the whole studio: an `Emitter` per kind of change.

Every object that others watch (the status board, the settings, the MCP manager, the memory
controller, the Discord controller, the Instagram queue, a team run) exposes one `Emitter` per
kind of change as an attribute named for the fact (``changed``, ``activity``, ``progress``) and
nothing else: watchers call ``obj.changed.subscribe(listener)`` and keep the function it returns
to stop listening. A record that says who made the change (`Change.by`) lets a page that made
an edit skip the echo of its own change and refresh only what others changed, as Anki's
``OpChanges`` / ``operation_did_execute`` do.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Generic, TypeVar

log = logging.getLogger(__name__)

T = TypeVar("T")


@dataclass(frozen=True)
class Change:
    """The base of change records: ``by`` is whoever asked for the change (a page, a worker),
    or None when nobody in particular did."""

    by: object | None = None


class Emitter(Generic[T]):
    """Calls its listeners with each value emitted, in the order they subscribed.

    A listener that raises is logged and the others still run: one broken view must not stop
    a service from telling the rest.
    """

    def __init__(self, name: str) -> None:
        self.name = name
        self._listeners: list[Callable[[T], None]] = []

    def subscribe(self, listener: Callable[[T], None]) -> Callable[[], None]:
        """Call ``listener(value)`` on every emit; returns the function that unsubscribes."""
        self._listeners.append(listener)

        def unsubscribe() -> None:
            if listener in self._listeners:
                self._listeners.remove(listener)

        return unsubscribe

    def emit(self, value: T) -> None:
        for listener in list(self._listeners):
            try:
                listener(value)
            except Exception:  # noqa: BLE001 - see the class docstring
                log.exception("a listener of %s failed", self.name)

    def __len__(self) -> int:
        return len(self._listeners)
