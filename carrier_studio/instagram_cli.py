"""The Instagram publisher as a process of its own, without a window.

``python -m carrier_studio.instagram_cli --workspace DIR [--until-idle] [--poll S]`` publishes
the workspace's due posts with the same worker the window and headless mode run. The
fault-injection tests kill it with SIGKILL at each step of publishing and start it again, which
is why it is a plain process that opens only the database, the settings and the secrets.
Imports no Qt.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys

from carrier_studio.core.errors import CarrierError
from carrier_studio.core.instagram import Backoff, PollSchedule

log = logging.getLogger(__name__)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m carrier_studio.instagram_cli")
    parser.add_argument("--workspace", help="the workspace folder (default: the user's)")
    parser.add_argument(
        "--until-idle", action="store_true", help="exit once no post is due any more"
    )
    parser.add_argument("--poll", type=float, default=2.0, help="first poll delay, seconds")
    return parser


async def _run(args: argparse.Namespace) -> int:
    # Imported here, so `--help` answers without loading the database and network stacks.
    from carrier_studio.services.instagram.worker import WorkerConfig, build_worker
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
    worker = build_worker(database, settings, secrets, paths.instagram_dir, config=config)
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
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, stream=sys.stdout, format="%(message)s")
    try:
        return asyncio.run(_run(args))
    except CarrierError as exc:
        log.error("instagram worker: %s", exc)
        return 1


if __name__ == "__main__":
    sys.exit(main())
