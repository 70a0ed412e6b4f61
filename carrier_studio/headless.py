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

from carrier_studio.core.errors import CarrierError
from carrier_studio.services.platform.logs import Redactor, remove_handlers, setup_logging
from carrier_studio.services.platform.paths import AppPaths

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
    from carrier_studio.wiring import build_context

    app_paths = AppPaths.for_user()
    redactor = Redactor()
    handlers = setup_logging(app_paths.log_file, redactor, stream=True)
    try:
        try:
            ctx = build_context(app_paths, args.workspace, redactor=redactor)
        except CarrierError as exc:
            log.error("cannot start: %s", exc)
            return 1
        stop = stop or asyncio.Event()
        loop = asyncio.get_running_loop()
        if os.name == "posix":
            for signum in (signal.SIGTERM, signal.SIGINT):
                loop.add_signal_handler(signum, stop.set)
        ctx.status.subscribe(
            lambda s: log.info(
                "%s: %s%s", s.title, s.state.value, f" ({s.detail})" if s.detail else ""
            )
        )
        log.info("workspace %s", ctx.workspace.root)
        try:
            opened = await ctx.database.open()
        except CarrierError as exc:
            log.error("the workspace database cannot be opened: %s", exc)
            return 1
        if opened.recovered_from:
            log.warning("studio.db was damaged; kept as %s", opened.recovered_from)
        ctx.memory.start()  # the bot recalls and remembers as the window's chat does
        instagram = await _start_instagram(ctx, args)
        try:
            started = await _start_discord(ctx, args)
            if started is None and instagram is None:
                log.warning(
                    "nothing to run: set a Discord character (Settings or --discord CHARACTER)"
                    " or an Instagram account with its FTP host (Settings → Instagram)"
                )
            elif started is False:
                # A service manager should see the failure, not a quiet process.
                log.error("the Discord bot could not start: %s", ctx.discord.status.detail)
                return 1
            log.info("running; stop with SIGTERM or Ctrl+C")
            await stop.wait()
            log.info("stopping")
            return 0
        finally:
            steps = [
                ctx.discord.stop,
                ctx.chat.drain,
                ctx.memory.close,
                ctx.mcp.shutdown,
                ctx.database.close,
            ]
            if instagram is not None:
                steps.insert(0, instagram.close)  # before the database it saves into
            for step in steps:
                try:
                    await step()
                except Exception:  # noqa: BLE001 - every step runs
                    log.exception("stopping: %s failed", step.__qualname__)
            log.info("stopped")
    finally:
        remove_handlers(handlers)


async def _start_discord(ctx, args: argparse.Namespace) -> bool | None:  # noqa: ANN001
    """None when no bot is configured; else whether it connected."""
    discord = ctx.settings.settings.discord
    character = args.discord or discord.character
    if not character:
        return None
    _point_discord_elsewhere()
    ctx.discord.on_status(lambda s: log.info("discord: %s", s.detail or s.phase.value))
    ctx.discord.on_activity(
        lambda a: log.info(
            "discord %s %s: %s", a.kind.value, a.channel, (a.reply or a.detail)[:120]
        )
    )
    status = await ctx.discord.start(discord.model_copy(update={"character": character}))
    return status.phase.value != "error"


async def _start_instagram(ctx, args: argparse.Namespace):  # noqa: ANN001, ANN202
    """The Instagram controller with its worker running when an account and its FTP host are
    set (None when not)."""
    from carrier_studio.services.instagram.controller import InstagramController

    if getattr(args, "no_instagram", False):
        return None
    control = getattr(ctx, "instagram", None) or InstagramController(
        ctx.database, ctx.settings, ctx.secrets, ctx.workspace.root, status=ctx.status
    )
    if not await control.sync():
        return None
    log.info(
        "instagram: publishing queued posts for account %s", ctx.settings.settings.instagram.user_id
    )
    return control


def run_headless(args: argparse.Namespace) -> int:
    return asyncio.run(serve(args))
