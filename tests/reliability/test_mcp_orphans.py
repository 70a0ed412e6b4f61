"""An MCP stdio server dies with the studio (#20): `carrier-studio headless` is killed with
SIGKILL, so nothing of the studio runs to stop its servers, and a server that ignores SIGTERM
and the end of its stdin would run on forever with no parent. On Linux the servers are started
with a parent-death signal (`transports.dies_with_studio`); this checks it on real processes.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.e2e.test_headless import Output, _prepare, fake_discord_in_a_thread
from tests.fakes import running_server, text
from tests.helpers.waiting import PROCESS_START_DEADLINE

SERVER = Path(__file__).with_name("stubborn_mcp_server.py")
#: Enough for the kernel to deliver a SIGKILL and the process to exit on a busy machine; the
#: test goes on as soon as the process is gone.
DEATH_DEADLINE = 20.0

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not sys.platform.startswith("linux"), reason="parent-death is Linux's"),
]


def _alive(pid: int) -> bool:
    """Running, not a zombie waiting for whoever reaps orphans here (a container's init may
    never reap)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def _wait_for(predicate, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} not within {timeout} s")
        time.sleep(0.05)


def test_a_stubborn_mcp_server_dies_when_the_studio_is_killed(tmp_path):
    pid_file = tmp_path / "server.pid"
    server_pid = None
    with running_server() as llm, fake_discord_in_a_thread() as (fake, call):
        workspace, env = _prepare(tmp_path, llm.openai_base_url, fake.token)
        env.update(CARRIER_DISCORD_API_BASE=fake.api_base, CARRIER_DISCORD_GATEWAY=fake.gateway_url)
        catalogue = {
            "version": 1,
            "mcpServers": {
                "stubborn": {"command": sys.executable, "args": [str(SERVER), str(pid_file)]}
            },
        }
        (workspace / "mcp_servers.json").write_text(json.dumps(catalogue))
        juniper = workspace / "characters" / "juniper.json"
        data = json.loads(juniper.read_text())
        data["mcp_servers"] = ["stubborn"]
        juniper.write_text(json.dumps(data, indent=2))
        process = subprocess.Popen(
            [sys.executable, "-m", "carrier_studio", "--workspace", str(workspace), "headless"],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        output = Output(process)
        try:
            output.wait_for("running; stop with SIGTERM or Ctrl+C")
            # The bot's character starts its MCP servers with its first conversation.
            llm.script(text("Hello!"))
            call(fake.say(fake.guild.channel("general"), "hi", mention_bot=True))
            _wait_for(
                lambda: pid_file.exists() or process.poll() is not None,
                PROCESS_START_DEADLINE,
                "the MCP server's start",
            )
            assert pid_file.exists(), "\n".join(output.lines)
            server_pid = int(pid_file.read_text())
            assert _alive(server_pid)
            process.send_signal(signal.SIGKILL)
            process.wait(timeout=10)
            _wait_for(lambda: not _alive(server_pid), DEATH_DEADLINE, "the server's death")
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()
            output.close()
            if server_pid is not None and _alive(server_pid):
                signal_kill_quietly(server_pid)


def signal_kill_quietly(pid: int) -> None:
    """Clean up after a failed run: the orphan would otherwise outlive the test session."""
    import contextlib
    import os

    with contextlib.suppress(OSError):
        os.kill(pid, signal.SIGKILL)
