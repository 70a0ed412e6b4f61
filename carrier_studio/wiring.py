"""The window-free half of the composition root: everything a session runs, built from paths.

Used by the window (app.py), by ``carrier-studio headless`` and by ``doctor``. It imports no Qt,
so headless mode on a server never loads it.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import TYPE_CHECKING

from carrier_studio.core.status import State, StatusBoard
from carrier_studio.services.platform.paths import AppPaths

if TYPE_CHECKING:
    from keyring.backend import KeyringBackend

    from carrier_studio.services.context import StudioContext
    from carrier_studio.services.platform.logs import Redactor

#: Background services with a slot in the status bar: key and title.
SERVICE_SLOTS = [
    ("database", "Database"),
    ("memory", "Memory"),
    ("mcp", "MCP"),
    ("discord", "Discord"),
    ("instagram", "Instagram"),
]


def build_context(
    app_paths: AppPaths,
    workspace_arg: str | None = None,
    *,
    redactor: Redactor | None = None,
    keyring_backend: KeyringBackend | None = None,
    environ: Mapping[str, str] = os.environ,
    status: StatusBoard | None = None,
) -> StudioContext:
    """Everything a session needs that is not Qt: settings, workspace, secrets, database."""
    from carrier_studio.core.mcp import lookup_chain
    from carrier_studio.services.characters.store import CharacterStore
    from carrier_studio.services.chat.conversations import ConversationStore
    from carrier_studio.services.chat.service import ChatService
    from carrier_studio.services.context import StudioContext
    from carrier_studio.services.discord.controller import DiscordController
    from carrier_studio.services.instagram.controller import InstagramController
    from carrier_studio.services.mcp.manager import McpManager
    from carrier_studio.services.mcp.tool_maker import studio_variables
    from carrier_studio.services.memory.controller import MemoryController
    from carrier_studio.services.platform.db import Database
    from carrier_studio.services.platform.logs import Redactor
    from carrier_studio.services.platform.secrets import SecretStore
    from carrier_studio.services.platform.settings_store import SettingsStore
    from carrier_studio.services.platform.workspace import open_workspace
    from carrier_studio.services.teams.service import TeamService

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
    database = Database(workspace.paths.database)
    characters = CharacterStore(workspace.paths.characters_dir, workspace.paths.trash_dir)
    # ${WORKSPACE} in mcp_servers.json is the workspace folder; other variables come from the
    # keyring, the environment and the workspace .env (SecretStore's order).
    mcp = McpManager(
        workspace.paths.mcp_config,
        lookup_chain(studio_variables(workspace.root), secrets.get),
    )
    status = status or new_status_board()
    # Memory opens in the background once the database is migrated (Studio.start / headless);
    # chat and the Discord bot recall and remember through the controller meanwhile.
    memory = MemoryController(workspace.paths.database, settings, secrets, status)
    instagram = InstagramController(database, settings, secrets, workspace.root, status=status)
    chat = ChatService(
        ConversationStore(database),
        characters,
        settings,
        secrets,
        mcp,
        memory,
        instagram=instagram.queue,
    )
    return StudioContext(
        app_paths=app_paths,
        workspace=workspace,
        settings=settings,
        secrets=secrets,
        database=database,
        status=status,
        redactor=redactor,
        characters=characters,
        chat=chat,
        mcp=mcp,
        memory=memory,
        discord=DiscordController(chat, secrets),
        instagram=instagram,
        teams=TeamService(workspace.root / "teams", characters, settings, secrets, database, mcp),
    )


def new_status_board() -> StatusBoard:
    status = StatusBoard()
    for key, title in SERVICE_SLOTS:
        status.add(key, title, State.STOPPED)
    return status
