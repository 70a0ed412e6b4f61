"""Many processes opening one fresh workspace at the same moment: all succeed, nothing torn.

Seen before: the window and `headless` (or two CLI commands) opening a new workspace together
failed in one of them ("table … already exists", "database is locked"), because the schema
version was read outside the migration's transaction.
"""

from __future__ import annotations

import filecmp
import os
import signal

import apsw
import pytest

from carrier_studio import assets
from carrier_studio.services.platform.db import load_migrations
from tests.helpers.waiting import PROCESS_START_DEADLINE
from tests.reliability.processes import Together, user_env

PROCESSES = 20


def _check_database(path) -> None:
    conn = apsw.Connection(str(path))
    try:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == load_migrations()[-1].version
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        assert {"conversations", "memories", "instagram_posts", "team_runs"} <= tables
    finally:
        conn.close()


@pytest.mark.slow
def test_twenty_simultaneous_first_opens_of_studio_db_all_succeed(tmp_path):
    database = tmp_path / "workspace" / "studio.db"
    database.parent.mkdir()
    together = Together(tmp_path / "barrier")
    for _ in range(PROCESSES):
        together.spawn(["--open-db", str(database)], user_env(tmp_path / "user"))
    together.go()
    results = together.finish()

    failed = [r.stderr[-1500:] for r in results if r.returncode != 0]
    assert not failed, "\n---\n".join(failed)
    latest = load_migrations()[-1].version
    assert all(r.stdout.strip() == f"schema {latest}" for r in results)
    _check_database(database)


@pytest.mark.slow
def test_the_window_headless_and_cli_commands_open_one_fresh_workspace_together(tmp_path):
    """The window (offscreen: it starts its session, prints "useful" once its first page has
    loaded, and closes), headless (runs until stopped), two memory commands and doctor, all on
    one new workspace."""
    workspace = tmp_path / "workspace"
    together = Together(tmp_path / "barrier")
    headless = together.spawn(
        ["--", "--workspace", str(workspace), "headless"], user_env(tmp_path / "u-headless")
    )
    window_env = {**user_env(tmp_path / "u-window"), "QT_QPA_PLATFORM": "offscreen"}
    window = together.spawn(
        ["--", "--workspace", str(workspace), "gui", "--exit-after-first-paint"], window_env
    )
    for i in range(3):
        command = ["memory", "stats"] if i < 2 else ["doctor"]
        together.spawn(
            ["--", "--workspace", str(workspace), *command], user_env(tmp_path / f"u{i}")
        )
    together.go()
    others = together.procs[1:]
    for proc in others:
        proc.wait(timeout=PROCESS_START_DEADLINE)
    # headless logs "running; stop with …" once its session started (or exits on a failure);
    # then it is stopped as a user would.
    seen = []
    for line in headless.stderr:
        seen.append(line)
        if "running; stop with" in line:
            break
    os.kill(headless.pid, signal.SIGINT)
    results = together.finish()

    assert "running; stop with" in "".join(seen), "".join(seen)[-2000:] + results[0].stderr
    shown = results[together.procs.index(window)]
    assert "useful " in shown.stdout, shown.stderr[-1500:]  # the session started, page loaded
    failed = [r.stderr[-1500:] for r in results if r.returncode != 0]
    assert not failed, "\n---\n".join(failed)
    _check_database(workspace / "studio.db")
    seed = assets.seed_characters_dir()
    names = sorted(p.name for p in seed.glob("*.json"))
    assert sorted(p.name for p in (workspace / "characters").glob("*.json")) == names
    for name in names:  # the seeded examples are whole, none half-written
        assert filecmp.cmp(seed / name, workspace / "characters" / name, shallow=False), name
    assert filecmp.cmp(assets.seed_mcp_catalogue(), workspace / "mcp_servers.json", shallow=False)
