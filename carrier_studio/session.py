"""One studio session: the services a workspace runs, started in order and stopped in reverse.

The window (app/), ``carrier-studio headless``, ``doctor``, the memory CLI and the self-test all
build a `Session` and, when they run services, go through `Session.start` / `Session.stop`:
there is no second start or stop sequence anywhere. `start` pushes each started service's
stop onto one `contextlib.AsyncExitStack` (as openai-agents' MCP manager does), so a service
is stopped only if it started, and always in reverse order of start, even when a step fails.

Each background service reports into its own slot of the `StatusBoard` (``SERVICE_SLOTS``):
the window shows the board in its status bar, headless mode logs it. This module imports no
Qt, so headless mode on a server never loads it.
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Mapping
from contextlib import AsyncExitStack
from pathlib import Path
from typing import TYPE_CHECKING

from carrier_studio.core import messages
from carrier_studio.core.errors import CarrierError
from carrier_studio.core.mcp.status import mcp_summary
from carrier_studio.core.status import State, StatusBoard
from carrier_studio.services.platform.files import remove_stale_temps
from carrier_studio.services.platform.paths import AppPaths

if TYPE_CHECKING:
    from keyring.backend import KeyringBackend

    from carrier_studio.core.settings import DiscordSettings
    from carrier_studio.services.characters.store import CharacterStore
    from carrier_studio.services.chat.service import ChatService
    from carrier_studio.services.discord.controller import DiscordController
    from carrier_studio.services.instagram.controller import InstagramController
    from carrier_studio.services.mcp.manager import McpManager
    from carrier_studio.services.memory.controller import MemoryController
    from carrier_studio.services.platform.db import Database
    from carrier_studio.services.platform.logs import Redactor
    from carrier_studio.services.platform.secrets import SecretStore
    from carrier_studio.services.platform.settings_store import SettingsChange, SettingsStore
    from carrier_studio.services.platform.workspace import OpenedWorkspace
    from carrier_studio.services.scenarios import ScenarioService
    from carrier_studio.services.teams.service import TeamService

log = logging.getLogger(__name__)

#: Background services with a slot in the status board: key and title, in start order.
SERVICE_SLOTS = [
    ("database", "Database"),
    ("memory", "Memory"),
    ("mcp", "MCP"),
    ("discord", "Discord"),
    ("instagram", "Instagram"),
]


def _give_redactor(service: object, redactor: Redactor) -> None:
    """Hand the workspace's redactor to the memory service each time one opens, so what it
    stores is cleaned of this workspace's secret values, not only of credential shapes."""
    if service is not None:
        service.redactor = redactor  # type: ignore[attr-defined]


def new_status_board() -> StatusBoard:
    status = StatusBoard()
    for key, title in SERVICE_SLOTS:
        status.add(key, title, State.STOPPED)
    return status


class Session:
    """The services of one open workspace, and the one way to start and stop them."""

    def __init__(  # noqa: PLR0913 - the session is the list of what it holds
        self,
        *,
        app_paths: AppPaths,
        workspace: OpenedWorkspace,
        settings: SettingsStore,
        secrets: SecretStore,
        database: Database,
        status: StatusBoard,
        redactor: Redactor,
        characters: CharacterStore,
        chat: ChatService,
        mcp: McpManager,
        memory: MemoryController,
        discord: DiscordController,
        instagram: InstagramController,
        teams: TeamService,
        scenarios: ScenarioService | None = None,
    ) -> None:
        self.app_paths = app_paths
        self.workspace = workspace
        self.settings = settings
        self.secrets = secrets
        self.database = database
        self.status = status
        self.redactor = redactor
        self.characters = characters
        self.chat = chat
        self.mcp = mcp
        self.memory = memory
        self.discord = discord
        self.instagram = instagram
        self.teams = teams
        #: Character tests: scenarios, their runs and history (the Tests page, the CLI).
        self.scenarios = scenarios
        #: Why studio.db could not be opened at start, or None when it opened.
        self.database_error: CarrierError | None = None
        self._stack: AsyncExitStack | None = None
        self._instagram_syncing: asyncio.Future[None] | None = None
        self._instagram_dirty = False

    # -- building ------------------------------------------------------------------------------

    @classmethod
    def build(
        cls,
        app_paths: AppPaths,
        workspace_arg: str | None = None,
        *,
        redactor: Redactor | None = None,
        keyring_backend: KeyringBackend | None = None,
        environ: Mapping[str, str] = os.environ,
        status: StatusBoard | None = None,
    ) -> Session:
        """Every service of the workspace, built and wired but not started (cheap: no I/O
        beyond reading settings and seeding a new workspace)."""
        from carrier_studio.core.mcp import lookup_chain
        from carrier_studio.services.characters.store import CharacterStore
        from carrier_studio.services.chat.conversations import ConversationStore
        from carrier_studio.services.chat.service import ChatService
        from carrier_studio.services.discord.controller import DiscordController
        from carrier_studio.services.instagram.controller import InstagramController
        from carrier_studio.services.mcp.manager import McpManager
        from carrier_studio.services.mcp.oauth import McpOAuth
        from carrier_studio.services.mcp.oauth import install as install_oauth
        from carrier_studio.services.mcp.sampling import SettingsRoots, SettingsSampler
        from carrier_studio.services.mcp.tool_maker import studio_variables
        from carrier_studio.services.memory.controller import MemoryController
        from carrier_studio.services.platform.db import Database
        from carrier_studio.services.platform.logs import Redactor
        from carrier_studio.services.platform.secrets import SecretStore, character_secret_values
        from carrier_studio.services.platform.settings_store import SettingsStore
        from carrier_studio.services.platform.workspace import open_workspace
        from carrier_studio.services.scenarios import (
            RunnerDeps,
            ScenarioRunStore,
            ScenarioService,
        )
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
        settings.changed.subscribe(
            lambda c: setattr(secrets, "storage", c.settings.secrets.storage)
        )
        database = Database(workspace.paths.database)
        # One redactor for every exit (logs, crash reports, the MCP page, studio.db, memories):
        # it learns each secret as the store holding it is read (characters when listed, MCP
        # settings when a server starts, the keyring and .env in `start`).
        characters = CharacterStore(
            workspace.paths.characters_dir,
            workspace.paths.trash_dir,
            on_read=lambda doc: redactor.add_all(character_secret_values(doc.data)),
        )
        # ${WORKSPACE} in mcp_servers.json is the workspace folder; other variables come from
        # the keyring, the environment and the workspace .env (SecretStore's order).
        mcp = McpManager(
            workspace.paths.mcp_config,
            lookup_chain(studio_variables(workspace.root), secrets.get),
        )
        mcp.supervision.redactor = redactor
        # The studio's MCP client: a server's sampling runs on the chat's model once approved
        # (the window asks; headless it is denied), and its roots are the workspace plus the
        # folders the user added for it (settings.mcp.roots).
        mcp.client.sampler = SettingsSampler(settings, secrets)
        mcp.client.roots = SettingsRoots(settings, workspace.root)
        # Remote servers' OAuth sign-ins: tokens where secrets go (the keyring), never a file.
        install_oauth(McpOAuth(secrets))
        status = status or new_status_board()
        # Memory opens in the background once the database is migrated (start); chat and the
        # Discord bot recall and remember through the controller meanwhile.
        memory = MemoryController(workspace.paths.database, settings, secrets, status)
        memory.changed.subscribe(lambda service: _give_redactor(service, redactor))
        instagram = InstagramController(
            database, settings, secrets, workspace.paths.instagram_dir, status=status
        )
        chat = ChatService(
            ConversationStore(database, redact=redactor.redact),
            characters,
            settings,
            secrets,
            mcp,
            memory,
            instagram=instagram.queue,
        )
        # Character tests run on the chat's runtime: its characters, MCP servers and the MCP
        # page's tool policies; seeded memories go to a store of their own, never this one.
        scenarios = ScenarioService(
            workspace.paths.scenarios_dir,
            RunnerDeps(
                settings,
                secrets,
                chat.characters_by_name,
                mcp=mcp,
                workspace_policies=chat.conversations.workspace_policies,
                secret_values=redactor.values,
            ),
            ScenarioRunStore(database),
        )
        return cls(
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
            # Team members take the context windows the chat learned (one ask per endpoint
            # and model for the chat, the bot and teams).
            teams=TeamService(
                workspace.paths.teams_dir,
                characters,
                settings,
                secrets,
                database,
                mcp,
                windows=chat.context_windows,
            ),
            scenarios=scenarios,
        )

    # -- the lifecycle -------------------------------------------------------------------------

    @property
    def running(self) -> bool:
        return self._stack is not None

    async def start(self, *, instagram: bool = True, memory_later: bool = False) -> None:
        """Open the database, then start the background services in order.

        A database that cannot be opened is reported (its status slot, a message, and
        `database_error`) and the rest still starts, as the window has always done: a page
        says what it cannot show. Headless mode checks `database_error` and gives up.
        ``instagram=False`` keeps the publisher stopped whatever the settings say.
        ``memory_later=True`` leaves the memory closed until someone asks for it
        (`MemoryController.start`/`ready`): the window opens it once its first page has loaded,
        since opening it imports numpy and reads the bit index while the page lists its files.
        """
        if self._stack is not None:
            raise RuntimeError("the session is already running")
        stack = self._stack = AsyncExitStack()
        await stack.__aenter__()
        try:
            # Before anything can fail, log or crash: the keyring may block, so in a thread.
            await asyncio.to_thread(self.register_secrets)
            await asyncio.to_thread(remove_stale_temps, self.atomic_write_folders())
            if await self._open_database():
                stack.push_async_callback(self._close_database)
            # MCP servers start on demand (a chat, a bot, a team); they stop after every
            # service that may use them.
            stack.push_async_callback(self.mcp.shutdown)
            unsubscribe_mcp = self.mcp.changed.subscribe(lambda _status: self._show_mcp_summary())
            stack.callback(unsubscribe_mcp)
            # Memory opens its own connection to the migrated studio.db, in the background.
            if not memory_later:
                self.memory.start()
            stack.push_async_callback(self.memory.close)
            if instagram:
                # The publisher runs when an account and its FTP host are set, and follows
                # later changes in Settings; a step in progress saves before studio.db closes.
                stack.push_async_callback(self.instagram.close)
                stack.push_async_callback(self._wait_instagram_syncs)
                stack.callback(self.settings.changed.subscribe(self._on_settings_saved))
                self._sync_instagram()
                await self._instagram_synced()  # its status slot is current after start
            # The conversations' shared provider clients close once the chat has drained.
            stack.push_async_callback(self.chat.clients.close)
            # The last turns' memories are written before memory closes.
            stack.push_async_callback(self.chat.drain)
            stack.callback(
                self.discord.status_changed.subscribe(
                    lambda s: self.status.set("discord", s.state, s.detail)
                )
            )
            stack.push_async_callback(self.discord.stop)
        except BaseException:
            await self.stop()
            raise

    def atomic_write_folders(self) -> list[Path]:
        """Where the studio's atomic writes put their temporary files (`atomic_write_text`
        and the character store's own): `start` clears the stale ones an interrupted write
        left (#20). Exports go wherever the user chose and are not searched."""
        paths = self.workspace.paths
        folders = [
            self.app_paths.config_dir,  # settings.json
            paths.characters_dir,  # characters and their avatars
            paths.mcp_config.parent,  # mcp_servers.json
            paths.teams_dir,
            paths.tools_dir,  # the tool maker's scripts
        ]
        return list(dict.fromkeys(folders))

    async def start_discord(self, settings: DiscordSettings | None = None) -> bool:
        """Connect the Discord bot (the settings' character unless given); whether it runs.
        Its stop is already part of the session's stop."""
        settings = settings or self.settings.settings.discord
        status = await self.discord.start(settings)
        return status.phase.value != "error"

    @property
    def discord_at_launch(self) -> DiscordSettings | None:
        """The bot settings when the workspace asks to start the bot with the studio."""
        discord = self.settings.settings.discord
        return discord if discord.start_at_launch and discord.character else None

    async def stop(self) -> None:
        """Stop what `start` started, in reverse order; every step runs even if one fails."""
        stack, self._stack = self._stack, None
        if stack is None:
            return
        # AsyncExitStack runs every callback and re-raises the last error; a stop step's
        # failure is logged, never allowed to leave MCP processes behind or studio.db open.
        try:
            await stack.aclose()
        except Exception:  # noqa: BLE001
            log.exception("a service failed to stop cleanly")

    # -- secrets -------------------------------------------------------------------------------

    def register_secrets(self) -> None:
        """Tell the redactor every secret the workspace holds now: the keyring's and the
        .env's, the characters' ``settings.secrets``, the MCP servers' literal ``env`` and
        header values. Blocking (keyring, files): run it in a thread. A store that cannot be
        read is skipped here; its own page reports it."""
        from carrier_studio.core.mcp import Catalogue
        from carrier_studio.services.platform.secrets import mcp_secret_values

        try:
            self.secrets.register_all()
        except Exception:  # noqa: BLE001 - a keyring that fails here fails visibly where used
            log.warning("secrets could not be registered with the redactor", exc_info=True)
        try:
            self.characters.list()  # each character read registers its secrets (on_read)
        except Exception:  # noqa: BLE001 - the Characters page says what cannot be read
            log.warning("characters could not be read for their secrets", exc_info=True)
        try:
            text = self.mcp.path.read_text(encoding="utf-8")
            catalogue = Catalogue.from_text(text, self.mcp.path)
        except (OSError, CarrierError):
            return
        for config in catalogue.servers.values():
            self.redactor.add_all(mcp_secret_values(config))

    # -- the database --------------------------------------------------------------------------

    async def _open_database(self) -> bool:
        self.status.set("database", State.STARTING, "opening studio.db")
        try:
            opened = await self.database.open()
        except CarrierError as exc:
            self.database_error = exc
            self.status.set("database", State.ERROR, str(exc))
            messages.error(f"The workspace database could not be opened: {exc}")
            return False
        self.database_error = None
        self.status.set(
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
        return True

    async def _close_database(self) -> None:
        await self.database.close()
        self.status.set("database", State.STOPPED)

    # -- MCP -----------------------------------------------------------------------------------

    def _show_mcp_summary(self) -> None:
        state, detail = mcp_summary(self.mcp.statuses())
        self.status.set("mcp", state, detail)

    # -- Instagram -----------------------------------------------------------------------------

    def _on_settings_saved(self, _change: SettingsChange) -> None:
        if self._stack is not None:
            self._sync_instagram()

    def _sync_instagram(self) -> None:
        """Start or stop the Instagram publisher to match the settings. Changes that arrive
        while a sync runs (stopping takes until the step in progress is saved) are applied
        after it, in order, so the last settings always win."""
        self._instagram_dirty = True
        if self._instagram_syncing is None or self._instagram_syncing.done():
            self._instagram_syncing = asyncio.ensure_future(self._run_instagram_syncs())

    async def _run_instagram_syncs(self) -> None:
        while self._instagram_dirty:
            self._instagram_dirty = False
            try:
                await self.instagram.sync()
            except Exception as exc:  # noqa: BLE001 - say it; the next change tries again
                log.exception("the Instagram publisher could not follow the settings")
                messages.error(f"The Instagram publisher could not start or stop: {exc}")

    async def _instagram_synced(self) -> None:
        """Wait until the publisher follows the settings, changes made meanwhile included."""
        if self._instagram_syncing is not None:
            await asyncio.gather(self._instagram_syncing, return_exceptions=True)

    async def _wait_instagram_syncs(self) -> None:
        """At stop: drop changes not yet applied and wait for the one in progress."""
        self._instagram_dirty = False
        await self._instagram_synced()

    async def instagram_running(self) -> bool:
        """Whether the publisher runs, once it follows the settings."""
        await self._instagram_synced()
        return self.instagram.worker.running
