"""OpenAI Responses (`POST /v1/responses`) as api.openai.com speaks it.

Shapes follow `openai.types.responses.Response` and the `ResponseStreamEvent` union. Streams are
`event: <type>` / `data: <json>` pairs, every payload carrying `type` and a `sequence_number`
that starts at 0, in the order the API sends them: created, in_progress, then per output item
added / (content part / text deltas | argument deltas) / done, then completed with usage.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Mapping
from typing import Any

from .dialect import Pacer, SSEvent, Turn
from .replies import Usage, prompt_words


def responses_usage(usage: Usage) -> dict[str, Any]:
    return {
        "input_tokens": usage.input_tokens,
        "input_tokens_details": {"cached_tokens": usage.cached_tokens, "cache_write_tokens": 0},
        "output_tokens": usage.output_tokens,
        "output_tokens_details": {"reasoning_tokens": usage.reasoning_tokens},
        "total_tokens": usage.total_tokens,
    }


def _text_part(text: str) -> dict[str, Any]:
    return {"type": "output_text", "text": text, "annotations": [], "logprobs": []}


class ResponsesDialect:
    provider = "openai"

    def prompt_tokens(self, body: Mapping[str, Any]) -> int:
        return prompt_words(body.get("instructions") or "", body.get("input", []))

    def render(self, turn: Turn) -> dict[str, Any]:
        items = _Items(turn)
        return _response(turn, items.response_id, "completed", items.completed(), turn.usage)

    def stream(self, turn: Turn) -> Iterator[SSEvent]:
        for number, event in enumerate(self._events(turn)):
            event["sequence_number"] = number
            yield SSEvent(event, event=event["type"], delay=event.pop("_delay", 0.0))

    def _events(self, turn: Turn) -> Iterator[dict[str, Any]]:
        items = _Items(turn)
        pacer = Pacer(turn.reply.delay)
        started = _response(turn, items.response_id, "in_progress", [], None)
        yield {"type": "response.created", "response": started}
        yield {"type": "response.in_progress", "response": started}

        done = items.completed()
        for index, item in enumerate(done):
            item_id = item["id"]
            where = {"item_id": item_id, "output_index": index}
            if item["type"] == "message":
                added = {**item, "status": "in_progress", "content": []}
                yield {"type": "response.output_item.added", "output_index": index, "item": added}
                part = {**where, "content_index": 0}
                yield {"type": "response.content_part.added", **part, "part": _text_part("")}
                for piece in turn.reply.text_pieces():
                    yield {
                        "type": "response.output_text.delta",
                        **part,
                        "delta": piece,
                        "logprobs": [],
                        "_delay": pacer.next(),
                    }
                full = turn.reply.text
                yield {"type": "response.output_text.done", **part, "text": full, "logprobs": []}
                yield {"type": "response.content_part.done", **part, "part": _text_part(full)}
            else:
                added = {**item, "status": "in_progress", "arguments": ""}
                yield {"type": "response.output_item.added", "output_index": index, "item": added}
                for fragment in items.fragments[item_id]:
                    yield {
                        "type": "response.function_call_arguments.delta",
                        **where,
                        "delta": fragment,
                        "_delay": pacer.next(),
                    }
                yield {
                    "type": "response.function_call_arguments.done",
                    **where,
                    "arguments": item["arguments"],
                }
            yield {"type": "response.output_item.done", "output_index": index, "item": item}

        completed = _response(turn, items.response_id, "completed", done, turn.usage)
        yield {"type": "response.completed", "response": completed}


class _Items:
    """The reply's output items with ids minted once, shared by the stream and the final body."""

    def __init__(self, turn: Turn) -> None:
        reply = turn.reply
        self.response_id = turn.new_id("resp_")
        self._items: list[dict[str, Any]] = []
        self.fragments: dict[str, list[str]] = {}
        if reply.text or not reply.calls:
            self._items.append(
                {
                    "id": turn.new_id("msg_"),
                    "type": "message",
                    "status": "completed",
                    "role": "assistant",
                    "content": [_text_part(reply.text)],
                }
            )
        for call, call_id in zip(reply.calls, turn.call_ids("call_"), strict=True):
            item_id = turn.new_id("fc_")
            self.fragments[item_id] = call.argument_fragments()
            self._items.append(
                {
                    "id": item_id,
                    "type": "function_call",
                    "status": "completed",
                    "call_id": call_id,
                    "name": call.name,
                    "arguments": call.arguments_json,
                }
            )

    def completed(self) -> list[dict[str, Any]]:
        return [dict(item) for item in self._items]


def _response(
    turn: Turn,
    response_id: str,
    status: str,
    output: list[dict[str, Any]],
    usage: Usage | None,
) -> dict[str, Any]:
    """The Response object; request settings are echoed back as the API does."""
    body = turn.body
    return {
        "id": response_id,
        "object": "response",
        "created_at": turn.created,
        "completed_at": int(time.time()) if status == "completed" else None,
        "status": status,
        "background": False,
        "error": None,
        "incomplete_details": None,
        "instructions": body.get("instructions"),
        "max_output_tokens": body.get("max_output_tokens"),
        "max_tool_calls": body.get("max_tool_calls"),
        "model": turn.model,
        "output": output,
        "parallel_tool_calls": body.get("parallel_tool_calls", True),
        "previous_response_id": body.get("previous_response_id"),
        "reasoning": body.get("reasoning") or {"effort": None, "summary": None},
        "service_tier": "default",
        "store": body.get("store", True),
        "temperature": body.get("temperature", 1.0),
        "text": body.get("text") or {"format": {"type": "text"}, "verbosity": "medium"},
        "tool_choice": body.get("tool_choice", "auto"),
        "tools": body.get("tools", []),
        "top_logprobs": body.get("top_logprobs", 0),
        "top_p": body.get("top_p", 1.0),
        "truncation": body.get("truncation", "disabled"),
        "usage": responses_usage(usage) if usage is not None else None,
        "user": body.get("user"),
        "metadata": body.get("metadata") or {},
    }
