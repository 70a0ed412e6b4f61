"""The Instagram worker against real local parts: pyftpdlib, an HTTP file host, a fake Graph API,
studio.db. `Rig` builds them; tests drive `rig.worker.run_pending()` and look at the servers."""

from __future__ import annotations

from contextlib import AsyncExitStack, ExitStack
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from carrier_studio.core.instagram import Backoff, PollSchedule
from carrier_studio.services.instagram.connection import Connection, token_fingerprint
from carrier_studio.services.instagram.ftp import FtpTarget, FtpUploader
from carrier_studio.services.instagram.graph_api import GraphClient
from carrier_studio.services.instagram.queue import InstagramQueue
from carrier_studio.services.instagram.worker import InstagramWorker, WorkerConfig
from carrier_studio.services.platform.db import Database
from tests.fakes.ftp_host import FileHost, FtpServerInfo, running_ftp_server
from tests.fakes.graph_api import TOKEN, USER_ID, FakeGraphApi

FAST = WorkerConfig(
    poll=PollSchedule(first=0.01, factor=1.5, cap=0.05, total=2.0),
    backoff=Backoff(first=60.0, max_failures=3),
    idle_wait=0.2,
)


@dataclass
class Clock:
    now: datetime = field(default_factory=lambda: datetime.now(UTC))

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


class Rig:
    def __init__(self, tmp_path: Path, *, public_base_url: str | None = None) -> None:
        self.tmp_path = tmp_path
        self.ftp_root = tmp_path / "ftp"
        self.public_base_url = public_base_url
        self.clock = Clock()
        #: The access token the worker reads each pass (a test may paste a new one).
        self.token = TOKEN
        self._stack = AsyncExitStack()
        self._threads = ExitStack()

    async def __aenter__(self) -> Rig:
        self.ftp: FtpServerInfo = self._threads.enter_context(running_ftp_server(self.ftp_root))
        self.files = await self._stack.enter_async_context(FileHost(self.ftp_root))
        self.graph = await self._stack.enter_async_context(FakeGraphApi())
        self.db = Database(self.tmp_path / "studio.db")
        await self.db.open()
        self.queue = InstagramQueue(self.db, self.tmp_path / "instagram", clock=self.clock)
        self.worker = InstagramWorker(self.queue, self.connect, config=FAST, clock=self.clock)
        return self

    async def connect(self) -> Connection:
        target = FtpTarget(
            self.ftp.host,
            self.ftp.port,
            self.ftp.user,
            self.ftp.password,
            "/",
            self.public_base_url or self.files.base_url,
            use_tls=False,
        )
        return Connection(
            GraphClient(self.graph.base_url, USER_ID, self.token),
            FtpUploader(target),
            token_fingerprint(self.token),
        )

    async def __aexit__(self, *exc: object) -> None:
        try:
            await self.worker.stop()
            await self.db.close()
            await self._stack.aclose()
        finally:
            self._threads.close()
