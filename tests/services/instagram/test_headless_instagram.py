"""`carrier-studio headless` publishes queued posts when an Instagram account is set, and stops
cleanly on SIGTERM."""

from __future__ import annotations

import asyncio
import signal
import sys

from carrier_studio.core.instagram import PostState
from tests.helpers.waiting import PROCESS_START_DEADLINE
from tests.services.instagram.rig import Rig
from tests.services.instagram.test_fault_injection import _environment, _queue_posts, _states


def test_headless_runs_the_instagram_worker(tmp_path):
    workspace = tmp_path / "ws"
    (workspace / "characters").mkdir(parents=True)
    (workspace / "mcp_servers.json").write_text('{"mcpServers": {}}\n')
    log = tmp_path / "headless.log"

    async def go():
        async with Rig(tmp_path / "servers") as rig:
            env = _environment(tmp_path, rig, workspace)
            await _queue_posts(workspace, tmp_path)
            with log.open("wb") as out:
                process = await asyncio.create_subprocess_exec(
                    sys.executable, "-m", "carrier_studio", "--workspace", str(workspace),
                    "headless", env=env, stdout=out, stderr=asyncio.subprocess.STDOUT,
                )  # fmt: skip

            async def both_published():
                while len(rig.graph.published) < 2:
                    rig.graph.publish_seen.clear()
                    if len(rig.graph.published) >= 2:
                        break
                    await rig.graph.publish_seen.wait()

            # Until both posts are out or the process ends; the deadline only ends a hang
            # (a cold start alone took 55 s on a busy machine: see PROCESS_START_DEADLINE).
            exited = asyncio.ensure_future(process.wait())
            published = asyncio.ensure_future(both_published())
            try:
                await asyncio.wait(
                    {exited, published}, timeout=PROCESS_START_DEADLINE + 60,
                    return_when=asyncio.FIRST_COMPLETED,
                )  # fmt: skip
                assert published.done(), f"not both published; log:\n{log.read_text()}"
            finally:
                published.cancel()
                if not exited.done():
                    process.send_signal(signal.SIGTERM)
                code = await asyncio.wait_for(exited, 30)
            return rig, code, await _states(workspace)

    rig, code, states = asyncio.run(go())
    text = log.read_text()
    assert code == 0, text
    assert states == {"one": PostState.PUBLISHED, "two": PostState.PUBLISHED}
    assert rig.graph.publish_counts == {"one": 1, "two": 1}
    assert "instagram: publishing queued posts" in text and "nothing to run" not in text
    assert "Instagram: running" in text, "the status slot is reported"
    assert "IGQV" not in text, "the token never reaches the log"
