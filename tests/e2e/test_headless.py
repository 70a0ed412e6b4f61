"""`carrier-studio headless` as a real process: answers a Discord mention, stops on SIGTERM."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import threading
import time
from contextlib import contextmanager
from pathlib import Path

import pytest

from carrier_studio import assets
from tests.fakes import running_server, text
from tests.fakes.discord_server import FakeDiscord
from tests.helpers.waiting import PROCESS_START_DEADLINE


@contextmanager
def fake_discord_in_a_thread():
    """The fake Discord on its own loop, so the test can wait on the subprocess meanwhile."""
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()

    def call(coro, timeout=20):
        return asyncio.run_coroutine_threadsafe(coro, loop).result(timeout)

    async def make():
        fake = FakeDiscord(bot_name="Juniper")
        await fake.start()
        return fake

    fake = call(make())
    try:
        yield fake, call
    finally:
        call(fake.close())
        loop.call_soon_threadsafe(loop.stop)
        thread.join(5)
        loop.close()


def _children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == pid:
                found.append(int(entry.name))
    return found


def _prepare(tmp_path: Path, llm_url: str, token: str) -> tuple[Path, dict[str, str]]:
    workspace = tmp_path / "ws"
    (workspace / "characters").mkdir(parents=True)
    for source in assets.seed_characters_dir().glob("*.json"):
        data = json.loads(source.read_text())
        for key in ("model", "mcp_servers", "discord_config"):
            data.pop(key, None)
        (workspace / "characters" / source.name).write_text(json.dumps(data, indent=2))
    (workspace / "mcp_servers.json").write_text('{"mcpServers": {}}\n')
    (workspace / ".env").write_text(f"DISCORD_BOT_TOKEN={token}\n")
    config = tmp_path / "config" / "carrier-studio"
    config.mkdir(parents=True)
    settings = {
        "version": 2,
        "providers": {
            "default": {"provider": "openai-compatible", "model": "m", "endpoint": "local"},
            "endpoints": [{"name": "local", "base_url": llm_url}],
        },
        "discord": {"character": "Juniper"},
    }
    (config / "settings.json").write_text(json.dumps(settings))
    env = {k: v for k, v in os.environ.items() if not k.endswith(("_API_KEY", "_TOKEN"))}
    env.update(
        XDG_CONFIG_HOME=str(tmp_path / "config"),
        XDG_DATA_HOME=str(tmp_path / "data"),
        XDG_STATE_HOME=str(tmp_path / "state"),
        XDG_CACHE_HOME=str(tmp_path / "cache"),
        PYTHON_KEYRING_BACKEND="keyring.backends.fail.Keyring",
        PYTHONUNBUFFERED="1",
    )
    env.pop("QT_QPA_PLATFORM", None)
    return workspace, env


class Output:
    """Collects a process's output on a thread; `wait_for` blocks until a line appears (or the
    output ends: a process that exited will never log it)."""

    def __init__(self, process: subprocess.Popen) -> None:
        self.lines: list[str] = []
        self.ended = False
        self._changed = threading.Condition()
        self._process = process
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()

    def _read(self) -> None:
        for line in self._process.stdout:
            with self._changed:
                self.lines.append(line.rstrip("\n"))
                self._changed.notify_all()
        with self._changed:
            self.ended = True
            self._changed.notify_all()

    def close(self) -> None:
        """After the process ended: read what is left, then close the pipe."""
        self._thread.join(5)
        self._process.stdout.close()

    def wait_for(self, fragment: str, timeout: float = PROCESS_START_DEADLINE) -> str:
        """The first line containing ``fragment``; fails at once when the output ends without
        it, and after ``timeout`` seconds only if the process hangs (the default covers a cold
        start on a busy machine: see `PROCESS_START_DEADLINE`)."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while True:
                for line in self.lines:
                    if fragment in line:
                        return line
                left = deadline - time.monotonic()
                if self.ended or left <= 0:
                    why = "the process ended" if self.ended else f"no such line in {timeout} s"
                    raise AssertionError(
                        f"{fragment!r} not logged ({why}):\n" + "\n".join(self.lines)
                    )
                self._changed.wait(left)


@pytest.mark.slow
def test_headless_answers_a_mention_and_stops_on_sigterm(tmp_path):
    with running_server() as llm, fake_discord_in_a_thread() as (fake, call):
        workspace, env = _prepare(tmp_path, llm.openai_base_url, fake.token)
        env.update(CARRIER_DISCORD_API_BASE=fake.api_base, CARRIER_DISCORD_GATEWAY=fake.gateway_url)
        process = subprocess.Popen(
            [sys.executable, "-m", "carrier_studio", "--workspace", str(workspace), "headless"],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        output = Output(process)
        try:
            output.wait_for("connected as Juniper")
            llm.script(text("Welcome to the server!"))
            general = fake.guild.channel("general")
            call(fake.say(general, "hello there", mention_bot=True))
            call(fake.wait_until(lambda: bool(fake.sent_in(general)), within=30), timeout=40)
            children = _children(process.pid)
            started = time.monotonic()
            process.send_signal(signal.SIGTERM)
            code = process.wait(timeout=5)
            stopped_in = time.monotonic() - started
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()
            output.close()
    assert code == 0, "\n".join(output.lines)
    assert stopped_in < 5
    assert [m.content for m in fake.sent_in(general)] == ["Welcome to the server!"]
    assert any("stopped" == line.split(": ")[-1] for line in output.lines)
    assert not [pid for pid in children if Path(f"/proc/{pid}").exists()], "no child left"
    log_file = tmp_path / "state" / "carrier-studio" / "log" / "carrier-studio.log"
    assert "connected as Juniper" in log_file.read_text()
    assert fake.token not in log_file.read_text()
    assert not any(fake.token in line for line in output.lines)


def test_headless_without_a_character_says_what_to_do(tmp_path):
    workspace, env = _prepare(tmp_path, "http://127.0.0.1:9/v1", "t")
    settings = tmp_path / "config" / "carrier-studio" / "settings.json"
    data = json.loads(settings.read_text())
    data["discord"] = {}
    settings.write_text(json.dumps(data))
    process = subprocess.Popen(
        [sys.executable, "-m", "carrier_studio", "--workspace", str(workspace), "headless"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    output = Output(process)
    try:
        output.wait_for("nothing to run")
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=5) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        output.close()


def test_headless_imports_no_qt():
    code = (
        "import sys, carrier_studio.headless;"
        "print([m for m in sys.modules if 'PySide6' in m or m == 'qasync'])"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.stdout.strip() == "[]", done.stderr


@pytest.mark.slow
def test_headless_on_a_4096_window_leaves_the_big_mcp_server_out(tmp_path):
    """llama.cpp with -c 4096 says so in its model list: the headless bot asks (once), and its
    reply's request goes without the character's big MCP server, so it fits."""
    from carrier_studio.core.runtime.context_budget import estimate_tokens
    from tests.mcp.servers import fastmcp_stdio

    with running_server(models=("m",)) as llm, fake_discord_in_a_thread() as (fake, call):
        llm.model_fields["m"] = {"meta": {"n_ctx": 4096}}
        workspace, env = _prepare(tmp_path, llm.openai_base_url, fake.token)
        servers = {"helper": fastmcp_stdio(), "files": fastmcp_stdio("--big")}
        (workspace / "mcp_servers.json").write_text(json.dumps({"mcpServers": servers}))
        juniper = workspace / "characters" / "juniper.json"
        data = json.loads(juniper.read_text())
        data.update(mcp_servers=["helper", "files"], tool_policy={})
        juniper.write_text(json.dumps(data))
        env.update(CARRIER_DISCORD_API_BASE=fake.api_base, CARRIER_DISCORD_GATEWAY=fake.gateway_url)
        process = subprocess.Popen(
            [sys.executable, "-m", "carrier_studio", "--workspace", str(workspace), "headless"],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        output = Output(process)
        try:
            output.wait_for("connected as Juniper")
            llm.script(text("Welcome!"), text("Again!"))
            general = fake.guild.channel("general")
            for n, words in enumerate(("hello there", "and again"), start=1):
                call(fake.say(general, words, mention_bot=True))
                call(fake.wait_until(lambda n=n: len(fake.sent_in(general)) == n, within=30), 40)
            process.send_signal(signal.SIGTERM)
            process.wait(timeout=5)
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()
            output.close()
    assert [m.content for m in fake.sent_in(general)] == ["Welcome!", "Again!"]
    for request in llm.completions:
        tools = [tool["function"]["name"] for tool in request.body.get("tools", [])]
        assert "read_everything" not in tools and {"add", "shout"} <= set(tools), tools
        assert estimate_tokens(json.dumps(request.body)) <= 3072  # 4096 less the reply's room
    assert [r.path for r in llm.requests if r.method == "GET"] == ["/v1/models"]
