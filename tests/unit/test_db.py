from __future__ import annotations

import asyncio
import threading

import numpy as np
import pytest

from carrier_studio.core.errors import DatabaseError
from carrier_studio.services.platform import db
from carrier_studio.services.platform.db import Database


def _open(path):
    database = Database(path)
    result = asyncio.run(database.open())
    return database, result


def _close(database):
    asyncio.run(database.close())


def test_new_database_is_migrated_with_sqlite_vec_and_wal(tmp_path):
    database, result = _open(tmp_path / "studio.db")
    latest = db.load_migrations()[-1].version
    assert result.schema_version == latest
    assert result.vec_version.startswith("v")
    assert result.recovered_from is None

    def probe(conn):
        mode = conn.execute("PRAGMA journal_mode").fetchone()[0]
        conn.execute("CREATE VIRTUAL TABLE v USING vec0(embedding float[4])")
        for rowid, vec in enumerate(([1, 0, 0, 0], [0, 1, 0, 0], [0.9, 0.1, 0, 0]), start=1):
            conn.execute(
                "INSERT INTO v(rowid, embedding) VALUES (?, ?)",
                (rowid, np.asarray(vec, dtype=np.float32)),
            )
        query = np.asarray([1, 0, 0, 0], dtype=np.float32)
        rows = conn.execute(
            "SELECT rowid FROM v WHERE embedding MATCH ? AND k = 2 ORDER BY distance", (query,)
        ).fetchall()
        return mode, [r[0] for r in rows]

    async def go():
        return await database.run(probe)

    mode, nearest = asyncio.run(go())
    assert mode == "wal"
    assert nearest == [1, 3]
    _close(database)


def test_reopening_applies_nothing_twice(tmp_path):
    database, _ = _open(tmp_path / "studio.db")
    asyncio.run(database.run(lambda c: c.execute("INSERT INTO meta VALUES ('k', 'v')")))
    _close(database)
    database, result = _open(tmp_path / "studio.db")
    value = asyncio.run(database.run(lambda c: c.execute("SELECT value FROM meta").fetchone()[0]))
    assert value == "v"
    assert result.recovered_from is None
    _close(database)


def test_a_damaged_database_is_kept_aside_and_replaced(tmp_path):
    path = tmp_path / "studio.db"
    garbage = b"this is not a database" * 200
    path.write_bytes(garbage)
    database, result = _open(path)
    assert result.recovered_from is not None
    assert result.recovered_from.read_bytes() == garbage
    assert result.recovered_from.name.startswith("studio.db.corrupt-")
    assert result.schema_version >= 1
    _close(database)


def test_a_database_from_a_newer_studio_is_left_alone(tmp_path):
    path = tmp_path / "studio.db"
    conn = db.connect(path)
    conn.execute("PRAGMA user_version=999")
    conn.close()
    before = path.read_bytes()
    database = Database(path)
    with pytest.raises(DatabaseError, match="newer Carrier Studio"):
        asyncio.run(database.open())
    assert path.read_bytes() == before
    _close(database)


def test_migrations_must_be_numbered_without_gaps(tmp_path):
    (tmp_path / "0001_a.sql").write_text("CREATE TABLE a(x);")
    (tmp_path / "0003_c.sql").write_text("CREATE TABLE c(x);")
    with pytest.raises(DatabaseError, match="out of sequence"):
        db.load_migrations(tmp_path)


def test_a_failing_migration_leaves_the_schema_as_it_was(tmp_path):
    # Pending migrations apply in one transaction: a failure in the second undoes the first
    # too, so the database is exactly as the user had it (version and tables).
    (tmp_path / "0001_a.sql").write_text("CREATE TABLE a(x);")
    (tmp_path / "0002_b.sql").write_text("CREATE TABLE b(x); CREATE TABLE a(x);")
    conn = db.connect(tmp_path / "t.db")
    with pytest.raises(Exception, match="already exists"):
        db.migrate(conn, db.load_migrations(tmp_path))
    assert conn.execute("PRAGMA user_version").fetchone()[0] == 0
    assert not list(conn.execute("SELECT name FROM sqlite_master WHERE type='table'"))
    conn.close()


def test_a_failing_migration_keeps_the_migrations_applied_before(tmp_path):
    (tmp_path / "0001_a.sql").write_text("CREATE TABLE a(x);")
    conn = db.connect(tmp_path / "t.db")
    db.migrate(conn, db.load_migrations(tmp_path))
    (tmp_path / "0002_b.sql").write_text("CREATE TABLE b(x); CREATE TABLE a(x);")
    with pytest.raises(Exception, match="already exists"):
        db.migrate(conn, db.load_migrations(tmp_path))
    assert conn.execute("PRAGMA user_version").fetchone()[0] == 1
    tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    assert tables == {"a"}
    conn.close()


def test_connections_opening_one_new_database_at_once_all_get_it_in_wal(tmp_path):
    """Changing to WAL does not wait on the busy timeout: some of four at once saw "locked".

    Without the retry, 34 of 200 rounds on this machine had a connection fail (CI once, as two
    `memory import` processes on a new workspace); the rounds here make a miss unlikely.
    """
    failed: list[BaseException] = []
    for round_ in range(40):
        path = tmp_path / f"{round_}.db"
        barrier = threading.Barrier(4)

        def open_it(path=path, barrier=barrier) -> None:
            barrier.wait()
            try:
                conn = db.connect(path)
                assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
                conn.close()
            except BaseException as exc:  # noqa: BLE001 - collected and reported below
                failed.append(exc)

        threads = [threading.Thread(target=open_it) for _ in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    assert not failed, failed[:3]
