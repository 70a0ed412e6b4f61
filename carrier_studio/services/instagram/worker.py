"""Publishes due Instagram posts in the background, one saved step at a time.

Each step reads the post, does one thing (upload, create a container, wait for it, publish) and
saves the result before the next step starts. A worker killed anywhere resumes from the last
saved state, and the step that may have happened without being saved is checked, not repeated:

- killed during an upload: the file is uploaded again under a new unique name;
- killed after Meta created a container but before its id was saved: a new container is made
  (the orphan is never published and expires after 24 h);
- killed after the publish request was sent: the post is PUBLISHING, so the restart asks Meta for
  the container's status first — PUBLISHED means done, FINISHED means publish now;
- a container older than 24 h (EXPIRED, or too old to trust) is recreated from the uploads.

Run alone (the fault-injection tests kill it with SIGKILL):
``python -m carrier_studio.services.instagram.worker --workspace DIR [--until-idle]``.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import logging
import sys
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from pathlib import Path

from carrier_studio.core import messages
from carrier_studio.core.errors import CarrierError
from carrier_studio.core.instagram import (
    Backoff,
    ContainerExpiredError,
    GraphAuthError,
    InstagramError,
    NotReadyError,
    PollSchedule,
    PostKind,
    PostState,
    QueuedPost,
    Quota,
    QuotaExhaustedError,
    StopGraphError,
    TransientGraphError,
    token_warning,
    utcnow,
)
from carrier_studio.core.instagram.quota import recheck_at
from carrier_studio.core.status import State, StatusBoard
from carrier_studio.services.instagram.ftp import FtpUploader, TransientHostingError, unique_name
from carrier_studio.services.instagram.graph_api import (
    FINISHED,
    IN_PROGRESS,
    PUBLISHED,
    GraphClient,
    raise_for_status,
)
from carrier_studio.services.instagram.lock import WorkspaceLock
from carrier_studio.services.instagram.queue import (
    InstagramQueue,
    PostNotFoundError,
    StaleStateError,
    with_media,
)

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


class _StoppingError(Exception):
    """The worker is stopping while it waits for a container."""


class WorkerBusyError(InstagramError):
    """Another process holds this workspace's publisher lock."""


def token_fingerprint(token: str) -> str:
    """Tells tokens apart without keeping one around (the worker remembers an expired one)."""
    return hashlib.sha256(token.encode()).hexdigest()[:16]


@dataclass
class Connection:
    """What one publishing pass talks to; built fresh from settings and secrets each pass."""

    graph: GraphClient
    hosting: FtpUploader
    #: `token_fingerprint` of the access token ``graph`` uses.
    token_id: str = ""

    async def close(self) -> None:
        await self.graph.close()


Connect = Callable[[], Awaitable[Connection]]


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
        self._unsubscribe = self.queue.subscribe(lambda _change: self._wake.set())
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
        state = post.state
        try:
            if state is S.QUEUED:
                return await self._start(conn, post)
            if state is S.UPLOADING:
                return await self._upload(conn, post)
            if state is S.UPLOADED:
                return await self._create_container(conn, post)
            if state is S.CONTAINER_CREATED:
                return await self._await_container(conn, post)
            if state is S.READY:
                return await self._begin_publish(conn, post)
            if state is S.PUBLISHING:
                return await self._publish(conn, post)
        except ContainerExpiredError as exc:
            return await self._recreate(post, str(exc))
        except NotReadyError as exc:
            # Meta said "not ready" although the status said FINISHED: poll again, at once the
            # first time, then backing off, and give up like any transient error.
            failures = post.failures + 1
            if failures >= self.config.backoff.max_failures:
                return await self._fail(post, state, exc, f" (after {failures} attempts)")
            later = (
                None
                if failures == 1
                else self._clock() + timedelta(seconds=self.config.backoff.delay(failures - 1))
            )
            moved = replace(post, failures=failures, waiting_reason="processing",
                            next_attempt_at=later)  # fmt: skip
            if post.container_id and state is not S.CONTAINER_CREATED:
                moved = moved.transition(S.CONTAINER_CREATED)
            return await self._save(moved, state, "publish", "wait", str(exc))
        except QuotaExhaustedError as exc:
            return await self._wait_quota(post, state, str(exc))
        except (TransientGraphError, TransientHostingError) as exc:
            return await self._transient(post, state, exc)
        except (StaleStateError, PostNotFoundError):
            raise  # `_drive` reads the post again
        except InstagramError as exc:
            return await self._fail(post, state, exc)
        raise AssertionError(f"post {post.id} is {state.value}: nothing to do")

    # -- the steps ----------------------------------------------------------------------------

    async def _start(self, conn: Connection, post: QueuedPost) -> QueuedPost:
        """A queued post: a retry may already have a container; check it before anything."""
        if post.container_id:
            try:
                status = await conn.graph.container_status(post.container_id)
            except StopGraphError as exc:
                if isinstance(exc, GraphAuthError):
                    raise
                return await self._recreate(post, f"container {post.container_id}: {exc}")
            if status.status_code == PUBLISHED:
                return await self._save(
                    post.transition(S.PUBLISHED), S.QUEUED, "publish", "ok",
                    "already published (found on Instagram)",
                )  # fmt: skip
            reusable = not (self._too_old(post) or post.container_stale)
            if status.status_code in (FINISHED, IN_PROGRESS) and reusable:
                new = S.READY if status.status_code == FINISHED else S.CONTAINER_CREATED
                return await self._save(
                    post.transition(new), S.QUEUED, "container", "ok",
                    f"container {post.container_id} is {status.status_code}",
                )  # fmt: skip
            return await self._recreate(post, f"container {post.container_id} cannot be reused")
        return await self._save(post.transition(S.UPLOADING), S.QUEUED, "upload", "info",
                                "uploading media")  # fmt: skip

    async def _upload(self, conn: Connection, post: QueuedPost) -> QueuedPost:
        for index, item in enumerate(post.media):
            if item.public_url:
                continue
            if not await asyncio.to_thread(Path(item.path).is_file):
                raise InstagramError(
                    "the queue's copy of this file is gone",
                    path=item.path,
                    hint="Remove the post and add the file again.",
                )
            name = unique_name(Path(item.path), post.id or 0, index)
            url = await conn.hosting.publish_file(Path(item.path), name)
            post = await self._save(
                with_media(post, index, remote_name=name, public_url=url),
                S.UPLOADING, "upload", "ok", f"{Path(item.path).name} answers at {url}",
            )  # fmt: skip
        return await self._save(post.transition(S.UPLOADED), S.UPLOADING, "upload", "ok",
                                "every file answers at its public URL")  # fmt: skip

    async def _create_container(self, conn: Connection, post: QueuedPost) -> QueuedPost:
        quota = await conn.graph.publishing_limit()
        self.queue.set_quota(quota)
        if quota.exhausted:
            return await self._wait_quota(post, S.UPLOADED, f"quota used: {quota.label()}")
        graph, caption = conn.graph, post.caption or None
        if post.kind is PostKind.CAROUSEL:
            for index, item in enumerate(post.media):
                if item.container_id:
                    continue
                if item.media_type == "video":
                    child = await graph.create_video_container(
                        item.public_url or "", "VIDEO", carousel_item=True
                    )
                else:
                    child = await graph.create_image_container(
                        item.public_url or "", alt_text=post.alt_text, carousel_item=True
                    )
                post = await self._save(
                    with_media(post, index, container_id=child), S.UPLOADED, "container", "ok",
                    f"carousel item {index + 1} is container {child}",
                )  # fmt: skip
            for item in post.media:
                await graph.wait_until_finished(
                    item.container_id or "", self.config.poll, self._sleep
                )
            container = await graph.create_carousel_container(
                [m.container_id or "" for m in post.media], caption
            )
        else:
            item = post.media[0]
            if item.media_type == "video":
                kind = "STORIES" if post.kind is PostKind.STORY else "REELS"
                container = await graph.create_video_container(
                    item.public_url or "", kind, caption=caption
                )
            else:
                container = await graph.create_image_container(
                    item.public_url or "",
                    caption=caption,
                    alt_text=post.alt_text,
                    story=post.kind is PostKind.STORY,
                )
        created = replace(
            post.transition(S.CONTAINER_CREATED),
            container_id=container,
            container_created_at=self._clock(),
            failures=0,
            waiting_reason="",
            next_attempt_at=None,
        )
        return await self._save(created, S.UPLOADED, "container", "ok",
                                f"container {container} created")  # fmt: skip

    async def _await_container(self, conn: Connection, post: QueuedPost) -> QueuedPost:
        if self._too_old(post):
            return await self._recreate(post, f"container {post.container_id} is over 23 h old")
        status = await conn.graph.wait_until_finished(
            post.container_id or "", self.config.poll, self._sleep
        )
        if status.status_code == PUBLISHED:
            return await self._save(post.transition(S.PUBLISHED), S.CONTAINER_CREATED,
                                    "publish", "ok", "already published")  # fmt: skip
        return await self._save(post.transition(S.READY), S.CONTAINER_CREATED, "container",
                                "ok", "Instagram finished processing the media")  # fmt: skip

    async def _begin_publish(self, conn: Connection, post: QueuedPost) -> QueuedPost:
        if self._too_old(post):
            return await self._recreate(post, f"container {post.container_id} is over 23 h old")
        quota = await conn.graph.publishing_limit()
        self.queue.set_quota(quota)
        if quota.exhausted:
            return await self._wait_quota(post, S.READY, f"quota used: {quota.label()}")
        # Saved before the request: whatever happens next, a restart checks before publishing.
        return await self._save(post.transition(S.PUBLISHING), S.READY, "publish", "info",
                                "sending the publish request")  # fmt: skip

    async def _publish(self, conn: Connection, post: QueuedPost) -> QueuedPost:
        status = await conn.graph.container_status(post.container_id or "")
        if status.status_code == PUBLISHED:
            return await self._save(
                post.transition(S.PUBLISHED), S.PUBLISHING, "publish", "ok",
                "published (confirmed by the container's status)",
            )  # fmt: skip
        if status.status_code == IN_PROGRESS:
            return await self._save(post.transition(S.CONTAINER_CREATED), S.PUBLISHING,
                                    "container", "wait", "still processing")  # fmt: skip
        raise_for_status(status)
        media_id = await conn.graph.publish(post.container_id or "")
        done = replace(post.transition(S.PUBLISHED), media_id=media_id, failures=0,
                       last_error="", waiting_reason="", next_attempt_at=None)  # fmt: skip
        return await self._save(done, S.PUBLISHING, "publish", "ok",
                                f"published as media {media_id}")  # fmt: skip

    # -- outcomes -----------------------------------------------------------------------------

    def _too_old(self, post: QueuedPost) -> bool:
        created = post.container_created_at
        return created is not None and self._clock() - created > self.config.container_ttl

    async def _recreate(self, post: QueuedPost, reason: str) -> QueuedPost:
        """Forget the containers; go back to the uploads (or upload again if there are none)."""
        uploaded = all(m.public_url for m in post.media)
        target = S.UPLOADED if uploaded else S.UPLOADING
        media = tuple(replace(m, container_id=None) for m in post.media)
        fresh = replace(
            post.transition(target),
            container_id=None,
            container_created_at=None,
            container_stale=False,
            media=media,
            waiting_reason="",
            next_attempt_at=None,
        )
        return await self._save(fresh, post.state, "container", "retry",
                                f"{reason}; creating a new container")  # fmt: skip

    async def _wait_quota(self, post: QueuedPost, state: PostState, reason: str) -> QueuedPost:
        quota = self.queue.quota
        now = self._clock()
        until = (
            recheck_at(replace(quota, read_at=now), self.config.quota_recheck)
            if quota
            else now + self.config.quota_recheck
        )
        waiting = replace(post, waiting_reason="quota", next_attempt_at=until)
        return await self._save(waiting, state, "quota", "wait",
                                f"{reason}; waiting until {until:%H:%M} UTC")  # fmt: skip

    async def _transient(self, post: QueuedPost, state: PostState, exc: Exception) -> QueuedPost:
        failures = post.failures + 1
        if failures >= self.config.backoff.max_failures:
            return await self._fail(post, state, exc, f" (after {failures} attempts)")
        delay = self.config.backoff.delay(failures)
        retry = replace(
            post,
            failures=failures,
            last_error=str(exc),
            waiting_reason="retry",
            next_attempt_at=self._clock() + timedelta(seconds=delay),
        )
        return await self._save(retry, state, state.value, "retry",
                                f"{exc}; trying again in {delay:.0f} s")  # fmt: skip

    async def _fail(
        self, post: QueuedPost, state: PostState, exc: Exception, suffix: str = ""
    ) -> QueuedPost:
        if isinstance(exc, GraphAuthError):
            messages.error(f"Instagram publishing stopped: {exc}")
        failed = replace(post.transition(S.FAILED), last_error=str(exc) + suffix,
                         waiting_reason="", next_attempt_at=None)  # fmt: skip
        return await self._save(failed, state, state.value, "error", str(exc) + suffix)

    async def _save(
        self, post: QueuedPost, expected: PostState, step: str, outcome: str, message: str
    ) -> QueuedPost:
        if outcome in ("ok", "info"):
            # A step that worked ends any wait or error the post showed before it.
            post = replace(post, failures=0, last_error="", waiting_reason="",
                           next_attempt_at=None)  # fmt: skip
        log.info("post %s: %s → %s: %s", post.id, expected.value, post.state.value, message)
        return await self.queue.save_step(post, expected, step=step, outcome=outcome,
                                          message=message)  # fmt: skip

    async def refresh_quota(self) -> Quota:
        """Read the live quota now (for the page's gauge); also kept in ``queue.quota``."""
        connection = await self._connect()
        try:
            quota = await connection.graph.publishing_limit()
        finally:
            await connection.close()
        self.queue.set_quota(quota)
        return quota

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


def connector(settings_source, secrets) -> Connect:  # noqa: ANN001 - SettingsStore, SecretStore
    """A `Connect` that reads the current settings and secrets each pass (edits apply at once)."""
    from carrier_studio.services.instagram.ftp import FtpTarget

    async def connect() -> Connection:
        settings = settings_source.settings
        token, password = await asyncio.to_thread(
            lambda: (secrets.get("INSTAGRAM_ACCESS_TOKEN"), secrets.get("FTP_PASSWORD"))
        )
        ig, ftp = settings.instagram, settings.ftp
        hosting = FtpUploader(
            FtpTarget(
                ftp.host,
                ftp.port,
                ftp.user,
                password or "",
                ftp.remote_dir,
                ftp.public_base_url,
                ftp.use_tls,
            )  # fmt: skip
        )
        return Connection(
            GraphClient(ig.base_url, ig.user_id, token or ""),
            hosting,
            token_fingerprint(token or ""),
        )

    return connect


def build_worker(database, settings_source, secrets, workspace_root: Path, **kwargs):  # noqa: ANN001, ANN201
    """The worker of one workspace: its queue on ``database`` and a settings-driven connector."""
    queue = InstagramQueue(database, workspace_root / "instagram")
    return InstagramWorker(queue, connector(settings_source, secrets), **kwargs)


async def _main(args: argparse.Namespace) -> int:
    from carrier_studio.services.platform.db import Database
    from carrier_studio.services.platform.paths import AppPaths, WorkspacePaths
    from carrier_studio.services.platform.secrets import SecretStore
    from carrier_studio.services.platform.settings_store import SettingsStore

    app_paths = AppPaths.for_user()
    settings = SettingsStore.load(app_paths.settings_file)
    root = app_paths.choose_workspace(args.workspace)
    paths = WorkspacePaths(root)
    secrets = SecretStore(settings.settings.secrets.storage, paths.env_file)
    database = Database(paths.database)
    await database.open()
    config = WorkerConfig(
        poll=PollSchedule(first=args.poll, cap=args.poll * 4),
        backoff=Backoff(first=args.poll),
    )
    worker = build_worker(database, settings, secrets, root, config=config)
    try:
        if args.until_idle:
            await worker.run_until_idle()
        else:
            worker.start()
            await asyncio.Event().wait()
    finally:
        await worker.stop()
        await database.close()
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m carrier_studio.services.instagram.worker")
    parser.add_argument("--workspace", help="the workspace folder (default: the user's)")
    parser.add_argument(
        "--until-idle", action="store_true", help="exit once no post is due any more"
    )
    parser.add_argument("--poll", type=float, default=2.0, help="first poll delay, seconds")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, stream=sys.stdout, format="%(message)s")
    try:
        return asyncio.run(_main(args))
    except CarrierError as exc:
        log.error("instagram worker: %s", exc)
        return 1


if __name__ == "__main__":
    sys.exit(main())
