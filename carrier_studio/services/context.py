"""The services one studio session runs with, built by app.py and handed to the UI."""

from __future__ import annotations

from dataclasses import dataclass

from carrier_studio.core.status import StatusBoard
from carrier_studio.services.characters import CharacterStore
from carrier_studio.services.chat import ChatService
from carrier_studio.services.db import Database
from carrier_studio.services.discord_control import DiscordController
from carrier_studio.services.instagram_control import InstagramController
from carrier_studio.services.logs import Redactor
from carrier_studio.services.mcp_servers import McpManager
from carrier_studio.services.memory_control import MemoryController
from carrier_studio.services.paths import AppPaths
from carrier_studio.services.secrets import SecretStore
from carrier_studio.services.settings_store import SettingsStore
from carrier_studio.services.teams import TeamService
from carrier_studio.services.workspace import OpenedWorkspace


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
