"""The scripted fake LLM server speaks the real wire protocols: the real clients run end to end.

Every test drives the official `openai` / `anthropic` clients (or the Agents SDK) over HTTP on
127.0.0.1; a separate test validates the raw wire output against the SDKs' pydantic types, so a
lenient client parser cannot hide a malformed shape.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from typing import Any

import anthropic
import openai
import pytest
from aiohttp import ClientSession
from pydantic import TypeAdapter

from tests.fakes import (
    DEFAULT_MODELS,
    ScriptedLLMServer,
    ThreadedLLMServer,
    Usage,
    error,
    hang,
    json_text,
    running_server,
    slow_text,
    text,
    tool_call,
    tool_calls,
)

USER = [{"role": "user", "content": "say hello please"}]  # three prompt words

Scenario = Callable[[ScriptedLLMServer], Awaitable[None]]


def serve(scenario: Scenario) -> None:
    """Run `scenario` against a fresh server on a fresh event loop."""

    async def main() -> None:
        async with ScriptedLLMServer() as server:
            await scenario(server)

    asyncio.run(main())


def openai_client(server: ScriptedLLMServer, **options: Any) -> openai.AsyncOpenAI:
    options.setdefault("max_retries", 0)
    return openai.AsyncOpenAI(base_url=server.openai_base_url, api_key="test-key", **options)


def anthropic_client(server: ScriptedLLMServer, **options: Any) -> anthropic.AsyncAnthropic:
    options.setdefault("max_retries", 0)
    return anthropic.AsyncAnthropic(base_url=server.base_url, api_key="test-key", **options)


# -- OpenAI Chat Completions -------------------------------------------------------------------


def test_chat_completion_text_and_the_request_log():
    async def scenario(server: ScriptedLLMServer) -> None:
        server.script(text("hello world"))
        async with openai_client(server) as client:
            completion = await client.chat.completions.create(model="test-model", messages=USER)

        choice = completion.choices[0]
        assert choice.message.content == "hello world"
        assert choice.finish_reason == "stop"
        assert completion.model == "test-model"
        assert completion.usage is not None
        assert (completion.usage.prompt_tokens, completion.usage.completion_tokens) == (3, 2)
        assert completion.usage.total_tokens == 5
        (request,) = server.requests
        assert (request.method, request.path) == ("POST", "/v1/chat/completions")
        assert request.headers["authorization"] == "Bearer test-key"
        assert request.body == {"model": "test-model", "messages": USER}
        assert request.finished and not request.disconnected

    serve(scenario)


def test_chat_completion_non_streaming_tool_call():
    async def scenario(server: ScriptedLLMServer) -> None:
        server.script(tool_call("get_weather", {"city": "Paris"}, call_id="call_1"))
        async with openai_client(server) as client:
            completion = await client.chat.completions.create(model="m", messages=USER)

        choice = completion.choices[0]
        assert choice.finish_reason == "tool_calls"
        assert choice.message.content is None
        (call,) = choice.message.tool_calls or []
        assert call.id == "call_1"
        assert call.function.name == "get_weather"
        assert json.loads(call.function.arguments) == {"city": "Paris"}

    serve(scenario)


def test_chat_stream_text_deltas_join_to_the_text_and_usage_comes_last():
    async def scenario(server: ScriptedLLMServer) -> None:
        server.script(text("the quick brown fox", chunks=["the qu", "ick ", "brown fox"]))
        async with openai_client(server) as client:
            stream = await client.chat.completions.create(
                model="m", messages=USER, stream=True, stream_options={"include_usage": True}
            )
            chunks = [chunk async for chunk in stream]

        deltas = [c.choices[0].delta.content for c in chunks if c.choices]
        assert [d for d in deltas if d] == ["the qu", "ick ", "brown fox"]
        assert chunks[0].choices[0].delta.role == "assistant"
        assert [c.choices[0].finish_reason for c in chunks if c.choices][-1] == "stop"
        assert chunks[-1].choices == []
        assert chunks[-1].usage is not None
        assert (chunks[-1].usage.prompt_tokens, chunks[-1].usage.completion_tokens) == (3, 4)

    serve(scenario)


def test_chat_stream_tool_calls_reassemble_by_index():
    async def scenario(server: ScriptedLLMServer) -> None:
        server.script(
            tool_calls(
                [
                    tool_call("get_weather", {"city": "Paris", "unit": "celsius"}),
                    tool_call("get_time", {"zone": "Europe/Paris"}),
                ]
            )
        )
        async with openai_client(server) as client:
            stream = await client.chat.completions.create(model="m", messages=USER, stream=True)
            calls: dict[int, dict[str, str]] = {}
            finish = None
            async for chunk in stream:
                choice = chunk.choices[0]
                finish = choice.finish_reason or finish
                for delta in choice.delta.tool_calls or []:
                    call = calls.setdefault(delta.index, {"id": "", "name": "", "args": ""})
                    call["id"] += delta.id or ""
                    call["name"] += (delta.function and delta.function.name) or ""
                    call["args"] += (delta.function and delta.function.arguments) or ""

        assert finish == "tool_calls"
        assert [calls[i]["name"] for i in sorted(calls)] == ["get_weather", "get_time"]
        assert json.loads(calls[0]["args"]) == {"city": "Paris", "unit": "celsius"}
        assert json.loads(calls[1]["args"]) == {"zone": "Europe/Paris"}
        assert calls[0]["id"] and calls[0]["id"] != calls[1]["id"]

    serve(scenario)


@pytest.mark.parametrize(
    ("reply", "exception", "code"),
    [
        (error(401, "Incorrect API key provided"), openai.AuthenticationError, "invalid_api_key"),
        (
            error(429, "Rate limit reached", headers={"retry-after": "7"}),
            openai.RateLimitError,
            "rate_limit_exceeded",
        ),
        (error(404, "The model `nope` does not exist"), openai.NotFoundError, "model_not_found"),
        (error(500, "The server had an error"), openai.InternalServerError, None),
    ],
)
def test_chat_errors_raise_the_typed_openai_exceptions(reply, exception, code):
    async def scenario(server: ScriptedLLMServer) -> None:
        server.script(reply)
        async with openai_client(server) as client:
            with pytest.raises(exception) as raised:
                await client.chat.completions.create(model="m", messages=USER)

        assert raised.value.status_code == reply.status
        assert raised.value.code == code
        assert reply.message in raised.value.message
        for name, value in reply.headers.items():
            assert raised.value.response.headers[name] == value

    serve(scenario)


def test_an_unscripted_request_fails_loudly_without_retries():
    async def scenario(server: ScriptedLLMServer) -> None:
        async with openai_client(server, max_retries=2) as client:
            with pytest.raises(openai.InternalServerError, match="no scripted reply"):
                await client.chat.completions.create(model="m", messages=USER)

        assert len(server.requests) == 1  # x-should-retry: false stopped the client retrying

    serve(scenario)


# -- OpenAI Responses --------------------------------------------------------------------------


def test_responses_non_streaming_text_and_usage():
    async def scenario(server: ScriptedLLMServer) -> None:
        usage = Usage(input_tokens=10, output_tokens=4, cached_tokens=6, reasoning_tokens=2)
        server.script(json_text({"answer": 42}, usage=usage))
        async with openai_client(server) as client:
            response = await client.responses.create(
                model="test-model", input="what is the answer", instructions="be brief"
            )

        assert response.status == "completed"
        assert json.loads(response.output_text) == {"answer": 42}
        assert response.instructions == "be brief"
        assert response.usage is not None
        assert (response.usage.input_tokens, response.usage.output_tokens) == (10, 4)
        assert response.usage.input_tokens_details.cached_tokens == 6
        assert response.usage.output_tokens_details.reasoning_tokens == 2

    serve(scenario)


def test_responses_stream_text_then_function_call():
    async def scenario(server: ScriptedLLMServer) -> None:
        server.script(
            tool_calls([tool_call("lookup", {"q": "fox"}, call_id="call_7")], text="Let me check.")
        )
        async with openai_client(server) as client:
            stream = await client.responses.create(model="m", input="find fox", stream=True)
            events = [event async for event in stream]

        types = [event.type for event in events]
        assert types[:3] == [
            "response.created",
            "response.in_progress",
            "response.output_item.added",
        ]
        assert types[-1] == "response.completed"
        assert [event.sequence_number for event in events] == list(range(len(events)))
        deltas = [e.delta for e in events if e.type == "response.output_text.delta"]
        assert "".join(deltas) == "Let me check."
        arguments = [e.delta for e in events if e.type == "response.function_call_arguments.delta"]
        assert json.loads("".join(arguments)) == {"q": "fox"}

        final = events[-1].response
        message, call = final.output
        assert message.type == "message" and call.type == "function_call"
        assert (call.call_id, call.name, call.status) == ("call_7", "lookup", "completed")
        assert final.usage is not None
        assert final.usage.input_tokens == 2
        assert final.usage.input_tokens_details.cached_tokens == 0
        assert final.usage.output_tokens_details.reasoning_tokens == 0

    serve(scenario)


def test_responses_stream_helper_accumulates_the_final_response():
    async def scenario(server: ScriptedLLMServer) -> None:
        server.script(text("streamed answer"))
        async with openai_client(server) as client:
            async with client.responses.stream(model="m", input="hi") as stream:
                deltas = [e.delta async for e in stream if e.type == "response.output_text.delta"]
                final = await stream.get_final_response()

        assert "".join(deltas) == final.output_text == "streamed answer"
        assert final.usage is not None and final.usage.output_tokens == 2

    serve(scenario)


# -- Anthropic Messages ------------------------------------------------------------------------


def test_anthropic_non_streaming_text_and_tool_use():
    async def scenario(server: ScriptedLLMServer) -> None:
        server.script(text("hello there"), tool_call("get_weather", {"city": "Oslo"}))
        async with anthropic_client(server) as client:
            message = await client.messages.create(model="claude", max_tokens=64, messages=USER)
            tool_message = await client.messages.create(
                model="claude", max_tokens=64, messages=USER
            )

        assert message.stop_reason == "end_turn"
        assert message.content[0].type == "text" and message.content[0].text == "hello there"
        assert (message.usage.input_tokens, message.usage.output_tokens) == (3, 2)
        assert tool_message.stop_reason == "tool_use"
        (block,) = tool_message.content
        assert block.type == "tool_use"
        assert (block.name, block.input) == ("get_weather", {"city": "Oslo"})
        assert server.requests[0].path == "/v1/messages"
        headers = server.requests[0].headers
        assert "test-key" in (headers.get("x-api-key"), headers.get("authorization", "")[7:])
        assert "anthropic-version" in server.requests[0].headers

    serve(scenario)


def test_anthropic_stream_text_and_final_usage():
    async def scenario(server: ScriptedLLMServer) -> None:
        server.script(text("one two three four"))
        async with anthropic_client(server) as client:
            async with client.messages.stream(
                model="claude", max_tokens=64, messages=USER
            ) as stream:
                pieces = [piece async for piece in stream.text_stream]
                final = await stream.get_final_message()

        assert len(pieces) == 4
        assert "".join(pieces) == "one two three four"
        assert final.stop_reason == "end_turn"
        assert (final.usage.input_tokens, final.usage.output_tokens) == (3, 4)

    serve(scenario)


def test_anthropic_stream_text_then_tool_use():
    async def scenario(server: ScriptedLLMServer) -> None:
        arguments = {"city": "Oslo", "days": 3, "detail": {"hourly": True}}
        server.script(tool_calls([tool_call("forecast", arguments)], text="Checking."))
        async with anthropic_client(server) as client:
            async with client.messages.stream(
                model="claude", max_tokens=64, messages=USER
            ) as stream:
                partial = [e.partial_json async for e in stream if e.type == "input_json"]
                final = await stream.get_final_message()

        assert json.loads("".join(partial)) == arguments
        text_block, tool_block = final.content
        assert text_block.type == "text" and text_block.text == "Checking."
        assert tool_block.type == "tool_use"
        assert (tool_block.name, tool_block.input) == ("forecast", arguments)
        assert final.stop_reason == "tool_use"

    serve(scenario)


@pytest.mark.parametrize(
    ("reply", "exception", "error_type"),
    [
        (error(401, "invalid x-api-key"), anthropic.AuthenticationError, "authentication_error"),
        (
            error(429, "Number of requests has exceeded", headers={"retry-after": "3"}),
            anthropic.RateLimitError,
            "rate_limit_error",
        ),
        (error(404, "model: nope"), anthropic.NotFoundError, "not_found_error"),
    ],
)
def test_anthropic_errors_raise_the_typed_exceptions(reply, exception, error_type):
    async def scenario(server: ScriptedLLMServer) -> None:
        server.script(reply)
        async with anthropic_client(server) as client:
            with pytest.raises(exception) as raised:
                await client.messages.create(model="claude", max_tokens=64, messages=USER)

        assert raised.value.status_code == reply.status
        assert raised.value.body["error"] == {"type": error_type, "message": reply.message}
        assert raised.value.request_id == raised.value.response.headers["request-id"]
        for name, value in reply.headers.items():
            assert raised.value.response.headers[name] == value

    serve(scenario)


# -- model listings ----------------------------------------------------------------------------


def test_models_are_listed_in_each_providers_shape():
    async def scenario(server: ScriptedLLMServer) -> None:
        async with openai_client(server) as oa, anthropic_client(server) as an:
            openai_ids = [model.id async for model in oa.models.list()]
            anthropic_ids = [model.id async for model in an.models.list()]
            with pytest.raises(openai.NotFoundError):
                await oa.models.retrieve("no-such-model")

        assert openai_ids == anthropic_ids == list(DEFAULT_MODELS)
        assert server.pending == 0  # listings consume no scripted replies

    serve(scenario)


def test_unknown_routes_answer_404_in_the_openai_shape():
    async def scenario(server: ScriptedLLMServer) -> None:
        async with ClientSession() as session, session.get(server.base_url + "/v1/nope") as r:
            assert r.status == 404
            body = await r.json()
        assert body["error"]["message"] == "Invalid URL (GET /v1/nope)"
        assert body["error"]["code"] is None
        assert server.requests[0].path == "/v1/nope"

    serve(scenario)


# -- raw wire shapes against the SDK types ------------------------------------------------------


async def _post(server: ScriptedLLMServer, path: str, body: dict[str, Any]) -> str:
    async with ClientSession() as session, session.post(server.base_url + path, json=body) as r:
        assert r.status == 200
        return await r.text()


def _sse(raw: str) -> list[tuple[str | None, str]]:
    events = []
    for block in raw.strip().split("\n\n"):
        fields = dict(line.split(": ", 1) for line in block.splitlines())
        events.append((fields.get("event"), fields["data"]))
    return events


def test_wire_output_validates_strictly_against_the_sdk_types():
    from anthropic.types import Message, RawMessageStreamEvent
    from openai.types.chat import ChatCompletion, ChatCompletionChunk
    from openai.types.responses import Response, ResponseStreamEvent

    reply = tool_calls([tool_call("f", {"a": [1, 2]}), tool_call("g", {})], text="Two calls.")

    async def scenario(server: ScriptedLLMServer) -> None:
        server.script(*[reply] * 6)
        chat = {"model": "m", "messages": USER}
        ChatCompletion.model_validate_json(await _post(server, "/v1/chat/completions", chat))
        options = {"stream": True, "stream_options": {"include_usage": True}}
        events = _sse(await _post(server, "/v1/chat/completions", {**chat, **options}))
        assert events[-1] == (None, "[DONE]")
        for name, data in events[:-1]:
            assert name is None
            ChatCompletionChunk.model_validate_json(data)

        responses = {"model": "m", "input": "hi"}
        Response.model_validate_json(await _post(server, "/v1/responses", responses))
        adapter = TypeAdapter(ResponseStreamEvent)
        for name, data in _sse(await _post(server, "/v1/responses", {**responses, **options})):
            assert adapter.validate_json(data).type == name

        messages = {"model": "claude", "max_tokens": 64, "messages": USER}
        Message.model_validate_json(await _post(server, "/v1/messages", messages))
        adapter = TypeAdapter(RawMessageStreamEvent)
        for name, data in _sse(await _post(server, "/v1/messages", {**messages, "stream": True})):
            if name != "ping":  # pings are not part of the event union; the client skips them
                assert adapter.validate_json(data).type == name

    serve(scenario)


# -- OpenAI Agents SDK end to end ---------------------------------------------------------------


@pytest.mark.parametrize("model_class", ["OpenAIChatCompletionsModel", "OpenAIResponsesModel"])
def test_agents_sdk_runs_a_tool_then_answers(model_class):
    import agents

    agents.set_tracing_disabled(True)
    cities: list[str] = []

    @agents.function_tool
    def get_weather(city: str) -> str:
        """The weather in a city."""
        cities.append(city)
        return f"Sunny in {city}"

    async def scenario(server: ScriptedLLMServer) -> None:
        server.script(
            tool_call("get_weather", {"city": "Paris"}, call_id="call_w"),
            text("It is sunny in Paris."),
        )
        async with openai.AsyncOpenAI(base_url=server.openai_base_url, api_key="k") as client:
            model = getattr(agents, model_class)(model="test-model", openai_client=client)
            agent = agents.Agent(name="forecaster", tools=[get_weather], model=model)
            result = agents.Runner.run_streamed(agent, "weather in Paris?")
            async for _ in result.stream_events():
                pass

        assert result.is_complete
        assert result.final_output == "It is sunny in Paris."
        assert cities == ["Paris"]
        first, second = server.requests
        assert first.stream and second.stream
        if model_class == "OpenAIChatCompletionsModel":
            assert first.body["tools"][0]["function"]["name"] == "get_weather"
            tool_message = second.body["messages"][-1]
            assert tool_message == {
                "role": "tool",
                "tool_call_id": "call_w",
                "content": "Sunny in Paris",
            }
        else:
            assert first.body["tools"][0]["name"] == "get_weather"
            output = second.body["input"][-1]
            assert output["type"] == "function_call_output"
            assert (output["call_id"], output["output"]) == ("call_w", "Sunny in Paris")
            assert result.context_wrapper.usage.requests == 2

    serve(scenario)


# -- hangs, slow streams and cancellation -------------------------------------------------------


@pytest.mark.parametrize("stream", [False, True])
def test_a_hung_request_can_be_cancelled_and_the_server_stays_usable(stream):
    async def scenario(server: ScriptedLLMServer) -> None:
        server.script(hang(), text("still here"))
        async with openai_client(server) as client:

            async def ask() -> None:
                answer = await client.chat.completions.create(
                    model="m", messages=USER, stream=stream
                )
                if stream:
                    async for _ in answer:
                        pass

            task = asyncio.create_task(ask())
            await server.wait_for_requests(1)
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
            await server.wait_until(lambda: server.requests[0].disconnected)

            completion = await client.chat.completions.create(model="m", messages=USER)
        assert completion.choices[0].message.content == "still here"

    serve(scenario)


def test_a_slow_stream_can_be_abandoned_mid_way():
    async def scenario(server: ScriptedLLMServer) -> None:
        server.script(slow_text("a b c d e f g h", per_chunk_delay=0.05))
        async with anthropic_client(server) as client:
            async with client.messages.stream(
                model="claude", max_tokens=64, messages=USER
            ) as stream:
                async for piece in stream.text_stream:
                    assert piece == "a "
                    break
        await server.wait_until(lambda: server.requests[0].finished)
        assert server.requests[0].disconnected

    serve(scenario)


def test_a_server_closed_while_a_request_hangs_shuts_down_promptly():
    async def scenario(server: ScriptedLLMServer) -> None:
        server.script(hang())
        async with openai_client(server, timeout=30) as client:
            task = asyncio.create_task(client.chat.completions.create(model="m", messages=USER))
            await server.wait_for_requests(1)
            await server.close()
            with pytest.raises(openai.APIError):
                await task

    serve(scenario)


# -- background-thread server for sync and Qt tests --------------------------------------------


def test_the_background_server_serves_a_sync_client():
    with running_server() as server:
        server.script(text("sync hello"), text("streamed sync hello"))
        with openai.OpenAI(
            base_url=server.openai_base_url, api_key="test-key", max_retries=0
        ) as client:
            completion = client.chat.completions.create(model="m", messages=USER)
            stream = client.chat.completions.create(model="m", messages=USER, stream=True)
            pieces = [c.choices[0].delta.content or "" for c in stream if c.choices]

        assert completion.choices[0].message.content == "sync hello"
        assert "".join(pieces) == "streamed sync hello"
        requests = server.wait_for_requests(2)
        assert [r.body["stream"] for r in requests[1:]] == [True]
        assert server.pending == 0


def test_the_background_server_can_be_waited_on_from_another_thread():
    with running_server() as server:
        server.script(hang())
        with openai.OpenAI(base_url=server.openai_base_url, api_key="k", max_retries=0) as client:
            with pytest.raises(openai.APITimeoutError):
                client.chat.completions.create(model="m", messages=USER, timeout=0.2)
        server.wait_until(lambda: bool(server.requests) and server.requests[0].disconnected)


def test_the_background_server_serves_an_async_client_on_a_qasync_loop(loop):
    """The GUI's case: the client runs on the Qt event loop, the server on its own thread."""

    async def ask(server: ThreadedLLMServer) -> list[str]:
        async with openai.AsyncOpenAI(
            base_url=server.openai_base_url, api_key="k", max_retries=0
        ) as client:
            stream = await client.chat.completions.create(model="m", messages=USER, stream=True)
            return [c.choices[0].delta.content or "" async for c in stream if c.choices]

    with running_server() as server:
        server.script(slow_text("painted while streaming", per_chunk_delay=0.01))
        pieces = loop.run_until_complete(ask(server))

    assert [piece for piece in pieces if piece] == ["painted ", "while ", "streaming"]


def test_background_waits_time_out_instead_of_blocking_forever():
    with running_server() as server, pytest.raises(TimeoutError):
        server.wait_for_requests(1, within=0)


# -- the script itself --------------------------------------------------------------------------


def test_script_rejects_things_that_are_not_replies():
    server = ScriptedLLMServer()
    with pytest.raises(TypeError):
        server.script("hello")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="chunks"):
        text("hello", chunks=["he", "lo"])
    with pytest.raises(ValueError, match="cached_tokens"):
        Usage(input_tokens=1, output_tokens=1, cached_tokens=2)
