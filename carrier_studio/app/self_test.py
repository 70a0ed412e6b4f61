"""``carrier-studio --self-test``: open the window offscreen on a throw-away workspace, check
the parts, and exit. For packaged apps (the build script runs it) and for "does this
installation work?"."""

from __future__ import annotations

import argparse
import os
import sys

from carrier_studio.core import messages
from carrier_studio.core.status import State
from carrier_studio.services.platform.paths import AppPaths


def run_self_test(args: argparse.Namespace) -> int:
    """Prints one line per check; exits 0 when every check passed."""
    import asyncio
    import importlib
    import tempfile
    from pathlib import Path

    if not os.environ.get("DISPLAY") and not os.environ.get("WAYLAND_DISPLAY"):
        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    import qasync
    from PySide6.QtWidgets import QApplication

    qapp = QApplication.instance() or QApplication(sys.argv)
    root = Path(tempfile.mkdtemp(prefix="carrier-self-test-"))
    import shutil

    results: list[tuple[bool, str]] = []

    def check(ok: bool, text: str) -> None:
        results.append((bool(ok), text))
        print(f"{'ok  ' if ok else 'FAIL'}  {text}", flush=True)

    async def main() -> None:
        from carrier_studio.app.window import Studio
        from carrier_studio.services.discord.bot import import_discord
        from carrier_studio.session import Session
        from carrier_studio.ui import icons

        workspace = args.workspace or str(root / "workspace")
        session = Session.build(AppPaths.under(root / "user"), workspace, environ={})
        check(
            session.workspace.paths.characters_dir.is_dir(), f"workspace {session.workspace.root}"
        )
        characters = await asyncio.to_thread(session.characters.list)
        readable = [e for e in characters if e.error is None]
        check(bool(readable), f"{len(readable)} characters readable")
        studio = Studio(session, qapp, offer_first_run=False)
        await studio.start()
        database = session.status.get("database")
        check(database.state is State.RUNNING, f"studio.db: {database.detail}")
        check(bool(qapp.styleSheet()), f"theme {studio.theme.scheme} loaded")
        check(not icons.icon("app").isNull(), "icons load")
        for key in studio.window.page_keys():
            studio.window.show_page(key)
            studio.window.page(key)
        await studio.tasks.wait_idle()
        errors = [m.text for m in studio.messages.history if m.level is messages.Level.ERROR]
        check(
            not errors,
            f"{len(studio.window.page_keys())} pages open"
            + (f"; errors: {'; '.join(errors)}" if errors else ""),
        )
        for module in ("agents", "openai", "anthropic", "mcp"):
            try:
                importlib.import_module(module)
                check(True, f"{module} imports")
            except Exception as exc:  # noqa: BLE001 - a self-test reports every failure
                check(False, f"{module} does not import: {exc}")
        try:
            import_discord()
            check(True, "discord imports")
        except Exception as exc:  # noqa: BLE001
            check(False, f"discord does not import: {exc}")
        try:
            memory = await session.memory.ready()
            vectors = await memory.embedder.embed(["Carrier Studio remembers."])
            check(
                vectors.shape == (1, memory.embedder.dimension),
                f"memory: {memory.store.name} store, embedder {memory.embedder.id} "
                f"({vectors.shape[1]} dimensions)",
            )
        except Exception as exc:  # noqa: BLE001
            check(False, f"memory does not work: {exc}")
        await studio.shutdown()

    try:
        qasync.run(main())
    except Exception as exc:  # noqa: BLE001 - report, do not crash
        check(False, f"self-test stopped: {type(exc).__name__}: {exc}")
    shutil.rmtree(root, ignore_errors=True)
    passed = all(ok for ok, _ in results)
    print("self-test passed" if passed else "self-test FAILED", flush=True)
    return 0 if passed else 1
