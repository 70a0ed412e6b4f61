"""A real chat path offline: openai-agents and the openai client against SmolLM2-135M-Instruct.

The model is tiny, so the assertions check structure (text streamed, the tool called, the run
finished with an answer), not wording. Temperature 0 keeps the runs repeatable.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

import pytest
from agents import (
    Agent,
    ModelSettings,
    OpenAIChatCompletionsModel,
    Runner,
    function_tool,
    set_tracing_disabled,
)
from agents.items import ToolCallItem, ToolCallOutputItem
from agents.stream_events import RawResponsesStreamEvent
from openai import AsyncOpenAI

if TYPE_CHECKING:
    from tests.realmodel.conftest import RealModel

pytestmark = pytest.mark.real_model

SECRET = 4817


@pytest.fixture(autouse=True)
def no_tracing() -> None:
    set_tracing_disabled(True)


def _model(real_model: RealModel, client: AsyncOpenAI) -> OpenAIChatCompletionsModel:
    return OpenAIChatCompletionsModel(model=real_model.model, openai_client=client)


def _client(real_model: RealModel) -> AsyncOpenAI:
    return AsyncOpenAI(base_url=real_model.base_url, api_key="none", max_retries=0, timeout=120)


def test_text_streams(real_model: RealModel) -> None:
    async def run() -> tuple[list[str], object]:
        async with _client(real_model) as client:
            agent = Agent(
                name="Assistant",
                instructions="You are a helpful assistant. Answer in two short sentences.",
                model=_model(real_model, client),
                model_settings=ModelSettings(temperature=0, max_tokens=60),
            )
            result = Runner.run_streamed(agent, "What is the sun?")
            deltas = [
                event.data.delta
                async for event in result.stream_events()
                if isinstance(event, RawResponsesStreamEvent)
                and event.data.type == "response.output_text.delta"
            ]
            return deltas, result.final_output

    deltas, final = asyncio.run(run())

    assert len(deltas) >= 2
    assert isinstance(final, str) and final.strip()
    assert "".join(deltas) == final


@pytest.mark.parametrize("streamed", [True, False], ids=["streamed", "not-streamed"])
def test_tool_is_called_and_its_result_used(real_model: RealModel, streamed: bool) -> None:
    calls: list[str] = []

    @function_tool
    def get_secret_number() -> int:
        """Return the secret number."""
        calls.append("get_secret_number")
        return SECRET

    async def run() -> object:
        async with _client(real_model) as client:
            agent = Agent(
                name="Assistant",
                instructions=(
                    "You do not know the secret number. Always call get_secret_number to get "
                    "it, then tell the user the number."
                ),
                model=_model(real_model, client),
                tools=[get_secret_number],
                # The first turn must call the tool; afterwards the choice is reset (the
                # default reset_tool_choice=True), so the model answers and the loop ends.
                model_settings=ModelSettings(temperature=0, max_tokens=60, tool_choice="required"),
            )
            question = "What is the secret number?"
            if not streamed:
                return await Runner.run(agent, question, max_turns=4)
            result = Runner.run_streamed(agent, question, max_turns=4)
            async for _ in result.stream_events():
                pass
            return result

    real_model.proxy.chat_requests.clear()
    result = asyncio.run(run())

    assert calls == ["get_secret_number"]
    kinds = [type(item) for item in result.new_items]
    assert ToolCallItem in kinds and ToolCallOutputItem in kinds
    assert kinds.index(ToolCallItem) < kinds.index(ToolCallOutputItem)
    outputs = [item.output for item in result.new_items if isinstance(item, ToolCallOutputItem)]
    assert outputs == [SECRET]
    # The result reached the model: the answering request carries it as a tool message.
    first, answer = real_model.proxy.chat_requests
    assert all(bool(r.get("stream")) is streamed for r in (first, answer))
    assert first["tool_choice"] == "required"
    assert "tool_choice" not in answer  # reset after the call, so the model answers in text
    (call,) = answer["messages"][-2]["tool_calls"]
    assert call["function"]["name"] == "get_secret_number"
    shown = answer["messages"][-1]
    assert shown == {"role": "tool", "tool_call_id": call["id"], "content": str(SECRET)}
    assert isinstance(result.final_output, str) and result.final_output.strip()
