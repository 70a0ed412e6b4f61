"""McpManager against real MCP servers: npm's server-everything (stdio, SSE, streamable HTTP)
and server-filesystem, and a FastMCP server in Python.

Plain sync tests that drive their own loop with asyncio.run. Waits are on status events the
manager publishes, never on sleeps.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
import threading
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest

from carrier_studio.core.mcp import (
    BackoffPolicy,
    McpConfigError,
    McpServerError,
    ServerState,
    ServerStatus,
    lookup_chain,
)
from carrier_studio.services.mcp.manager import McpManager
from carrier_studio.services.platform.secrets import SecretStore
from tests.mcp.servers import NodeServers, everything_over_http, fastmcp_stdio, node_servers

LINUX_PROC = Path("/proc/self/task").is_dir()
needs_proc = pytest.mark.skipif(not LINUX_PROC, reason="process checks read Linux /proc")
FAST_RESTARTS = BackoffPolicy(initial=0.02, factor=1.0, cap=0.02, max_failures=1000)


@pytest.fixture
def servers() -> NodeServers:
    return node_servers()


def write_catalogue(path: Path, servers: dict[str, Any]) -> Path:
    path.write_text(json.dumps({"version": 1, "mcpServers": servers}, indent=2) + "\n")
    return path


@asynccontextmanager
async def managed(
    path: Path, lookup: Callable[[str], str | None] | None = None, **options: Any
) -> AsyncIterator[McpManager]:
    manager = McpManager(path, lookup or (lambda name: None), **options)
    try:
        yield manager
    finally:
        await manager.shutdown()


class Watcher:
    """Every status the manager publishes, and a way to wait for one."""

    def __init__(self, manager: McpManager) -> None:
        self.manager = manager
        self.events: list[ServerStatus] = []
        self._changed = asyncio.Event()
        manager.changed.subscribe(self._on_status)

    def _on_status(self, status: ServerStatus) -> None:
        self.events.append(status)
        self._changed.set()

    def states(self, name: str, since: int = 0) -> list[ServerState]:
        states = [s.state for s in self.events[since:] if s.name == name]
        return [s for i, s in enumerate(states) if i == 0 or states[i - 1] is not s]

    async def wait_for(self, name: str, state: ServerState, within: float = 5.0) -> ServerStatus:
        await self.wait_until(lambda: self.manager.status(name).state is state, within)
        return self.manager.status(name)

    async def wait_until(self, predicate: Callable[[], bool], within: float = 5.0) -> None:
        async with asyncio.timeout(within):
            while not predicate():
                self._changed.clear()
                await self._changed.wait()


def children() -> dict[int, str]:
    """This process's child processes and their state letter (R, S, Z…)."""
    found: dict[int, str] = {}
    for tid in os.listdir("/proc/self/task"):
        try:  # a thread may end between the listing and the read
            with open(f"/proc/self/task/{tid}/children") as handle:
                pids = handle.read().split()
        except FileNotFoundError:
            continue
        for pid in pids:
            try:
                with open(f"/proc/{pid}/stat") as stat:
                    found[int(pid)] = stat.read().rsplit(")", 1)[1].split()[0]
            except FileNotFoundError:
                continue
    return found


def open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


# -- transports and servers ---------------------------------------------------------------------


@needs_proc
def test_everything_over_stdio_lists_and_calls_tools(tmp_path, servers):
    path = write_catalogue(
        tmp_path / "mcp_servers.json", {"everything": servers.everything_stdio()}
    )

    async def scenario():
        async with managed(path) as manager:
            started = await manager.ensure(["everything"])
            assert [s.name for s in started] == ["everything"]
            status = manager.status("everything")
            assert status.state is ServerState.RUNNING and status.transport == "stdio"
            assert status.pid in children()
            assert {"echo", "get-sum"} <= {tool.name for tool in status.tools}
            echo = next(tool for tool in status.tools if tool.name == "echo")
            assert echo.description and echo.input_schema["type"] == "object"
            assert any("STDIO" in line for line in status.stderr_tail)

            result = await manager.call_tool("everything", "get-sum", {"a": 2, "b": 3})
            assert not result.is_error and "5" in result.text
            assert result.content[0]["type"] == "text"

    asyncio.run(scenario())


@pytest.mark.parametrize(("transport", "entry_type"), [("sse", "sse"), ("streamableHttp", "http")])
def test_everything_over_http_transports(tmp_path, servers, transport, entry_type):
    with everything_over_http(servers, transport) as url:
        catalogue = {"remote": {"type": entry_type, "url": "${EVERYTHING_URL}"}}
        path = write_catalogue(tmp_path / "mcp_servers.json", catalogue)

        async def scenario():
            async with managed(path, {"EVERYTHING_URL": url}.get) as manager:
                assert len(await manager.ensure(["remote"])) == 1
                status = manager.status("remote")
                expected = "sse" if transport == "sse" else "streamable-http"
                assert status.transport == expected and status.pid is None
                assert "echo" in {tool.name for tool in await manager.list_tools("remote")}
                result = await manager.call_tool("remote", "echo", {"message": "over http"})
                assert result.text == "Echo: over http"

        asyncio.run(scenario())


def test_filesystem_server_is_scoped_to_the_workspace(tmp_path, servers):
    workspace = tmp_path / "workspace"
    workspace.mkdir()
    (workspace / "notes.txt").write_text("hello from the workspace\n")
    (tmp_path / "secret.txt").write_text("top secret\n")
    catalogue = {"filesystem": servers.filesystem_stdio("${WORKSPACE}", cache_tools_list=True)}
    path = write_catalogue(tmp_path / "mcp_servers.json", catalogue)
    lookup = lookup_chain({"WORKSPACE": str(workspace)})

    async def scenario():
        async with managed(path, lookup) as manager:
            [server] = await manager.ensure(["filesystem"])
            tools = {tool.name for tool in await manager.list_tools("filesystem")}
            assert {"list_directory", "read_text_file"} <= tools
            listing = await manager.call_tool(
                "filesystem", "list_directory", {"path": str(workspace)}
            )
            assert "notes.txt" in listing.text and not listing.is_error
            read = await manager.call_tool(
                "filesystem", "read_text_file", {"path": str(workspace / "notes.txt")}
            )
            assert "hello from the workspace" in read.text
            outside = await manager.call_tool(
                "filesystem", "read_text_file", {"path": str(tmp_path / "secret.txt")}
            )
            assert outside.is_error and "top secret" not in outside.text
            # cache_tools_list: the SDK keeps the list; refresh asks the server again.
            assert server.cached_tools is not None
            assert {t.name for t in await manager.list_tools("filesystem", refresh=True)} == tools

    asyncio.run(scenario())


def test_fastmcp_server_with_a_secret_from_the_workspace_env(tmp_path, keyring_backend):
    (tmp_path / ".env").write_text("CARRIER_TEST_TOKEN=from-dotenv\n")
    secrets = SecretStore("keyring", tmp_path / ".env", backend=keyring_backend, environ={})
    catalogue = {"py": fastmcp_stdio(env={"TOKEN": "${CARRIER_TEST_TOKEN}"})}
    path = write_catalogue(tmp_path / "mcp_servers.json", catalogue)
    lookup = lookup_chain({"WORKSPACE": str(tmp_path)}, secrets.get)

    async def scenario():
        async with managed(path, lookup) as manager:
            await manager.ensure(["py"])
            status = manager.status("py")
            assert status.state is ServerState.RUNNING
            assert {tool.name for tool in status.tools} == {"add", "shout", "fail"}
            assert "carrier-test MCP server ready" in status.stderr_tail
            assert (await manager.call_tool("py", "add", {"a": 2, "b": 40})).text == "42"
            assert (await manager.call_tool("py", "shout", {"text": "hi"})).text == "HI!"
            failed = await manager.call_tool("py", "fail", {"message": "nope"})
            assert failed.is_error
            unknown = await manager.call_tool("py", "nope", {})
            assert unknown.is_error and "nope" in unknown.text

    asyncio.run(scenario())


def test_missing_variable_fails_the_server_by_name_and_place(tmp_path):
    catalogue = {"py": fastmcp_stdio(env={"TOKEN": "${CARRIER_TEST_MISSING}"})}
    path = write_catalogue(tmp_path / "mcp_servers.json", catalogue)

    async def scenario():
        async with managed(path) as manager:
            assert await manager.ensure(["py"]) == []
            status = manager.status("py")
            assert status.state is ServerState.FAILED
            assert "CARRIER_TEST_MISSING" in status.error
            assert "$.mcpServers.py.env.TOKEN" in status.error
            with pytest.raises(McpServerError, match="CARRIER_TEST_MISSING"):
                await manager.ensure(["py", "not-there"], strict=True)

    asyncio.run(scenario())


def test_a_server_that_cannot_start_is_failed_with_its_stderr(tmp_path, servers):
    crash = "console.error('boom: the token is wrong'); process.exit(3)"
    catalogue = {
        "crash": {"command": servers.node, "args": ["-e", crash]},
        "absent": {"command": "carrier-no-such-program"},
    }
    path = write_catalogue(tmp_path / "mcp_servers.json", catalogue)

    async def scenario():
        async with managed(path) as manager:
            watcher = Watcher(manager)
            assert await manager.ensure(["crash", "absent"]) == []
            crashed = manager.status("crash")
            assert (
                crashed.state is ServerState.FAILED and "boom: the token is wrong" in crashed.error
            )
            assert crashed.stderr_tail[-1] == "boom: the token is wrong"
            assert crashed.restarts == 0 and crashed.retry_in is None  # not retried
            assert "carrier-no-such-program" in manager.status("absent").error
            assert manager.failed.keys() == {"crash", "absent"}
            assert watcher.states("crash") == [
                ServerState.STOPPED,  # loaded
                ServerState.STARTING,
                ServerState.FAILED,
            ]
            with pytest.raises(McpServerError, match="is not running"):
                await manager.call_tool("crash", "echo", {})

    asyncio.run(scenario())


# -- sharing, toggling, reloading ---------------------------------------------------------------


@needs_proc
def test_ensure_starts_servers_concurrently_once_and_shares_them(tmp_path, servers):
    catalogue = {
        "everything": servers.everything_stdio(),
        "filesystem": servers.filesystem_stdio(str(tmp_path)),
        "py": fastmcp_stdio(),
    }
    path = write_catalogue(tmp_path / "mcp_servers.json", catalogue)
    before = set(children())

    async def scenario():
        async with managed(path) as manager:
            starting: set[str] = set()
            overlap = 0

            def on_status(status: ServerStatus) -> None:
                nonlocal overlap
                if status.state is ServerState.STARTING:
                    starting.add(status.name)
                else:
                    starting.discard(status.name)
                overlap = max(overlap, len(starting))

            manager.changed.subscribe(on_status)
            names = ["everything", "filesystem", "py", "everything"]
            first, second = await asyncio.gather(manager.ensure(names), manager.ensure(names))
            assert overlap == 3  # all three were starting at once
            assert [s.name for s in first] == ["everything", "filesystem", "py"]
            assert all(a is b for a, b in zip(first, second, strict=True))
            pids = {manager.status(n).pid for n in manager.active}
            assert len(pids) == 3 and pids == set(children()) - before

            again = await manager.ensure(["py", "everything"])
            assert again == [first[2], first[0]]
            assert {manager.status(n).pid for n in manager.active} == pids

    asyncio.run(scenario())


@needs_proc
def test_turning_a_server_off_and_on_applies_live_and_edits_one_value(tmp_path):
    path = tmp_path / "mcp_servers.json"
    original = (
        "{\n"
        '  "version": 1,\n'
        '  "x-comment": "hand written",\n'
        '  "mcpServers": {\n'
        f'    "py": {{"command": {json.dumps(sys.executable)}, '
        f'"args": [{json.dumps(str(fastmcp_stdio()["args"][0]))}], "color": "teal"}},\n'
        '    "off": {"command": "carrier-no-such-program", "enabled": false}\n'
        "  }\n"
        "}\n"
    )
    path.write_text(original)

    async def scenario():
        async with managed(path) as manager:
            assert [s.name for s in await manager.ensure(["py", "off"])] == ["py"]
            assert manager.status("off").state is ServerState.STOPPED
            pid = manager.status("py").pid

            await manager.set_enabled("py", False)
            assert manager.status("py").state is ServerState.STOPPED
            assert pid not in children()
            assert path.read_text() == original.replace(
                '"color": "teal"}', '"color": "teal", "enabled": false}'
            )
            assert await manager.ensure(["py"]) == []

            await manager.set_enabled("py", True)
            assert path.read_text() == original.replace(
                '"color": "teal"}', '"color": "teal", "enabled": true}'
            )
            assert len(await manager.ensure(["py"])) == 1
            assert manager.status("py").state is ServerState.RUNNING

            await manager.set_enabled("off", True)
            assert '"enabled": true}' in path.read_text().splitlines()[5]

    asyncio.run(scenario())


def test_a_bad_file_on_reload_changes_nothing(tmp_path):
    path = write_catalogue(tmp_path / "mcp_servers.json", {"py": fastmcp_stdio()})

    async def scenario():
        async with managed(path) as manager:
            await manager.ensure(["py"])
            broken = '{"mcpServers": {\n  "py": {"command": "x",}}}\n'
            path.write_text(broken)
            with pytest.raises(McpConfigError) as caught:
                await manager.reload()
            assert caught.value.where == "line 2, column 25" and caught.value.path == path
            wrong = {"mcpServers": {"py": {"command": "x", "args": ["a", 2]}}}
            path.write_text(json.dumps(wrong))
            with pytest.raises(McpConfigError) as caught:
                await manager.reload()
            assert caught.value.where == "$.mcpServers.py.args[1]"
            assert path.read_text() == json.dumps(wrong)  # the user's file is left as it is
            assert manager.status("py").state is ServerState.RUNNING
            assert (await manager.call_tool("py", "add", {"a": 1, "b": 1})).text == "2"

            write_catalogue(path, {"other": fastmcp_stdio()})
            await manager.reload()
            assert manager.configured == ["other"] and manager.active == []

    asyncio.run(scenario())


def test_reload_restarts_a_running_server_whose_settings_changed(tmp_path):
    path = write_catalogue(tmp_path / "mcp_servers.json", {"py": fastmcp_stdio()})

    async def scenario():
        async with managed(path) as manager:
            await manager.ensure(["py"])
            pid = manager.status("py").pid
            write_catalogue(path, {"py": fastmcp_stdio(env={"CHANGED": "1"})})
            await manager.reload()
            assert manager.status("py").state is ServerState.RUNNING
            assert manager.status("py").pid != pid

    asyncio.run(scenario())


def test_servers_are_added_edited_renamed_and_removed_through_the_file(tmp_path):
    path = write_catalogue(
        tmp_path / "mcp_servers.json",
        {"first": {"command": "carrier-no-such-program"}, "last": {"url": "https://h/mcp"}},
    )

    async def scenario():
        async with managed(path) as manager:
            with pytest.raises(McpConfigError) as caught:
                await manager.save_server("py", {"command": sys.executable, "args": [1]})
            assert caught.value.where == "$.mcpServers.py.args[0]"
            with pytest.raises(McpConfigError, match="already an MCP server called 'first'"):
                await manager.save_server("first", fastmcp_stdio())
            assert list(json.loads(path.read_text())["mcpServers"]) == ["first", "last"]

            await manager.save_server("py", fastmcp_stdio())
            assert manager.configured == ["first", "last", "py"]
            assert manager.status("py").state is ServerState.STOPPED
            await manager.ensure(["py"])
            pid = manager.status("py").pid

            await manager.save_server("py", fastmcp_stdio(env={"MODE": "2"}), replaces="py")
            assert manager.status("py").state is ServerState.RUNNING  # restarted with it
            assert manager.status("py").pid != pid
            assert json.loads(path.read_text())["mcpServers"]["py"]["env"] == {"MODE": "2"}

            await manager.save_server("calc", fastmcp_stdio(), replaces="first")
            assert manager.configured == ["calc", "last", "py"]  # renamed where it stood

            await manager.remove_server("py")
            assert manager.configured == ["calc", "last"] and manager.active == []
            assert list(json.loads(path.read_text())["mcpServers"]) == ["calc", "last"]

    asyncio.run(scenario())


@needs_proc
def test_stopping_a_server_that_is_still_starting_does_not_wait_for_it(tmp_path, servers):
    silent = {"command": servers.node, "args": ["-e", "setInterval(() => {}, 1000)"]}
    path = write_catalogue(
        tmp_path / "mcp_servers.json", {"silent": {**silent, "connect_timeout": 60}}
    )
    before = set(children())

    async def scenario():
        async with managed(path) as manager:
            watcher = Watcher(manager)
            await manager.load()
            starting = asyncio.ensure_future(manager.ensure(["silent"]))
            await watcher.wait_until(lambda: manager.status("silent").pid is not None)
            assert manager.status("silent").state is ServerState.STARTING
            await asyncio.wait_for(manager.stop("silent"), 5)  # not the 60 s connect timeout
            assert manager.status("silent").state is ServerState.STOPPED
            assert await starting == []
            assert set(children()) <= before

    asyncio.run(scenario())


# -- crashes ------------------------------------------------------------------------------------


@needs_proc
def test_a_killed_server_fails_then_runs_again_with_its_tools(tmp_path, servers):
    path = write_catalogue(
        tmp_path / "mcp_servers.json", {"everything": servers.everything_stdio()}
    )

    async def scenario():
        async with managed(path) as manager:
            watcher = Watcher(manager)
            [server] = await manager.ensure(["everything"])
            pid = manager.status("everything").pid
            mark = len(watcher.events)
            os.kill(pid, signal.SIGKILL)
            failed = await watcher.wait_for("everything", ServerState.FAILED, within=5)
            assert "exited" in failed.error
            assert any("STDIO" in line for line in failed.stderr_tail)
            running = await watcher.wait_for("everything", ServerState.RUNNING, within=5)
            retries = [s.retry_in for s in watcher.events[mark:] if s.retry_in is not None]
            assert retries == [0.5]  # the first back-off step
            assert watcher.states("everything", mark) == [
                ServerState.FAILED,
                ServerState.STARTING,
                ServerState.RUNNING,
            ]
            assert running.restarts == 1 and running.pid not in (None, pid)
            # The object agents hold is the same one, connected again.
            assert await manager.ensure(["everything"]) == [server]
            result = await server.call_tool("echo", {"message": "back"})
            assert result.content[0].text == "Echo: back"

    asyncio.run(scenario())


@needs_proc
def test_twenty_kill_cycles_leave_no_zombies_and_no_open_files(tmp_path, servers):
    path = write_catalogue(
        tmp_path / "mcp_servers.json", {"everything": servers.everything_stdio()}
    )
    before = set(children())

    async def scenario():
        async with managed(path, backoff=FAST_RESTARTS) as manager:
            watcher = Watcher(manager)
            await manager.ensure(["everything"])
            fds = open_fds()
            for cycle in range(20):
                pid = manager.status("everything").pid
                os.kill(pid, signal.SIGKILL)
                await watcher.wait_for("everything", ServerState.FAILED)
                status = await watcher.wait_for("everything", ServerState.RUNNING)
                assert status.pid != pid and status.restarts == cycle + 1
            result = await manager.call_tool("everything", "echo", {"message": "still here"})
            assert result.text == "Echo: still here"
            now = {pid: state for pid, state in children().items() if pid not in before}
            assert list(now) == [manager.status("everything").pid]
            assert "Z" not in now.values()
            assert open_fds() <= fds + 3

    asyncio.run(scenario())
    assert set(children()) <= before
    readers = [t for t in threading.enumerate() if t.name.startswith("mcp-stderr:")]
    for reader in readers:  # each ends at its pipe's end of file; give it time to return
        reader.join(2.0)
    assert not [t for t in readers if t.is_alive()]


def test_a_server_that_keeps_dying_is_given_up_until_restarted(tmp_path):
    path = write_catalogue(tmp_path / "mcp_servers.json", {"py": fastmcp_stdio()})
    policy = BackoffPolicy(initial=0.01, max_failures=2, stable_after=600)

    async def scenario():
        async with managed(path, backoff=policy) as manager:
            watcher = Watcher(manager)
            await manager.ensure(["py"])
            os.kill(manager.status("py").pid, signal.SIGKILL)
            await watcher.wait_for("py", ServerState.FAILED)
            await watcher.wait_for("py", ServerState.RUNNING)
            os.kill(manager.status("py").pid, signal.SIGKILL)
            await watcher.wait_until(lambda: "gave up" in manager.status("py").error)
            status = manager.status("py")
            assert "gave up after 2 failures" in status.error and status.retry_in is None
            assert await manager.ensure(["py"]) == []
            restarted = await manager.restart("py")
            assert restarted.state is ServerState.RUNNING and restarted.restarts == 0

    asyncio.run(scenario())


def test_liveness_fits_the_protocol_each_server_negotiated(tmp_path, servers):
    """The 2026-07-28 protocol removed ``ping``: a server on it (FastMCP, mcp 2.3) answers
    "Method not found". Pinging it anyway marked it failed and restarted it every interval.
    Both it and npm's server-everything (2025-11-25, which has ping) stay up through many
    liveness intervals, and their tools still answer."""
    catalogue = {"py": fastmcp_stdio(), "node": servers.everything_stdio()}
    path = write_catalogue(tmp_path / "mcp_servers.json", catalogue)

    async def scenario():
        async with managed(path, ping_interval=0.05) as manager:
            await manager.ensure(["py", "node"])
            entries = {name: manager._entry(name) for name in ("py", "node")}
            versions = {n: e.server.session.protocol_version for n, e in entries.items()}
            async with asyncio.timeout(60):  # a deadline for a hang, not a measure
                for entry in entries.values():
                    while entry.liveness_checks < 8:
                        entry.liveness_checked.clear()
                        await entry.liveness_checked.wait()
            statuses = {name: manager.status(name) for name in entries}
            added = await manager.call_tool("py", "add", {"a": 2, "b": 3})
            return versions, statuses, added

    versions, statuses, added = asyncio.run(scenario())
    assert versions["py"] >= "2026-07-28" > versions["node"], versions
    for status in statuses.values():
        assert status.state is ServerState.RUNNING and status.restarts == 0, status
    assert "5" in added.text


# -- shutdown -----------------------------------------------------------------------------------


@needs_proc
def test_shutdown_stops_everything_and_kills_what_will_not_stop(tmp_path, servers):
    catalogue = {
        "everything": servers.everything_stdio(),
        "filesystem": servers.filesystem_stdio(str(tmp_path)),
        "stubborn": fastmcp_stdio("--stubborn"),
    }
    path = write_catalogue(tmp_path / "mcp_servers.json", catalogue)
    before = set(children())

    async def scenario():
        manager = McpManager(path, lambda name: None)
        await manager.ensure(["stubborn", "everything", "filesystem"])
        pids = {manager.status(name).pid for name in manager.active}
        assert len(pids) == 3 and pids <= set(children())
        stopped: list[str] = []
        manager.changed.subscribe(
            lambda s: stopped.append(s.name)
            if s.state is ServerState.STOPPED and s.name not in stopped
            else None
        )
        await manager.shutdown(grace=1.0)
        assert stopped == ["filesystem", "everything", "stubborn"]  # the last started first
        assert all(s.state is ServerState.STOPPED for s in manager.statuses())
        with pytest.raises(McpServerError, match="shutting down"):
            await manager.ensure(["everything"])
        return pids

    pids = asyncio.run(scenario())
    assert not pids & set(children())
    assert set(children()) <= before


# -- the agents SDK -----------------------------------------------------------------------------


def test_an_agent_calls_an_mcp_tool_through_the_manager(tmp_path, servers):
    from agents import Agent, OpenAIChatCompletionsModel, Runner, set_tracing_disabled
    from openai import AsyncOpenAI

    from tests.fakes import ScriptedLLMServer, text, tool_call

    set_tracing_disabled(True)
    path = write_catalogue(
        tmp_path / "mcp_servers.json", {"everything": servers.everything_stdio()}
    )

    async def scenario():
        async with ScriptedLLMServer() as llm, managed(path) as manager:
            llm.script(tool_call("get-sum", {"a": 20, "b": 22}), text("It is 42."))
            client = AsyncOpenAI(base_url=llm.openai_base_url, api_key="k")
            try:
                agent = Agent(
                    name="Counter",
                    instructions="Use your tools.",
                    model=OpenAIChatCompletionsModel(model="m", openai_client=client),
                    mcp_servers=await manager.ensure(["everything"]),
                )
                result = await Runner.run(agent, "What is 20 + 22?")
            finally:
                await client.close()
            assert result.final_output == "It is 42."
            offered = {tool["function"]["name"] for tool in llm.requests[0].body["tools"]}
            assert {"echo", "get-sum"} <= offered
            tool_message = next(m for m in llm.requests[1].body["messages"] if m["role"] == "tool")
            assert "The sum of 20 and 22 is 42." in json.dumps(tool_message["content"])

    asyncio.run(scenario())
