"""A bar for one long job at a time: what it does, how far it is, and a Cancel button.

The job is an owned task (`TaskOwner`); the bar shows while it runs, its triggers are disabled
meanwhile, and Cancel cancels the task. Jobs report progress with ``report(done, total)``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine, Iterable
from typing import Any

from PySide6.QtWidgets import QHBoxLayout, QLabel, QProgressBar, QPushButton, QWidget

from carrier_studio.core import messages
from carrier_studio.ui.tasks import TaskOwner


class JobBar(QWidget):
    def __init__(self, tasks: TaskOwner, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.tasks = tasks
        self.task: asyncio.Task[Any] | None = None
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        self.label = QLabel()
        self.progress = QProgressBar()
        self.progress.setMaximumWidth(320)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.clicked.connect(self.cancel)
        layout.addWidget(self.label)
        layout.addWidget(self.progress)
        layout.addWidget(self.cancel_button)
        layout.addStretch(1)
        self.hide()

    @property
    def running(self) -> bool:
        return self.task is not None

    def start(
        self,
        name: str,
        coro: Coroutine[Any, Any, Any],
        *,
        busy: Iterable[QWidget] = (),
        ended: Callable[[], None] | None = None,
    ) -> bool:
        """Run ``coro`` as the job ``name``; False (and ``coro`` closed) if one is running.
        ``ended`` is called however the job ends."""
        if self.task is not None:
            coro.close()
            messages.warning(f"{self.label.text()} is still running; wait for it or cancel it.")
            return False
        self.label.setText(name)
        self.progress.setRange(0, 0)  # busy until the first report
        self.show()
        self.task = self.tasks.start(name, self._run(name, coro, ended), busy=busy)
        return self.task is not None

    async def _run(
        self, name: str, coro: Coroutine[Any, Any, Any], ended: Callable[[], None] | None
    ) -> None:
        try:
            await coro
        except asyncio.CancelledError:
            messages.info(f"{name}: cancelled; what the finished steps did is kept.")
            raise
        finally:
            self.task = None
            self.hide()
            if ended is not None:
                ended()

    def report(self, done: int, total: int) -> None:
        top = max(total, 1)
        self.progress.setRange(0, top)
        self.progress.setValue(min(done, top))
        self.progress.setFormat(f"{done:,} of {total:,}")

    def cancel(self) -> None:
        if self.task is not None:
            self.task.cancel()
