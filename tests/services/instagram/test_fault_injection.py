"""Kill the worker process (SIGKILL) after each step of publishing, restart it: every post is
published exactly once.

The worker runs as its own process (``python -m carrier_studio.instagram_cli``) on a workspace
whose queue the test filled. A hold in the local servers stops it at a precise step —
a file uploaded but its URL not yet checked, a container made but its id not yet saved, a
publish request done but its answer not yet received — and the test kills it there. The second
run must finish the job; the Graph server counts every publish.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
from pathlib import Path

import pytest

from carrier_studio.core.instagram import PostState
from carrier_studio.services.instagram.queue import InstagramQueue
from carrier_studio.services.platform.db import Database
from tests.fakes.graph_api import TOKEN, USER_ID
from tests.helpers.waiting import PROCESS_START_DEADLINE
from tests.services.instagram import media
from tests.services.instagram.rig import Rig

#: (where the hold is, before/after the server acts, matching requests let through first).
KILL_POINTS = {
    "uploaded, URL not checked": ("head", "before", 0),
    "uploaded and saved, no container": ("limit", "before", 0),
    "container made, id not saved": ("create", "after", 0),
    "container saved, processing": ("status", "before", 0),
    "ready, publish not sent": ("publish", "before", 0),
    "publish done, answer lost": ("publish", "after", 0),
    "first post published, second uploading": ("head", "before", 1),
    "carousel item made, id not saved": ("create", "after", 1),
    "carousel made, id not saved": ("create", "after", 3),
    "carousel publish done, answer lost": ("publish", "after", 1),
}


def _environment(tmp_path: Path, rig: Rig, workspace: Path) -> dict[str, str]:
    (workspace / ".env").write_text(
        f"INSTAGRAM_ACCESS_TOKEN={TOKEN}\nFTP_PASSWORD={rig.ftp.password}\n"
    )
    config = tmp_path / "config" / "carrier-studio"
    config.mkdir(parents=True)
    settings = {
        "version": 2,
        "instagram": {"user_id": USER_ID, "graph_base_url": rig.graph.base_url},
        "ftp": {
            "host": rig.ftp.host,
            "port": rig.ftp.port,
            "user": rig.ftp.user,
            "remote_dir": "/",
            "public_base_url": rig.files.base_url,
            "use_tls": False,
        },
    }
    (config / "settings.json").write_text(json.dumps(settings))
    env = {k: v for k, v in os.environ.items() if not k.endswith(("_TOKEN", "_PASSWORD"))}
    env.update(
        XDG_CONFIG_HOME=str(tmp_path / "config"),
        XDG_DATA_HOME=str(tmp_path / "data"),
        XDG_STATE_HOME=str(tmp_path / "state"),
        XDG_CACHE_HOME=str(tmp_path / "cache"),
        PYTHON_KEYRING_BACKEND="keyring.backends.fail.Keyring",
        PYTHONUNBUFFERED="1",
    )
    return env


async def _worker(workspace: Path, env: dict[str, str], log: Path):
    with log.open("ab") as out:  # the child keeps its own copy of the descriptor
        return await _spawn(workspace, env, out)


async def _spawn(workspace: Path, env: dict[str, str], out):  # noqa: ANN001
    return await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "carrier_studio.instagram_cli",
        "--workspace",
        str(workspace),
        "--until-idle",
        "--poll",
        "0.01",
        env=env,
        stdout=out,
        stderr=asyncio.subprocess.STDOUT,
    )


async def _queue_posts(workspace: Path, tmp_path: Path) -> dict[str, int]:
    db = Database(workspace / "studio.db")
    await db.open()
    try:
        queue = InstagramQueue(db, workspace / "instagram")
        one = await queue.add([media.jpeg(tmp_path / "in" / "one.jpg")], caption="one")
        two = await queue.add(
            [media.jpeg(tmp_path / "in" / f"c{i}.jpg", color=(0, i * 90, 0)) for i in range(2)],
            caption="two",
        )
        return {"one": one.id, "two": two.id}
    finally:
        await db.close()


async def _states(workspace: Path) -> dict[str, PostState]:
    db = Database(workspace / "studio.db")
    await db.open()
    try:
        posts = await InstagramQueue(db, workspace / "instagram").list()
        return {p.caption: p.state for p in posts}
    finally:
        await db.close()


@pytest.mark.parametrize("point", list(KILL_POINTS))
def test_killed_at_any_step_every_post_is_published_exactly_once(tmp_path, point):
    kind, phase, skip = KILL_POINTS[point]
    workspace = tmp_path / "ws"
    workspace.mkdir()
    log = tmp_path / "worker.log"

    async def go():
        async with Rig(tmp_path / "servers") as rig:
            env = _environment(tmp_path, rig, workspace)
            await _queue_posts(workspace, tmp_path)
            if kind == "head":
                rig.files.hold_next_head(skip)
                reached = rig.files.held
            else:
                reached = rig.graph.hold(kind, phase, skip).reached
            first = await _worker(workspace, env, log)
            exited = asyncio.ensure_future(first.wait())
            waiting = asyncio.ensure_future(reached.wait())
            # Each worker is a new process: its deadlines allow for a cold start on a busy
            # machine (PROCESS_START_DEADLINE); the waits end as soon as the step is reached.
            deadline = PROCESS_START_DEADLINE + 60
            await asyncio.wait({exited, waiting}, timeout=deadline, return_when="FIRST_COMPLETED")
            assert waiting.done(), f"the worker never reached the hold; log:\n{log.read_text()}"
            first.send_signal(signal.SIGKILL)
            killed = await exited
            rig.files.release()
            rig.graph.release_all()
            mid = await _states(workspace)
            second = await _worker(workspace, env, log)
            code = await asyncio.wait_for(second.wait(), deadline)
            return rig, killed, mid, code, await _states(workspace)

    rig, killed, mid, code, states = asyncio.run(go())
    assert killed == -signal.SIGKILL
    assert mid != {"one": PostState.PUBLISHED, "two": PostState.PUBLISHED}, "killed mid-way"
    assert code == 0, log.read_text()
    assert states == {"one": PostState.PUBLISHED, "two": PostState.PUBLISHED}, log.read_text()
    assert rig.graph.publish_counts == {"one": 1, "two": 1}
    assert rig.graph.duplicate_publishes == 0
