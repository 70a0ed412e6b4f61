"""Run one step of the studio after a barrier, so many processes hit it at the same moment.

The test harness, not the app: each process imports what it needs (the slow part), writes
``<barrier>/ready-<pid>``, waits for ``<barrier>/go``, then runs its step. Without the barrier,
imports take seconds and the processes would reach the database one by one.

    python barrier_cli.py BARRIER_DIR -- --workspace WS memory stats   # a command line
    python barrier_cli.py BARRIER_DIR --open-db PATH                   # just open studio.db
"""

from __future__ import annotations

import asyncio
import os
import sys
import time
from pathlib import Path


def _wait_for_go(barrier: Path) -> None:
    (barrier / f"ready-{os.getpid()}").touch()
    go = barrier / "go"
    while not go.exists():  # the harness's own barrier; the app never waits like this
        time.sleep(0.002)


async def _open_db(path: Path) -> int:
    from carrier_studio.services.platform.db import Database

    database = Database(path)
    try:
        result = await database.open()
    except Exception as exc:  # noqa: BLE001 - any failure is the finding; the test reads it
        print(f"FAILED: {exc}", file=sys.stderr)
        return 1
    finally:
        await database.close()
    print(f"schema {result.schema_version}")
    return 0


def main() -> int:
    barrier = Path(sys.argv[1])
    if sys.argv[2] == "--open-db":
        import carrier_studio.services.platform.db  # noqa: F401 - import before the barrier

        _wait_for_go(barrier)
        return asyncio.run(_open_db(Path(sys.argv[3])))
    args = sys.argv[sys.argv.index("--") + 1 :]
    from carrier_studio import cli

    _wait_for_go(barrier)
    return cli.main(args)


if __name__ == "__main__":
    sys.exit(main())
