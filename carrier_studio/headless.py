"""`carrier-studio headless`: the studio's runtime on a server, without a window.

Runs what the workspace asks to run in the background — the Discord bot (and, with it, the MCP
servers its character needs) and the Instagram worker when an account is set — logs to stdout and
to the log file, and stops cleanly on SIGTERM or Ctrl+C. It reads the same workspace and
settings as the window and imports no Qt.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import signal
from typing import TYPE_CHECKING

from carrier_studio.core.errors import CarrierError
from carrier_studio.services.platform.logs import Redactor, remove_handlers, setup_logging
from carrier_studio.services.platform.paths import AppPaths

if TYPE_CHECKING:
    from carrier_studio.session import Session

log = logging.getLogger("carrier_studio.headless")

#: For Discord-compatible servers (and the tests' local fake): where discord.py connects.
API_BASE_ENV = "CARRIER_DISCORD_API_BASE"
GATEWAY_ENV = "CARRIER_DISCORD_GATEWAY"


def _point_discord_elsewhere() -> None:
    base, gateway = os.environ.get(API_BASE_ENV), os.environ.get(GATEWAY_ENV)
    if not (base or gateway):
        return
    import yarl

    from carrier_studio.services.discord.bot import import_discord

    discord = import_discord()
    if base:
        discord.http.Route.BASE = base
    if gateway:
        discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(gateway)
    log.info("discord endpoints overridden from the environment")


async def serve(args: argparse.Namespace, stop: asyncio.Event | None = None) -> int:
    from carrier_studio.session import Session

    app_paths = AppPaths.for_user()
    redactor = Redactor()
    handlers = setup_logging(app_paths.log_file, redactor, stream=True)
    try:
        try:
            session = Session.build(app_paths, args.workspace, redactor=redactor)
        except CarrierError as exc:
            log.error("cannot start: %s", exc)
            return 1
        stop = stop or asyncio.Event()
        loop = asyncio.get_running_loop()
        if os.name == "posix":
            for signum in (signal.SIGTERM, signal.SIGINT):
                loop.add_signal_handler(signum, stop.set)
        session.status.changed.subscribe(
            lambda s: log.info(
                "%s: %s%s", s.title, s.state.value, f" ({s.detail})" if s.detail else ""
            )
        )
        log.info("workspace %s", session.workspace.root)
        await session.start(instagram=not getattr(args, "no_instagram", False))
        try:
            if session.database_error is not None:
                log.error("the workspace database cannot be opened: %s", session.database_error)
                return 1
            instagram = await session.instagram_running()
            if instagram:
                log.info(
                    "instagram: publishing queued posts for account %s",
                    session.settings.settings.instagram.user_id,
                )
            started = await _start_discord(session, args)
            if started is None and not instagram:
                log.warning(
                    "nothing to run: set a Discord character (Settings or --discord CHARACTER)"
                    " or an Instagram account with its FTP host (Settings → Instagram)"
                )
            elif started is False:
                # A service manager should see the failure, not a quiet process.
                log.error("the Discord bot could not start: %s", session.discord.status.detail)
                return 1
            log.info("running; stop with SIGTERM or Ctrl+C")
            await stop.wait()
            log.info("stopping")
            return 0
        finally:
            await session.stop()
            log.info("stopped")
    finally:
        remove_handlers(handlers)


async def _start_discord(session: Session, args: argparse.Namespace) -> bool | None:
    """None when no bot is configured; else whether it connected."""
    discord = session.settings.settings.discord
    character = args.discord or discord.character
    if not character:
        return None
    _point_discord_elsewhere()
    session.discord.status_changed.subscribe(
        lambda s: log.info("discord: %s", s.detail or s.phase.value)
    )
    session.discord.activity.subscribe(
        lambda a: log.info(
            "discord %s %s: %s", a.kind.value, a.channel, (a.reply or a.detail)[:120]
        )
    )
    return await session.start_discord(discord.model_copy(update={"character": character}))


def run_headless(args: argparse.Namespace) -> int:
    return asyncio.run(serve(args))
