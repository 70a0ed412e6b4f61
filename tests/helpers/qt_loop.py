"""The qasync loop the tests drive, with its last pass of Qt events inside the running loop."""

from __future__ import annotations

import asyncio

import qasync
import shiboken6
from PySide6.QtCore import QEventLoop as QtEventLoop
from PySide6.QtWidgets import QApplication


class TestLoop(qasync.QEventLoop):
    """qasync's loop whose ``run_until_complete`` keeps asyncio's running loop set to the end.

    qasync (0.27) stops the Qt loop, clears the running loop, then processes the Qt events left
    once more. A task step or callback that fires in that last pass runs with no running loop,
    so ``asyncio.to_thread`` or ``get_running_loop`` inside it raises "no running event loop" and
    the task dies: seen in CI, where the Instagram page's refresh died that way and the queued
    post never showed. The app itself runs one ``run_until_complete`` for its whole life
    (``qasync.run``), so only tests, which call it hundreds of times, meet this.
    """

    __test__ = False  # not a pytest class despite the name

    def run_until_complete(self, future):
        if self.is_running():
            raise RuntimeError("Event loop already running")
        future = asyncio.ensure_future(future, loop=self)

        def stop(_future) -> None:
            self.stop()

        future.add_done_callback(stop)
        try:
            self.run_forever()
        finally:
            future.remove_done_callback(stop)
        # qasync's last pass over the events left, but as part of this loop's run.
        asyncio.events._set_running_loop(self)
        try:
            QApplication.instance().eventDispatcher().processEvents(
                QtEventLoop.ProcessEventsFlag.AllEvents
            )
        finally:
            asyncio.events._set_running_loop(None)
        if not future.done():
            raise RuntimeError("Event loop stopped before Future completed.")
        return future.result()

    def close(self) -> None:
        super().close()
        # qasync's close only flags its timer object as stopped: the Qt timers of callbacks
        # still scheduled stay registered until they fire. Left to the garbage collector, the
        # object may be destroyed on another thread (a later test's worker or server thread),
        # where Qt cannot unregister its timers, and the next pass over Qt events (pytest-qt's,
        # after each test) fires a timer at the freed object: a segmentation fault, seen with
        # the chat page's tests followed by the chat runtime's. Destroyed here, on the thread
        # that owns it, its timers go with it.
        shiboken6.delete(self._timer)
