"""The services one studio session runs with, built by app.py and handed to the UI."""

from __future__ import annotations

from dataclasses import dataclass

from carrier_studio.core.status import StatusBoard
from carrier_studio.services.characters.store import CharacterStore
from carrier_studio.services.chat.service import ChatService
from carrier_studio.services.discord.controller import DiscordController
from carrier_studio.services.instagram.controller import InstagramController
from carrier_studio.services.mcp.manager import McpManager
from carrier_studio.services.memory.controller import MemoryController
from carrier_studio.services.platform.db import Database
from carrier_studio.services.platform.logs import Redactor
from carrier_studio.services.platform.paths import AppPaths
from carrier_studio.services.platform.secrets import SecretStore
from carrier_studio.services.platform.settings_store import SettingsStore
from carrier_studio.services.platform.workspace import OpenedWorkspace
from carrier_studio.services.teams.service import TeamService


@dataclass
class StudioContext:
    app_paths: AppPaths
    workspace: OpenedWorkspace
    settings: SettingsStore
    secrets: SecretStore
    database: Database
    status: StatusBoard
    redactor: Redactor
    characters: CharacterStore
    chat: ChatService
    mcp: McpManager
    memory: MemoryController
    discord: DiscordController
    instagram: InstagramController
    teams: TeamService
