"""What each studio.db write costs with ``PRAGMA synchronous=NORMAL`` and ``=FULL`` (issue #20).

Both modes in one run, interleaved over several rounds, on the disk the workspace lives on
(a temporary folder under ``--dir``, default the system's): N chat messages saved one by one
through the app's own path (`Database` + `ConversationStore.add_item`, one transaction each,
as a turn saves them) and N single-row commits on a bare `db.connect` connection (the memory
store's kind of connection), timing each commit.

    uv run python bench/sync_modes.py [--n 1000] [--rounds 3] [--dir PATH]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path

# bench/mcp.py would shadow the mcp package the app imports.
ROOT = Path(__file__).resolve().parents[1]
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != ROOT / "bench"]

from carrier_studio.core.runtime.transcript import UserText  # noqa: E402
from carrier_studio.services.chat.conversations import ConversationStore  # noqa: E402
from carrier_studio.services.platform.db import Database, connect  # noqa: E402

MODES = ("NORMAL", "FULL")


async def app_path(folder: Path, mode: str, n: int) -> list[float]:
    """Seconds per saved message, through Database.run on its worker thread."""
    db = Database(folder / f"app-{mode}.db")
    await db.open()
    await db.run(lambda c: c.execute(f"PRAGMA synchronous={mode}"))
    store = ConversationStore(db)
    cid = await store.create("Ada")
    times = []
    try:
        for i in range(n):
            start = time.perf_counter()
            await store.add_item(cid, UserText(f"message {i}: the quick brown fox"))
            times.append(time.perf_counter() - start)
    finally:
        await db.close()
    return times


def bare(folder: Path, mode: str, n: int) -> list[float]:
    """Seconds per single-row autocommit INSERT on a bare connection."""
    conn = connect(folder / f"bare-{mode}.db")
    conn.execute(f"PRAGMA synchronous={mode}")
    conn.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, body TEXT)")
    times = []
    for i in range(n):
        start = time.perf_counter()
        conn.execute("INSERT INTO t (body) VALUES (?)", (f"row {i}",))
        times.append(time.perf_counter() - start)
    conn.close()
    return times


def summary(times: list[float]) -> str:
    ms = sorted(t * 1000 for t in times)
    p99 = ms[int(len(ms) * 0.99) - 1]
    return (
        f"total {sum(ms) / 1000:6.2f} s  median {statistics.median(ms):6.3f} ms"
        f"  p99 {p99:6.2f} ms  max {ms[-1]:6.1f} ms"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--dir", default=None)
    args = parser.parse_args()
    for rnd in range(1, args.rounds + 1):
        for mode in MODES if rnd % 2 else reversed(MODES):
            with tempfile.TemporaryDirectory(dir=args.dir) as tmp:
                folder = Path(tmp)
                app = asyncio.run(app_path(folder, mode, args.n))
                raw = bare(folder, mode, args.n)
            print(f"round {rnd} {mode:6} app  {args.n} messages: {summary(app)}")
            print(f"round {rnd} {mode:6} bare {args.n} commits:  {summary(raw)}")


if __name__ == "__main__":
    main()
