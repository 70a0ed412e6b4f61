"""Composition root: builds the services, hands them to the UI, shuts everything down in order.

This is the only module that wires layers together. Qt is imported inside the GUI functions, so
``carrier-studio doctor`` (and headless mode later) never load it.
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from carrier_studio.core import messages
from carrier_studio.core.errors import CarrierError
from carrier_studio.core.status import State, StatusBoard
from carrier_studio.core.window_state import WindowState, peek_window_state
from carrier_studio.services.platform.paths import AppPaths
from carrier_studio.wiring import build_context, new_status_board

# Only what the first paint needs is imported at module level; asyncio and the services
# (pydantic, apsw, keyring) are imported inside functions that run after the window has painted.
if TYPE_CHECKING:
    from PySide6.QtWidgets import QApplication, QWidget

    from carrier_studio.core.characters.document import CharacterDoc
    from carrier_studio.services.context import StudioContext
    from carrier_studio.ui.main_window import MainWindow
    from carrier_studio.ui.theme import ThemeManager

log = logging.getLogger(__name__)

#: Imports that cost seconds of CPU (see the README's start-up figures): never before first paint.
HEAVY_MODULES = ("agents", "openai", "anthropic", "mcp", "discord", "supabase")


def run_doctor(args: argparse.Namespace) -> int:
    from carrier_studio.services.platform import doctor

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

PAGES = [
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
]


PAGES = [
    ("characters", "Characters", "characters"),
    ("chat", "Chat", "chat"),
    ("memory", "Memory", "memory"),
    ("mcp", "MCP Servers", "mcp"),
    *((key, title, icon) for key, title, icon, *_ in PAGES if key == "instagram"),
    ("discord", "Discord", "discord"),
    ("teams", "Teams", "teams"),
    ("settings", "Settings", "settings"),
]


def create_window(
    qapp: QApplication, status: StatusBoard, workspace_root: str, state: WindowState
) -> tuple[ThemeManager, MainWindow]:
    """The themed main window with no page content yet: cheap enough to paint at once."""
    from carrier_studio.ui.main_window import MainWindow, PageSpec
    from carrier_studio.ui.theme import ThemeManager

    theme = ThemeManager(qapp, state.theme)
    window = MainWindow([PageSpec(*spec) for spec in PAGES], status, theme, workspace_root)
    window.restore_window_state(state)
    return theme, window


class Studio:
    """One running studio window: built from a context, started, then shut down in order."""

    def __init__(
        self,
        ctx: StudioContext,
        qapp: QApplication,
        *,
        theme: ThemeManager | None = None,
        window: MainWindow | None = None,
    ) -> None:
        import asyncio

        from carrier_studio.ui.messages import MessageBridge
        from carrier_studio.ui.tasks import TaskOwner

        self.ctx = ctx
        self.qapp = qapp
        ui = ctx.settings.settings.ui
        if theme is None or window is None:
            state = WindowState(ui.theme, ui.geometry, ui.window_state, ui.last_page)
            theme, window = create_window(qapp, ctx.status, str(ctx.workspace.root), state)
        else:
            theme.set_choice(ui.theme)  # the peeked choice may differ from the validated one
        self.theme = theme
        self.window = window
        self.tasks = TaskOwner()
        self.messages = MessageBridge(messages.bus, window.statusBar(), window)
        self._close_requested = asyncio.Event()
        self.closed = False
        self._instagram_syncing: asyncio.Future[None] | None = None
        self._instagram_dirty = False
        from carrier_studio.ui.widgets.ask import Ask

        #: Asks save/discard/cancel for a page with unsaved work (tests replace it).
        self.ask_unsaved = Ask.unsaved_async
        window.close_requested.connect(self._close_requested.set)
        window.page_needed.connect(self._on_window_page_needed)
        self._mcp_unsubscribe = ctx.mcp.subscribe(lambda _status: self._show_mcp_summary())
        self._discord_unsubscribe = ctx.discord.on_status(
            lambda s: ctx.status.set("discord", s.state, s.detail)
        )

    def _on_window_page_needed(self, key: str) -> None:
        from carrier_studio.ui.pages.settings import SettingsPage

        if key == "settings":
            page = SettingsPage(self.ctx.settings, self.ctx.secrets, self.theme, self.tasks)
        elif key == "characters":
            page = self._characters_page()
        elif key == "chat":
            page = self._chat_page()
        elif key == "mcp":
            page = self._mcp_page()
        elif key == "teams":
            page = self._teams_page()
        elif key == "memory":
            page = self._memory_page()
        elif key == "instagram":
            page = self._instagram_page()
        elif key == "discord":
            from carrier_studio.ui.pages.discord import DiscordPage, DiscordPageDeps

            deps = DiscordPageDeps(
                self.ctx.discord, self.ctx.settings, self.ctx.chat, self.theme.colors
            )
            page = DiscordPage(deps, self.tasks)
        else:
            raise KeyError(f"no page is built for {key!r}")
        self.window.set_page_widget(key, page)

    def _characters_page(self) -> QWidget:
        from carrier_studio.services.mcp.catalogue import server_names
        from carrier_studio.ui.pages.characters import CharacterPageDeps, CharactersPage

        ctx = self.ctx

        async def draft(description: str, progress: Callable[[str], None]) -> CharacterDoc:
            from carrier_studio.services.characters.builder import draft_character

            return await self._with_default_model(draft_character, description, progress)

        async def renamed(old: str, new: str) -> None:
            await ctx.chat.conversations.rename_character(old, new)
            settings = ctx.settings.settings
            if settings.discord.character == old:
                discord = settings.discord.model_copy(update={"character": new})
                await ctx.settings.save_async(settings.model_copy(update={"discord": discord}))

        deps = CharacterPageDeps(
            store=ctx.characters,
            secrets=ctx.secrets,
            mcp_servers=lambda: server_names(ctx.workspace.paths.mcp_config),
            endpoints=lambda: [e.name for e in ctx.settings.settings.providers.endpoints],
            draft=draft,
            model_label=self._default_model_label,
            renamed=renamed,
        )
        return CharactersPage(deps, self.tasks)

    async def _with_default_model(
        self, draft: Callable[..., Any], description: str, progress: Callable[[str], None]
    ) -> Any:
        """Run a drafting function (builder, tool maker) on the workspace's default model."""
        import asyncio

        from carrier_studio.services.providers.registry import text_model

        ctx = self.ctx
        providers = ctx.settings.settings.providers
        # Reads a key from the keyring and imports the provider SDK: not on the GUI thread.
        model = await asyncio.to_thread(text_model, providers.default, providers, ctx.secrets)
        try:
            return await draft(description, model, progress)
        finally:
            await model.close()

    def _default_model_label(self) -> str:
        choice = self.ctx.settings.settings.providers.default
        where = f" at {choice.endpoint}" if choice.provider == "openai-compatible" else ""
        return f"{choice.model} ({choice.provider}{where})"

    def _memory_page(self) -> QWidget:
        import asyncio

        from carrier_studio.ui.pages.memory import MemoryPage, MemoryPageDeps

        ctx = self.ctx

        async def characters() -> list[str]:
            entries = await asyncio.to_thread(ctx.characters.list)
            return sorted(e.doc.name for e in entries if e.doc is not None)

        deps = MemoryPageDeps(
            service=ctx.memory.ready,
            characters=characters,
            move_target=ctx.memory.open_supabase,
            can_move=ctx.memory.can_move_to_supabase,
            on_service_changed=ctx.memory.on_change,
            changed=ctx.memory.refresh_status,
            start_reembed=ctx.memory.start_reembed,
            reembedding=lambda: ctx.memory.reembedding,
            on_reembed_progress=ctx.memory.on_reembed_progress,
        )
        return MemoryPage(deps, self.tasks)

    def _instagram_page(self) -> QWidget:
        import asyncio

        from carrier_studio.core.errors import CarrierError
        from carrier_studio.services.instagram import captions as instagram_captions
        from carrier_studio.services.instagram.graph_api import GraphClient
        from carrier_studio.services.providers.registry import choice_for, text_model
        from carrier_studio.ui.pages.instagram import (
            InstagramPage,
            InstagramPageDeps,
            setup_problem,
        )

        ctx = self.ctx
        instagram = ctx.instagram

        async def characters() -> list[str]:
            return sorted(await ctx.chat.characters_by_name())

        async def token() -> str:
            return await asyncio.to_thread(ctx.secrets.get, "INSTAGRAM_ACCESS_TOKEN") or ""

        async def problem() -> str | None:
            return setup_problem(ctx.settings.settings, bool(await token()))

        async def read_quota() -> Any:
            account = ctx.settings.settings.instagram
            async with GraphClient(account.base_url, account.user_id, await token()) as graph:
                return await graph.publishing_limit()

        async def write_caption(request: Any, progress: Callable[[str], None]) -> Any:
            doc = (await ctx.chat.characters_by_name()).get(request.character)
            if doc is None:
                raise CarrierError(f'there is no character named "{request.character}"')
            providers = ctx.settings.settings.providers
            # The character's own model (its voice), else the workspace default.
            model = await asyncio.to_thread(
                text_model, choice_for(doc, providers), providers, ctx.secrets
            )
            try:
                return await instagram_captions.write_caption(
                    doc,
                    model,
                    brief=request.brief,
                    kind=request.kind,
                    files=request.files,
                    progress=progress,
                )
            finally:
                await model.close()

        deps = InstagramPageDeps(
            queue=instagram.queue,
            characters=characters,
            write_caption=write_caption,
            setup_problem=problem,
            colors=self.theme.colors,
            read_quota=read_quota,
            token_warning=lambda: instagram.worker.token_warning,
            open_settings=lambda: self.window.show_page("settings"),
            theme_changed=self.theme.changed,
        )
        return InstagramPage(deps, self.tasks)

    def _open_memory(self, memory_id: str) -> None:
        """Show one memory on the Memory page (a recalled memory linked from the chat)."""
        self.window.show_page("memory")
        page = self.window.page("memory")
        if hasattr(page, "show_memory"):
            page.show_memory(memory_id)

    def _teams_page(self) -> QWidget:
        from carrier_studio.services.mcp.tool_maker import ToolMaker, draft_tool
        from carrier_studio.ui.pages.teams import TeamsPage, TeamsPageDeps

        paths = self.ctx.workspace.paths
        maker = ToolMaker(paths.tools_dir, paths.mcp_config, mcp=self.ctx.mcp)

        async def draft(description: str, progress: Callable[[str], None]) -> Any:
            return await self._with_default_model(draft_tool, description, progress)

        deps = TeamsPageDeps(
            self.ctx.teams,
            self.theme.colors,
            draft,
            maker.save,
            self._default_model_label,
            theme_changed=self.theme.changed,
        )
        return TeamsPage(deps, self.tasks)

    def _chat_page(self) -> QWidget:
        from carrier_studio.core.settings import ModelChoice
        from carrier_studio.ui.pages.chat import ChatPage, ChatPageDeps

        settings = self.ctx.settings

        def model_options() -> list[tuple[str, ModelChoice]]:
            providers = settings.settings.providers
            default = providers.default
            options = [(f"Workspace default ({default.model})", default)]
            for endpoint in providers.endpoints:
                for model in endpoint.models:
                    choice = ModelChoice(
                        provider="openai-compatible", model=model, endpoint=endpoint.name
                    )
                    options.append((f"{model} at {endpoint.name}", choice))
            return options

        deps = ChatPageDeps(
            chat=self.ctx.chat,
            model_options=model_options,
            dark=lambda: self.theme.scheme == "dark",
        )
        page = ChatPage(deps, self.tasks)
        page.open_memory.connect(self._open_memory)
        return page

    def _mcp_page(self) -> QWidget:
        from carrier_studio.ui.pages.mcp import McpPage, McpPageDeps

        store = self.ctx.chat.conversations

        async def set_policy(tool: str, policy: str) -> None:
            # "*" holds the workspace-wide policies; characters' own answers override them.
            await store.remember("*", tool, policy)

        deps = McpPageDeps(
            manager=self.ctx.mcp,
            colors=self.theme.colors,
            theme_changed=self.theme.changed,
            tool_policies=lambda: store.remembered("*"),
            set_tool_policy=set_policy,
        )
        return McpPage(deps, self.tasks)

    def _show_mcp_summary(self) -> None:
        from carrier_studio.core.mcp import ServerState

        statuses = self.ctx.mcp.statuses()
        running = sum(s.state is ServerState.RUNNING for s in statuses)
        starting = sum(s.state is ServerState.STARTING for s in statuses)
        failed = [s.name for s in statuses if s.state is ServerState.FAILED]
        parts = [f"{running} running"] + ([f"{starting} starting"] if starting else [])
        if failed:
            parts.append(f"failed: {', '.join(failed)}")
        state = (
            State.ERROR
            if failed
            else State.RUNNING
            if running
            else (State.STARTING if starting else State.STOPPED)
        )
        self.ctx.status.set("mcp", state, ", ".join(parts))

    def request_close(self) -> None:
        self._close_requested.set()

    async def start(self) -> None:
        self.window.show()
        if self.ctx.workspace.seeded:
            messages.info(
                f"Created a new workspace with example characters in {self.ctx.workspace.root}"
            )
        await self._open_database()
        # Memory opens its own connection to the migrated studio.db, in the background.
        self.ctx.memory.start()
        # The Instagram publisher runs when an account and its FTP host are set (and follows
        # later changes in Settings).
        self._sync_instagram()
        self.ctx.settings.subscribe(self._on_settings_saved)
        # Pages read studio.db: build the visible one only now that it is open.
        self.window.services_ready()
        discord = self.ctx.settings.settings.discord
        if discord.start_at_launch and discord.character:
            # In the background: the window is usable while the bot connects.
            self.tasks.start("Starting the Discord bot", self.ctx.discord.start(discord))

    def _on_settings_saved(self, _settings: object) -> None:
        if not self.closed:
            self._sync_instagram()

    def _sync_instagram(self) -> None:
        """Start or stop the Instagram publisher to match the settings. Changes that arrive
        while a sync runs (stopping takes until the step in progress is saved) are applied
        after it, in order, so the last settings always win."""
        import asyncio

        self._instagram_dirty = True
        if self._instagram_syncing is None or self._instagram_syncing.done():
            self._instagram_syncing = asyncio.ensure_future(self._run_instagram_syncs())

    async def _run_instagram_syncs(self) -> None:
        while self._instagram_dirty:
            self._instagram_dirty = False
            try:
                await self.ctx.instagram.sync()
            except Exception as exc:  # noqa: BLE001 - say it; the next change tries again
                log.exception("the Instagram publisher could not follow the settings")
                messages.error(f"The Instagram publisher could not start or stop: {exc}")

    async def _wait_instagram_syncs(self) -> None:
        import asyncio

        self._instagram_dirty = False
        if self._instagram_syncing is not None:
            await asyncio.gather(self._instagram_syncing, return_exceptions=True)

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
        """Wait until the user closes the window and agrees to what happens to unsaved work."""
        while True:
            await self._close_requested.wait()
            self._close_requested.clear()
            if await self.confirm_close():
                return

    async def confirm_close(self) -> bool:
        """Ask about each page with unsaved changes: save, discard, or stay open."""
        for key in self.window.built_pages():
            page = self.window.page(key)
            if not getattr(page, "dirty", False):
                continue
            self.window.show_page(key)
            label = getattr(page, "unsaved_label", getattr(page, "title", key))
            answer = await self.ask_unsaved(self.window, label)
            if answer == "cancel":
                return False
            if answer == "save" and not await page.save_now():
                return False
        return True

    async def shutdown(self) -> None:
        """Stop everything in reverse order of start, then close the window for real."""
        current = self.ctx.settings.settings
        state = self.window.window_state(current.ui.theme)
        ui = current.ui.model_copy(
            update={
                "geometry": state.geometry,
                "window_state": state.window_state,
                "last_page": state.last_page,
            }
        )
        try:
            await self.ctx.settings.save_async(current.model_copy(update={"ui": ui}))
        except OSError as exc:
            log.warning("could not save window state: %s", exc)
        # Each step runs even if one before it failed: a page's error must not leave MCP
        # processes behind or the database open.
        steps = [
            page.shutdown
            for key in self.window.built_pages()
            if hasattr(page := self.window.page(key), "shutdown")
        ]
        steps += [
            self.tasks.cancel_all,
            self.ctx.discord.stop,
            self.ctx.chat.drain,  # the last turns' memories are written before memory closes
            self.ctx.memory.close,
            self._wait_instagram_syncs,
            self.ctx.instagram.close,  # the step in progress saves into studio.db first
            self.ctx.mcp.shutdown,
            self.ctx.database.close,
        ]
        self._discord_unsubscribe()
        self._mcp_unsubscribe()
        for step in steps:
            try:
                await step()
            except Exception:  # noqa: BLE001 - log and go on with the next step
                log.exception("shutdown step %s failed", getattr(step, "__qualname__", step))
        self.ctx.status.set("database", State.STOPPED)
        self.messages.detach()
        self.theme.close()
        self.window.allow_close()
        self.window.close()
        self.closed = True


def run_gui(args: argparse.Namespace) -> int:
    """Paint first, import later: the window shows before pydantic, keyring, qasync or apsw."""
    from PySide6.QtCore import QElapsedTimer, QEventLoop
    from PySide6.QtWidgets import QApplication

    app_paths = AppPaths.for_user()
    qapp = QApplication.instance() or QApplication(sys.argv)
    qapp.setApplicationName("Carrier Studio")
    qapp.setDesktopFileName("carrier-studio")
    qapp.setQuitOnLastWindowClosed(False)
    status = new_status_board()
    workspace_root = app_paths.choose_workspace(args.workspace)
    theme, window = create_window(
        qapp, status, str(workspace_root), peek_window_state(app_paths.settings_file)
    )
    exit_after_paint = getattr(args, "exit_after_first_paint", False)
    if exit_after_paint:
        window.first_painted.connect(_report_first_paint)
    window.show()
    clock = QElapsedTimer()
    clock.start()
    while not window.painted and clock.elapsed() < 2000:
        qapp.processEvents(QEventLoop.ProcessEventsFlag.AllEvents, 50)
    return _run_services(args, qapp, app_paths, status, theme, window, exit_after_paint)


def _run_services(
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

    from carrier_studio.services.platform.logs import Redactor, setup_logging
    from carrier_studio.ui.crash import CrashHandler

    redactor = Redactor()
    setup_logging(app_paths.log_file, redactor)
    try:
        ctx = build_context(app_paths, args.workspace, redactor=redactor, status=status)
    except CarrierError as exc:
        QMessageBox.critical(window, "Carrier Studio", f"Carrier Studio cannot start: {exc}")
        return 1
    crash = CrashHandler(redactor)

    async def main() -> int:
        loop = asyncio.get_running_loop()
        crash.install(loop)
        studio = Studio(ctx, qapp, theme=theme, window=window)
        if os.name == "posix":
            loop.add_signal_handler(signal.SIGTERM, studio.request_close)
        await studio.start()
        if exit_after_paint:
            print(f"ready {time.time():.6f}", flush=True)
            studio.request_close()
        await studio.wait_closed()
        await studio.shutdown()
        crash.uninstall()
        return 0

    return qasync.run(main())


def _report_first_paint() -> None:
    # Printed for bench/startup.py, with what had been imported by then.
    watched = HEAVY_MODULES + ("pydantic", "keyring", "qasync", "numpy")
    early = [name for name in watched if name in sys.modules]
    print(f"first-paint {time.time():.6f} imported={','.join(early) or 'none'}", flush=True)


# -- self-test ---------------------------------------------------------------------------------


def run_self_test(args: argparse.Namespace) -> int:
    """Open the window offscreen on a throw-away workspace, check the parts, and exit.

    For packaged apps (the build script runs it) and for "does this installation work?".
    Prints one line per check; exits 0 when every check passed.
    """
    import asyncio
    import importlib
    import tempfile
    from pathlib import Path

    if not os.environ.get("DISPLAY") and not os.environ.get("WAYLAND_DISPLAY"):
        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    import qasync
    from PySide6.QtWidgets import QApplication

    qapp = QApplication.instance() or QApplication(sys.argv)
    root = Path(tempfile.mkdtemp(prefix="carrier-self-test-"))
    import shutil

    results: list[tuple[bool, str]] = []

    def check(ok: bool, text: str) -> None:
        results.append((bool(ok), text))
        print(f"{'ok  ' if ok else 'FAIL'}  {text}", flush=True)

    async def main() -> None:
        from carrier_studio.services.discord.bot import import_discord
        from carrier_studio.ui import icons

        workspace = args.workspace or str(root / "workspace")
        ctx = build_context(AppPaths.under(root / "user"), workspace, environ={})
        check(ctx.workspace.paths.characters_dir.is_dir(), f"workspace {ctx.workspace.root}")
        characters = await asyncio.to_thread(ctx.characters.list)
        readable = [e for e in characters if e.error is None]
        check(bool(readable), f"{len(readable)} characters readable")
        studio = Studio(ctx, qapp)
        await studio.start()
        database = ctx.status.get("database")
        check(database.state is State.RUNNING, f"studio.db: {database.detail}")
        check(bool(qapp.styleSheet()), f"theme {studio.theme.scheme} loaded")
        check(not icons.icon("app").isNull(), "icons load")
        for key in studio.window.page_keys():
            studio.window.show_page(key)
            studio.window.page(key)
        await studio.tasks.wait_idle()
        errors = [m.text for m in studio.messages.history if m.level is messages.Level.ERROR]
        check(
            not errors,
            f"{len(studio.window.page_keys())} pages open"
            + (f"; errors: {'; '.join(errors)}" if errors else ""),
        )
        for module in ("agents", "openai", "anthropic", "mcp"):
            try:
                importlib.import_module(module)
                check(True, f"{module} imports")
            except Exception as exc:  # noqa: BLE001 - a self-test reports every failure
                check(False, f"{module} does not import: {exc}")
        try:
            import_discord()
            check(True, "discord imports")
        except Exception as exc:  # noqa: BLE001
            check(False, f"discord does not import: {exc}")
        try:
            memory = await ctx.memory.ready()
            vectors = await memory.embedder.embed(["Carrier Studio remembers."])
            check(
                vectors.shape == (1, memory.embedder.dimension),
                f"memory: {memory.store.name} store, embedder {memory.embedder.id} "
                f"({vectors.shape[1]} dimensions)",
            )
        except Exception as exc:  # noqa: BLE001
            check(False, f"memory does not work: {exc}")
        await studio.shutdown()

    try:
        qasync.run(main())
    except Exception as exc:  # noqa: BLE001 - report, do not crash
        check(False, f"self-test stopped: {type(exc).__name__}: {exc}")
    shutil.rmtree(root, ignore_errors=True)
    passed = all(ok for ok, _ in results)
    print("self-test passed" if passed else "self-test FAILED", flush=True)
    return 0 if passed else 1
