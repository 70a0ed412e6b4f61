"""The studio's MCP client against real servers: its name and capabilities, elicitation,
sampling with approval, roots, progress, log messages and list changes, on both protocol
versions (2026-07-28, where questions ride InputRequiredResult rounds, and 2025-11-25) and on
every transport.

The servers: tests/mcp/client_server.py (Python, both versions; stdio, streamable HTTP, SSE)
and npm's server-everything (2025-11-25). The window's dialogs are stood in for by `Asker`,
the model by `FakeSampler`: what is under test is the client between them and the server.
"""

from __future__ import annotations

import asyncio
import json
import os
import queue
import subprocess
import sys
import threading
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path
from typing import Any

import pytest

from carrier_studio import __version__
from carrier_studio.core.mcp import McpServerError
from carrier_studio.core.mcp.requests import (
    ElicitationAnswer,
    ElicitationRequest,
    ListChanged,
    SamplingDecision,
    SamplingRequest,
    ServerLog,
    ToolProgress,
    chat_model,
)
from carrier_studio.core.settings import ModelChoice
from carrier_studio.services.mcp import client as studio_client
from carrier_studio.services.mcp.manager import McpManager
from tests.mcp.servers import _wait_for_line, free_port, node_servers

SERVER = Path(__file__).resolve().parents[1] / "mcp" / "client_server.py"
MODES = {"2026-07-28": "auto", "2025-11-25": "legacy"}
DEFAULT = ModelChoice(provider="openai", model="default-model")


class Asker:
    """The window's dialogs, answering as told and remembering what they were shown."""

    def __init__(self, answer: ElicitationAnswer | None = None) -> None:
        self.answer = answer or ElicitationAnswer("accept", {"name": "Ann"})
        self.decision = SamplingDecision.ALLOW
        self.elicited: list[ElicitationRequest] = []
        self.sampling: list[SamplingRequest] = []

    async def elicit(self, request: ElicitationRequest) -> ElicitationAnswer:
        self.elicited.append(request)
        return self.answer

    async def approve_sampling(self, request: SamplingRequest) -> SamplingDecision:
        self.sampling.append(request)
        return self.decision


class FakeSampler:
    def __init__(self) -> None:
        self.allowed: set[str] = set()
        self.ran: list[tuple[ModelChoice, SamplingRequest]] = []

    def model_for(self, choice: ModelChoice | None) -> ModelChoice:
        return choice or DEFAULT

    def always_allowed(self, server: str) -> bool:
        return server in self.allowed

    async def allow_always(self, server: str) -> None:
        self.allowed.add(server)

    async def complete(self, choice: ModelChoice, request: SamplingRequest) -> tuple[str, str]:
        self.ran.append((choice, request))
        return f"{len(request.messages)} message(s) summed up", choice.model


@pytest.fixture(params=list(MODES), ids=list(MODES))
def protocol(request, monkeypatch) -> str:
    monkeypatch.setattr(studio_client, "CONNECT_MODE", MODES[request.param])
    return request.param


def catalogue(path: Path, servers: dict[str, Any]) -> Path:
    path.write_text(json.dumps({"version": 1, "mcpServers": servers}))
    return path


def python_stdio() -> dict[str, Any]:
    return {"command": sys.executable, "args": [str(SERVER)]}


@asynccontextmanager
async def studio(path: Path, asker: Asker | None, roots: list[Path] = ()) -> AsyncIterator[Any]:
    manager = McpManager(path, lambda name: None)
    manager.client.asker = asker
    manager.client.sampler = FakeSampler()
    manager.client.roots = lambda server: list(roots)
    try:
        yield manager
    finally:
        await manager.shutdown()


async def call(manager: McpManager, server: str, tool: str, **arguments: Any) -> str:
    result = await manager.call_tool(server, tool, arguments)
    assert not result.is_error, result.text
    return result.text


@contextmanager
def python_over_http(transport: str) -> Iterator[str]:
    """tests/mcp/client_server.py on a free port: its URL once uvicorn listens."""
    port = free_port()
    flag = "--http" if transport == "streamable_http" else "--sse"
    lines: queue.Queue[str | None] = queue.Queue()
    with subprocess.Popen(
        [sys.executable, str(SERVER), flag, str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    ) as process:
        assert process.stderr is not None
        stderr = process.stderr

        def pump() -> None:
            for line in stderr:
                lines.put(line)
            lines.put(None)

        reader = threading.Thread(target=pump, daemon=True)
        reader.start()
        try:
            _wait_for_line(lines, "Uvicorn running", 20)
            yield f"http://127.0.0.1:{port}/{'mcp' if flag == '--http' else 'sse'}"
        finally:
            process.terminate()
            process.wait(10)
            reader.join(5)


# -- who the client is --------------------------------------------------------------------------


def test_the_client_names_itself_and_declares_what_it_supports(tmp_path, protocol):
    path = catalogue(tmp_path / "mcp.json", {"t": python_stdio()})

    async def scenario():
        async with studio(path, Asker()) as manager:
            await manager.start("t")
            seen = json.loads(await call(manager, "t", "whoami"))
            assert seen["name"] == "Carrier Studio" and seen["version"] == __version__
            assert seen["protocol"] == protocol
            assert seen["capabilities"] == {
                "sampling": {},
                "elicitation": {"form": {}, "url": {}},
                "roots": {"listChanged": True},
            }

    asyncio.run(scenario())


# -- elicitation --------------------------------------------------------------------------------


def test_elicitation_shows_the_schema_as_fields_and_fills_its_defaults(tmp_path, protocol):
    path = catalogue(tmp_path / "mcp.json", {"t": python_stdio()})
    asker = Asker(ElicitationAnswer("accept", {"name": "Ann", "colour": "blue"}))

    async def scenario():
        async with studio(path, asker) as manager:
            await manager.start("t")
            # Only name and colour came back: age and subscribe take their defaults (SEP-1034).
            assert await call(manager, "t", "ask_profile") == "Ann, 30, subscribe=True, colour=blue"
            [request] = asker.elicited
            assert request.server == "t" and request.message == "Tell me about you"
            fields = {f.name: f for f in request.fields}
            assert list(fields) == ["name", "age", "subscribe", "colour"]
            assert fields["name"].required and not fields["age"].required
            assert (fields["age"].kind, fields["age"].default, fields["age"].maximum) == (
                "integer",
                30,
                150,
            )
            assert fields["subscribe"].default is True
            assert fields["colour"].kind == "choice" and fields["colour"].default == "green"

    asyncio.run(scenario())


def test_the_client_sends_the_schema_defaults_the_answer_left_out(tmp_path, protocol):
    """SEP-1034, seen by a server that takes the answer as sent (by hand: on 2026-07-28 a
    tool returning InputRequiredResult, answered on its second round)."""
    path = catalogue(tmp_path / "mcp.json", {"t": python_stdio()})
    asker = Asker(ElicitationAnswer("accept", {"name": "Ann", "ok": True}))

    async def scenario():
        async with studio(path, asker) as manager:
            await manager.start("t")
            sent = json.loads(await call(manager, "t", "ask_raw"))
            assert sent == {"name": "Ann", "ok": True, "count": 3, "ratio": 0.5, "mood": "calm"}

    asyncio.run(scenario())


@pytest.mark.parametrize("action", ["decline", "cancel"])
def test_a_declined_or_cancelled_elicitation_reaches_the_tool(tmp_path, protocol, action):
    path = catalogue(tmp_path / "mcp.json", {"t": python_stdio()})

    async def scenario():
        async with studio(path, Asker(ElicitationAnswer(action))) as manager:
            await manager.start("t")
            assert await call(manager, "t", "ask_profile") == f"the user chose {action}"

    asyncio.run(scenario())


def test_without_a_window_elicitation_is_declined_and_logged(tmp_path, caplog):
    path = catalogue(tmp_path / "mcp.json", {"t": python_stdio()})

    async def scenario():
        async with studio(path, None) as manager:
            await manager.start("t")
            assert await call(manager, "t", "ask_profile") == "the user chose decline"

    caplog.set_level("INFO", logger="carrier_studio.services.mcp.answers")
    asyncio.run(scenario())
    assert "MCP server t asked the user something; declined (no window)" in caplog.text


# -- sampling -----------------------------------------------------------------------------------


def test_sampling_is_approved_then_runs_on_the_chats_model(tmp_path, protocol):
    path = catalogue(tmp_path / "mcp.json", {"t": python_stdio()})
    asker = Asker()
    character = ModelChoice(provider="anthropic", model="character-model")

    async def scenario():
        async with studio(path, asker) as manager:
            await manager.start("t")
            chat_model.set(character)  # what the chat thread sets before its run
            text = await call(manager, "t", "ask_summary", topic="cats")
            assert text == "model character-model said: 1 message(s) summed up"
            [shown] = asker.sampling
            assert shown.server == "t"
            assert shown.system_prompt == "You sum things up in one line."
            assert [(m.role, m.text) for m in shown.messages] == [("user", "Sum up cats")]
            assert shown.model_label == character.label
            chat_model.set(None)  # no chat: the workspace default
            assert await call(manager, "t", "ask_summary", topic="dogs") == (
                "model default-model said: 1 message(s) summed up"
            )

    asyncio.run(scenario())


def test_denied_sampling_is_the_mcp_refusal_and_always_allow_stops_asking(tmp_path, protocol):
    path = catalogue(tmp_path / "mcp.json", {"t": python_stdio()})
    asker = Asker()

    async def scenario():
        async with studio(path, asker) as manager:
            await manager.start("t")
            sampler = manager.client.sampler
            asker.decision = SamplingDecision.DENY
            # 2025-11-25: the server's request fails and so does its tool; 2026-07-28: the
            # refusal ends the call's rounds, an MCP error for the whole call.
            try:
                result = await manager.call_tool("t", "ask_summary", {"topic": "cats"})
                refusal = result.text if result.is_error else ""
            except McpServerError as exc:
                refusal = str(exc)
            assert "User rejected sampling request" in refusal
            assert sampler.ran == []
            asker.decision = SamplingDecision.ALWAYS
            await call(manager, "t", "ask_summary", topic="cats")
            asker.decision = SamplingDecision.DENY  # not asked again: it would refuse
            await call(manager, "t", "ask_summary", topic="dogs")
            assert len(asker.sampling) == 2 and len(sampler.ran) == 2

    asyncio.run(scenario())


# -- roots --------------------------------------------------------------------------------------


def test_roots_are_the_servers_folders_as_file_uris(tmp_path, protocol):
    path = catalogue(tmp_path / "mcp.json", {"t": python_stdio()})
    workspace, extra = tmp_path / "workspace", tmp_path / "my notes"
    workspace.mkdir(), extra.mkdir()

    async def scenario():
        async with studio(path, Asker(), roots=[workspace, extra]) as manager:
            await manager.start("t")
            listed = await call(manager, "t", "list_my_roots")
            assert listed.splitlines() == [workspace.as_uri(), extra.as_uri()]
            await manager.roots_changed("t")  # told on 2025-11-25, a no-op on 2026-07-28

    asyncio.run(scenario())


# -- notifications ------------------------------------------------------------------------------


def test_progress_and_log_messages_reach_their_listeners_and_the_log(tmp_path, protocol):
    path = catalogue(tmp_path / "mcp.json", {"t": python_stdio()})

    async def scenario():
        async with studio(path, Asker()) as manager:
            manager.supervision.redactor.add("sk-test-1234567890abcdef1234")
            progress: list[ToolProgress] = []
            logs: list[ServerLog] = []
            manager.on_progress(progress.append)
            manager.on_log(logs.append)
            await manager.start("t")
            assert await call(manager, "t", "count", n=3) == "counted to 3"
            assert [(p.tool, p.progress, p.fraction, p.message) for p in progress] == [
                ("count", 1, 1 / 3, "step 1"),
                ("count", 2, 2 / 3, "step 2"),
                ("count", 3, 1.0, "step 3"),
            ]
            assert [(entry.level, entry.text) for entry in logs[:3]] == [
                ("info", "counted 1 of 3"),
                ("info", "counted 2 of 3"),
                ("info", "counted 3 of 3"),
            ]
            warning = logs[3]
            assert warning.level == "warning" and "sk-test" not in warning.text
            assert manager.server_logs("t") == logs
            assert "[info] counted 3 of 3" in manager.status("t").stderr_tail

    asyncio.run(scenario())


def test_a_changed_tools_list_is_listed_again_without_a_reconnect(tmp_path, protocol):
    # 2025-11-25 sends a notification; 2026-07-28 announces it only to the listen stream the
    # client keeps open beside the connection.
    path = catalogue(tmp_path / "mcp.json", {"t": python_stdio()})

    async def scenario():
        async with studio(path, Asker()) as manager:
            changes: list[ListChanged] = []
            manager.on_list_changed(changes.append)
            grown = asyncio.Event()
            manager.changed.subscribe(
                lambda s: grown.set() if "grown" in [t.name for t in s.tools] else None
            )
            await manager.start("t")
            pid = manager.status("t").pid
            await call(manager, "t", "grow")
            await asyncio.wait_for(grown.wait(), 10)
            # The test server announces it both ways; on 2026-07-28 both may arrive.
            assert set(changes) == {ListChanged("t", "tools")}
            assert manager.status("t").pid == pid  # the same connection
            assert await call(manager, "t", "grown") == "I grew"

    asyncio.run(scenario())


# -- every transport ----------------------------------------------------------------------------


@pytest.mark.parametrize("transport", ["streamable_http", "sse"])
def test_elicitation_and_sampling_over_http(tmp_path, transport):
    asker = Asker()

    async def scenario(url: str):
        path = catalogue(tmp_path / "mcp.json", {"t": {"type": transport, "url": url}})
        async with studio(path, asker) as manager:
            status = await manager.start("t")
            assert status.error == ""
            seen = json.loads(await call(manager, "t", "whoami"))
            assert seen["name"] == "Carrier Studio"
            assert (
                await call(manager, "t", "ask_profile") == "Ann, 30, subscribe=True, colour=green"
            )
            text = await call(manager, "t", "ask_summary", topic="cats")
            assert text == "model default-model said: 1 message(s) summed up"

    with python_over_http(transport) as url:
        asyncio.run(scenario(url))


# -- npm's server-everything (2025-11-25) -------------------------------------------------------


def test_server_everything_elicits_samples_and_lists_roots(tmp_path):
    servers = node_servers()
    path = catalogue(tmp_path / "mcp.json", {"e": servers.everything_stdio()})
    asker = Asker(ElicitationAnswer("accept", {"name": "Ann"}))

    async def scenario():
        async with studio(path, asker, roots=[tmp_path]) as manager:
            status = await manager.start("e")
            names = {tool.name for tool in status.tools}
            # It offers these only to a client that declares the capabilities.
            assert {"trigger-elicitation-request", "trigger-sampling-request"} <= names
            assert {"get-roots-list", "trigger-url-elicitation"} <= names
            elicited = await call(manager, "e", "trigger-elicitation-request")
            assert "accept" in elicited
            [request] = asker.elicited
            assert request.fields and any(f.required for f in request.fields)
            sampled = await call(manager, "e", "trigger-sampling-request", prompt="hello")
            assert "summed up" in sampled
            assert asker.sampling[0].messages[0].text.endswith("hello")
            roots = await call(manager, "e", "get-roots-list")
            assert tmp_path.as_uri() in roots
            # URL mode: the address goes to the window's asker, which opens it if the user says so.
            opened = await call(
                manager, "e", "trigger-url-elicitation", url="https://example.com/sign"
            )
            assert "completed the URL elicitation" in opened
            assert (asker.elicited[-1].mode, asker.elicited[-1].url) == (
                "url",
                "https://example.com/sign",
            )

    asyncio.run(scenario())
