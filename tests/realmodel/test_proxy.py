"""The tool-call proxy's rewrite of forced calls and its SSE re-emission (no model needed)."""

from __future__ import annotations

import json

from tests.realmodel.proxy import as_tool_call, call_request, completion_to_chunks, forced_tools

ADD_ARGS = {"type": "object", "properties": {"a": {"type": "integer"}}, "required": ["a"]}
TOOL = {"type": "function", "function": {"name": "add", "parameters": ADD_ARGS}}
OTHER = {"type": "function", "function": {"name": "sub", "parameters": {"type": "object"}}}
CALL = {"id": "call_1", "type": "function", "function": {"name": "add", "arguments": "{}"}}


def _body(**extra: object) -> dict:
    return {"messages": [{"role": "user", "content": "hi"}], "tools": [TOOL, OTHER], **extra}


def test_only_a_demanded_call_is_forced() -> None:
    assert forced_tools(_body()) == []
    assert forced_tools(_body(tool_choice="auto")) == []
    assert forced_tools(_body(tool_choice="none")) == []
    assert forced_tools(_body(tool_choice="required")) == [TOOL, OTHER]
    named = {"type": "function", "function": {"name": "sub"}}
    assert forced_tools(_body(tool_choice=named)) == [OTHER]
    assert forced_tools({"messages": [], "tools": [], "tool_choice": "required"}) == []


def test_a_forced_call_is_asked_for_as_schema_held_json() -> None:
    body = _body(tool_choice="required", stream=True, stream_options={"include_usage": True})

    single = call_request(body, [TOOL])
    several = call_request(body, [TOOL, OTHER])

    schema = single["response_format"]["json_schema"]["schema"]
    assert schema["properties"] == {"name": {"const": "add"}, "arguments": ADD_ARGS}
    assert schema["required"] == ["name", "arguments"]
    options = several["response_format"]["json_schema"]["schema"]["anyOf"]
    assert [o["properties"]["name"]["const"] for o in options] == ["add", "sub"]
    for request in (single, several):  # asked without streaming; the tools stay in the prompt
        assert not {"tool_choice", "stream", "stream_options"} & request.keys()
        assert request["tools"] == [TOOL, OTHER] and request["messages"] == body["messages"]
    assert body["tool_choice"] == "required" and body["stream"]  # the input is left as is


def test_the_json_answer_becomes_a_tool_call() -> None:
    content = '{"name": "add", "arguments": {"a": 2}}'
    answer = {
        "id": "chatcmpl-9",
        "choices": [
            {
                "index": 0,
                "finish_reason": "stop",
                "message": {"role": "assistant", "content": content},
            }
        ],
    }

    completion = as_tool_call(answer)

    choice = completion["choices"][0]
    assert choice["finish_reason"] == "tool_calls"
    assert choice["message"]["content"] is None
    (call,) = choice["message"]["tool_calls"]
    assert call["type"] == "function" and call["id"].startswith("call_")
    assert call["function"]["name"] == "add"
    assert json.loads(call["function"]["arguments"]) == {"a": 2}
    assert completion["id"] == "chatcmpl-9"
    assert answer["choices"][0]["message"]["content"] == content  # the input is left as is


def test_completion_is_re_emitted_as_chunks() -> None:
    usage = {"prompt_tokens": 5, "completion_tokens": 3, "total_tokens": 8}
    text = {
        "id": "chatcmpl-1",
        "created": 1,
        "model": "m",
        "choices": [{"message": {"role": "assistant", "content": "It is 3."}}],
        "usage": usage,
    }
    calls = {
        "id": "chatcmpl-2",
        "choices": [
            {
                "message": {"role": "assistant", "content": None, "tool_calls": [CALL]},
                "finish_reason": "tool_calls",
            }
        ],
    }

    chunks = list(completion_to_chunks(text, include_usage=True))
    deltas = [c["choices"][0]["delta"] for c in chunks if c["choices"]]
    assert deltas[0] == {"role": "assistant", "content": ""}
    assert "".join(d.get("content", "") for d in deltas) == "It is 3."
    assert len([d for d in deltas if d.get("content")]) == 3
    assert chunks[-2]["choices"][0]["finish_reason"] == "stop"
    assert chunks[-1]["choices"] == [] and chunks[-1]["usage"] == usage
    assert {c["id"] for c in chunks} == {"chatcmpl-1"}

    chunks = list(completion_to_chunks(calls, include_usage=True))
    tool_deltas = [c["choices"][0]["delta"]["tool_calls"] for c in chunks[:-1][1:]]
    assert tool_deltas == [[{"index": 0, **CALL}]]
    assert chunks[-1]["choices"][0]["finish_reason"] == "tool_calls"
    assert all(c["object"] == "chat.completion.chunk" for c in chunks)
