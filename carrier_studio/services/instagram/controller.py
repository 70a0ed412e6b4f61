"""The Instagram queue and its worker for one session: what the Session holds.

The queue is always there (the page lists, adds and edits posts even before an account is set);
the worker runs only when `core.instagram.setup.publishing_wanted`: an account, its token, an
FTP host with a public URL, and background publishing on. `sync()` starts or stops it to match
the settings; the session calls it once the database is open and again after settings change.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from carrier_studio.core.instagram.setup import TOKEN_SECRET, publishing_wanted, setup_problem
from carrier_studio.core.status import State, StatusBoard
from carrier_studio.services.instagram.queue import InstagramQueue
from carrier_studio.services.instagram.worker import (
    SLOT,
    InstagramWorker,
    WorkerConfig,
    connector,
)
from carrier_studio.services.platform.db import Database
from carrier_studio.services.platform.secrets import SecretStore
from carrier_studio.services.platform.settings_store import SettingsStore

NOT_SET_UP = "not set up: Settings → Instagram"


class InstagramController:
    def __init__(
        self,
        database: Database,
        settings: SettingsStore,
        secrets: SecretStore,
        media_dir: Path,
        *,
        status: StatusBoard | None = None,
        config: WorkerConfig | None = None,
    ) -> None:
        self._settings = settings
        self._secrets = secrets
        self._status = status
        self.queue = InstagramQueue(database, media_dir)
        self.worker = InstagramWorker(
            self.queue, connector(settings, secrets), config=config, status=status
        )

    async def sync(self) -> bool:
        """Run the worker if the settings want it, stop it if not; returns whether it runs."""
        if publishing_wanted(self._settings.settings, await self.token_set()):
            self.worker.start()
            return True
        if self.worker.running:
            await self.worker.stop()
        if self._status is not None:
            self._status.set(SLOT, State.STOPPED, NOT_SET_UP)
        return False

    async def token_set(self) -> bool:
        """Whether the access token is stored (a keyring read: off the event loop)."""
        return bool(await asyncio.to_thread(self._secrets.get, TOKEN_SECRET))

    async def setup_problem(self) -> str | None:
        """What is missing before the queue can publish, in a sentence; None when all is set."""
        return setup_problem(self._settings.settings, await self.token_set())

    async def close(self) -> None:
        """Stop the worker (the step in progress saves first); call before the database closes."""
        await self.worker.stop()
