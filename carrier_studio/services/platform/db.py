"""The one way to open studio.db: apsw with sqlite-vec loaded, WAL, versioned migrations.

Why apsw: the stdlib ``sqlite3`` of many Pythons (this machine's, python.org's macOS builds) has
no ``enable_load_extension``, so sqlite-vec cannot be loaded through it. apsw ships its own
current SQLite with extension loading on Linux, macOS and Windows.

All statements run on one worker thread that owns the connection (`ThreadedConnection`;
`Database.run`), so the asyncio loop — and with it the window — never waits on disk.
"""

from __future__ import annotations

import asyncio
import importlib.util
import logging
import os
import re
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import apsw

from carrier_studio import assets
from carrier_studio.core.errors import DatabaseError
from carrier_studio.services.platform.files import move_aside


def vec_extension_path() -> str:
    """The sqlite-vec loadable extension, found without importing ``sqlite_vec``.

    ``import sqlite_vec`` imports numpy (≈0.2 s), which start-up cannot afford; the package's own
    ``loadable_path()`` is just this file beside its ``__init__``.
    """
    spec = importlib.util.find_spec("sqlite_vec")
    if spec is None or not spec.submodule_search_locations:
        raise DatabaseError("the sqlite-vec package is not installed")
    return os.path.join(spec.submodule_search_locations[0], "vec0")


log = logging.getLogger(__name__)
T = TypeVar("T")

_MIGRATION_NAME = re.compile(r"^(\d{4})_[a-z0-9_]+\.sql$")


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    sql: str


def load_migrations(folder: Path | None = None) -> list[Migration]:
    """The numbered ``NNNN_name.sql`` files, in order, with no gaps."""
    folder = folder or assets.resource("sql")
    found = []
    for path in sorted(folder.glob("*.sql")):
        match = _MIGRATION_NAME.match(path.name)
        if match:
            found.append(Migration(int(match.group(1)), path.stem, path.read_text("utf-8")))
    for expected, migration in enumerate(found, start=1):
        if migration.version != expected:
            raise DatabaseError(f"migration {migration.name} is out of sequence", path=folder)
    return found


#: How long a statement waits for another connection's lock before "database is locked".
BUSY_TIMEOUT_MS = 5000


def _use_wal(conn: apsw.Connection) -> None:
    """Switch to WAL, waiting as the busy timeout would for another process doing the same.

    Changing the journal mode takes its lock without calling the busy handler: two processes
    creating one new workspace at the same moment (the window and ``headless``, two CLI
    commands) failed at once with "database is locked" (2 in 30 tries on this machine, and
    once in CI). Once the file is in WAL mode the pragma only reads it, and never waits.
    """
    deadline = time.monotonic() + BUSY_TIMEOUT_MS / 1000
    pause = 0.001
    while True:
        try:
            conn.execute("PRAGMA journal_mode=WAL")
            return
        except apsw.BusyError:
            if time.monotonic() >= deadline:
                raise
            time.sleep(pause)
            pause = min(pause * 2, 0.05)


def connect(path: Path | str) -> apsw.Connection:
    """A connection with sqlite-vec loaded and the pragmas every user of studio.db expects."""
    conn = apsw.Connection(str(path))
    conn.enable_load_extension(True)
    conn.load_extension(vec_extension_path())
    conn.enable_load_extension(False)
    conn.setbusytimeout(BUSY_TIMEOUT_MS)
    _use_wal(conn)
    conn.execute("PRAGMA foreign_keys=ON")
    # FULL, on purpose (#20): a commit that returned is on disk, power cut included. With WAL,
    # NORMAL syncs only at checkpoints: a power cut then loses the last transactions (it never
    # corrupts the file). FULL syncs the WAL at every commit. What a commit acknowledges here
    # is what a person sees saved — a chat message, a memory, a queued post — so it must stay.
    # The cost (bench/sync_modes.py, both in one run, 3 Dec 2026, this project's Linux VM,
    # 1,000 chat messages saved one transaction each through Database): median 0.17–0.26 ms
    # with NORMAL, 0.52–0.59 ms with FULL (one cold round 3.3 ms); 0.3–0.6 s vs 0.65–2.6 s in
    # all. On the database thread, never the window's; a turn saves a handful of rows, a
    # memory import one commit per chunk. docs/performance.md has the figures;
    # tests/reliability/test_power_loss.py drops unsynced writes and fails with NORMAL.
    conn.execute("PRAGMA synchronous=FULL")
    # macOS's fsync() leaves data in the drive's cache; F_FULLFSYNC flushes it (a no-op
    # elsewhere). Not measured here (no Mac); Apple SSDs take milliseconds per flush.
    conn.execute("PRAGMA fullfsync=ON")
    return conn


def migrate(conn: apsw.Connection, migrations: list[Migration], path: Path | str = "") -> int:
    """Apply the migrations the database has not seen; returns the schema version.

    The version is read inside the write transaction that applies the migrations
    (``BEGIN IMMEDIATE`` takes the write lock first): two processes opening a new workspace at
    once (the window and ``headless``, two CLI commands) then apply them once between them,
    the second waiting on the busy timeout and finding nothing left to do. Read outside the
    transaction, both saw version 0 and the second failed ("table … already exists").
    """
    latest = migrations[-1].version if migrations else 0
    if conn.execute("PRAGMA user_version").fetchone()[0] == latest:
        return latest  # the common case: no write lock for a database that is up to date
    conn.execute("BEGIN IMMEDIATE")
    try:
        current = conn.execute("PRAGMA user_version").fetchone()[0]
        if current > latest:
            raise DatabaseError(
                f"was written by a newer Carrier Studio (schema {current}; this one knows "
                f"{latest})",
                path=path,
                hint="Update Carrier Studio to open this workspace.",
            )
        # All pending migrations in one transaction: all of them or none of them.
        for migration in migrations[current:]:
            conn.execute(migration.sql)
            conn.execute(f"PRAGMA user_version={migration.version}")
            log.info("studio.db migrated to %s", migration.name)
        conn.execute("COMMIT")
    except BaseException:
        if not conn.getautocommit():
            conn.execute("ROLLBACK")
        raise
    return max(current, latest)


@dataclass(frozen=True)
class OpenResult:
    schema_version: int
    sqlite_version: str
    vec_version: str
    #: Where a damaged database was moved to, when it had to be replaced.
    recovered_from: Path | None = None


class ThreadedConnection:
    """An apsw connection used from asyncio through the one worker thread it lives on.

    Every use of the connection runs on that thread, in the order asked: the asyncio loop never
    waits on disk, and no two threads use the connection at once. `Database` is studio.db's
    shared connection; the local memory store keeps one of its own on its own thread
    (`SqliteMemoryStore`). A subclass opens the connection on the thread (``await
    self._call(self._open)``) and sets ``_conn`` there.
    """

    def __init__(self, thread_name: str) -> None:
        self._conn: apsw.Connection | None = None
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix=thread_name)

    async def _call(self, fn: Callable[..., T], *args: Any) -> T:
        """Run ``fn(*args)`` on the connection's thread and return its result."""
        return await asyncio.get_running_loop().run_in_executor(self._executor, fn, *args)

    async def close(self) -> None:
        """Close the connection on its thread, after the work asked before, then end the thread."""
        if self._conn is not None:
            conn, self._conn = self._conn, None
            await self._call(conn.close)
        self._executor.shutdown(wait=True)


class Database(ThreadedConnection):
    """studio.db for one workspace, used from asyncio through a single worker thread."""

    def __init__(self, path: Path) -> None:
        super().__init__("studio-db")
        self.path = path

    async def open(self) -> OpenResult:
        try:
            return await self._call(self._open)
        except apsw.Error as exc:
            # Locked, unreadable, a failing migration: say so, with the file, not a traceback.
            raise DatabaseError(f"cannot be opened ({exc})", path=self.path) from exc

    def _open(self) -> OpenResult:
        migrations = load_migrations()
        recovered = None
        try:
            conn = self._connect_and_migrate(migrations)
        except (apsw.NotADBError, apsw.CorruptError):
            # The file is not a database we can read. Keep it for the user, start a new one.
            recovered = move_aside(self.path)
            for suffix in ("-wal", "-shm"):
                side = self.path.with_name(self.path.name + suffix)
                if side.exists():
                    move_aside(side)
            log.warning("studio.db was damaged; moved to %s", recovered)
            conn = self._connect_and_migrate(migrations)
        self._conn = conn
        sqlite_version, vec_version = conn.execute(
            "SELECT sqlite_version(), vec_version()"
        ).fetchone()
        schema = conn.execute("PRAGMA user_version").fetchone()[0]
        return OpenResult(schema, sqlite_version, vec_version, recovered)

    def _connect_and_migrate(self, migrations: list[Migration]) -> apsw.Connection:
        conn = connect(self.path)
        try:
            # Reading the schema is what fails first on a file that is not a database.
            conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
            migrate(conn, migrations, self.path)
        except BaseException:
            conn.close()
            raise
        return conn

    async def run(self, fn: Callable[[apsw.Connection], T]) -> T:
        """Run ``fn(connection)`` on the database thread and return its result."""
        if self._conn is None:
            raise DatabaseError("is not open", path=self.path)
        return await self._call(fn, self._conn)
