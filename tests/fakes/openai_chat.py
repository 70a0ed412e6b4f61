"""OpenAI Chat Completions (`POST /v1/chat/completions`) as api.openai.com speaks it.

Shapes follow `openai.types.chat.ChatCompletion` / `ChatCompletionChunk`: streamed chunks carry
only `data:` lines (no `event:`), the first delta carries the role, each tool call is introduced
by a delta with its index, id and name and then streams argument fragments, a last choice chunk
carries `finish_reason`, an optional usage chunk has empty `choices`, and `[DONE]` ends it.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from .dialect import Pacer, SSEvent, Turn
from .replies import Usage, prompt_words

SYSTEM_FINGERPRINT = "fp_scripted"


def chat_usage(usage: Usage) -> dict[str, Any]:
    return {
        "prompt_tokens": usage.input_tokens,
        "completion_tokens": usage.output_tokens,
        "total_tokens": usage.total_tokens,
        "prompt_tokens_details": {"cached_tokens": usage.cached_tokens, "audio_tokens": 0},
        "completion_tokens_details": {
            "reasoning_tokens": usage.reasoning_tokens,
            "audio_tokens": 0,
            "accepted_prediction_tokens": 0,
            "rejected_prediction_tokens": 0,
        },
    }


class ChatCompletionsDialect:
    provider = "openai"

    def prompt_tokens(self, body: Mapping[str, Any]) -> int:
        return prompt_words(body.get("messages", []))

    def render(self, turn: Turn) -> dict[str, Any]:
        reply = turn.reply
        message: dict[str, Any] = {
            "role": "assistant",
            "content": reply.text if reply.text or not reply.calls else None,
            "refusal": None,
            "annotations": [],
        }
        if reply.calls:
            message["tool_calls"] = [
                {
                    "id": call_id,
                    "type": "function",
                    "function": {"name": call.name, "arguments": call.arguments_json},
                }
                for call, call_id in zip(reply.calls, turn.call_ids("call_"), strict=True)
            ]
        return {
            **self._envelope(turn, turn.new_id("chatcmpl-"), "chat.completion"),
            "choices": [
                {
                    "index": 0,
                    "message": message,
                    "logprobs": None,
                    "finish_reason": "tool_calls" if reply.calls else "stop",
                }
            ],
            "usage": chat_usage(turn.usage),
        }

    def stream(self, turn: Turn) -> Iterator[SSEvent]:
        reply = turn.reply
        envelope = self._envelope(turn, turn.new_id("chatcmpl-"), "chat.completion.chunk")
        options = turn.body.get("stream_options") or {}
        include_usage = bool(options.get("include_usage"))
        if include_usage:
            envelope["usage"] = None  # the API sends an explicit null until the usage chunk
        pacer = Pacer(reply.delay)

        def chunk(delta: dict[str, Any], finish: str | None = None, delay: float = 0.0) -> SSEvent:
            choice = {"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}
            return SSEvent({**envelope, "choices": [choice]}, delay=delay)

        first: dict[str, Any] = {"role": "assistant", "content": "", "refusal": None}
        if reply.calls and not reply.text:
            first["content"] = None
        else:
            yield chunk(first)
            first = {}
            for piece in reply.text_pieces():
                yield chunk({"content": piece}, delay=pacer.next())

        for index, (call, call_id) in enumerate(
            zip(reply.calls, turn.call_ids("call_"), strict=True)
        ):
            head = {
                "index": index,
                "id": call_id,
                "type": "function",
                "function": {"name": call.name, "arguments": ""},
            }
            yield chunk({**first, "tool_calls": [head]})
            first = {}
            for fragment in call.argument_fragments():
                part = {"index": index, "function": {"arguments": fragment}}
                yield chunk({"tool_calls": [part]}, delay=pacer.next())

        yield chunk({}, finish="tool_calls" if reply.calls else "stop")
        if include_usage:
            yield SSEvent({**envelope, "choices": [], "usage": chat_usage(turn.usage)})
        yield SSEvent("[DONE]")

    @staticmethod
    def _envelope(turn: Turn, completion_id: str, obj: str) -> dict[str, Any]:
        return {
            "id": completion_id,
            "object": obj,
            "created": turn.created,
            "model": turn.model,
            "service_tier": "default",
            "system_fingerprint": SYSTEM_FINGERPRINT,
        }
