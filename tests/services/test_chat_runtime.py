"""The chat runtime end to end: agents SDK, real clients, scripted servers and studio.db."""

from __future__ import annotations

import asyncio
import json
import shutil
from contextlib import asynccontextmanager
from pathlib import Path

import pytest

from carrier_studio import assets
from carrier_studio.core.runtime.events import (
    ApprovalRequested,
    Done,
    ErrorKind,
    HandoffEvent,
    RunError,
    TextDelta,
    ToolCallFinished,
    ToolCallStarted,
    UsageEvent,
)
from carrier_studio.core.settings import CompatEndpoint, ModelChoice, Settings
from carrier_studio.services.characters.store import CharacterStore
from carrier_studio.services.chat.conversations import ConversationStore
from carrier_studio.services.chat.service import ChatService
from carrier_studio.services.platform.db import Database
from carrier_studio.services.platform.secrets import SecretStore
from carrier_studio.services.platform.settings_store import SettingsStore
from tests.fakes import ScriptedLLMServer, error, hang, slow_text, text, tool_call

PROVIDERS = ["openai-compatible", "openai", "anthropic"]


class Workspace:
    def __init__(self, root: Path, server: ScriptedLLMServer, provider: str, keyring_backend):
        self.root = root
        shutil.copytree(assets.seed_characters_dir(), root / "characters", dirs_exist_ok=True)
        # The examples name their own models; these tests run every character on `provider`.
        for path in (root / "characters").glob("*.json"):
            data = json.loads(path.read_text())
            data.pop("model", None)
            data.pop("mcp_servers", None)  # MCP has its own tests
            path.write_text(json.dumps(data, indent=2))
        self.db = Database(root / "studio.db")
        settings = Settings()
        settings.providers.endpoints = [
            CompatEndpoint(name="local", base_url=server.openai_base_url)
        ]
        settings.providers.openai_base_url = server.openai_base_url
        settings.providers.anthropic_base_url = server.base_url
        settings.providers.default = ModelChoice(
            provider=provider, model="test-model", endpoint="local"
        )
        self.settings = SettingsStore(root / "settings.json", settings)
        self.secrets = SecretStore("keyring", root / ".env", backend=keyring_backend, environ={})
        self.secrets.set("OPENAI_API_KEY", "sk-test-openai-0000000000")
        self.secrets.set("ANTHROPIC_API_KEY", "sk-ant-test-0000000000")
        self.characters = CharacterStore(root / "characters", root / ".trash")
        self.conversations = ConversationStore(self.db)
        self.chat = ChatService(self.conversations, self.characters, self.settings, self.secrets)
        self.threads = []
        #: Every service made here: their shared provider clients are closed at the end.
        self.services = [self.chat]

    async def open(self, cid, service=None):
        thread = await (service or self.chat).open(cid)
        self.threads.append(thread)
        return thread

    def service(self):
        """A new service over the same database: what a restart sees."""
        service = ChatService(
            ConversationStore(self.db), self.characters, self.settings, self.secrets
        )
        self.services.append(service)
        return service

    def edit_character(self, filename: str, **changes) -> None:
        path = self.root / "characters" / filename
        data = json.loads(path.read_text())
        data.update(changes)
        path.write_text(json.dumps(data, indent=2))


@asynccontextmanager
async def workspace(tmp_path, keyring_backend, provider="openai-compatible"):
    async with ScriptedLLMServer() as server:
        ws = Workspace(tmp_path, server, provider, keyring_backend)
        await ws.db.open()
        try:
            yield ws, server
        finally:
            for thread in ws.threads:
                await thread.close()
            for service in ws.services:
                await service.clients.close()
            await ws.db.close()


async def collect(stream):
    return [event async for event in stream]


def texts(events):
    return "".join(e.text for e in events if isinstance(e, TextDelta))


def run(coro):
    return asyncio.run(coro)


@pytest.mark.parametrize("provider", PROVIDERS)
def test_streaming_text_is_stored_with_usage(tmp_path, keyring_backend, provider):
    async def go():
        async with workspace(tmp_path, keyring_backend, provider) as (ws, server):
            server.script(text("Hello there, writer."))
            cid = await ws.conversations.create("Ada")
            thread = await ws.open(cid)
            events = await collect(thread.send("Hi Ada"))
            return events, await ws.conversations.messages(cid), server.requests, ws

    events, messages, requests, ws = run(go())
    assert texts(events) == "Hello there, writer."
    assert len([e for e in events if isinstance(e, TextDelta)]) >= 2, "it streamed"
    done = events[-1]
    assert isinstance(done, Done) and done.completed and done.final_text == "Hello there, writer."
    usage = next(e for e in events if isinstance(e, UsageEvent))
    assert usage.output_tokens > 0
    assert [(m.kind, m.content) for m in messages] == [
        ("user", "Hi Ada"),
        ("assistant", "Hello there, writer."),
    ]
    assert messages[1].meta["output_tokens"] == usage.output_tokens
    (request,) = requests
    body = json.dumps(request.body)
    assert "You are Ada" in body, "the character's composed instructions were sent"


@pytest.mark.parametrize("provider", PROVIDERS)
def test_a_tool_round_trip(tmp_path, keyring_backend, provider):
    async def go():
        async with workspace(tmp_path, keyring_backend, provider) as (ws, server):
            server.script(tool_call("calculate", {"expression": "6 * 7"}), text("It is 42."))
            cid = await ws.conversations.create("Ada")
            thread = await ws.open(cid)
            events = await collect(thread.send("What is 6 times 7?"))
            return events, await ws.conversations.messages(cid), server.requests

    events, messages, requests = run(go())
    started = next(e for e in events if isinstance(e, ToolCallStarted))
    finished = next(e for e in events if isinstance(e, ToolCallFinished))
    assert started.name == "calculate" and json.loads(started.arguments) == {"expression": "6 * 7"}
    assert finished.result == "42" and finished.duration_s >= 0
    assert texts(events) == "It is 42."
    assert len(requests) == 2
    assert "42" in json.dumps(requests[1].body), "the tool result went back to the model"
    card = next(m for m in messages if m.kind == "tool")
    assert json.loads(card.content)["result"] == "42"


@pytest.mark.parametrize("provider", PROVIDERS)
def test_a_handoff_to_another_character(tmp_path, keyring_backend, provider):
    async def go():
        async with workspace(tmp_path, keyring_backend, provider) as (ws, server):
            server.script(tool_call("transfer_to_ada", {}), text("Ada here: on it."))
            cid = await ws.conversations.create("Orchestrator")
            thread = await ws.open(cid)
            events = await collect(thread.send("Please research tides."))
            return events, await ws.conversations.messages(cid), server.requests

    events, messages, requests = run(go())
    handoff = next(e for e in events if isinstance(e, HandoffEvent))
    assert (handoff.from_agent, handoff.to_agent) == ("Orchestrator", "Ada")
    assert events[-1].agent == "Ada"
    assert "You are Ada" in json.dumps(requests[1].body)
    assert any(m.kind == "handoff" and m.content == "Orchestrator → Ada" for m in messages)
    assert next(m for m in messages if m.kind == "assistant").agent == "Ada"


@pytest.mark.parametrize("provider", PROVIDERS)
@pytest.mark.parametrize(
    ("reply", "kind", "phrase"),
    [
        (error(401, "bad key"), ErrorKind.AUTH, "refused the API key"),
        (error(429, "slow down", headers={"retry-after": "7"}), ErrorKind.RATE_LIMIT, "wait 7 s"),
        (error(404, "no such model"), ErrorKind.UNKNOWN_MODEL, "does not know this model"),
    ],
)
def test_errors_are_explained_and_the_message_is_kept(
    tmp_path, keyring_backend, provider, reply, kind, phrase
):
    async def go():
        async with workspace(tmp_path, keyring_backend, provider) as (ws, server):
            # The clients retry once (honouring retry-after); script the error for both tries.
            server.script(reply, reply)
            cid = await ws.conversations.create("Ada")
            thread = await ws.open(cid)
            events = await collect(thread.send("Hello?"))
            return events, await ws.conversations.messages(cid)

    events, messages = run(go())
    failure = next(e for e in events if isinstance(e, RunError))
    assert failure.kind is kind
    assert phrase in failure.message
    if kind is ErrorKind.RATE_LIMIT:
        assert failure.retry_after == 7
    assert not events[-1].completed
    assert [m.kind for m in messages] == ["user", "error"]
    assert messages[0].content == "Hello?"


@pytest.mark.parametrize("provider", PROVIDERS)
@pytest.mark.parametrize(
    "wording",
    [
        # llama.cpp's server, as a fresh profile's Ada with two MCP servers met it
        "request (4785 tokens) exceeds the available context size (4096 tokens), try increasing it",
        # OpenAI
        "This model's maximum context length is 8192 tokens. However, your messages resulted in "
        "9000 tokens. Please reduce the length of the messages.",
        # Anthropic
        "prompt is too long: 210000 tokens > 200000 maximum",
    ],
)
def test_a_request_longer_than_the_window_says_what_to_do(
    tmp_path, keyring_backend, provider, wording
):
    async def go():
        async with workspace(tmp_path, keyring_backend, provider) as (ws, server):
            server.script(error(400, wording), error(400, wording))
            cid = await ws.conversations.create("Ada")
            thread = await ws.open(cid)
            return await collect(thread.send("Hello?"))

    failure = next(e for e in run(go()) if isinstance(e, RunError))
    assert wording.split(".")[0] in failure.message  # the provider's own words are kept
    assert "context window" in failure.hint and "fewer MCP servers" in failure.hint


@pytest.mark.parametrize("provider", PROVIDERS)
def test_a_provider_error_echoing_a_key_shows_and_stores_it_redacted(
    tmp_path, keyring_backend, provider
):
    leaked = "sk-proj-" + "Xy7" * 16

    async def go():
        async with workspace(tmp_path, keyring_backend, provider) as (ws, server):
            echo = error(400, f"Invalid request: the key {leaked} cannot use this model")
            server.script(echo, echo)
            cid = await ws.conversations.create("Ada")
            thread = await ws.open(cid)
            events = await collect(thread.send("Hello?"))
            return events, await ws.conversations.messages(cid)

    events, messages = run(go())
    failure = next(e for e in events if isinstance(e, RunError))
    assert "cannot use this model" in failure.message + failure.hint  # the reason is kept
    assert leaked not in failure.message + failure.hint  # what the page shows
    assert all(leaked not in m.content for m in messages)  # what studio.db keeps


def test_network_down_is_explained(tmp_path, keyring_backend):
    async def go():
        async with workspace(tmp_path, keyring_backend) as (ws, server):
            ws.settings.settings.providers.endpoints = [
                CompatEndpoint(name="local", base_url="http://127.0.0.1:9/v1")
            ]
            cid = await ws.conversations.create("Ada")
            thread = await ws.open(cid)
            return await collect(thread.send("Anyone there?"))

    events = run(go())
    failure = next(e for e in events if isinstance(e, RunError))
    assert failure.kind is ErrorKind.NETWORK
    assert "cannot be reached" in failure.message


def test_a_missing_key_is_explained_before_any_request(tmp_path, keyring_backend):
    async def go():
        async with workspace(tmp_path, keyring_backend, "openai") as (ws, server):
            ws.secrets.delete("OPENAI_API_KEY")
            cid = await ws.conversations.create("Ada")
            thread = await ws.open(cid)
            return await collect(thread.send("Hi")), server.requests

    events, requests = run(go())
    failure = next(e for e in events if isinstance(e, RunError))
    assert failure.kind is ErrorKind.CONFIG and "no OpenAI API key" in failure.message
    assert requests == []


@pytest.mark.parametrize("provider", PROVIDERS)
def test_cancel_mid_stream_keeps_what_was_said(tmp_path, keyring_backend, provider):
    async def go():
        async with workspace(tmp_path, keyring_backend, provider) as (ws, server):
            server.script(slow_text("one two three four five six seven eight", 0.2))
            cid = await ws.conversations.create("Ada")
            thread = await ws.open(cid)
            events = []
            async for event in thread.send("Count slowly"):
                events.append(event)
                if isinstance(event, TextDelta):
                    thread.cancel()
            return events, await ws.conversations.messages(cid), thread

    events, messages, thread = run(go())
    done = events[-1]
    assert isinstance(done, Done) and done.cancelled
    assert done.final_text and "eight" not in done.final_text
    assistant = next(m for m in messages if m.kind == "assistant")
    assert assistant.meta.get("stopped") is True
    assert thread.session.history[-1] == {"role": "assistant", "content": done.final_text}


def test_cancel_while_the_server_says_nothing(tmp_path, keyring_backend):
    async def go():
        async with workspace(tmp_path, keyring_backend) as (ws, server):
            server.script(hang())
            cid = await ws.conversations.create("Ada")
            thread = await ws.open(cid)
            stream = thread.send("Hello")
            task = asyncio.ensure_future(collect(stream))
            await server.wait_for_requests(1)
            thread.cancel()
            return await asyncio.wait_for(task, 5)

    events = run(go())
    assert events[-1].cancelled


@pytest.mark.parametrize("provider", PROVIDERS)
def test_history_survives_a_restart(tmp_path, keyring_backend, provider):
    async def go():
        async with workspace(tmp_path, keyring_backend, provider) as (ws, server):
            server.script(text("Nice to meet you, Sam."), text("Your name is Sam."))
            cid = await ws.conversations.create("Ada")
            first = await ws.open(cid)
            await collect(first.send("My name is Sam."))
            second = await ws.open(cid, ws.service())
            events = await collect(second.send("What is my name?"))
            summaries = await ws.conversations.list("Ada")
            return events, server.requests, second, summaries

    events, requests, second, summaries = run(go())
    assert texts(events) == "Your name is Sam."
    sent = json.dumps(requests[1].body, ensure_ascii=False)
    assert "My name is Sam." in sent and "Nice to meet you, Sam." in sent
    assert [s.item.KIND for s in second.transcript] == ["user", "assistant"]
    assert summaries[0].title == "My name is Sam."


def test_retry_answers_the_last_message_again(tmp_path, keyring_backend):
    async def go():
        async with workspace(tmp_path, keyring_backend) as (ws, server):
            server.script(error(500, "boom"), error(500, "boom"), text("Second try works."))
            cid = await ws.conversations.create("Ada")
            thread = await ws.open(cid)
            failed = await collect(thread.send("Hello"))
            retried = await collect(thread.retry())
            return failed, retried, await ws.conversations.messages(cid), thread

    failed, retried, messages, thread = run(go())
    assert any(isinstance(e, RunError) for e in failed)
    assert texts(retried) == "Second try works."
    assert [m.kind for m in messages] == ["user", "assistant"]
    users = [i for i in thread.session.history if i.get("role") == "user"]
    assert len(users) == 1


@pytest.mark.parametrize("provider", PROVIDERS)
def test_approvals_pause_survive_a_restart_and_can_be_remembered(
    tmp_path, keyring_backend, provider
):
    async def go():
        async with workspace(tmp_path, keyring_backend, provider) as (ws, server):
            ws.edit_character("ada.json", tool_policy={"calculate": "ask"})
            server.script(
                tool_call("calculate", {"expression": "2 + 2"}),
                text("Four."),
                tool_call("calculate", {"expression": "3 + 3"}),
                text("Six."),
            )
            cid = await ws.conversations.create("Ada")
            thread = await ws.open(cid)
            paused = await collect(thread.send("2 + 2?"))
            # Restart while the approval is pending.
            reopened = await ws.open(cid, ws.service())
            pending = list(reopened.pending)
            resumed = await collect(
                reopened.resolve({pending[0].approval_id: True}, {pending[0].approval_id: True})
            )
            remembered = await ws.conversations.remembered("Ada")
            next_turn = await collect(reopened.send("3 + 3?"))
            return paused, pending, resumed, remembered, next_turn

    paused, pending, resumed, remembered, next_turn = run(go())
    request = next(e for e in paused if isinstance(e, ApprovalRequested))
    assert request.tool == "calculate"
    assert paused[-1].pending_approvals == [request.approval_id]
    assert not any(isinstance(e, ToolCallFinished) for e in paused), "nothing ran unapproved"
    assert [p.approval_id for p in pending] == [request.approval_id]
    assert next(e for e in resumed if isinstance(e, ToolCallFinished)).result == "4"
    assert texts(resumed) == "Four."
    assert remembered == {"calculate": "auto"}
    assert not any(isinstance(e, ApprovalRequested) for e in next_turn)
    assert next(e for e in next_turn if isinstance(e, ToolCallFinished)).result == "6"


@pytest.mark.parametrize("provider", PROVIDERS)
def test_a_rejected_tool_call_does_not_run(tmp_path, keyring_backend, provider):
    async def go():
        async with workspace(tmp_path, keyring_backend, provider) as (ws, server):
            ws.edit_character("ada.json", tool_policy={"calculate": "ask"})
            server.script(tool_call("calculate", {"expression": "1 + 1"}), text("Okay, I won't."))
            cid = await ws.conversations.create("Ada")
            thread = await ws.open(cid)
            paused = await collect(thread.send("1 + 1?"))
            request = next(e for e in paused if isinstance(e, ApprovalRequested))
            resumed = await collect(thread.resolve({request.approval_id: False}))
            return resumed, server.requests

    resumed, requests = run(go())
    assert not any(isinstance(e, ToolCallFinished) and e.result == "2" for e in resumed)
    assert texts(resumed) == "Okay, I won't."
    # The model is told the call was not approved, in every provider's tool-result shape.
    assert "Tool execution was not approved." in json.dumps(requests[-1].body)


def test_a_tool_set_to_off_is_not_offered(tmp_path, keyring_backend):
    async def go():
        async with workspace(tmp_path, keyring_backend) as (ws, server):
            ws.edit_character("ada.json", tool_policy={"calculate": "off"})
            server.script(text("ok"))
            cid = await ws.conversations.create("Ada")
            thread = await ws.open(cid)
            await collect(thread.send("hi"))
            return server.requests

    (request,) = run(go())
    names = json.dumps(request.body.get("tools", []))
    assert "calculate" not in names and "current_time" in names
