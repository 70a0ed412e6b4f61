"""Composition root: builds the services, hands them to the UI, shuts everything down in order.

This is the only module that wires layers together. Qt is imported inside the GUI functions, so
``carrier-studio doctor`` (and headless mode later) never load it.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import signal
import sys
import time
from collections.abc import Mapping
from typing import TYPE_CHECKING

from keyring.backend import KeyringBackend

from carrier_studio.core import messages
from carrier_studio.core.errors import CarrierError
from carrier_studio.core.status import State, StatusBoard
from carrier_studio.services import doctor
from carrier_studio.services.context import StudioContext
from carrier_studio.services.db import Database
from carrier_studio.services.logs import Redactor, setup_logging
from carrier_studio.services.paths import AppPaths
from carrier_studio.services.secrets import SecretStore
from carrier_studio.services.settings_store import SettingsStore
from carrier_studio.services.workspace import open_workspace

if TYPE_CHECKING:
    from PySide6.QtWidgets import QApplication

    from carrier_studio.ui.main_window import MainWindow, PageEntry
    from carrier_studio.ui.tasks import TaskOwner
    from carrier_studio.ui.theme import ThemeManager

log = logging.getLogger(__name__)

#: Imports that cost seconds of CPU (see the README's start-up figures): never before first paint.
HEAVY_MODULES = ("agents", "openai", "anthropic", "mcp", "discord", "supabase")

#: Background services with a slot in the status bar, and the issue that builds each one.
SERVICE_SLOTS = [
    ("database", "Database", None),
    ("memory", "Memory", 6),
    ("mcp", "MCP", 5),
    ("discord", "Discord", 8),
    ("instagram", "Instagram", 7),
]


def build_context(
    app_paths: AppPaths,
    workspace_arg: str | None = None,
    *,
    redactor: Redactor | None = None,
    keyring_backend: KeyringBackend | None = None,
    environ: Mapping[str, str] = os.environ,
) -> StudioContext:
    """Everything a session needs that is not Qt: settings, workspace, secrets, database."""
    redactor = redactor or Redactor()
    settings = SettingsStore.load(app_paths.settings_file)
    workspace = open_workspace(app_paths.choose_workspace(workspace_arg, environ))
    secrets = SecretStore(
        settings.settings.secrets.storage,
        workspace.paths.env_file,
        backend=keyring_backend,
        redactor=redactor,
        environ=environ,
    )
    settings.subscribe(lambda s: setattr(secrets, "storage", s.secrets.storage))
    status = StatusBoard()
    for key, title, issue in SERVICE_SLOTS:
        if issue is None:
            status.add(key, title, State.STOPPED)
        else:
            status.add(key, title, State.NOT_BUILT, f"arrives with issue #{issue}")
    return StudioContext(
        app_paths=app_paths,
        workspace=workspace,
        settings=settings,
        secrets=secrets,
        database=Database(workspace.paths.database),
        status=status,
        redactor=redactor,
    )


def run_doctor(args: argparse.Namespace) -> int:
    try:
        ctx = build_context(AppPaths.for_user(), args.workspace)
    except CarrierError as exc:
        print(f"carrier-studio: {exc}", file=sys.stderr)
        return 1
    for held in messages.bus.held():
        print(f"{held.level.value}: {held.text}", file=sys.stderr)
    print(doctor.format_report(doctor.report(ctx.workspace, ctx.settings, ctx.secrets)), end="")
    return 0


# -- the window ---------------------------------------------------------------------------------

_PLANNED_PAGES = [
    (
        "characters",
        "Characters",
        "characters",
        "Persona files your agents are built from.",
        3,
        [
            "Edit ElizaOS-style character files with a form and a raw JSON tab kept in sync",
            "Validation that names the file, field and problem; lint warnings",
            "Import ElizaOS v0/v1/v2 and Character Card V2; export ElizaOS v1 and Card V2",
            "A live prompt preview, and a builder that drafts a character from a description",
        ],
    ),
    (
        "chat",
        "Chat",
        "chat",
        "Talk to a character to test it.",
        4,
        [
            "OpenAI, Anthropic and OpenAI-compatible local servers through the OpenAI Agents SDK",
            "Streaming replies, tool-call cards, handoffs and inline approvals",
            "Conversations kept in studio.db and resumed after a restart",
        ],
    ),
    (
        "memory",
        "Memory",
        "memory",
        "What your characters remember, and why they recalled it.",
        6,
        [
            "Local SQLite + sqlite-vec memory with an offline embedder; Supabase for teams",
            "Search by meaning and keywords, with filters; see recall scores per reply",
        ],
    ),
    (
        "mcp",
        "MCP Servers",
        "mcp",
        "Tool servers your characters may use.",
        5,
        [
            "Turn servers on and off live; see health, tools and the server log",
            "Restart crashed servers with backoff; choose which tools each character may use",
        ],
    ),
    (
        "instagram",
        "Instagram",
        "instagram",
        "A queue of posts published on schedule.",
        7,
        [
            "Drop images and videos; pre-flight checks for format, size and aspect",
            "Upload over FTP, publish through the Graph API within the live quota, never twice",
        ],
    ),
    (
        "discord",
        "Discord",
        "discord",
        "A bot that answers as one of your characters.",
        8,
        [
            "Runs in the background on the studio's event loop; mentions only by default",
            "Live status, channel allowlist and recent activity",
        ],
    ),
    (
        "teams",
        "Teams",
        "teams",
        "Several characters working together.",
        9,
        [
            "Members, who talks to whom, channels; import a HAAS agents.yaml",
            "A live graph of messages, a turn budget and a loop guard; a tool maker",
        ],
    ),
]


def build_pages(ctx: StudioContext, theme: ThemeManager, tasks: TaskOwner) -> list[PageEntry]:
    from carrier_studio.ui.main_window import PageEntry
    from carrier_studio.ui.pages.planned import PlannedPage
    from carrier_studio.ui.pages.settings import SettingsPage

    pages = [
        PageEntry(key, title, icon, PlannedPage(title, subtitle, issue, plans))
        for key, title, icon, subtitle, issue, plans in _PLANNED_PAGES
    ]
    settings_page = SettingsPage(ctx.settings, ctx.secrets, theme, tasks)
    pages.append(PageEntry("settings", "Settings", "settings", settings_page))
    return pages


class Studio:
    """One running studio window: built from a context, started, then shut down in order."""

    def __init__(self, ctx: StudioContext, qapp: QApplication) -> None:
        from carrier_studio.ui.main_window import MainWindow
        from carrier_studio.ui.messages import MessageBridge
        from carrier_studio.ui.tasks import TaskOwner
        from carrier_studio.ui.theme import ThemeManager

        self.ctx = ctx
        self.qapp = qapp
        self.theme = ThemeManager(qapp, ctx.settings.settings.ui.theme)
        self.tasks = TaskOwner()
        self.window: MainWindow = MainWindow(
            build_pages(ctx, self.theme, self.tasks),
            ctx.status,
            self.theme,
            str(ctx.workspace.root),
        )
        self.messages = MessageBridge(messages.bus, self.window.statusBar(), self.window)
        self.window.restore_ui_state(ctx.settings.settings.ui)
        self._close_requested = asyncio.Event()
        self.window.close_requested.connect(self._close_requested.set)

    def request_close(self) -> None:
        self._close_requested.set()

    async def start(self) -> None:
        self.window.show()
        if self.ctx.workspace.seeded:
            messages.info(
                f"Created a new workspace with example characters in {self.ctx.workspace.root}"
            )
        await self._open_database()

    async def _open_database(self) -> None:
        status = self.ctx.status
        status.set("database", State.STARTING, "opening studio.db")
        try:
            opened = await self.ctx.database.open()
        except CarrierError as exc:
            status.set("database", State.ERROR, str(exc))
            messages.error(f"The workspace database could not be opened: {exc}")
            return
        status.set(
            "database",
            State.RUNNING,
            f"studio.db schema {opened.schema_version}, SQLite {opened.sqlite_version}, "
            f"sqlite-vec {opened.vec_version}",
        )
        if opened.recovered_from is not None:
            messages.warning(
                "The workspace database was damaged and could not be read. Carrier Studio "
                f"started a new one; the damaged file is kept as {opened.recovered_from.name}.",
                details=f"Backup: {opened.recovered_from}",
            )

    async def wait_closed(self) -> None:
        await self._close_requested.wait()

    async def shutdown(self) -> None:
        """Stop everything in reverse order of start, then close the window for real."""
        ui = self.window.ui_state(self.ctx.settings.settings.ui)
        settings = self.ctx.settings.settings.model_copy(update={"ui": ui})
        try:
            await self.ctx.settings.save_async(settings)
        except OSError as exc:
            log.warning("could not save window state: %s", exc)
        await self.tasks.cancel_all()
        await self.ctx.database.close()
        self.ctx.status.set("database", State.STOPPED)
        self.messages.detach()
        self.window.allow_close()
        self.window.close()


def run_gui(args: argparse.Namespace) -> int:
    import qasync
    from PySide6.QtWidgets import QApplication, QMessageBox

    from carrier_studio.ui.crash import CrashHandler

    app_paths = AppPaths.for_user()
    redactor = Redactor()
    setup_logging(app_paths.log_file, redactor)
    qapp = QApplication.instance() or QApplication(sys.argv)
    qapp.setApplicationName("Carrier Studio")
    qapp.setDesktopFileName("carrier-studio")
    qapp.setQuitOnLastWindowClosed(False)
    try:
        ctx = build_context(app_paths, args.workspace, redactor=redactor)
    except CarrierError as exc:
        QMessageBox.critical(None, "Carrier Studio", f"Carrier Studio cannot start: {exc}")
        return 1
    crash = CrashHandler(redactor)
    exit_after_paint = getattr(args, "exit_after_first_paint", False)

    async def main() -> int:
        loop = asyncio.get_running_loop()
        crash.install(loop)
        studio = Studio(ctx, qapp)
        if exit_after_paint:
            studio.window.first_painted.connect(lambda: _report_first_paint(studio))
        if hasattr(signal, "SIGTERM") and os.name == "posix":
            loop.add_signal_handler(signal.SIGTERM, studio.request_close)
        await studio.start()
        await studio.wait_closed()
        await studio.shutdown()
        crash.uninstall()
        return 0

    return qasync.run(main())


def _report_first_paint(studio: Studio) -> None:
    heavy = sorted(name for name in HEAVY_MODULES if name in sys.modules)
    print(f"first-paint {time.time():.6f} heavy={','.join(heavy) or 'none'}", flush=True)
    studio.request_close()
