"""AnthropicModel runs Agents SDK agents on the Anthropic Messages API, end to end.

Every test drives `agents.Runner` (or the model directly) through the real `anthropic` client
against the scripted fake server, then checks both what the run produced and what went over the
wire: the request bodies are exactly what Anthropic would receive.
"""

from __future__ import annotations

import asyncio
import itertools
import json
from collections.abc import Awaitable, Callable
from typing import Any

import agents
import anthropic
import pytest
from agents.exceptions import ModelRefusalError
from anthropic.types import Message
from openai.types.responses import (
    ResponseCompletedEvent,
    ResponseCreatedEvent,
    ResponseFunctionCallArgumentsDeltaEvent,
    ResponseTextDeltaEvent,
)
from pydantic import BaseModel

from carrier_studio.services.providers.anthropic.model import AnthropicModel
from tests.fakes import (
    ScriptedLLMServer,
    Usage,
    error,
    hang,
    json_text,
    text,
    tool_call,
    tool_calls,
)

MODEL = "test-model"  # any name: the fake server answers every model

Scenario = Callable[[ScriptedLLMServer, AnthropicModel], Awaitable[None]]


@pytest.fixture(autouse=True)
def _no_tracing() -> None:
    agents.set_tracing_disabled(True)


def serve(scenario: Scenario) -> None:
    """Run `scenario` with a fresh server and an AnthropicModel on a client that never retries."""

    async def main() -> None:
        async with ScriptedLLMServer() as server:
            client = anthropic.AsyncAnthropic(base_url=server.base_url, api_key="k", max_retries=0)
            async with client:
                await scenario(server, AnthropicModel(MODEL, client))

    asyncio.run(main())


async def run(
    agent: agents.Agent, prompt: str, *, stream: bool
) -> agents.RunResult | agents.RunResultStreaming:
    """`Runner.run`, or `Runner.run_streamed` with its events drained."""
    if not stream:
        return await agents.Runner.run(agent, prompt)
    result = agents.Runner.run_streamed(agent, prompt)
    async for _ in result.stream_events():
        pass
    return result


async def raw_events(result: agents.RunResultStreaming) -> list[Any]:
    """The Responses stream events the model yielded, in order."""
    return [
        event.data async for event in result.stream_events() if event.type == "raw_response_event"
    ]


def assert_alternates(messages: list[dict[str, Any]]) -> None:
    """Anthropic's rule: user first, then user and assistant turns strictly alternate."""
    roles = [message["role"] for message in messages]
    assert roles[0] == "user"
    assert all(a != b for a, b in itertools.pairwise(roles)), roles


def weather_tool(calls: list[str]) -> agents.FunctionTool:
    @agents.function_tool
    def get_weather(city: str) -> str:
        """The weather in a city."""
        calls.append(city)
        return f"Sunny in {city}"

    return get_weather


# -- text ---------------------------------------------------------------------------------------


def test_a_non_streamed_run_answers_with_text():
    async def scenario(server: ScriptedLLMServer, model: AnthropicModel) -> None:
        server.script(text("Hello there."))
        agent = agents.Agent(name="greeter", instructions="Be brief.", model=model)

        result = await agents.Runner.run(agent, "say hello please")

        assert result.final_output == "Hello there."
        (request,) = server.requests
        assert request.path == "/v1/messages"
        assert not request.stream
        assert request.body == {
            "model": MODEL,
            "max_tokens": 4096,
            "system": "Be brief.",
            "messages": [
                {"role": "user", "content": [{"type": "text", "text": "say hello please"}]}
            ],
        }
        usage = result.context_wrapper.usage
        # the fake counts words: "Be brief." + "say hello please" in, "Hello there." out
        assert (usage.requests, usage.input_tokens, usage.output_tokens) == (1, 5, 2)
        assert result.raw_responses[0].request_id is not None

    serve(scenario)


def test_a_streamed_run_yields_text_deltas_and_counts_usage():
    async def scenario(server: ScriptedLLMServer, model: AnthropicModel) -> None:
        usage = Usage(input_tokens=10, output_tokens=5, cached_tokens=4)
        server.script(text("The answer is 42.", usage=usage))
        agent = agents.Agent(name="oracle", instructions="Answer.", model=model)

        result = agents.Runner.run_streamed(agent, "what is the answer?")
        events = await raw_events(result)

        deltas = [event.delta for event in events if isinstance(event, ResponseTextDeltaEvent)]
        assert len(deltas) > 1
        assert "".join(deltas) == "The answer is 42."
        assert result.final_output == "The answer is 42."
        assert isinstance(events[0], ResponseCreatedEvent)
        assert isinstance(events[-1], ResponseCompletedEvent)
        assert [event.sequence_number for event in events] == list(range(len(events)))
        assert server.requests[0].stream

        counted = result.context_wrapper.usage
        # Anthropic reports cache reads outside input_tokens; the SDK counts them inside
        assert (counted.requests, counted.input_tokens, counted.output_tokens) == (1, 10, 5)
        assert counted.input_tokens_details.cached_tokens == 4
        assert counted.total_tokens == 15
        assert result.raw_responses[0].request_id is not None

    serve(scenario)


def test_text_and_tool_calls_stream_as_separate_output_items():
    async def scenario(server: ScriptedLLMServer, model: AnthropicModel) -> None:
        server.script(
            tool_calls(
                [tool_call("get_weather", {"city": "Paris"}, call_id="toolu_p")],
                text="Let me check.",
            ),
            text("Sunny."),
        )
        agent = agents.Agent(name="forecaster", tools=[weather_tool([])], model=model)

        result = agents.Runner.run_streamed(agent, "weather in Paris?")
        events = await raw_events(result)

        first_turn = events[: next(i for i, e in enumerate(events) if e.type.endswith("completed"))]
        kinds = [(event.type, getattr(event, "output_index", None)) for event in first_turn]
        assert kinds[:3] == [
            ("response.created", None),
            ("response.output_item.added", 0),
            ("response.content_part.added", 0),
        ]
        assert ("response.output_item.done", 0) in kinds
        assert ("response.output_item.added", 1) in kinds
        assert kinds[-1] == ("response.output_item.done", 1)
        arguments = [
            event.delta
            for event in first_turn
            if isinstance(event, ResponseFunctionCallArgumentsDeltaEvent)
        ]
        assert json.loads("".join(arguments)) == {"city": "Paris"}

        completed = next(e for e in events if isinstance(e, ResponseCompletedEvent))
        message, call = completed.response.output
        assert message.type == "message" and message.content[0].text == "Let me check."
        assert (call.type, call.call_id, call.name) == ("function_call", "toolu_p", "get_weather")
        assert json.loads(call.arguments) == {"city": "Paris"}
        assert result.final_output == "Sunny."

    serve(scenario)


# -- function tools -----------------------------------------------------------------------------


@pytest.mark.parametrize("stream", [False, True])
def test_a_function_tool_round_trip(stream):
    async def scenario(server: ScriptedLLMServer, model: AnthropicModel) -> None:
        cities: list[str] = []
        server.script(
            tool_call("get_weather", {"city": "Paris"}, call_id="toolu_w"),
            text("It is sunny in Paris."),
        )
        agent = agents.Agent(
            name="forecaster", instructions="Use tools.", tools=[weather_tool(cities)], model=model
        )

        result = await run(agent, "weather in Paris?", stream=stream)

        assert cities == ["Paris"]
        assert result.final_output == "It is sunny in Paris."
        first, second = server.requests
        assert first.stream is stream and second.stream is stream
        (tool,) = first.body["tools"]
        assert tool["name"] == "get_weather"
        assert tool["description"] == "The weather in a city."
        assert tool["input_schema"]["properties"]["city"]["type"] == "string"
        assert "tool_choice" not in first.body

        messages = second.body["messages"]
        assert_alternates(messages)
        assert messages[1:] == [
            {
                "role": "assistant",
                "content": [
                    {
                        "type": "tool_use",
                        "id": "toolu_w",
                        "name": "get_weather",
                        "input": {"city": "Paris"},
                    }
                ],
            },
            {
                "role": "user",
                "content": [
                    {"type": "tool_result", "tool_use_id": "toolu_w", "content": "Sunny in Paris"}
                ],
            },
        ]
        assert result.context_wrapper.usage.requests == 2

    serve(scenario)


def test_model_settings_map_to_anthropic_parameters():
    async def scenario(server: ScriptedLLMServer, model: AnthropicModel) -> None:
        server.script(tool_call("get_weather", {"city": "Oslo"}), text("Cold."))
        settings = agents.ModelSettings(
            max_tokens=77, tool_choice="required", parallel_tool_calls=False, temperature=0.2
        )
        agent = agents.Agent(
            name="forecaster", tools=[weather_tool([])], model=model, model_settings=settings
        )

        result = await agents.Runner.run(agent, "weather in Oslo?")

        assert result.final_output == "Cold."
        body = server.requests[0].body
        assert body["max_tokens"] == 77
        assert body["tool_choice"] == {"type": "any", "disable_parallel_tool_use": True}
        # anthropic 2.x has no temperature parameter: the setting is not sent
        assert "temperature" not in body
        # the SDK resets a forced tool choice after the tool ran, so the model can answer
        assert server.requests[1].body["tool_choice"] == {
            "type": "auto",
            "disable_parallel_tool_use": True,
        }

    serve(scenario)


# -- handoffs -----------------------------------------------------------------------------------


@pytest.mark.parametrize("stream", [False, True])
def test_a_handoff_moves_the_run_to_the_other_agent(stream):
    async def scenario(server: ScriptedLLMServer, model: AnthropicModel) -> None:
        server.script(tool_call("transfer_to_agent_b", {}, call_id="toolu_h"), text("B here."))
        agent_b = agents.Agent(name="agent_b", instructions="You are B.", model=model)
        agent_a = agents.Agent(
            name="agent_a", instructions="You are A.", handoffs=[agent_b], model=model
        )

        result = await run(agent_a, "let me talk to B", stream=stream)

        assert result.last_agent.name == "agent_b"
        assert result.final_output == "B here."
        to_a, to_b = server.requests
        assert to_a.body["system"] == "You are A."
        assert [tool["name"] for tool in to_a.body["tools"]] == ["transfer_to_agent_b"]
        assert to_b.body["system"] == "You are B."
        messages = to_b.body["messages"]
        assert_alternates(messages)
        assert messages[1]["content"][0]["id"] == "toolu_h"
        assert messages[2]["content"][0]["tool_use_id"] == "toolu_h"
        # B has no tools, but Anthropic wants the tools of a history's tool_use blocks defined:
        # they are declared and forbidden
        assert [tool["name"] for tool in to_b.body["tools"]] == ["transfer_to_agent_b"]
        assert to_b.body["tool_choice"] == {"type": "none"}

    serve(scenario)


# -- structured output and input conversion -----------------------------------------------------


class Forecast(BaseModel):
    city: str
    celsius: int


def test_a_structured_output_type_asks_for_a_json_schema_format():
    async def scenario(server: ScriptedLLMServer, model: AnthropicModel) -> None:
        server.script(json_text({"city": "Rome", "celsius": 24}))
        agent = agents.Agent(name="forecaster", output_type=Forecast, model=model)

        result = await agents.Runner.run(agent, "forecast for Rome")

        assert result.final_output == Forecast(city="Rome", celsius=24)
        output_format = server.requests[0].body["output_config"]["format"]
        assert output_format["type"] == "json_schema"
        assert set(output_format["schema"]["properties"]) == {"city", "celsius"}

    serve(scenario)


def test_history_items_become_alternating_anthropic_messages():
    history: list[Any] = [
        {"role": "developer", "content": "Answer in French."},
        {"role": "user", "content": "Hi"},
        {"role": "user", "content": [{"type": "input_text", "text": "weather?"}]},
        {"type": "reasoning", "id": "rs_1", "summary": []},
        {
            "type": "message",
            "id": "msg_1",
            "role": "assistant",
            "status": "completed",
            "content": [{"type": "output_text", "text": "Checking.", "annotations": []}],
        },
        {"type": "function_call", "call_id": "c1", "name": "get_weather", "arguments": ""},
        {"type": "function_call", "call_id": "c2", "name": "get_time", "arguments": '{"tz": 1}'},
        {"role": "user", "content": "and hurry"},
        {"type": "function_call_output", "call_id": "c1", "output": "Sunny"},
        {
            "type": "function_call_output",
            "call_id": "c2",
            "output": [{"type": "input_text", "text": "noon"}],
        },
    ]

    async def scenario(server: ScriptedLLMServer, model: AnthropicModel) -> None:
        server.script(text("Il fait beau."))
        response = await model.get_response(
            "Be kind.",
            history,
            agents.ModelSettings(),
            [],
            None,
            [],
            agents.ModelTracing.DISABLED,
            previous_response_id=None,
            conversation_id=None,
            prompt=None,
        )

        assert response.output[0].content[0].text == "Il fait beau."
        body = server.requests[0].body
        assert body["system"] == "Be kind.\n\nAnswer in French."
        assert body["messages"] == [
            {
                "role": "user",
                "content": [{"type": "text", "text": "Hi"}, {"type": "text", "text": "weather?"}],
            },
            {
                "role": "assistant",
                "content": [
                    {"type": "text", "text": "Checking."},
                    {"type": "tool_use", "id": "c1", "name": "get_weather", "input": {}},
                    {"type": "tool_use", "id": "c2", "name": "get_time", "input": {"tz": 1}},
                ],
            },
            {
                "role": "user",
                "content": [
                    # tool results lead the turn, as Anthropic requires
                    {"type": "tool_result", "tool_use_id": "c1", "content": "Sunny"},
                    {
                        "type": "tool_result",
                        "tool_use_id": "c2",
                        "content": [{"type": "text", "text": "noon"}],
                    },
                    {"type": "text", "text": "and hurry"},
                ],
            },
        ]
        # no tools offered, but the history calls two: declared, and forbidden
        assert [tool["name"] for tool in body["tools"]] == ["get_weather", "get_time"]
        assert body["tool_choice"] == {"type": "none"}

    serve(scenario)


def test_hosted_tools_are_refused_with_a_user_error():
    async def scenario(server: ScriptedLLMServer, model: AnthropicModel) -> None:
        agent = agents.Agent(name="searcher", tools=[agents.WebSearchTool()], model=model)

        with pytest.raises(agents.UserError, match="WebSearchTool"):
            await agents.Runner.run(agent, "search the web")
        assert server.requests == []

    serve(scenario)


class OneMessageClient:
    """Stands in for the client where the fake server cannot go: stop reasons it never sends."""

    def __init__(self, stop_reason: str, content: list[dict[str, Any]], **extra: Any) -> None:
        self.messages = self
        self._message = Message.model_validate(
            {
                "id": "msg_1",
                "type": "message",
                "role": "assistant",
                "model": MODEL,
                "content": content,
                "stop_reason": stop_reason,
                "usage": {"input_tokens": 3, "output_tokens": 7},
                **extra,
            }
        )

    async def create(self, **kwargs: Any) -> Message:
        return self._message


def test_a_refusal_stop_surfaces_as_a_model_refusal():
    client = OneMessageClient(
        "refusal",
        [{"type": "text", "text": "Sure, here is"}],
        stop_details={"type": "refusal", "explanation": "Not something I can help with."},
    )
    agent = agents.Agent(name="a", model=AnthropicModel(MODEL, client))  # type: ignore[arg-type]

    with pytest.raises(ModelRefusalError, match="Not something I can help with"):
        asyncio.run(agents.Runner.run(agent, "hello"))


def test_running_out_of_tokens_before_any_output_is_a_model_error():
    client = OneMessageClient("max_tokens", [])
    agent = agents.Agent(name="a", model=AnthropicModel(MODEL, client))  # type: ignore[arg-type]

    with pytest.raises(agents.ModelBehaviorError, match="max_tokens"):
        asyncio.run(agents.Runner.run(agent, "hello"))


# -- errors and cancellation --------------------------------------------------------------------


@pytest.mark.parametrize("stream", [False, True])
@pytest.mark.parametrize(
    ("reply", "exception"),
    [
        (error(401, "invalid x-api-key"), anthropic.AuthenticationError),
        (error(429, "slow down", headers={"retry-after": "2"}), anthropic.RateLimitError),
        (error(404, "model: nope"), anthropic.NotFoundError),
    ],
)
def test_api_errors_reach_the_caller_unchanged(reply, exception, stream):
    async def scenario(server: ScriptedLLMServer, model: AnthropicModel) -> None:
        server.script(reply)
        agent = agents.Agent(name="a", model=model)

        with pytest.raises(exception) as raised:
            await run(agent, "hello", stream=stream)
        assert raised.value.status_code == reply.status
        assert len(server.requests) == 1

    serve(scenario)


def test_an_unreachable_server_raises_a_connection_error():
    async def main() -> None:
        async with ScriptedLLMServer() as server:
            base_url = server.base_url
        # the server is gone: nothing listens on its port any more
        client = anthropic.AsyncAnthropic(base_url=base_url, api_key="k", max_retries=0)
        async with client:
            agent = agents.Agent(name="a", model=AnthropicModel(MODEL, client))
            with pytest.raises(anthropic.APIConnectionError):
                await agents.Runner.run(agent, "hello")

    asyncio.run(main())


def test_cancelling_a_hung_stream_ends_the_run_and_the_server_stays_usable():
    async def scenario(server: ScriptedLLMServer, model: AnthropicModel) -> None:
        server.script(hang(), text("still here"))
        agent = agents.Agent(name="a", model=model)

        result = agents.Runner.run_streamed(agent, "hello")
        consumer = asyncio.create_task(raw_events(result))
        await server.wait_for_requests(1)
        result.cancel()
        async with asyncio.timeout(2):
            await consumer
            await server.wait_until(lambda: server.requests[0].disconnected)

        assert result.is_complete
        assert result.final_output is None
        again = await agents.Runner.run(agent, "hello again")
        assert again.final_output == "still here"

    serve(scenario)


def test_cancelling_the_task_of_a_hung_request_releases_it():
    async def scenario(server: ScriptedLLMServer, model: AnthropicModel) -> None:
        server.script(hang(), text("still here"))
        agent = agents.Agent(name="a", model=model)

        task = asyncio.create_task(agents.Runner.run(agent, "hello"))
        await server.wait_for_requests(1)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        await server.wait_until(lambda: server.requests[0].disconnected, within=2)

        again = await run(agent, "hello again", stream=True)
        assert again.final_output == "still here"

    serve(scenario)
