"""Anthropic stream events -> the Responses stream events the Agents SDK's Runner consumes.

A streamed run shows text as it arrives and learns of tool calls from Responses events
(`response.created`, `output_item.added`, `output_text.delta`, ..., `response.completed`).
Anthropic streams the same message as `message_start`, content-block starts, deltas and stops,
then a `message_delta` with the stop reason and final usage. `StreamTranslator` replays the one
as the other, laying items out exactly as `response.output_items` does for a finished message.
"""

from __future__ import annotations

import itertools
import json
from dataclasses import dataclass
from typing import Any

from agents import ModelBehaviorError
from agents.items import TResponseOutputItem, TResponseStreamEvent
from agents.models.fake_id import FAKE_RESPONSES_ID
from anthropic.types import RawMessageStreamEvent
from openai.types.responses import (
    Response,
    ResponseCompletedEvent,
    ResponseContentPartAddedEvent,
    ResponseContentPartDoneEvent,
    ResponseCreatedEvent,
    ResponseFunctionCallArgumentsDeltaEvent,
    ResponseFunctionCallArgumentsDoneEvent,
    ResponseFunctionToolCall,
    ResponseOutputItemAddedEvent,
    ResponseOutputItemDoneEvent,
    ResponseOutputMessage,
    ResponseOutputRefusal,
    ResponseOutputText,
    ResponseRefusalDeltaEvent,
    ResponseRefusalDoneEvent,
    ResponseTextDeltaEvent,
    ResponseTextDoneEvent,
)

from carrier_studio.services.providers.anthropic.response import (
    DEFAULT_REFUSAL,
    check_not_truncated,
    function_call,
    message_item,
    output_text,
    usage_from_anthropic,
)

#: The counts `usage_from_anthropic` reads, which message_delta may update.
_USAGE_FIELDS = (
    "input_tokens",
    "output_tokens",
    "cache_read_input_tokens",
    "cache_creation_input_tokens",
    "output_tokens_details",
)


@dataclass
class _OpenBlock:
    """A content block between its `content_block_start` and `content_block_stop`."""

    output_index: int
    item: ResponseOutputMessage | ResponseFunctionToolCall
    content_index: int = 0
    #: For tool_use: the input sent with content_block_start, used if no JSON deltas follow.
    initial_arguments: str = ""


class StreamTranslator:
    """Turns Anthropic stream events into the Responses stream events the SDK's Runner consumes.

    Items are laid out as in `response.output_items`: consecutive text blocks share one
    assistant message (one `output_text` part each), each `tool_use` block is a function call
    item whose argument JSON streams as `function_call_arguments.delta`s. `finish()` closes what
    is open and ends with `response.completed`, carrying every output item and the usage.
    """

    def __init__(self, response: Response) -> None:
        self._response = response
        self._sequence = itertools.count()
        self._output: list[TResponseOutputItem] = []
        self._message: ResponseOutputMessage | None = None
        self._blocks: dict[int, _OpenBlock] = {}
        self._started = False
        self._usage: Any = None
        self._stop_reason: str | None = None
        self._stop_details: Any = None

    def feed(self, event: RawMessageStreamEvent) -> list[TResponseStreamEvent]:
        if event.type == "message_start":
            self._started = True
            self._usage = event.message.usage.model_copy()
            return [
                ResponseCreatedEvent(
                    type="response.created", response=self._response, sequence_number=self._seq()
                )
            ]
        if event.type == "content_block_start":
            block = event.content_block
            if block.type == "text":
                return self._start_text(event.index, block.text)
            if block.type == "tool_use":
                return self._start_tool_use(event.index, block.id, block.name, block.input)
            return []  # thinking and server-tool blocks are not passed on
        if event.type == "content_block_delta":
            if event.delta.type == "text_delta":
                return self._text_delta(event.index, event.delta.text)
            if event.delta.type == "input_json_delta":
                return self._arguments_delta(event.index, event.delta.partial_json)
            return []
        if event.type == "content_block_stop":
            return self._stop_block(event.index)
        if event.type == "message_delta":
            self._stop_reason = event.delta.stop_reason
            self._stop_details = event.delta.stop_details
            self._merge_usage(event.usage)
        return []

    def finish(self) -> list[TResponseStreamEvent]:
        if not self._started or self._stop_reason is None:
            raise ModelBehaviorError("The Anthropic stream ended before the message was complete.")
        check_not_truncated(self._stop_reason, self._output)
        events: list[TResponseStreamEvent] = []
        if self._stop_reason == "refusal":
            events += self._add_refusal()
        events += self._close_message()
        response = self._response.model_copy(
            update={"output": list(self._output), "usage": usage_from_anthropic(self._usage)}
        )
        events.append(
            ResponseCompletedEvent(
                type="response.completed", response=response, sequence_number=self._seq()
            )
        )
        return events

    # -- text ------------------------------------------------------------------------------------

    def _start_text(self, index: int, text: str) -> list[TResponseStreamEvent]:
        events = self._open_message()
        message = self._message
        assert message is not None
        message.content.append(output_text(""))
        block = _OpenBlock(self._output_index(message), message, len(message.content) - 1)
        self._blocks[index] = block
        events.append(
            ResponseContentPartAddedEvent(
                type="response.content_part.added",
                item_id=FAKE_RESPONSES_ID,
                output_index=block.output_index,
                content_index=block.content_index,
                part=output_text(""),
                sequence_number=self._seq(),
            )
        )
        return events + self._text_delta(index, text) if text else events

    def _text_delta(self, index: int, text: str) -> list[TResponseStreamEvent]:
        block = self._blocks[index]
        part = self._text_part(block)
        part.text += text
        return [
            ResponseTextDeltaEvent(
                type="response.output_text.delta",
                item_id=FAKE_RESPONSES_ID,
                output_index=block.output_index,
                content_index=block.content_index,
                delta=text,
                logprobs=[],
                sequence_number=self._seq(),
            )
        ]

    def _stop_text(self, block: _OpenBlock) -> list[TResponseStreamEvent]:
        part = self._text_part(block)
        return [
            ResponseTextDoneEvent(
                type="response.output_text.done",
                item_id=FAKE_RESPONSES_ID,
                output_index=block.output_index,
                content_index=block.content_index,
                text=part.text,
                logprobs=[],
                sequence_number=self._seq(),
            ),
            ResponseContentPartDoneEvent(
                type="response.content_part.done",
                item_id=FAKE_RESPONSES_ID,
                output_index=block.output_index,
                content_index=block.content_index,
                part=part.model_copy(),
                sequence_number=self._seq(),
            ),
        ]

    @staticmethod
    def _text_part(block: _OpenBlock) -> ResponseOutputText:
        assert isinstance(block.item, ResponseOutputMessage)
        part = block.item.content[block.content_index]
        assert isinstance(part, ResponseOutputText)
        return part

    # -- tool use --------------------------------------------------------------------------------

    def _start_tool_use(
        self, index: int, call_id: str, name: str, tool_input: dict[str, object]
    ) -> list[TResponseStreamEvent]:
        events = self._close_message()
        call = function_call(call_id, name, "")
        self._output.append(call)
        block = _OpenBlock(len(self._output) - 1, call, initial_arguments=json.dumps(tool_input))
        self._blocks[index] = block
        events.append(
            ResponseOutputItemAddedEvent(
                type="response.output_item.added",
                item=call.model_copy(),
                output_index=block.output_index,
                sequence_number=self._seq(),
            )
        )
        return events

    def _arguments_delta(self, index: int, partial_json: str) -> list[TResponseStreamEvent]:
        if not partial_json:  # Anthropic leads with an empty fragment
            return []
        block = self._blocks[index]
        assert isinstance(block.item, ResponseFunctionToolCall)
        block.item.arguments += partial_json
        return [
            ResponseFunctionCallArgumentsDeltaEvent(
                type="response.function_call_arguments.delta",
                item_id=FAKE_RESPONSES_ID,
                output_index=block.output_index,
                delta=partial_json,
                sequence_number=self._seq(),
            )
        ]

    def _stop_tool_use(self, block: _OpenBlock) -> list[TResponseStreamEvent]:
        call = block.item
        assert isinstance(call, ResponseFunctionToolCall)
        if not call.arguments:
            call.arguments = block.initial_arguments
        return [
            ResponseFunctionCallArgumentsDoneEvent(
                type="response.function_call_arguments.done",
                item_id=FAKE_RESPONSES_ID,
                output_index=block.output_index,
                arguments=call.arguments,
                sequence_number=self._seq(),
            ),
            ResponseOutputItemDoneEvent(
                type="response.output_item.done",
                item=call.model_copy(),
                output_index=block.output_index,
                sequence_number=self._seq(),
            ),
        ]

    # -- shared ----------------------------------------------------------------------------------

    def _stop_block(self, index: int) -> list[TResponseStreamEvent]:
        block = self._blocks.pop(index, None)
        if block is None:  # a block that was not passed on
            return []
        if isinstance(block.item, ResponseOutputMessage):
            return self._stop_text(block)
        return self._stop_tool_use(block)

    def _open_message(self) -> list[TResponseStreamEvent]:
        """Start an assistant message item unless text is already going into one."""
        if self._message is not None:
            return []
        self._message = message_item("in_progress")
        self._output.append(self._message)
        return [
            ResponseOutputItemAddedEvent(
                type="response.output_item.added",
                item=message_item("in_progress"),
                output_index=len(self._output) - 1,
                sequence_number=self._seq(),
            )
        ]

    def _close_message(self) -> list[TResponseStreamEvent]:
        message, self._message = self._message, None
        if message is None:
            return []
        message.status = "completed"
        return [
            ResponseOutputItemDoneEvent(
                type="response.output_item.done",
                item=message.model_copy(deep=True),
                output_index=self._output_index(message),
                sequence_number=self._seq(),
            )
        ]

    def _add_refusal(self) -> list[TResponseStreamEvent]:
        """Claude stopped with `refusal`: end the answer with a refusal part the SDK acts on."""
        events = self._open_message()
        message = self._message
        assert message is not None
        details = self._stop_details
        refusal = (details.explanation if details is not None else None) or DEFAULT_REFUSAL
        message.content.append(ResponseOutputRefusal(type="refusal", refusal=refusal))
        where = {
            "item_id": FAKE_RESPONSES_ID,
            "output_index": self._output_index(message),
            "content_index": len(message.content) - 1,
        }
        empty = ResponseOutputRefusal(type="refusal", refusal="")
        done = ResponseOutputRefusal(type="refusal", refusal=refusal)
        return events + [
            ResponseContentPartAddedEvent(
                type="response.content_part.added", part=empty, sequence_number=self._seq(), **where
            ),
            ResponseRefusalDeltaEvent(
                type="response.refusal.delta", delta=refusal, sequence_number=self._seq(), **where
            ),
            ResponseRefusalDoneEvent(
                type="response.refusal.done", refusal=refusal, sequence_number=self._seq(), **where
            ),
            ResponseContentPartDoneEvent(
                type="response.content_part.done", part=done, sequence_number=self._seq(), **where
            ),
        ]

    def _merge_usage(self, delta_usage: Any) -> None:
        """message_delta carries cumulative counts; fields it leaves out keep message_start's."""
        updates = {
            name: value
            for name in _USAGE_FIELDS
            if (value := getattr(delta_usage, name, None)) is not None
        }
        self._usage = self._usage.model_copy(update=updates)

    def _output_index(self, item: TResponseOutputItem) -> int:
        return next(i for i, candidate in enumerate(self._output) if candidate is item)

    def _seq(self) -> int:
        return next(self._sequence)
