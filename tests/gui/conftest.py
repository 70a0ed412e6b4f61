from __future__ import annotations

import asyncio
import gc
from collections.abc import Callable, Iterator

import pytest
from PySide6.QtCore import QEvent
from PySide6.QtWidgets import QApplication

from carrier_studio.app.window import Studio
from carrier_studio.session import Session


@pytest.fixture
def make_studio(
    qapp, loop, app_paths, keyring_backend, tmp_path
) -> Iterator[Callable[..., Studio]]:
    """Builds and starts studios on the shared paths; shuts down any still open at the end."""
    opened: list[Studio] = []

    def make(
        workspace: str | None = None,
        backend=keyring_backend,
        start: bool = True,
        first_run: bool = False,
    ) -> Studio:
        """``first_run``: offer the first-run guide as the app does (off: tests of other things
        would meet its window-modal dialog, since their fresh settings name no usable model)."""
        session = Session.build(
            app_paths,
            workspace or str(tmp_path / "workspace"),
            keyring_backend=backend,
            environ={},
        )
        studio = Studio(session, qapp, offer_first_run=first_run)
        studio.qapp_loop = loop  # for helpers that need to run the studio's tasks
        opened.append(studio)
        if start:
            loop.run_until_complete(studio.start())
        return studio

    yield make
    for studio in opened:
        warming = getattr(studio, "_warming", None)
        if warming is not None and not warming.done():
            # The SDK's import runs in a worker thread that no cancel stops: ended with the
            # test's loop, it called back into the closed loop (the first test of a run alone
            # errored at teardown).
            loop.run_until_complete(asyncio.wait([warming]))
        if studio.window.isVisible():
            loop.run_until_complete(studio.shutdown())
        elif not studio.closed:  # never started
            loop.run_until_complete(studio.tasks.cancel_all())
            studio.messages.detach()
            studio.theme.close()
        studio.window.deleteLater()
    # Deferred deletes only run from Qt's own loop: flush them so windows do not pile up
    # across tests (every theme change would restyle all of them).
    QApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete.value)


@pytest.fixture(autouse=True)
def collect_qt_garbage_on_the_gui_thread():
    """Collect cycles holding Qt objects here, not later in whichever worker thread the garbage
    collector happens to run (Qt warns when a QObject with timers dies on another thread)."""
    yield
    gc.collect()
