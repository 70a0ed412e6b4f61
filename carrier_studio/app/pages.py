"""The window's pages: a table of builders, one per page, in navigation order.

A builder takes the running `Studio` and returns the page widget; the window calls it the
first time the page is shown. Everything a page does goes through the services and core
functions it is handed: a builder only picks them out of the session. To add a page, write
its builder here and add a row to `PAGES`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from PySide6.QtWidgets import QWidget

    from carrier_studio.session import Session
    from carrier_studio.ui.main_window import MainWindow
    from carrier_studio.ui.tasks import TaskOwner
    from carrier_studio.ui.theme import ThemeManager


class Studio(Protocol):
    """What a page builder gets from the window (`app.window.Studio` is it): a Protocol, so
    this table does not import the window that reads it."""

    session: Session
    theme: ThemeManager
    tasks: TaskOwner
    window: MainWindow

    def on_default_model(self, draft: Any) -> Callable[[str, Callable[[str], None]], Any]: ...

    def default_model_label(self) -> str: ...

    def open_memory(self, memory_id: str) -> None: ...


@dataclass(frozen=True)
class Page:
    key: str
    title: str
    icon: str
    build: Callable[[Studio], QWidget]


def _characters(studio: Studio) -> QWidget:
    from carrier_studio.services.characters.builder import draft_character
    from carrier_studio.services.mcp.catalogue import server_names
    from carrier_studio.ui.pages.characters import CharacterPageDeps, CharactersPage

    session = studio.session

    async def renamed(old: str, new: str) -> None:
        await session.chat.conversations.rename_character(old, new)
        settings = session.settings.settings
        if settings.discord.character == old:
            discord = settings.discord.model_copy(update={"character": new})
            await session.settings.save_async(settings.model_copy(update={"discord": discord}))

    deps = CharacterPageDeps(
        store=session.characters,
        secrets=session.secrets,
        mcp_servers=lambda: server_names(session.workspace.paths.mcp_config),
        endpoints=lambda: [e.name for e in session.settings.settings.providers.endpoints],
        draft=studio.on_default_model(draft_character),
        model_label=studio.default_model_label,
        renamed=renamed,
    )
    return CharactersPage(deps, studio.tasks)


def _chat(studio: Studio) -> QWidget:
    from carrier_studio.services.mcp import McpBrowser
    from carrier_studio.services.scenarios.files import ScenarioFiles
    from carrier_studio.ui.pages.chat import ChatPage, ChatPageDeps

    settings = studio.session.settings
    mcp = studio.session.mcp
    deps = ChatPageDeps(
        chat=studio.session.chat,
        model_options=lambda: settings.settings.providers.model_options(),
        dark=lambda: studio.theme.scheme == "dark",
        save_test=ScenarioFiles(studio.session.workspace.paths.scenarios_dir),
        browser=McpBrowser(mcp) if mcp is not None else None,
        on_progress=mcp.on_progress if mcp is not None else None,
        on_list_changed=mcp.on_list_changed if mcp is not None else None,
    )
    page = ChatPage(deps, studio.tasks)
    page.open_memory.connect(studio.open_memory)
    if page.save_test is not None:
        page.save_test.open_requested.connect(lambda path: _open_test(studio, path))
    _refresh_when_shown(studio, "chat", page.refresh)
    return page


def _refresh_when_shown(studio: Studio, key: str, refresh: Callable[[], None]) -> None:
    """Re-list characters each time the page is shown again: one added, imported (also from
    the command line) or renamed meanwhile appears without a restart."""
    studio.window.page_changed.connect(lambda shown: refresh() if shown == key else None)


def _memory(studio: Studio) -> QWidget:
    import asyncio

    from carrier_studio.ui.pages.memory import MemoryPage, MemoryPageDeps

    session = studio.session
    memory = session.memory

    async def characters() -> list[str]:
        entries = await asyncio.to_thread(session.characters.list)
        return sorted(e.doc.name for e in entries if e.doc is not None)

    deps = MemoryPageDeps(
        service=memory.ready,
        characters=characters,
        move_target=memory.open_supabase,
        can_move=memory.can_move_to_supabase,
        on_service_changed=memory.changed.subscribe,
        changed=memory.refresh_status,
        start_reembed=memory.start_reembed,
        reembedding=lambda: memory.reembedding,
        on_reembed_progress=memory.reembed_progress.subscribe,
    )
    return MemoryPage(deps, studio.tasks)


def _mcp(studio: Studio) -> QWidget:
    from carrier_studio.services.mcp import McpBrowser
    from carrier_studio.services.mcp.oauth import installed as oauth_sign_ins
    from carrier_studio.services.mcp.tool_maker import ToolMaker, draft_tool, studio_variables
    from carrier_studio.ui.pages.mcp import McpPage, McpPageDeps

    session = studio.session
    paths = session.workspace.paths
    maker = ToolMaker(paths.tools_dir, paths.mcp_config, mcp=session.mcp)
    store = studio.session.chat.conversations
    deps = McpPageDeps(
        manager=studio.session.mcp,
        colors=studio.theme.colors,
        theme_changed=studio.theme.changed,
        tool_policies=store.workspace_policies,
        set_tool_policy=store.set_workspace_policy,
        secrets=studio.session.secrets,  # where "Move secrets to the keyring" puts them
        oauth=oauth_sign_ins(),  # the session installed them
        draft_tool=studio.on_default_model(draft_tool),
        save_tool=maker.save,
        model_label=studio.default_model_label,
        filled_by_studio=frozenset(studio_variables(studio.session.workspace.root)),
        browser=McpBrowser(session.mcp),
        roots=session.mcp.client.roots,  # SettingsRoots: the session set it
    )
    page = McpPage(deps, studio.tasks)
    page.restore_splitter(session.settings.settings.ui.mcp_splitter)
    return page


def _instagram(studio: Studio) -> QWidget:
    import asyncio

    from carrier_studio.core.instagram.setup import TOKEN_SECRET
    from carrier_studio.services.instagram.captions import write_caption_as
    from carrier_studio.services.instagram.graph_api import read_quota
    from carrier_studio.ui.pages.instagram import InstagramPage, InstagramPageDeps

    session = studio.session
    instagram = session.instagram

    async def characters() -> list[str]:
        return sorted(await session.chat.characters_by_name())

    async def quota() -> Any:
        token = await asyncio.to_thread(session.secrets.get, TOKEN_SECRET)
        return await read_quota(session.settings.settings.instagram, token or "")

    async def write_caption(request: Any, progress: Callable[[str], None]) -> str:
        return await write_caption_as(
            request.character,
            characters=await session.chat.characters_by_name(),
            providers=session.settings.settings.providers,
            secrets=session.secrets,
            brief=request.brief,
            kind=request.kind,
            files=request.files,
            progress=progress,
        )

    deps = InstagramPageDeps(
        queue=instagram.queue,
        characters=characters,
        write_caption=write_caption,
        setup_problem=instagram.setup_problem,
        colors=studio.theme.colors,
        read_quota=quota,
        token_warning=lambda: instagram.worker.token_warning,
        open_settings=lambda: studio.window.show_page("settings"),
        theme_changed=studio.theme.changed,
    )
    return InstagramPage(deps, studio.tasks)


def _discord(studio: Studio) -> QWidget:
    from carrier_studio.ui.pages.discord import DiscordPage, DiscordPageDeps

    session = studio.session
    deps = DiscordPageDeps(
        session.discord,
        session.settings,
        session.chat,
        studio.theme.colors,
        token_missing=lambda: not session.secrets.get("DISCORD_BOT_TOKEN"),
    )
    page = DiscordPage(deps, studio.tasks)
    page.open_settings.connect(lambda: studio.window.show_page("settings"))
    _refresh_when_shown(studio, "discord", page.refresh)
    return page


def _teams(studio: Studio) -> QWidget:
    from carrier_studio.ui.pages.teams import TeamsPage, TeamsPageDeps

    session = studio.session
    deps = TeamsPageDeps(
        session.teams,
        studio.theme.colors,
        theme_changed=studio.theme.changed,
    )
    return TeamsPage(deps, studio.tasks)


def _tests(studio: Studio) -> QWidget:
    from carrier_studio.services.scenarios import DEFAULT, model_key
    from carrier_studio.ui.pages.tests import TestsPage, TestsPageDeps

    session = studio.session
    settings = session.settings
    assert session.scenarios is not None, "Session.build makes the scenario service"

    def model_options() -> list[tuple[str, str]]:
        providers = settings.settings.providers
        choices = [providers.default] + [c for _label, c in providers.model_options()]
        options = [("Each character's own model", DEFAULT)]
        for choice in choices:
            option = (choice.label, model_key(choice))
            if option not in options:
                options.append(option)
        return options

    async def save_chosen_models(models: list[str]) -> None:
        current = settings.settings
        ui = current.ui.model_copy(update={"test_models": models})
        await settings.save_async(current.model_copy(update={"ui": ui}))

    def open_file(path: Any) -> None:
        from PySide6.QtCore import QUrl
        from PySide6.QtGui import QDesktopServices

        QDesktopServices.openUrl(QUrl.fromLocalFile(str(path)))

    deps = TestsPageDeps(
        service=session.scenarios,
        model_options=model_options,
        chosen_models=lambda: list(settings.settings.ui.test_models),
        save_chosen_models=save_chosen_models,
        colors=studio.theme.colors,
        theme_changed=studio.theme.changed,
        open_file=open_file,
    )
    page = TestsPage(deps, studio.tasks)
    _refresh_when_shown(studio, "tests", page.refresh)
    return page


def _open_test(studio: Studio, path: str) -> None:
    """Show a scenario file just saved from the chat on the Tests page."""
    from pathlib import Path

    studio.window.show_page("tests")
    page = studio.window.page("tests")
    if hasattr(page, "show_scenario"):
        page.show_scenario(Path(path))


def _settings(studio: Studio) -> QWidget:
    from carrier_studio.services.providers import find_local_servers, list_models
    from carrier_studio.ui.pages.settings import ModelProbe, SettingsPage

    session = studio.session
    # "Test connection" and "Find local servers" (#15): the providers service does the asking.
    probe = ModelProbe(list_models=list_models, find_local_servers=find_local_servers)
    return SettingsPage(
        session.settings,
        session.secrets,
        studio.theme,
        studio.tasks,
        probe=probe,
        open_guide=studio.open_first_run,
        mcp_variables=lambda: _mcp_variables(session),
    )


async def _mcp_variables(session: Any) -> list[tuple[str, list[str]]]:
    """The ${VAR}s the workspace's MCP servers use, each with its servers, in catalogue order;
    not the ones the studio fills itself (WORKSPACE, STUDIO_PYTHON)."""
    from carrier_studio.core.mcp import variables_in
    from carrier_studio.services.mcp.tool_maker import studio_variables

    manager = session.mcp
    if manager is None:
        return []
    if not manager.configured:  # not read yet (it is read on first use); never re-read here
        await manager.load()
    filled = studio_variables(session.workspace.root)
    used: dict[str, list[str]] = {}
    for server in manager.configured:
        config = manager.config(server)
        for name in variables_in(config) if config is not None else []:
            if name not in filled:
                used.setdefault(name, []).append(server)
    return list(used.items())


PAGES = [
    Page("characters", "Characters", "characters", _characters),
    Page("chat", "Chat", "chat", _chat),
    Page("memory", "Memory", "memory", _memory),
    Page("mcp", "MCP Servers", "mcp", _mcp),
    Page("instagram", "Instagram", "instagram", _instagram),
    Page("discord", "Discord", "discord", _discord),
    Page("teams", "Teams", "teams", _teams),
    Page("tests", "Tests", "tests", _tests),
    Page("settings", "Settings", "settings", _settings),
]

BUILDERS = {page.key: page.build for page in PAGES}
