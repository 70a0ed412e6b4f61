"""The window's half of a session: the main window, its pages, and closing it properly.

`Studio` holds a `Session` (the services) and the window around it. `start` shows the window and
starts the session; `shutdown` asks the pages to finish, stops the session (in reverse order of
start), then closes the window. The pages come from `app.pages.PAGES`.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from carrier_studio.app.pages import BUILDERS, PAGES
from carrier_studio.core import messages
from carrier_studio.core.status import StatusBoard
from carrier_studio.core.window_state import WindowState

if TYPE_CHECKING:
    from PySide6.QtWidgets import QApplication

    from carrier_studio.services.providers import TextModel
    from carrier_studio.session import Session
    from carrier_studio.ui.main_window import MainWindow
    from carrier_studio.ui.theme import ThemeManager

log = logging.getLogger(__name__)

#: A drafting function (the character builder, the tool maker): description, model, progress.
Draft = Callable[[str, "TextModel", Callable[[str], None]], Awaitable[Any]]


def create_window(
    qapp: QApplication, status: StatusBoard, workspace_root: str, state: WindowState
) -> tuple[ThemeManager, MainWindow]:
    """The themed main window with no page content yet: cheap enough to paint at once."""
    from carrier_studio.ui.main_window import MainWindow, PageSpec
    from carrier_studio.ui.theme import ThemeManager

    theme = ThemeManager(qapp, state.theme)
    specs = [PageSpec(page.key, page.title, page.icon) for page in PAGES]
    window = MainWindow(specs, status, theme, workspace_root)
    window.restore_window_state(state)
    return theme, window


class Studio:
    """One running studio window over one session."""

    def __init__(
        self,
        session: Session,
        qapp: QApplication,
        *,
        theme: ThemeManager | None = None,
        window: MainWindow | None = None,
        offer_first_run: bool = True,
        freeze_heap: bool = False,
    ) -> None:
        import asyncio

        from carrier_studio.ui.messages import MessageBridge
        from carrier_studio.ui.tasks import TaskOwner
        from carrier_studio.ui.widgets.ask import Ask

        self.session = session
        self.qapp = qapp
        ui = session.settings.settings.ui
        if theme is None or window is None:
            state = WindowState(ui.theme, ui.geometry, ui.window_state, ui.last_page)
            theme, window = create_window(qapp, session.status, str(session.workspace.root), state)
        else:
            theme.set_choice(ui.theme)  # the peeked choice may differ from the validated one
        self.theme = theme
        self.window = window
        self.tasks = TaskOwner()
        self._warming: asyncio.Future[None] | None = None
        #: Move what start-up built out of the garbage collector's sight once the chat runtime
        #: is imported (the app does; tests leave it, as each test's studio would stay frozen).
        self._freeze_heap = freeze_heap
        self.messages = MessageBridge(messages.bus, window.statusBar(), window)
        self._close_requested = asyncio.Event()
        self.closed = False
        #: Asks save/discard/cancel for a page with unsaved work (tests replace it).
        self.ask_unsaved = Ask.unsaved_async
        #: Open the first-run guide at start when no model can run yet (tests turn it off).
        self.offer_first_run = offer_first_run
        self.first_run: Any = None
        if session.mcp is not None:
            from carrier_studio.ui.widgets.mcp_sampling import WindowAsker

            # Servers' questions (elicitation, sampling approval) become the window's dialogs.
            session.mcp.client.asker = WindowAsker(window)
        window.close_requested.connect(self._close_requested.set)
        window.page_needed.connect(self._on_window_page_needed)

    def _on_window_page_needed(self, key: str) -> None:
        build = BUILDERS.get(key)
        if build is None:
            raise KeyError(f"no page is built for {key!r}")
        self.window.set_page_widget(key, build(self))

    # -- what the page builders share ------------------------------------------------------------

    def on_default_model(self, draft: Draft) -> Callable[[str, Callable[[str], None]], Any]:
        """``draft`` (builder, tool maker) bound to the workspace's default model."""
        from carrier_studio.services.providers import with_text_model

        session = self.session

        async def run(description: str, progress: Callable[[str], None]) -> Any:
            providers = session.settings.settings.providers
            return await with_text_model(
                providers.default,
                providers,
                session.secrets,
                lambda model: draft(description, model, progress),
            )

        return run

    def default_model_label(self) -> str:
        return self.session.settings.settings.providers.default.label

    def open_memory(self, memory_id: str) -> None:
        """Show one memory on the Memory page (a recalled memory linked from the chat)."""
        self.window.show_page("memory")
        page = self.window.page("memory")
        if hasattr(page, "show_memory"):
            page.show_memory(memory_id)

    # -- the lifecycle -------------------------------------------------------------------------

    def request_close(self) -> None:
        self._close_requested.set()

    async def start(self) -> None:
        self.window.show()
        session = self.session
        if session.workspace.seeded:
            messages.info(
                f"Created a new workspace with example characters in {session.workspace.root}"
            )
        await session.start(memory_later=True)
        # Pages read studio.db: build the visible one only now that it is open.
        self.window.services_ready()
        if (discord := session.discord_at_launch) is not None:
            # In the background: the window is usable while the bot connects.
            self.tasks.start("Starting the Discord bot", session.start_discord(discord))
        # Not one of the window's tasks: those are what a page waits on, and this waits on them.
        self._warming = asyncio.ensure_future(self._load_chat_runtime())
        if self.offer_first_run:
            await self._offer_first_run()

    async def _offer_first_run(self) -> None:
        import asyncio

        from carrier_studio.services.providers import needs_model_setup

        session = self.session
        settings = session.settings.settings
        if await asyncio.to_thread(needs_model_setup, settings, session.secrets):
            self.open_first_run()

    def open_first_run(self) -> None:
        """Show the guide that sets up the workspace's model (at first start, or from Settings)."""
        from carrier_studio.services.providers import (
            FirstModel,
            apply_first_model,
            find_local_servers,
            list_models,
            skip_first_model,
        )
        from carrier_studio.ui.widgets.first_run import FirstRunDeps, FirstRunGuide

        session = self.session

        async def local_servers() -> list[tuple[str, str, list[str]]]:
            return [tuple(server) for server in await find_local_servers()]  # type: ignore[misc]

        async def apply(kind: str, model: str, base_url: str, label: str, key: str) -> None:
            answer = FirstModel(kind, model, base_url, label, key)  # type: ignore[arg-type]
            await apply_first_model(session.settings, session.secrets, answer)
            messages.info(f"Characters without a model of their own now use {model}.")

        if self.first_run is not None and self.first_run.isVisible():
            self.first_run.raise_()
            return
        deps = FirstRunDeps(
            list_models=list_models,
            find_local_servers=local_servers,
            apply=apply,
            skip=lambda: skip_first_model(session.settings),
        )
        self.first_run = FirstRunGuide(deps, self.tasks, self.window)
        self.first_run.chosen.connect(lambda: self.window.show_page("chat"))
        self.first_run.show()

    async def _load_chat_runtime(self) -> None:
        """Import the agents SDK (~3.7 s of CPU here) in a worker thread once the first page has
        finished loading, so the first chat does not wait for it. Not sooner: started with the
        page's own load, the two shared the GIL and the Characters list took 3 s longer."""
        from carrier_studio.core.sdk_import import import_modules

        page = self.window.page(self.window.current_page_key())
        if (tasks := getattr(page, "tasks", None)) is not None:
            await tasks.wait_idle()
        # The memory too waits for the first page (numpy, the bit index); a page or a chat
        # that needs it sooner opens it then (`ready` starts it).
        self.session.memory.start()
        runtime = "carrier_studio.core.runtime.agent_factory"
        # Through the lock MCP supervisors import the SDK by, so the two never meet mid-import.
        await asyncio.to_thread(import_modules, runtime)
        if self._freeze_heap:
            # Start-up's objects (Qt, the SDKs' modules, pydantic's schemas: ~260k) live as
            # long as the window. A full collection walked them all: it stalled the event loop
            # 110-180 ms here (0.5 s under load) every few dozen chat turns (#21). Frozen, the
            # collector skips them; what is built from here on is collected as before.
            import gc

            gc.freeze()

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
        """Save the window's state, let the pages finish, stop the session, close the window."""
        if self._warming is not None:
            self._warming.cancel()  # the import itself finishes in its thread; nobody waits
        settings = self.session.settings
        current = settings.settings
        state = self.window.window_state(current.ui.theme)
        update = {
            "geometry": state.geometry,
            "window_state": state.window_state,
            "last_page": state.last_page,
        }
        if "mcp" in self.window.built_pages():  # the sizes the user dragged the splitter to
            sizes = self.window.page("mcp").splitter_sizes()  # type: ignore[attr-defined]
            if sizes:
                update["mcp_splitter"] = sizes
        ui = current.ui.model_copy(update=update)
        try:
            await settings.save_async(current.model_copy(update={"ui": ui}))
        except OSError as exc:
            log.warning("could not save window state: %s", exc)
        # Each step runs even if one before it failed: a page's error must not leave MCP
        # processes behind or the database open.
        steps = [
            page.shutdown
            for key in self.window.built_pages()
            if hasattr(page := self.window.page(key), "shutdown")
        ]
        steps += [self.tasks.cancel_all, self.session.stop]
        for step in steps:
            try:
                await step()
            except Exception:  # noqa: BLE001 - log and go on with the next step
                log.exception("shutdown step %s failed", getattr(step, "__qualname__", step))
        self.messages.detach()
        self.theme.close()
        self.window.allow_close()
        self.window.close()
        self.closed = True
