"""``carrier-studio``: paint the window first, then build and start the session under qasync.

Only what the first paint needs is imported before it; asyncio and the services (pydantic, apsw,
keyring) are imported after the window has painted, and the SDKs later still, when used.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import time
from typing import TYPE_CHECKING

from carrier_studio.core.errors import CarrierError
from carrier_studio.core.status import StatusBoard
from carrier_studio.core.window_state import peek_window_state
from carrier_studio.services.platform.paths import AppPaths

if TYPE_CHECKING:
    from pathlib import Path

    from PySide6.QtWidgets import QApplication

    from carrier_studio.app.single_window import WindowGuard
    from carrier_studio.ui.main_window import MainWindow
    from carrier_studio.ui.theme import ThemeManager

#: Imports that cost seconds of CPU (see the README's start-up figures): never before first paint.
HEAVY_MODULES = ("agents", "openai", "anthropic", "mcp", "discord", "supabase")


def run_gui(args: argparse.Namespace) -> int:
    """Paint first, import later: the window shows before pydantic, keyring, qasync or apsw.
    A workspace that already has a window gets that window brought forward instead."""
    from PySide6.QtWidgets import QApplication

    from carrier_studio.app.single_window import HandedOver, claim_or_hand_over
    from carrier_studio.session import new_status_board

    app_paths = AppPaths.for_user()
    qapp = QApplication.instance() or QApplication(sys.argv)
    qapp.setApplicationName("Carrier Studio")
    qapp.setDesktopFileName("carrier-studio")
    qapp.setQuitOnLastWindowClosed(False)
    status = new_status_board()
    workspace_root = app_paths.choose_workspace(args.workspace)
    guard = claim_or_hand_over(app_paths.window_locks_dir, workspace_root)
    if isinstance(guard, HandedOver):
        # Another window has this workspace: it was asked to come forward (or does not answer).
        print(guard.message, file=sys.stderr, flush=True)
        return 0 if guard.answered else 1
    try:
        return _paint_and_run(args, qapp, app_paths, status, workspace_root, guard)
    finally:
        guard.close()


def _paint_and_run(
    args: argparse.Namespace,
    qapp: QApplication,
    app_paths: AppPaths,
    status: StatusBoard,
    workspace_root: Path,
    guard: WindowGuard,
) -> int:
    from PySide6.QtCore import QElapsedTimer, QEventLoop

    from carrier_studio.app.window import create_window

    theme, window = create_window(
        qapp, status, str(workspace_root), peek_window_state(app_paths.settings_file)
    )
    guard.set_window(window)
    exit_after_paint = getattr(args, "exit_after_first_paint", False)
    if exit_after_paint:
        window.first_painted.connect(_report_first_paint)
    window.show()
    clock = QElapsedTimer()
    clock.start()
    while not window.painted and clock.elapsed() < 2000:
        qapp.processEvents(QEventLoop.ProcessEventsFlag.AllEvents, 50)
    return _run_session(args, qapp, app_paths, status, theme, window, exit_after_paint)


def _run_session(
    args: argparse.Namespace,
    qapp: QApplication,
    app_paths: AppPaths,
    status: StatusBoard,
    theme: ThemeManager,
    window: MainWindow,
    exit_after_paint: bool,
) -> int:
    import asyncio

    import qasync
    from PySide6.QtWidgets import QMessageBox

    from carrier_studio.app.window import Studio
    from carrier_studio.services.platform.logs import Redactor, setup_logging
    from carrier_studio.session import Session
    from carrier_studio.ui.crash import CrashHandler

    redactor = Redactor()
    setup_logging(app_paths.log_file, redactor)
    try:
        session = Session.build(app_paths, args.workspace, redactor=redactor, status=status)
    except CarrierError as exc:
        QMessageBox.critical(window, "Carrier Studio", f"Carrier Studio cannot start: {exc}")
        return 1
    crash = CrashHandler(redactor)

    async def main() -> int:
        loop = asyncio.get_running_loop()
        crash.install(loop)
        # The measuring mode (bench, tests) leaves the first-run guide out: its server probe
        # would count as the first page's load.
        studio = Studio(
            session,
            qapp,
            theme=theme,
            window=window,
            offer_first_run=not exit_after_paint,
            freeze_heap=True,
        )
        if os.name == "posix":
            loop.add_signal_handler(signal.SIGTERM, studio.request_close)
        await studio.start()
        if exit_after_paint:
            await _report_useful(window)
            studio.request_close()
        await studio.wait_closed()
        await studio.shutdown()
        crash.uninstall()
        return 0

    return qasync.run(main())


async def _report_useful(window: MainWindow) -> None:
    """Printed for bench/startup.py when the first page has what a person came for: its first
    load finished (the Characters page lists the characters), not merely painted."""
    key = window.current_page_key()
    page = window.page(key)
    tasks = getattr(page, "tasks", None)
    if tasks is not None:
        await tasks.wait_idle()
    model = getattr(getattr(page, "list", None), "model", lambda: None)()
    rows = model.rowCount() if model is not None else -1
    heavy = [name for name in (*HEAVY_MODULES, "numpy", "onnxruntime") if name in sys.modules]
    print(
        f"useful {time.time():.6f} page={key} rows={rows} imported={','.join(heavy) or 'none'}",
        flush=True,
    )
    if tasks is not None and model is not None and rows > 1:
        # A person's first click: open the second item, as soon as the list shows (while the
        # SDK warm-up starts in its thread), until the page has finished opening it.
        started = time.perf_counter()
        page.list.setCurrentIndex(model.index(1, 0))
        await tasks.wait_idle()
        took = (time.perf_counter() - started) * 1000
        print(f"answered {time.time():.6f} ms={took:.1f}", flush=True)


def _report_first_paint() -> None:
    # Printed for bench/startup.py, with what had been imported by then.
    watched = HEAVY_MODULES + ("pydantic", "keyring", "qasync", "numpy")
    early = [name for name in watched if name in sys.modules]
    print(f"first-paint {time.time():.6f} imported={','.join(early) or 'none'}", flush=True)
