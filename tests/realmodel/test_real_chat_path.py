"""The studio's own chat path against a real small model: providers → AgentFactory → ChatSession.

Structure, not wording: text streams as TextDelta events, a tool is called through the
studio's tool policy and its result goes back to the model, and the run ends with an answer.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

import pytest
from agents import ModelSettings, function_tool

from carrier_studio.core.characters.document import CharacterDoc
from carrier_studio.core.runtime.agent_factory import AgentFactory
from carrier_studio.core.runtime.events import Done, TextDelta, ToolCallFinished, ToolCallStarted
from carrier_studio.core.runtime.session import ChatSession
from carrier_studio.core.settings import CompatEndpoint, ModelChoice, ProviderSettings
from carrier_studio.services.platform.secrets import SecretStore
from carrier_studio.services.providers import agents_model, classify_error

if TYPE_CHECKING:
    from tests.realmodel.conftest import RealModel

pytestmark = pytest.mark.real_model

SECRET = 4817


@function_tool
def get_secret_number() -> int:
    """Return the secret number."""
    return SECRET


def _session(real_model: RealModel, tmp_path, doc: CharacterDoc, force_tool: bool, extra_tools=()):
    providers = ProviderSettings(
        endpoints=[CompatEndpoint(name="local", base_url=real_model.base_url)]
    )
    choice = ModelChoice(
        provider="openai-compatible", model=real_model.model, endpoint="local", temperature=0
    )
    secrets = SecretStore("session", tmp_path / ".env", environ={})
    clients = []

    def resolve(_doc):
        model, settings, client = agents_model(choice, providers, secrets)
        clients.append(client)
        extra = ModelSettings(max_tokens=80, tool_choice="required" if force_tool else None)
        return model, settings.resolve(extra)

    tools = {"get_secret_number": get_secret_number} | {t.name: t for t in extra_tools}
    factory = AgentFactory(resolve, {doc.name: doc}, {}, tools=tools)
    agent = factory.build(doc)
    return ChatSession(lambda: agent, classify_error), clients


async def _collect(stream):
    return [event async for event in stream]


def test_text_streams_through_the_session(real_model: RealModel, tmp_path) -> None:
    doc = CharacterDoc({"name": "Sol", "system": "You are Sol. Answer in two short sentences."})

    async def run():
        session, clients = _session(real_model, tmp_path, doc, force_tool=False)
        try:
            return await _collect(session.send("What is the sun?"))
        finally:
            for client in clients:
                await client.close()

    events = asyncio.run(run())
    deltas = [e for e in events if isinstance(e, TextDelta)]
    assert len(deltas) >= 2
    done = events[-1]
    assert isinstance(done, Done) and done.completed
    assert done.final_text.strip() and "".join(d.text for d in deltas) == done.final_text


def test_a_tool_result_reaches_the_model(real_model: RealModel, tmp_path) -> None:
    doc = CharacterDoc(
        {
            "name": "Keeper",
            "system": "Call get_secret_number, then tell the user the number it returned.",
        }
    )

    async def run():
        session, clients = _session(real_model, tmp_path, doc, force_tool=True)
        try:
            return await _collect(session.send("What is the secret number?")), session.history
        finally:
            for client in clients:
                await client.close()

    events, history = asyncio.run(run())
    started = [e for e in events if isinstance(e, ToolCallStarted)]
    finished = [e for e in events if isinstance(e, ToolCallFinished)]
    assert [e.name for e in started][:1] == ["get_secret_number"]
    assert finished and finished[0].result == str(SECRET)
    assert events[-1].completed and events[-1].final_text.strip()
    outputs = [
        i for i in history if isinstance(i, dict) and i.get("type") == "function_call_output"
    ]
    assert outputs and str(SECRET) in str(outputs[0]["output"])


def test_a_request_longer_than_the_window_is_explained(real_model: RealModel, tmp_path) -> None:
    """llama.cpp's own refusal of a request longer than its context (4096 tokens here), as a
    fresh profile's Ada with two MCP servers' tools met it, reaches the user with what to do."""
    from agents import FunctionTool

    from carrier_studio.core.runtime.events import RunError

    async def nothing(_ctx, _args):
        return ""

    # ≈7,500 tokens of tool description: more than the whole window.
    big = FunctionTool(
        name="big_tool",
        description="Does everything. " + "lorem ipsum dolor " * 1700,
        params_json_schema={"type": "object", "properties": {}},
        on_invoke_tool=nothing,
    )
    doc = CharacterDoc({"name": "Sol", "system": "You are Sol."})

    async def run():
        session, clients = _session(real_model, tmp_path, doc, False, extra_tools=[big])
        try:
            return await _collect(session.send("Hello?"))
        finally:
            for client in clients:
                await client.close()

    failure = next(e for e in asyncio.run(run()) if isinstance(e, RunError))
    assert "context" in failure.message  # llama.cpp's own words
    assert "context window" in failure.hint and "fewer MCP servers" in failure.hint


def test_the_small_model_drafts_a_whole_character(real_model: RealModel, tmp_path) -> None:
    """'New from description…' on the real small model: held to the draft's schema (llama.cpp
    makes a grammar of it), SmolLM2-135M writes a character that validates, where as free text
    it wrote prose or repeated a sentence until the JSON was cut off."""
    from carrier_studio.core.characters import validate
    from carrier_studio.core.characters.validation import errors
    from carrier_studio.services.characters.builder import draft_character
    from carrier_studio.services.providers import text_model

    providers = ProviderSettings(
        endpoints=[CompatEndpoint(name="local", base_url=real_model.base_url)]
    )
    choice = ModelChoice(
        provider="openai-compatible", model=real_model.model, endpoint="local", temperature=0
    )
    secrets = SecretStore("session", tmp_path / ".env", environ={})

    async def run():
        model = text_model(choice, providers, secrets)
        try:
            return await draft_character(
                "A cheerful baker named Rosa who tells kitchen jokes.", model
            )
        finally:
            await model.close()

    doc = asyncio.run(run())
    assert doc.name.strip() and not doc.name.startswith("<")
    assert errors(validate(doc)) == []
    assert doc.strings("bio") and doc.strings("adjectives")
