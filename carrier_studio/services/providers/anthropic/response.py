"""An Anthropic `Message` -> Responses output items and usage, as the Agents SDK reads them.

The SDK's Runner decides what happened from Responses output items: an assistant message with
`output_text` parts is an answer, a `function_call` is a tool call or handoff to run, a `refusal`
part is a refusal. This module maps a finished Anthropic message onto those items, reports its
token usage in the Responses convention, and refuses to pass off an answer cut off before any
output as an empty final answer. The item builders are shared with the stream translator
(stream.py), so both paths lay out the same items.
"""

from __future__ import annotations

import json
from typing import Any, Literal

from agents import ModelBehaviorError, Usage
from agents.items import TResponseOutputItem
from agents.model_settings import MCPToolChoice
from agents.models.fake_id import FAKE_RESPONSES_ID
from anthropic.types import Message
from openai.types.responses import (
    ResponseFunctionToolCall,
    ResponseOutputMessage,
    ResponseOutputRefusal,
    ResponseOutputText,
    ResponseUsage,
)
from openai.types.responses.response_usage import InputTokensDetails, OutputTokensDetails

#: Shown as the refusal when Claude stops with `stop_reason="refusal"` and gives no reason.
DEFAULT_REFUSAL = "The model declined to continue this response."


# -- Anthropic output -> Responses output ----------------------------------------------------------


def output_items(message: Message) -> list[TResponseOutputItem]:
    """A finished Anthropic message as Responses output items, in block order.

    Consecutive text blocks (Claude splits text around citations) share one assistant message,
    one `output_text` part each, so the SDK reads the whole answer as the final output. Each
    `tool_use` block becomes a function call. Thinking and server-tool blocks are dropped.
    """
    items: list[TResponseOutputItem] = []
    for block in message.content:
        if block.type == "text":
            if not items or not isinstance(items[-1], ResponseOutputMessage):
                items.append(message_item("completed"))
            items[-1].content.append(output_text(block.text))
        elif block.type == "tool_use":
            items.append(function_call(block.id, block.name, json.dumps(block.input)))
    check_not_truncated(message.stop_reason, items)
    if message.stop_reason == "refusal":
        if not items or not isinstance(items[-1], ResponseOutputMessage):
            items.append(message_item("completed"))
        items[-1].content.append(_refusal(message))
    return items


def check_not_truncated(stop_reason: str | None, items: list[TResponseOutputItem]) -> None:
    """An answer cut off before any output is an error, not an empty (final) answer."""
    if stop_reason in ("max_tokens", "model_context_window_exceeded") and not items:
        raise ModelBehaviorError(
            f"The Anthropic model stopped ({stop_reason}) before writing any text or tool "
            "call. Raise max_tokens or shorten the conversation."
        )


def _refusal(message: Message | None) -> ResponseOutputRefusal:
    details = message.stop_details if message is not None else None
    explanation = details.explanation if details is not None else None
    return ResponseOutputRefusal(type="refusal", refusal=explanation or DEFAULT_REFUSAL)


def message_item(status: Literal["in_progress", "completed"]) -> ResponseOutputMessage:
    return ResponseOutputMessage(
        id=FAKE_RESPONSES_ID, content=[], role="assistant", status=status, type="message"
    )


def output_text(text: str) -> ResponseOutputText:
    return ResponseOutputText(type="output_text", text=text, annotations=[], logprobs=[])


def function_call(call_id: str, name: str, arguments: str) -> ResponseFunctionToolCall:
    return ResponseFunctionToolCall(
        id=FAKE_RESPONSES_ID, call_id=call_id, name=name, arguments=arguments, type="function_call"
    )


# -- usage -----------------------------------------------------------------------------------------


def usage_from_anthropic(usage: Any) -> ResponseUsage:
    """Anthropic usage in the Responses convention, where input tokens include cached ones.

    Anthropic counts cache reads and cache writes outside `input_tokens`; they are added back
    and also reported as `cached_tokens` / `cache_write_tokens`.
    """
    cache_read = usage.cache_read_input_tokens or 0
    cache_write = usage.cache_creation_input_tokens or 0
    input_tokens = (usage.input_tokens or 0) + cache_read + cache_write
    output_tokens = usage.output_tokens or 0
    details = getattr(usage, "output_tokens_details", None)
    return ResponseUsage(
        input_tokens=input_tokens,
        output_tokens=output_tokens,
        total_tokens=input_tokens + output_tokens,
        input_tokens_details=InputTokensDetails(
            cached_tokens=cache_read, cache_write_tokens=cache_write
        ),
        output_tokens_details=OutputTokensDetails(
            reasoning_tokens=details.thinking_tokens if details is not None else 0
        ),
    )


def agents_usage(usage: ResponseUsage) -> Usage:
    return Usage(
        requests=1,
        input_tokens=usage.input_tokens,
        output_tokens=usage.output_tokens,
        total_tokens=usage.total_tokens,
        input_tokens_details=usage.input_tokens_details,
        output_tokens_details=usage.output_tokens_details,
    )


# -- the Response a stream announces ---------------------------------------------------------------


def responses_tool_choice(choice: str | MCPToolChoice | None) -> Any:
    """The tool choice a Responses `Response` reports (informational only).

    A streamed run announces a `Response` before Anthropic has answered, and that object must
    say which tool choice it was asked for; nothing acts on it.
    """
    if choice in ("auto", "required", "none"):
        return choice
    if isinstance(choice, str):
        return {"type": "function", "name": choice}
    return "auto"
