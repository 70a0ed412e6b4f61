"""Publishes due Instagram posts in the background, one saved step at a time.

The decisions are core's (`core.instagram.publishing.advance`: what each answer does to a post,
and what to ask next); this worker does the I/O around them. Each pass reads the due posts,
asks the FTP host and the Graph API what a step needs (`remote.ask`), and saves each
`StepResult` before the next request, so a worker killed anywhere resumes from the last saved
state. It also keeps the things only a running process has: the wake-ups, the publisher lock
(one publisher per workspace), the token check and the status slot.

Run alone (the fault-injection tests kill it with SIGKILL): see `carrier_studio.instagram_cli`.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

from carrier_studio.core import messages
from carrier_studio.core.instagram import (
    Backoff,
    GraphAuthError,
    InstagramError,
    PollSchedule,
    PostState,
    QueuedPost,
    token_warning,
    utcnow,
)
from carrier_studio.core.instagram.publishing import advance
from carrier_studio.core.instagram.step import Answer, Failed, Next, PublishRules, StepResult
from carrier_studio.core.status import State, StatusBoard
from carrier_studio.services.instagram.connection import (
    Connect,
    Connection,
    connector,
    token_fingerprint,
)
from carrier_studio.services.instagram.ftp import TransientHostingError
from carrier_studio.services.instagram.lock import WorkspaceLock
from carrier_studio.services.instagram.queue import (
    InstagramQueue,
    PostNotFoundError,
    StaleStateError,
)
from carrier_studio.services.instagram.remote import ask

log = logging.getLogger(__name__)
S = PostState
SLOT = "instagram"


@dataclass(frozen=True)
class WorkerConfig:
    poll: PollSchedule = field(default_factory=PollSchedule)
    backoff: Backoff = field(default_factory=Backoff)
    #: How often to read the quota again while it is used up.
    quota_recheck: timedelta = timedelta(minutes=30)
    #: Meta expires containers after 24 h; one older than this is recreated before publishing.
    container_ttl: timedelta = timedelta(hours=23)
    #: The longest the worker sleeps with nothing due (it also wakes on queue changes).
    idle_wait: float = 60.0
    token_check_every: timedelta = timedelta(hours=12)
    #: Saves refused in a row (the user keeps changing the post) before the pass moves on.
    max_conflicts: int = 5

    @property
    def rules(self) -> PublishRules:
        """The settings the publishing step decides by (the rest pace the worker)."""
        return PublishRules(self.backoff, self.quota_recheck, self.container_ttl)


class _StoppingError(Exception):
    """The worker is stopping while it waits for a container."""


class WorkerBusyError(InstagramError):
    """Another process holds this workspace's publisher lock."""


class InstagramWorker:
    """Args:
    queue: The workspace's queue.
    connect: Builds the Graph client and the uploader (reads settings and secrets).
    status: The status board with an "instagram" slot, when there is one.
    """

    def __init__(
        self,
        queue: InstagramQueue,
        connect: Connect,
        *,
        config: WorkerConfig | None = None,
        status: StatusBoard | None = None,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.queue = queue
        self._connect = connect
        self.config = config or WorkerConfig()
        self._status = status
        self._clock = clock
        self._task: asyncio.Task[None] | None = None
        self._wake = asyncio.Event()
        self._stopping = asyncio.Event()
        self._unsubscribe: Callable[[], None] | None = None
        #: When the token (by fingerprint) was last found valid.
        self._token_checked: tuple[str, datetime] | None = None
        #: The fingerprint of a token found expired: every pass refuses until it changes.
        self._token_expired: str | None = None
        self._pass = asyncio.Lock()
        self._lock = WorkspaceLock(queue.media_dir / "publisher.lock")
        #: The last token warning shown (None: none needed).
        self.token_warning: str | None = None

    # -- lifecycle ----------------------------------------------------------------------------

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    def start(self) -> None:
        """Start publishing in the background on the running loop (idempotent)."""
        if self.running:
            return
        self._stopping.clear()
        self._unsubscribe = self.queue.changed.subscribe(lambda _change: self._wake.set())
        self._task = asyncio.get_running_loop().create_task(self._loop(), name="instagram")
        self._set_status(State.STARTING, "starting")

    async def stop(self, grace: float = 5.0) -> None:
        """Let the step in progress finish and save (up to ``grace`` seconds), then stop.

        Waiting for a container is interrupted at once. A step still running after ``grace``
        is cancelled; that is safe too (the restart checks what was not saved)."""
        self._stopping.set()
        if self._unsubscribe:
            self._unsubscribe()
            self._unsubscribe = None
        task, self._task = self._task, None
        if task is not None:
            self._wake.set()
            try:
                await asyncio.wait_for(asyncio.shield(task), grace)
            except TimeoutError:
                task.cancel()
            try:
                await task
            except asyncio.CancelledError:
                pass
        await asyncio.to_thread(self._lock.release)
        self._set_status(State.STOPPED, "")

    def wake(self) -> None:
        self._wake.set()

    async def _loop(self) -> None:
        while not self._stopping.is_set():
            self._wake.clear()
            try:
                await self.run_pending()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 - the loop must survive to try again
                log.exception("instagram worker pass failed")
                self._set_status(State.ERROR, str(exc))
            delay = await self._next_wait()
            try:
                await asyncio.wait_for(self._wake.wait(), delay)
            except TimeoutError:
                pass

    async def _next_wait(self) -> float:
        now = self._clock()
        times = []
        for post in await self.queue.pending():
            for when in (post.next_attempt_at, post.scheduled_at):
                if when is not None and when > now:
                    times.append((when - now).total_seconds())
        return max(0.05, min([self.config.idle_wait, *times]))

    # -- one pass -----------------------------------------------------------------------------

    async def run_pending(self) -> int:
        """Work on every due post, in queue order, until each is published or must wait.

        Returns how many posts were published in this pass.
        """
        async with self._pass:
            due = await self.queue.due(self._clock())
            if not due:
                await self._report_idle()
                return 0
            if not await asyncio.to_thread(self._lock.try_acquire):
                raise WorkerBusyError(
                    "another Carrier Studio (a window or headless mode) is publishing this "
                    "workspace's Instagram queue",
                    path=self._lock.path,
                    hint="Posts are published by that one; this one waits until it stops.",
                )
            published = 0
            connection = await self._connect()
            try:
                await self._check_token(connection)
                for post in due:
                    if self._stopping.is_set():
                        break
                    self._set_status(State.RUNNING, f"publishing post {post.id}")
                    done = await self._drive(connection, post)
                    published += done is not None and done.state is S.PUBLISHED
            finally:
                await connection.close()
            await self._report_idle()
            return published

    async def run_until_idle(self) -> None:
        """Passes until no post is due now (waiting ones — schedule, quota, backoff — stay)."""
        while await self.queue.due(self._clock()):
            await self.run_pending()

    async def _drive(self, conn: Connection, post: QueuedPost) -> QueuedPost | None:
        """Advance ``post`` step by step while it stays due.

        ``post`` comes from the list read at the start of the pass; the user may have edited,
        cancelled or removed it since, so it is read again first. A step whose save is refused
        (the post changed while the step ran) is decided again from a fresh read."""
        conflicts = 0
        try:
            current = await self.queue.get(post.id or 0)
        except PostNotFoundError:
            return None
        while current.is_due(self._clock()):
            if self._stopping.is_set():
                return current
            try:
                current = await self._step(conn, current)
                conflicts = 0
            except StaleStateError as exc:
                conflicts += 1
                log.info("post %s changed meanwhile (%s); reading it again", post.id, exc)
                if conflicts > self.config.max_conflicts:
                    return None  # the next pass tries again
                try:
                    current = await self.queue.get(post.id or 0)
                except PostNotFoundError:
                    return None
            except PostNotFoundError as exc:
                log.info("post %s was removed meanwhile: %s", post.id, exc)
                return None
            except _StoppingError:
                return current
        return current

    async def _sleep(self, seconds: float) -> None:
        """Sleep between status polls; stopping interrupts it (nothing is saved then)."""
        try:
            await asyncio.wait_for(self._stopping.wait(), seconds)
        except TimeoutError:
            return
        raise _StoppingError

    async def _step(self, conn: Connection, post: QueuedPost) -> QueuedPost:
        """One publishing step of ``post``: ask what `advance` needs to know, save what it
        decides, until it says the step is done."""
        start, answer = post, None
        try:
            while True:
                result = self._decide(post, answer)
                post = await self._apply(result)
                if result.next is Next.DONE:
                    return post
                answer = None
                if result.next is not Next.DECIDE:
                    answer = await ask(
                        conn,
                        post,
                        result.next,
                        result.index,
                        poll=self.config.poll,
                        sleep=self._sleep,
                        on_quota=self.queue.set_quota,
                    )
        except (StaleStateError, PostNotFoundError):
            raise  # `_drive` reads the post again
        except InstagramError as exc:
            failure = Failed(exc, transient=isinstance(exc, TransientHostingError))
            return await self._apply(self._decide(start, failure))

    def _decide(self, post: QueuedPost, answer: Answer) -> StepResult:
        """`advance` with the worker's clock, rules and the last quota read."""
        now, rules = self._clock(), self.config.rules
        return advance(post, answer, now=now, rules=rules, quota=self.queue.quota)

    async def _apply(self, result: StepResult) -> QueuedPost:
        """Tell the user what must be told, then save the post with its timeline line."""
        if result.alert:
            messages.error(result.alert)
        post, note = result.post, result.note
        if note is None:
            return post
        log.info(
            "post %s: %s → %s: %s", post.id, result.expected.value, post.state.value, note.message
        )
        return await self.queue.save_step(
            post, result.expected, step=note.step, outcome=note.outcome, message=note.message
        )

    # -- token and status ---------------------------------------------------------------------

    async def _check_token(self, conn: Connection) -> None:
        """Refuse the pass while the token is expired; warn when it expires soon.

        An expired token is remembered (by fingerprint) and refused on every pass until the
        user pastes another one; a valid one is checked again every ``token_check_every``.
        The check time is recorded only after a check that succeeded."""
        now, token = self._clock(), conn.token_id
        if self._token_expired is not None:
            if self._token_expired == token:
                raise GraphAuthError(
                    self.token_warning or "the access token expired",
                    where="Instagram",
                    hint="Paste a new token in Settings → Instagram.",
                )
            self._token_expired = None  # a new token: check it now
        last = self._token_checked
        if last is not None and last[0] == token and now - last[1] < self.config.token_check_every:
            return
        try:
            expires = await conn.graph.token_expiry()
        except GraphAuthError:
            raise
        except InstagramError as exc:
            log.info("cannot read the token's expiry: %s", exc)
            return
        warning = token_warning(expires, now)
        if expires is not None and expires <= now:
            self.token_warning = warning
            self._token_expired = token
            raise GraphAuthError(warning or "the access token expired", where="Instagram")
        if warning and warning != self.token_warning:
            messages.warning(warning)
        self.token_warning = warning
        self._token_checked = (token, now)

    async def _report_idle(self) -> None:
        pending = await self.queue.pending()
        if not pending:
            self._set_status(State.RUNNING, "queue empty")
            return
        waiting = [p for p in pending if p.waiting_reason == "quota"]
        detail = f"{len(pending)} post{'s' if len(pending) != 1 else ''} waiting"
        if waiting:
            detail += " (daily limit reached)"
        self._set_status(State.RUNNING, detail)

    def _set_status(self, state: State, detail: str) -> None:
        if self._status is not None:
            self._status.set(SLOT, state, detail)


# -- building from settings ----------------------------------------------------------------------


def build_worker(database, settings_source, secrets, media_dir: Path, **kwargs):  # noqa: ANN001, ANN201
    """The worker of one workspace: its queue on ``database`` (media staged in ``media_dir``,
    `WorkspacePaths.instagram_dir`) and a settings-driven connector."""
    queue = InstagramQueue(database, media_dir)
    return InstagramWorker(queue, connector(settings_source, secrets), **kwargs)


__all__ = [
    "SLOT",
    "Connect",
    "Connection",
    "InstagramWorker",
    "WorkerBusyError",
    "WorkerConfig",
    "build_worker",
    "connector",
    "token_fingerprint",
]
