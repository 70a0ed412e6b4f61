"""A writer for the power-loss tests: saves chat messages through `Database`, printing each id.

The test harness, not the app. It opens studio.db with the studio's own `Database` (so the
pragmas `db.connect` sets are the ones tested), then saves messages one transaction each, as
`ConversationStore.add_item` does, and prints a message's id only after its commit returned:
every id on stdout is an acknowledged write.

    python durable_writer.py DB [--stop-chance P] [--image DIR] [--synchronous M] [--journal M]

Its SQLite runs on `CrashPointVFS` (the unix VFS underneath): ``--stop-chance P`` makes the
process SIGSTOP itself before a random share P of its file operations, once it is ready;
``--image DIR`` keeps in DIR what a power cut would leave of each file (only the writes an
``fsync`` covered).
``--synchronous`` / ``--journal`` override the studio's pragmas, to show the tests catch a
weaker setting.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import signal
import sys
import threading
from pathlib import Path

import apsw


class CrashPointVFS(apsw.VFS):
    """The unix VFS, stopping its process at random file operations, and a durable image.

    Stops: once ``armed``, before a write, truncate or sync (and, with an image, between the
    writes a sync applies), with chance ``stop_chance``, the process sends itself SIGSTOP —
    the whole process freezes there, between two I/O calls, inside a commit or a checkpoint,
    where a crash does the most harm. The test snapshots the files and sends SIGCONT.

    The durable image (``image`` a folder, or None for none): a write reaches the OS (the
    real file, which this process and other readers see) at once, but reaches the image of
    that file in ``image`` only when an ``xSync`` of the file covers it — what a power cut
    leaves when the drive loses every write not yet synced. A sync applies the writes since
    the last one in order; a stop in the middle leaves some of them, as a cut during a real
    fsync may. A deleted file leaves the image at once (SQLite deletes only files it no
    longer needs: a checkpointed WAL, a committed rollback journal).
    """

    def __init__(self, image: Path | None, stop_chance: float, seed: int) -> None:
        self.folder = image
        self.stop_chance = stop_chance
        self.armed = False
        self.rng = random.Random(seed)
        self.pending: dict[str, list[tuple[int, bytes | None]]] = {}
        self.lock = threading.Lock()
        super().__init__("crash-points", "unix", makedefault=True)

    def maybe_stop(self) -> None:
        if self.armed and self.rng.random() < self.stop_chance:
            os.kill(os.getpid(), signal.SIGSTOP)

    def image(self, name: str) -> Path:
        assert self.folder is not None
        return self.folder / Path(name).name

    def xOpen(self, name, flags):  # noqa: N802 - apsw's name
        path = name.filename() if isinstance(name, apsw.URIFilename) else name
        return CrashPointFile(self, path, name, flags)

    def xDelete(self, filename, syncdir):  # noqa: N802 - apsw's name
        self.maybe_stop()
        super().xDelete(filename, syncdir)
        if self.folder is not None:
            with self.lock:
                self.pending.pop(filename, None)
                self.image(filename).unlink(missing_ok=True)

    def record(self, path: str | None, offset: int, data: bytes | None) -> None:
        """A write (``data``) or a truncation (``None``, to ``offset``) not yet synced."""
        if path is None or self.folder is None:
            return  # a temporary file (no name) is gone after a crash anyway
        with self.lock:
            self.pending.setdefault(path, []).append((offset, data))

    def sync(self, path: str | None) -> None:
        if path is None or self.folder is None:
            return
        with self.lock:
            ops = self.pending.pop(path, [])
            image = self.image(path)
            image.touch()
            with open(image, "r+b", buffering=0) as out:
                for offset, data in ops:
                    self.maybe_stop()
                    if data is None:
                        out.truncate(offset)
                    else:
                        out.seek(offset)
                        out.write(data)


class CrashPointFile(apsw.VFSFile):
    def __init__(self, vfs: CrashPointVFS, path: str | None, name, flags) -> None:
        super().__init__("unix", name, flags)
        self.vfs, self.path = vfs, path

    def xWrite(self, data, offset):  # noqa: N802 - apsw's name
        self.vfs.maybe_stop()
        super().xWrite(data, offset)
        self.vfs.record(self.path, offset, bytes(data))

    def xTruncate(self, newsize):  # noqa: N802 - apsw's name
        self.vfs.maybe_stop()
        super().xTruncate(newsize)
        self.vfs.record(self.path, newsize, None)

    def xSync(self, flags):  # noqa: N802 - apsw's name
        self.vfs.maybe_stop()
        super().xSync(flags)
        self.vfs.sync(self.path)


def _save_message(conn: apsw.Connection, conversation_id: int, content: str) -> int:
    """One message, one transaction: what `ConversationStore._add_row` does."""
    with conn:
        conn.execute(
            "INSERT INTO messages (conversation_id, kind, agent, content, meta)"
            " VALUES (?, 'user', '', ?, '{}')",
            (conversation_id, content),
        )
        message_id = conn.last_insert_rowid()
        conn.execute(
            "UPDATE conversations SET updated_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now')"
            " WHERE id = ?",
            (conversation_id,),
        )
    return message_id


async def write_forever(args: argparse.Namespace, vfs: CrashPointVFS) -> None:
    from carrier_studio.services.platform.db import Database

    db = Database(Path(args.db))
    await db.open()

    def setup(conn: apsw.Connection) -> int:
        if args.journal:
            conn.execute(f"PRAGMA journal_mode={args.journal}")
        if args.synchronous:
            conn.execute(f"PRAGMA synchronous={args.synchronous}")
        # Checkpoints (WAL copied into the database, then the WAL reused) every ~100 pages
        # rather than 1,000, so the snapshots also fall inside and between them.
        conn.execute("PRAGMA wal_autocheckpoint=100")
        conn.execute("INSERT INTO conversations (character, title) VALUES ('Ada', 'power')")
        return conn.last_insert_rowid()

    conversation_id = await db.run(setup)
    vfs.armed = True
    print("ready", flush=True)
    rng = random.Random(os.getpid())
    while True:
        # Mostly short messages, now and then one that spans several pages.
        size = rng.choice((20, 200, 1500, 9000))
        content = f"{rng.random()} " * (size // 20)
        message_id = await db.run(lambda c, t=content: _save_message(c, conversation_id, t))
        print(message_id, flush=True)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("db")
    parser.add_argument("--image")
    parser.add_argument("--stop-chance", type=float, default=0.0)
    parser.add_argument("--synchronous")
    parser.add_argument("--journal")
    args = parser.parse_args()
    vfs = CrashPointVFS(args.image and Path(args.image), args.stop_chance, os.getpid())
    asyncio.run(write_forever(args, vfs))


if __name__ == "__main__":
    sys.exit(main())
