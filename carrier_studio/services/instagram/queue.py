"""The Instagram post queue in studio.db, and the facade the Instagram page uses.

Every change is one transaction and bumps the post's ``revision``. The worker saves each
publishing step with `save_step`, a compare-and-set on the revision it read: if the user
cancelled or edited the post meanwhile, the worker's write is refused (`StaleStateError`)
instead of writing back fields from its old copy; the worker then reads the post again and
decides anew. A post becomes visible only with its media: `add` copies the files first and then
stores the post and its media in one transaction.

Listeners subscribe to `changed` (core/events.py); they are called on the event loop after each
change is stored, with a `QueueChange` saying what changed, to which post, and who asked; the
page redraws one post for an update and the whole list for the rest.
"""

# Long: every write of the queue is one transaction with its revision check; keeping them
# together keeps the compare-and-set rules in one place. Media copying is the next cut.

from __future__ import annotations

import asyncio
import logging
import shutil
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path

import apsw

from carrier_studio.core.events import Change, Emitter
from carrier_studio.core.instagram import (
    EDITABLE,
    Attempt,
    Finding,
    IllegalTransitionError,
    InstagramError,
    MediaFile,
    MediaInfo,
    PostKind,
    PostState,
    PreflightError,
    QueuedPost,
    Quota,
    check_caption,
    check_post,
    utcnow,
)
from carrier_studio.core.instagram.post import check_transition
from carrier_studio.core.instagram.preflight import check_image
from carrier_studio.services.instagram import media as instagram_media
from carrier_studio.services.platform.db import Database

log = logging.getLogger(__name__)


class StaleStateError(InstagramError):
    """The post changed (cancelled, edited) since it was read; the write was not made."""


class PostNotFoundError(InstagramError):
    """No post with that id (deleted meanwhile)."""


class QueuePreflightError(PreflightError):
    """Pre-flight found problems; ``findings`` lists each one (file, field, fixable)."""

    def __init__(self, findings: Sequence[Finding]) -> None:
        self.findings = list(findings)
        fixable = [f for f in self.findings if f.fixable]
        super().__init__(
            "; ".join(str(f) for f in self.findings),
            where=self.findings[0].field if self.findings else None,
            hint="Convert the images to fix format, size and aspect."
            if fixable and len(fixable) == len(self.findings)
            else None,
        )

    @property
    def convertible(self) -> bool:
        """True when a conversion (``add(..., convert=True)``) would fix every finding."""
        return bool(self.findings) and all(f.fixable for f in self.findings)


@dataclass(frozen=True)
class QueueChange(Change):
    """What changed: ``kind`` is "added", "updated", "removed", "reordered" or "quota"."""

    kind: str = "updated"
    post_id: int | None = None


def _iso(value: datetime | None) -> str | None:
    if value is None:
        return None
    if value.tzinfo is None:
        raise InstagramError(
            f"{value.isoformat()} has no time zone", where="scheduled_at",
            hint="Give the time with its zone (the page uses the computer's).",
        )  # fmt: skip
    return value.astimezone(UTC).isoformat(timespec="milliseconds")


def _dt(value: str | None) -> datetime | None:
    if not value:
        return None
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


_POST_COLUMNS = (
    "id, kind, caption, alt_text, scheduled_at, character, state, position, container_id, "
    "container_created_at, media_id, last_error, waiting_reason, next_attempt_at, failures, "
    "created_at, container_stale, revision"
)


def infer_kind(infos: Sequence[MediaInfo]) -> PostKind:
    """One image: an image post; one video: a reel; several files: a carousel."""
    if len(infos) > 1:
        return PostKind.CAROUSEL
    if infos and infos[0].media_type == "video":
        return PostKind.REEL
    return PostKind.IMAGE


class InstagramQueue:
    """The queue of one workspace.

    Args:
        db: The workspace's open studio.db.
        media_dir: Where the queue keeps its copies of the media (``<workspace>/instagram``).
    """

    def __init__(self, db: Database, media_dir: Path, *, clock: Callable[[], datetime] = utcnow):
        self._db = db
        self.media_dir = media_dir
        self._clock = clock
        #: Emits a `QueueChange` after every stored change.
        self.changed: Emitter[QueueChange] = Emitter("Instagram queue")
        #: The last quota reading the worker made (None until it made one).
        self.quota: Quota | None = None

    # -- notifications ------------------------------------------------------------------------

    def _notify(self, kind: str, post_id: int | None = None, by: object | None = None) -> None:
        self.changed.emit(QueueChange(by, kind, post_id))

    def set_quota(self, quota: Quota) -> None:
        self.quota = quota
        self._notify("quota")

    # -- reading ------------------------------------------------------------------------------

    async def list(self, states: Sequence[PostState] | None = None) -> list[QueuedPost]:
        """Posts in queue order (position), with their media; attempts are left out (see
        `timeline`). ``states`` filters, e.g. ``ACTIVE``."""

        def read(conn: apsw.Connection) -> list[QueuedPost]:
            sql = f"SELECT {_POST_COLUMNS} FROM instagram_posts"
            args: list[str] = []
            if states is not None:
                sql += f" WHERE state IN ({','.join('?' * len(states))})"
                args = [s.value for s in states]
            rows = conn.execute(sql + " ORDER BY position, id", args).fetchall()
            return [self._post(conn, row, attempts=False) for row in rows]

        return await self._db.run(read)

    async def get(self, post_id: int) -> QueuedPost:
        """One post with its media and its whole timeline."""
        return await self._db.run(lambda conn: self._read(conn, post_id))

    async def timeline(self, post_id: int) -> list[Attempt]:
        return list((await self.get(post_id)).attempts)

    def _read(self, conn: apsw.Connection, post_id: int, attempts: bool = True) -> QueuedPost:
        row = conn.execute(
            f"SELECT {_POST_COLUMNS} FROM instagram_posts WHERE id = ?", (post_id,)
        ).fetchone()
        if row is None:
            raise PostNotFoundError(f"post {post_id} is not in the queue")
        return self._post(conn, row, attempts=attempts)

    def _post(self, conn: apsw.Connection, row: tuple, *, attempts: bool) -> QueuedPost:
        (pid, kind, caption, alt, scheduled, character, state, position, container, created,
         media_id, error, waiting, next_at, failures, created_at, stale,
         revision) = row  # fmt: skip
        media = tuple(
            MediaFile(*m)
            for m in conn.execute(
                "SELECT path, media_type, source, thumbnail, remote_name, public_url, "
                "container_id FROM instagram_media WHERE post_id = ? ORDER BY idx",
                (pid,),
            )
        )
        log_rows = (
            conn.execute(
                "SELECT at, step, outcome, message FROM instagram_attempts WHERE post_id = ? "
                "ORDER BY id",
                (pid,),
            ).fetchall()
            if attempts
            else []
        )
        return QueuedPost(
            id=pid,
            kind=PostKind(kind),
            media=media,
            caption=caption,
            alt_text=alt,
            scheduled_at=_dt(scheduled),
            character=character,
            state=PostState(state),
            position=position,
            container_id=container,
            container_created_at=_dt(created),
            container_stale=bool(stale),
            media_id=media_id,
            last_error=error,
            waiting_reason=waiting,
            next_attempt_at=_dt(next_at),
            failures=failures,
            attempts=tuple(Attempt(_dt(a), s, o, m) for a, s, o, m in log_rows),
            created_at=_dt(created_at),
            revision=revision,
        )

    # -- pre-flight ---------------------------------------------------------------------------

    async def inspect(self, files: Sequence[Path]) -> list[MediaInfo]:
        """Open each file (in a thread) for pre-flight."""
        return await asyncio.to_thread(lambda: [instagram_media.probe(Path(f)) for f in files])

    async def preflight(
        self, files: Sequence[Path], caption: str = "", kind: PostKind | None = None
    ) -> list[Finding]:
        """Every problem the post would have; empty when it may be queued as it is."""
        infos = await self.inspect(files)
        return check_post(infos, kind or infer_kind(infos), caption)

    # -- the user's changes -------------------------------------------------------------------

    async def add(
        self,
        files: Sequence[Path],
        *,
        kind: PostKind | None = None,
        caption: str = "",
        alt_text: str = "",
        scheduled_at: datetime | None = None,
        character: str = "",
        convert: bool = False,
    ) -> QueuedPost:
        """Queue a post at the end of the queue.

        The files are copied into the queue's folder (the user's files are never changed);
        several files make a carousel unless ``kind`` says otherwise. Pre-flight problems raise
        `QueuePreflightError` and nothing is queued — unless ``convert`` is True (the user
        agreed) and a conversion fixes every problem of the files that have them: then the
        queue keeps converted JPEG copies.
        """
        files = [Path(f) for f in files]
        infos = await self.inspect(files)
        kind = kind or infer_kind(infos)
        findings = check_post(infos, kind, caption)
        if findings and convert and all(f.fixable for f in findings):
            findings = []
        if findings:
            raise QueuePreflightError(findings)
        _iso(scheduled_at)  # refuses naive times before anything is written
        # The copies are made first, in a folder no post owns: a post row never exists without
        # its media (the worker would publish it with none), and a failure leaves nothing.
        staging = self.media_dir / "media" / f".incoming-{uuid.uuid4().hex}"
        try:
            media = await asyncio.to_thread(self._stage_files, staging, files, infos, kind, convert)
            post_id = await self._db.run(
                lambda conn: self._insert(
                    conn, staging, media, kind, caption, alt_text, scheduled_at, character
                )
            )
        finally:
            # Moved to the post's folder on success; whatever is left here is an orphan.
            await asyncio.to_thread(shutil.rmtree, staging, True)
        self._notify("added", post_id)
        return await self.get(post_id)

    def _post_dir(self, post_id: int) -> Path:
        return self.media_dir / "media" / str(post_id)

    def _stage_files(
        self,
        folder: Path,
        files: list[Path],
        infos: list[MediaInfo],
        kind: PostKind,
        convert: bool,
    ) -> list[MediaFile]:
        """Copy (or convert) ``files`` into ``folder``, with thumbnails."""
        folder.mkdir(parents=True, exist_ok=True)
        staged = []
        for index, (source, info) in enumerate(zip(files, infos, strict=True)):
            dest = folder / f"{index:02d}-{source.name}"
            needs_fix = convert and info.media_type == "image" and bool(check_image(info, kind))
            if needs_fix:
                dest = instagram_media.convert_for_instagram(source, dest)
            else:
                shutil.copy2(source, dest)
            thumb = instagram_media.make_thumbnail(dest, folder / f"{index:02d}.thumb.png")
            staged.append(
                MediaFile(str(dest), info.media_type, str(source), str(thumb) if thumb else None)
            )
        return staged

    def _insert(
        self,
        conn: apsw.Connection,
        staging: Path,
        media: list[MediaFile],
        kind: PostKind,
        caption: str,
        alt_text: str,
        scheduled_at: datetime | None,
        character: str,
    ) -> int:
        """Store the post and its media in one transaction, and move the staged copies to the
        post's folder before it commits (runs in the database's thread)."""
        moved: Path | None = None
        try:
            with conn:
                post_id = self._insert_post(conn, kind, caption, alt_text, scheduled_at, character)
                folder = self._post_dir(post_id)
                self._insert_media(conn, post_id, [_moved(m, staging, folder) for m in media])
                if folder.exists():
                    # Left by a process killed between this move and the commit: the id was
                    # never committed (AUTOINCREMENT never hands out a committed one again).
                    shutil.rmtree(folder)
                staging.rename(folder)
                moved = folder
        except BaseException:
            if moved is not None:  # the commit failed after the move: put the copies back
                shutil.rmtree(moved, ignore_errors=True)
            raise
        return post_id

    def _insert_post(
        self,
        conn: apsw.Connection,
        kind: PostKind,
        caption: str,
        alt_text: str,
        scheduled_at: datetime | None,
        character: str,
    ) -> int:
        position = conn.execute(
            "SELECT coalesce(max(position), -1) + 1 FROM instagram_posts"
        ).fetchone()[0]
        conn.execute(
            "INSERT INTO instagram_posts (position, kind, caption, alt_text, character, "
            "scheduled_at, state) VALUES (?, ?, ?, ?, ?, ?, ?)",
            (
                position,
                kind.value,
                caption,
                alt_text,
                character,
                _iso(scheduled_at),
                PostState.QUEUED.value,
            ),  # fmt: skip
        )
        post_id = conn.last_insert_rowid()
        self._log(conn, post_id, "queued", "info", f"queued as a {kind.value} post")
        return post_id

    def _insert_media(self, conn: apsw.Connection, post_id: int, media: list[MediaFile]) -> None:
        for index, item in enumerate(media):
            conn.execute(
                "INSERT INTO instagram_media (post_id, idx, path, media_type, source, "
                "thumbnail) VALUES (?, ?, ?, ?, ?, ?)",
                (post_id, index, item.path, item.media_type, item.source, item.thumbnail),
            )

    _UNSET = object()

    async def update(
        self,
        post_id: int,
        *,
        caption: str | None = None,
        alt_text: str | None = None,
        scheduled_at: datetime | None | object = _UNSET,
        character: str | None = None,
        media_order: Sequence[int] | None = None,
    ) -> QueuedPost:
        """Edit a post that has not started publishing (queued, failed or cancelled).

        ``media_order`` lists the media's current indexes in their new order (a carousel's
        order): the files and their uploads stay as they are; only the carousel's container,
        which lists its items in order, is made anew. Everything changes in one transaction.
        A caption that breaks the rules raises `QueuePreflightError`; nothing is changed.
        """
        if caption is not None and (findings := check_caption(caption)):
            raise QueuePreflightError(findings)
        changes: dict[str, object] = {}
        if caption is not None:
            changes["caption"] = caption
        if alt_text is not None:
            changes["alt_text"] = alt_text
        if character is not None:
            changes["character"] = character
        if scheduled_at is not self._UNSET:
            changes["scheduled_at"] = _iso(scheduled_at)  # type: ignore[arg-type]

        def write(conn: apsw.Connection) -> None:
            with conn:
                post = self._read(conn, post_id, attempts=False)
                if post.state not in EDITABLE:
                    raise StaleStateError(
                        f"post {post_id} is {post.state.value} and can no longer be edited",
                        where="state",
                    )
                moved = media_order is not None and self._reorder_media(conn, post, media_order)
                if moved:
                    changes["container_stale"] = int(post.container_id is not None)
                if changes:
                    if "caption" in changes or "alt_text" in changes:
                        # A container carries the caption it was made with: make a new one.
                        changes["container_stale"] = int(post.container_id is not None)
                    sets = ", ".join(f"{k} = ?" for k in changes)
                    conn.execute(
                        f"UPDATE instagram_posts SET {sets}, revision = revision + 1, "
                        "updated_at = ? WHERE id = ?",
                        (*changes.values(), _iso(self._clock()), post_id),
                    )

        await self._db.run(write)
        self._notify("updated", post_id)
        return await self.get(post_id)

    async def reorder_media(self, post_id: int, order: Sequence[int]) -> QueuedPost:
        """Put a post's media in ``order`` (`update` with ``media_order`` alone)."""
        return await self.update(post_id, media_order=order)

    @staticmethod
    def _reorder_media(conn: apsw.Connection, post: QueuedPost, order: Sequence[int]) -> bool:
        """Renumber the post's media rows to ``order``; True when the order changed."""
        if sorted(order) != list(range(len(post.media))):
            raise InstagramError(
                f"the new order {list(order)} must list each of post {post.id}'s "
                f"{len(post.media)} items once",
                where="media",
            )
        if list(order) == sorted(order):
            return False
        # Two passes: (post_id, idx) is the key, so no row may take an index still taken.
        for new, old in enumerate(order):
            conn.execute(
                "UPDATE instagram_media SET idx = ? WHERE post_id = ? AND idx = ?",
                (-1 - new, post.id, old),
            )
        conn.execute(
            "UPDATE instagram_media SET idx = -1 - idx WHERE post_id = ? AND idx < 0", (post.id,)
        )
        return True

    def _preview_path(self, source: Path, suffix: str) -> Path:
        import hashlib

        key = hashlib.sha1(str(Path(source).resolve()).encode(), usedforsecurity=False)
        return self.media_dir / "previews" / f"{key.hexdigest()[:16]}{suffix}"

    async def poster_preview(self, source: Path) -> Path | None:
        """A video's poster frame for the draft's thumbnail (under ``previews/``, like
        `converted_preview`); None when the video cannot be read."""
        dest = self._preview_path(source, ".poster.png")
        return await asyncio.to_thread(instagram_media.video_poster, Path(source), dest)

    async def converted_preview(self, source: Path) -> Path:
        """A thumbnail (PNG) of ``source`` converted as `add` would convert it, for the draft
        after the user agreed to convert: under the queue's folder (``previews/``), never
        beside the user's file; the full-size copy is not kept. Raises what the conversion
        raises (`ImageRefusedError`)."""
        dest = self._preview_path(source, ".converted.png")

        def make() -> Path:
            full = instagram_media.convert_for_instagram(Path(source), dest.with_suffix(".jpg"))
            try:
                thumb = instagram_media.make_thumbnail(full, dest)
            finally:
                full.unlink(missing_ok=True)
            if thumb is None:
                raise InstagramError(f"{source}: the converted copy could not be read back")
            return thumb

        return await asyncio.to_thread(make)

    async def clear_previews(self) -> None:
        """Remove the draft's previews (the page calls this when it closes)."""
        await asyncio.to_thread(shutil.rmtree, self.media_dir / "previews", True)

    async def reorder(self, ordered_ids: Sequence[int], *, by: object | None = None) -> None:
        """Put the posts in this order (drag to reorder); posts not named keep their relative
        order after them.

        The only write that keeps ``revision``: the worker never saves ``position``, so a
        reorder cannot be overwritten and must not make the step in progress start over."""

        def write(conn: apsw.Connection) -> None:
            with conn:
                rest = [
                    r[0]
                    for r in conn.execute("SELECT id FROM instagram_posts ORDER BY position, id")
                    if r[0] not in set(ordered_ids)
                ]
                for position, pid in enumerate([*ordered_ids, *rest]):
                    conn.execute(
                        "UPDATE instagram_posts SET position = ? WHERE id = ?", (position, pid)
                    )

        await self._db.run(write)
        self._notify("reordered", by=by)

    async def cancel(self, post_id: int) -> QueuedPost:
        """Stop a post that is not being published right now."""
        return await self._user_transition(post_id, PostState.CANCELLED, "cancelled by you")

    async def retry(self, post_id: int) -> QueuedPost:
        """Queue a failed or cancelled post again; the worker checks any container it already
        has before making a new one, so a retry never publishes twice."""
        return await self._user_transition(post_id, PostState.QUEUED, "queued again by you")

    async def _user_transition(self, post_id: int, new: PostState, message: str) -> QueuedPost:
        def write(conn: apsw.Connection) -> None:
            with conn:
                post = self._read(conn, post_id, attempts=False)
                check_transition(post_id, post.state, new)
                conn.execute(
                    "UPDATE instagram_posts SET state = ?, last_error = '', waiting_reason = '', "
                    "next_attempt_at = NULL, failures = 0, revision = revision + 1, "
                    "updated_at = ? WHERE id = ?",
                    (new.value, _iso(self._clock()), post_id),
                )
                self._log(conn, post_id, new.value, "info", message)

        await self._db.run(write)
        self._notify("updated", post_id)
        return await self.get(post_id)

    async def remove(self, post_id: int) -> None:
        """Delete a post that is not in the middle of publishing, and the queue's copies of its
        media (the user's own files stay)."""

        def delete(conn: apsw.Connection) -> None:
            with conn:
                post = self._read(conn, post_id, attempts=False)
                if post.state not in (*EDITABLE, PostState.PUBLISHED):
                    raise IllegalTransitionError(
                        f"post {post_id} is {post.state.value}; cancel it before removing it",
                        where="state",
                    )
                conn.execute("DELETE FROM instagram_posts WHERE id = ?", (post_id,))

        await self._db.run(delete)
        await asyncio.to_thread(shutil.rmtree, self._post_dir(post_id), True)
        self._notify("removed", post_id)

    async def queue_from_agent(
        self,
        character: str,
        files: list[str],
        caption: str,
        *,
        alt_text: str = "",
        scheduled_at: str = "",
    ) -> str:
        """The agent tool's entry (`core.runtime.instagram_tool.PostQueuer`): queue a post and
        say what happened in a sentence for the model. Never converts files: that needs the
        user's consent on the Instagram page."""
        when = None
        if scheduled_at.strip():
            try:
                when = datetime.fromisoformat(scheduled_at.strip().replace("Z", "+00:00"))
            except ValueError:
                return f"error: scheduled_at {scheduled_at!r} is not an ISO 8601 time"
            if when.tzinfo is None:
                return "error: scheduled_at needs a time zone, e.g. 2026-11-22T18:00:00+01:00"
        missing = [f for f in files if not Path(f).is_file()]
        if missing:
            return f"error: no such file: {', '.join(missing)}"
        try:
            post = await self.add(
                [Path(f) for f in files],
                caption=caption,
                alt_text=alt_text,
                scheduled_at=when,
                character=character,
            )
        except QueuePreflightError as exc:
            return f"error: not queued; {exc}"
        at = f"for {when.isoformat()}" if when else "to publish as soon as possible"
        return (
            f"Queued Instagram post {post.id} ({post.kind.value}, {len(post.media)} file"
            f"{'s' if len(post.media) != 1 else ''}) {at}. It is on the Instagram page."
        )

    # -- the worker's steps -------------------------------------------------------------------

    async def due(self, now: datetime | None = None) -> list[QueuedPost]:
        """Posts the worker should work on now, in queue order."""
        now = now or self._clock()
        from carrier_studio.core.instagram import ACTIVE

        return [p for p in await self.list(sorted(ACTIVE)) if p.is_due(now)]

    async def pending(self) -> list[QueuedPost]:
        """Posts the worker still has work to do on (due or not)."""
        from carrier_studio.core.instagram import ACTIVE

        return await self.list(sorted(ACTIVE))

    async def save_step(
        self,
        post: QueuedPost,
        expected: PostState,
        *,
        step: str,
        outcome: str = "ok",
        message: str = "",
    ) -> QueuedPost:
        """Store ``post`` (state, containers, errors, media) with one timeline line, in one
        transaction, if the row is still the one ``post`` was read from: same ``revision`` and
        in ``expected``. Raises `StaleStateError` (or `PostNotFoundError`) otherwise; the
        caller reads the post again and decides anew."""
        if post.state != expected:
            check_transition(post.id, expected, post.state)

        def write(conn: apsw.Connection) -> None:
            with conn:
                current = conn.execute(
                    "SELECT state, revision FROM instagram_posts WHERE id = ?", (post.id,)
                ).fetchone()
                if current is None:
                    raise PostNotFoundError(f"post {post.id} was removed")
                if current[0] != expected.value:
                    raise StaleStateError(
                        f"post {post.id} is now {current[0]}, not {expected.value}",
                        where="state",
                    )
                if current[1] != post.revision:
                    raise StaleStateError(
                        f"post {post.id} changed since it was read (revision {current[1]}, "
                        f"not {post.revision})",
                        where="revision",
                    )
                conn.execute(
                    "UPDATE instagram_posts SET state = ?, container_id = ?, "
                    "container_created_at = ?, container_stale = ?, media_id = ?, last_error = ?, "
                    "waiting_reason = ?, next_attempt_at = ?, failures = ?, "
                    "revision = revision + 1, updated_at = ? WHERE id = ? AND revision = ?",
                    (
                        post.state.value,
                        post.container_id,
                        _iso(post.container_created_at),
                        int(post.container_stale),
                        post.media_id,
                        post.last_error,
                        post.waiting_reason,
                        _iso(post.next_attempt_at),
                        post.failures,
                        _iso(self._clock()),
                        post.id,
                        post.revision,
                    ),
                )
                for index, item in enumerate(post.media):
                    conn.execute(
                        "UPDATE instagram_media SET remote_name = ?, public_url = ?, "
                        "container_id = ? WHERE post_id = ? AND idx = ?",
                        (item.remote_name, item.public_url, item.container_id, post.id, index),
                    )
                self._log(conn, post.id, step, outcome, message)

        await self._db.run(write)
        self._notify("updated", post.id)
        return await self.get(post.id)

    def _log(self, conn: apsw.Connection, post_id: int, step: str, outcome: str, msg: str) -> None:
        conn.execute(
            "INSERT INTO instagram_attempts (post_id, at, step, outcome, message) "
            "VALUES (?, ?, ?, ?, ?)",
            (post_id, _iso(self._clock()), step, outcome, msg),
        )


def _moved(item: MediaFile, staging: Path, folder: Path) -> MediaFile:
    """``item`` with its copy and thumbnail paths in ``folder`` instead of ``staging``."""

    def move(path: str | None) -> str | None:
        return str(folder / Path(path).relative_to(staging)) if path else path

    return replace(item, path=move(item.path) or item.path, thumbnail=move(item.thumbnail))
