"""Anthropic Messages (`POST /v1/messages`) as api.anthropic.com speaks it.

Shapes follow `anthropic.types.Message` and `RawMessageStreamEvent`: message_start (usage with
the input count), per content block start / deltas (`text_delta` or `input_json_delta`) / stop,
a `ping` after the first block starts, then message_delta (stop_reason, cumulative usage) and
message_stop. Cached tokens are reported as cache reads, outside `input_tokens`, as Anthropic does.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from .dialect import Pacer, SSEvent, Turn
from .replies import Usage, prompt_words


def anthropic_usage(usage: Usage, output_tokens: int | None = None) -> dict[str, Any]:
    """The `usage` object of a Message (message_delta sends the same counts minus service_tier)."""
    return {
        "input_tokens": usage.input_tokens - usage.cached_tokens,
        "cache_creation_input_tokens": 0,
        "cache_read_input_tokens": usage.cached_tokens,
        "output_tokens": usage.output_tokens if output_tokens is None else output_tokens,
        "service_tier": "standard",
    }


class MessagesDialect:
    provider = "anthropic"

    def prompt_tokens(self, body: Mapping[str, Any]) -> int:
        return prompt_words(body.get("system") or "", body.get("messages", []))

    def render(self, turn: Turn) -> dict[str, Any]:
        blocks = [block for block, _ in self._blocks(turn)]
        return self._message(turn, turn.new_id("msg_"), blocks, done=True)

    def stream(self, turn: Turn) -> Iterator[SSEvent]:
        pacer = Pacer(turn.reply.delay)
        blocks = self._blocks(turn)
        start = self._message(turn, turn.new_id("msg_"), [], done=False)
        yield _event({"type": "message_start", "message": start})
        for index, (block, pieces) in enumerate(blocks):
            if block["type"] == "text":
                opened: dict[str, Any] = {"type": "text", "text": ""}
                deltas = [{"type": "text_delta", "text": piece} for piece in pieces]
            else:
                # tool input starts as {} and arrives as JSON text, led by an empty fragment
                opened = {**block, "input": {}}
                empty = {"type": "input_json_delta", "partial_json": ""}
                deltas = [empty] + [
                    {"type": "input_json_delta", "partial_json": piece} for piece in pieces
                ]
            yield _event({"type": "content_block_start", "index": index, "content_block": opened})
            if index == 0:
                yield _event({"type": "ping"})
            for delta in deltas:
                delay = 0.0 if delta.get("partial_json") == "" else pacer.next()
                payload = {"type": "content_block_delta", "index": index, "delta": delta}
                yield _event(payload, delay)
            yield _event({"type": "content_block_stop", "index": index})
        yield _event(
            {
                "type": "message_delta",
                "delta": {"stop_reason": self._stop_reason(turn), "stop_sequence": None},
                "usage": {
                    k: v for k, v in anthropic_usage(turn.usage).items() if k != "service_tier"
                },
            }
        )
        yield _event({"type": "message_stop"})

    @staticmethod
    def _blocks(turn: Turn) -> list[tuple[dict[str, Any], list[str]]]:
        """Content blocks paired with the pieces they stream as (text or argument JSON)."""
        reply = turn.reply
        blocks: list[tuple[dict[str, Any], list[str]]] = []
        if reply.text or not reply.calls:
            blocks.append(({"type": "text", "text": reply.text}, reply.text_pieces()))
        for call, call_id in zip(reply.calls, turn.call_ids("toolu_"), strict=True):
            block = {"type": "tool_use", "id": call_id, "name": call.name}
            block["input"] = dict(call.arguments)
            blocks.append((block, call.argument_fragments()))
        return blocks

    @staticmethod
    def _stop_reason(turn: Turn) -> str:
        return "tool_use" if turn.reply.calls else "end_turn"

    def _message(
        self, turn: Turn, message_id: str, content: list[dict[str, Any]], *, done: bool
    ) -> dict[str, Any]:
        return {
            "id": message_id,
            "type": "message",
            "role": "assistant",
            "model": turn.model,
            "content": content,
            "stop_reason": self._stop_reason(turn) if done else None,
            "stop_sequence": None,
            # message_start reports the input count and a token or so of output, as the API does
            "usage": anthropic_usage(turn.usage, None if done else 1),
        }


def _event(payload: dict[str, Any], delay: float = 0.0) -> SSEvent:
    return SSEvent(payload, event=payload["type"], delay=delay)
