"""Owned async tasks for the UI: one per long action, cancellable, never forgotten.

A page starts work with `TaskOwner.start`; the trigger widgets are disabled while it runs (a
busy guard against double clicks), failures are reported in one place, and `cancel_all` on close
ends whatever is still running before services shut down.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine, Iterable
from typing import Any

from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import QWidget

from carrier_studio.core import messages
from carrier_studio.core.errors import CarrierError

log = logging.getLogger(__name__)


class TaskOwner(QObject):
    #: Emitted with the task name when a task ends, however it ended.
    finished = Signal(str)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._tasks: dict[str, asyncio.Task[Any]] = {}

    def running(self, name: str) -> bool:
        return name in self._tasks

    def start(
        self,
        name: str,
        coro: Coroutine[Any, Any, Any],
        *,
        busy: Iterable[QWidget] = (),
        failure: str = "could not finish",
    ) -> asyncio.Task[Any] | None:
        """Run ``coro`` as the task ``name``; returns None (and closes it) if already running."""
        if name in self._tasks:
            coro.close()
            return None
        widgets = list(busy)
        for widget in widgets:
            widget.setEnabled(False)
        task = asyncio.get_event_loop().create_task(coro, name=name)
        self._tasks[name] = task
        task.add_done_callback(lambda t: self._on_task_done(name, t, widgets, failure))
        return task

    def _on_task_done(
        self, name: str, task: asyncio.Task[Any], widgets: list[QWidget], failure: str
    ) -> None:
        self._tasks.pop(name, None)
        for widget in widgets:
            try:
                widget.setEnabled(True)
            except RuntimeError:  # the widget was deleted while the task ran
                pass
        if not task.cancelled() and (exc := task.exception()) is not None:
            if isinstance(exc, CarrierError):
                messages.error(f"{name} {failure}: {exc}")
            else:
                log.error("task %s failed", name, exc_info=exc)
                messages.error(f"{name} {failure}: {type(exc).__name__}: {exc}")
        self.finished.emit(name)

    async def wait_idle(self) -> None:
        """Wait until no task is running (tests, and shutdown after a last save)."""
        while self._tasks:
            await asyncio.wait(list(self._tasks.values()))

    async def cancel_all(self, grace: float = 5.0) -> None:
        """Cancel every running task and wait up to ``grace`` seconds for them to end."""
        tasks = list(self._tasks.values())
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.wait(tasks, timeout=grace)
