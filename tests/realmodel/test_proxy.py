"""The normalising proxy's request rewrites and SSE re-emission (no model needed)."""

from __future__ import annotations

from tests.realmodel.proxy import completion_to_chunks, needs_stream_emulation, normalise_request

TOOL = {"type": "function", "function": {"name": "add", "parameters": {"type": "object"}}}
OTHER = {"type": "function", "function": {"name": "sub", "parameters": {"type": "object"}}}
CALL = {"id": "call_1", "type": "function", "function": {"name": "add", "arguments": "{}"}}


def test_assistant_null_content_becomes_empty_and_tool_results_become_user_messages() -> None:
    body = {
        "messages": [
            {"role": "developer", "content": "Be brief."},
            {"role": "user", "content": [{"type": "text", "text": "Add "}, {"text": "1 and 2"}]},
            {"role": "assistant", "content": None, "tool_calls": [CALL]},
            {"role": "tool", "tool_call_id": "call_1", "content": "3"},
        ],
        "tools": [TOOL],
    }

    fixed = normalise_request(body)

    assert fixed["messages"] == [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "Add 1 and 2"},
        {"role": "assistant", "content": "", "tool_calls": [CALL]},
        {"role": "user", "content": "Tool result for add: 3"},
    ]
    assert body["messages"][2]["content"] is None  # the input is not modified


def test_required_tool_choice_names_a_single_tool() -> None:
    messages = [{"role": "user", "content": "hi"}]

    assert "tool_choice" not in normalise_request({"messages": messages, "tools": [TOOL]})
    single = normalise_request({"messages": messages, "tools": [TOOL], "tool_choice": "required"})
    assert single["tool_choice"] == {"type": "function", "function": {"name": "add"}}
    several = {"messages": messages, "tools": [TOOL, OTHER], "tool_choice": "required"}
    assert normalise_request(several)["tool_choice"] == "auto"
    no_tools = normalise_request({"messages": messages, "tools": [], "tool_choice": "auto"})
    assert "tools" not in no_tools and "tool_choice" not in no_tools


def _emulated(**body: object) -> bool:
    return needs_stream_emulation(
        normalise_request({"messages": [{"role": "user", "content": "hi"}], **body})
    )


def test_only_streams_that_may_call_tools_are_emulated() -> None:
    assert _emulated(stream=True, tools=[TOOL], tool_choice="auto")
    assert _emulated(stream=True, tools=[TOOL], tool_choice="required")
    assert not _emulated(stream=True)
    assert not _emulated(stream=True, tools=[TOOL])  # the server then leaves the tools out
    assert not _emulated(stream=True, tools=[TOOL], tool_choice="none")
    assert not _emulated(tools=[TOOL])


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
