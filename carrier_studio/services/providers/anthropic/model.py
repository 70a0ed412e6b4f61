"""Run OpenAI Agents SDK agents on Anthropic models: an `agents.Model` over the Messages API.

The Agents SDK speaks the OpenAI Responses format: it hands a model Responses input items and
expects Responses output items (or, when streaming, Responses stream events) back. The SDK's own
Chat Completions adapter bridges to another API the same way this module does:

* input items -> Anthropic `system` + `messages` (`_AnthropicRequest`, `_convert_input`);
* an Anthropic `Message` -> Responses output items (`_output_items`);
* Anthropic stream events -> Responses stream events (`_StreamTranslator`).

Tool calls keep their identity across the bridge: the Anthropic `tool_use` id *is* the SDK's
`call_id`, so the tool result the SDK sends back lands on the right `tool_use`. Handoffs need no
special case: the SDK offers them as function tools named `transfer_to_<agent>`.

Anthropic API errors (`AuthenticationError`, `RateLimitError`, `NotFoundError`,
`APIConnectionError`, ...) are deliberately not caught: they reach the caller unchanged, which maps
them to messages for a person. Importing this module costs seconds (the `agents` and `anthropic`
SDKs); import it on first use.
"""

from __future__ import annotations

import itertools
import json
import time
from collections.abc import AsyncIterator, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Literal

import anthropic
from agents import (
    AgentOutputSchemaBase,
    FunctionTool,
    Handoff,
    Model,
    ModelBehaviorError,
    ModelResponse,
    ModelSettings,
    ModelTracing,
    Tool,
    TResponseInputItem,
    Usage,
    UserError,
)
from agents.items import TResponseOutputItem, TResponseStreamEvent
from agents.model_settings import MCPToolChoice
from agents.models.fake_id import FAKE_RESPONSES_ID
from agents.tool import (
    ensure_function_tool_supports_responses_only_features,
    ensure_tool_choice_supports_backend,
)
from agents.tracing import GenerationSpanData, Span, generation_span
from anthropic.types import Message, RawMessageStreamEvent
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
    ResponseUsage,
)
from openai.types.responses.response_prompt_param import ResponsePromptParam
from openai.types.responses.response_usage import InputTokensDetails, OutputTokensDetails

__all__ = ["AnthropicModel"]

_BACKEND = "AnthropicModel (Anthropic Messages API)"

#: Shown as the refusal when Claude stops with `stop_reason="refusal"` and gives no reason.
_DEFAULT_REFUSAL = "The model declined to continue this response."

#: The counts `_usage_from_anthropic` reads, which message_delta may update.
_USAGE_FIELDS = (
    "input_tokens",
    "output_tokens",
    "cache_read_input_tokens",
    "cache_creation_input_tokens",
    "output_tokens_details",
)

_Role = Literal["user", "assistant", "system"]
_Block = dict[str, Any]


class AnthropicModel(Model):
    """An `agents.Model` that answers with an Anthropic model through `anthropic.AsyncAnthropic`.

    `max_tokens` is required by the Messages API; `model_settings.max_tokens` overrides it per
    agent. The client is borrowed, not owned: whoever made it closes it.
    """

    def __init__(self, model: str, client: anthropic.AsyncAnthropic, max_tokens: int = 4096):
        self.model = model
        self.client = client
        self.max_tokens = max_tokens

    async def get_response(
        self,
        system_instructions: str | None,
        input: str | list[TResponseInputItem],
        model_settings: ModelSettings,
        tools: list[Tool],
        output_schema: AgentOutputSchemaBase | None,
        handoffs: list[Handoff],
        tracing: ModelTracing,
        *,
        previous_response_id: str | None = None,
        conversation_id: str | None = None,
        prompt: ResponsePromptParam | None = None,
    ) -> ModelResponse:
        _reject_server_side_state(previous_response_id, conversation_id, prompt)
        request = _AnthropicRequest.build(
            model=self.model,
            max_tokens=self.max_tokens,
            system_instructions=system_instructions,
            input=input,
            model_settings=model_settings,
            tools=tools,
            output_schema=output_schema,
            handoffs=handoffs,
        )
        with self._span(request, tracing) as span:
            message = await self.client.messages.create(**request.kwargs())
            usage = _agents_usage(_usage_from_anthropic(message.usage))
            output = _output_items(message)
            _record_span_result(span, tracing, output, usage)
        return ModelResponse(
            output=output,
            usage=usage,
            # Anthropic keeps no server-side conversation to continue from a response id.
            response_id=None,
            # Set on messages parsed from an HTTP response; absent on hand-made ones.
            request_id=getattr(message, "_request_id", None),
        )

    async def stream_response(
        self,
        system_instructions: str | None,
        input: str | list[TResponseInputItem],
        model_settings: ModelSettings,
        tools: list[Tool],
        output_schema: AgentOutputSchemaBase | None,
        handoffs: list[Handoff],
        tracing: ModelTracing,
        *,
        previous_response_id: str | None = None,
        conversation_id: str | None = None,
        prompt: ResponsePromptParam | None = None,
    ) -> AsyncIterator[TResponseStreamEvent]:
        _reject_server_side_state(previous_response_id, conversation_id, prompt)
        request = _AnthropicRequest.build(
            model=self.model,
            max_tokens=self.max_tokens,
            system_instructions=system_instructions,
            input=input,
            model_settings=model_settings,
            tools=tools,
            output_schema=output_schema,
            handoffs=handoffs,
        )
        with self._span(request, tracing) as span:
            stream = await self.client.messages.create(**request.kwargs(), stream=True)
            # Closing in `finally` releases the HTTP connection however the run ends: finished,
            # failed, cancelled (`result.cancel()`), or abandoned by the consumer (`aclose()`).
            try:
                translator = _StreamTranslator(
                    self._empty_response(model_settings, stream.response.headers.get("request-id"))
                )
                async for event in stream:
                    for responses_event in translator.feed(event):
                        yield responses_event
                for responses_event in translator.finish():
                    if isinstance(responses_event, ResponseCompletedEvent):
                        final = responses_event.response
                        assert final.usage is not None  # the translator always reports usage
                        _record_span_result(span, tracing, final.output, _agents_usage(final.usage))
                    yield responses_event
            finally:
                await stream.close()

    def _empty_response(self, settings: ModelSettings, request_id: str | None) -> Response:
        """The `Response` that `response.created` announces and `response.completed` fills in.

        Like the SDK's Chat Completions adapter, it carries the placeholder id: the runner must
        not mistake it for a server-side response it could continue from.
        """
        response = Response(
            id=FAKE_RESPONSES_ID,
            created_at=time.time(),
            model=self.model,
            object="response",
            output=[],
            tool_choice=_responses_tool_choice(settings.tool_choice),
            tools=[],
            parallel_tool_calls=settings.parallel_tool_calls is not False,
        )
        # The runner reads `_request_id` off the terminal response (a copy keeps it).
        response._request_id = request_id
        return response

    @contextmanager
    def _span(
        self, request: _AnthropicRequest, tracing: ModelTracing
    ) -> Iterator[Span[GenerationSpanData]]:
        """A generation span like the SDK's own models record (a no-op when tracing is off)."""
        config = {"max_tokens": request.max_tokens, "provider": "anthropic"}
        with generation_span(
            model=self.model, model_config=config, disabled=tracing.is_disabled()
        ) as span:
            if tracing.include_data():
                system = [{"role": "system", "content": request.system}] if request.system else []
                span.span_data.input = [*system, *request.messages]
            yield span


# -- the request ---------------------------------------------------------------------------------


@dataclass
class _AnthropicRequest:
    """Everything `messages.create` is called with, converted from the SDK's arguments."""

    model: str
    max_tokens: int
    system: str
    messages: list[dict[str, Any]]
    tools: list[dict[str, Any]] = field(default_factory=list)
    tool_choice: dict[str, Any] | None = None
    output_config: dict[str, Any] | None = None
    settings: ModelSettings = field(default_factory=ModelSettings)

    @classmethod
    def build(
        cls,
        *,
        model: str,
        max_tokens: int,
        system_instructions: str | None,
        input: str | list[TResponseInputItem],
        model_settings: ModelSettings,
        tools: list[Tool],
        output_schema: AgentOutputSchemaBase | None,
        handoffs: list[Handoff],
    ) -> _AnthropicRequest:
        system_parts, messages = _convert_input(input)
        tool_params = [_function_tool_param(tool) for tool in tools]
        tool_params += [_handoff_tool_param(handoff) for handoff in handoffs]
        if tool_params:
            tool_choice = _tool_choice_param(
                model_settings.tool_choice, model_settings.parallel_tool_calls
            )
        else:
            # Anthropic rejects tool_use / tool_result blocks in a request that defines no tools,
            # which is every request of a tool-less agent after a handoff. Declare the tools the
            # history used, and forbid calling them.
            tool_params = _placeholder_tools(messages)
            tool_choice = {"type": "none"} if tool_params else None
        return cls(
            model=model,
            max_tokens=(
                model_settings.max_tokens if model_settings.max_tokens is not None else max_tokens
            ),
            system="\n\n".join(part for part in [system_instructions or "", *system_parts] if part),
            messages=messages,
            tools=tool_params,
            tool_choice=tool_choice,
            output_config=_output_config(output_schema),
            settings=model_settings,
        )

    def kwargs(self) -> dict[str, Any]:
        """Keyword arguments for `client.messages.create`, leaving out what is unset.

        `model_settings.temperature` and `top_p` are ignored: anthropic 2.x's `messages.create`
        has no such parameters and nothing in it maps to them (`output_config` holds `effort`
        and `format`, which mean other things). Other OpenAI-only settings (penalties,
        verbosity, store, reasoning, ...) are ignored too. `extra_args` is passed through as
        keyword arguments, `extra_headers` / `extra_query` / `extra_body` as the client's own.
        """
        settings = self.settings
        kwargs: dict[str, Any] = {
            "model": self.model,
            "max_tokens": self.max_tokens,
            "messages": self.messages,
        }
        optional = {
            "system": self.system or None,
            "tools": self.tools or None,
            "tool_choice": self.tool_choice,
            "output_config": self.output_config,
            "extra_headers": settings.extra_headers,
            "extra_query": settings.extra_query,
            "extra_body": settings.extra_body,
        }
        kwargs.update({key: value for key, value in optional.items() if value is not None})
        kwargs.update(settings.extra_args or {})
        return kwargs


def _reject_server_side_state(
    previous_response_id: str | None,
    conversation_id: str | None,
    prompt: ResponsePromptParam | None,
) -> None:
    """Fail loudly on OpenAI-only conversation features instead of silently dropping history."""
    unsupported = [
        name
        for name, value in (
            ("previous_response_id", previous_response_id),
            ("conversation_id", conversation_id),
            ("prompt", prompt),
        )
        if value is not None
    ]
    if unsupported:
        raise UserError(
            f"{_BACKEND} does not support {', '.join(unsupported)}: Anthropic keeps no "
            "server-side conversations or stored prompts. Pass the full history as input."
        )


# -- tools -----------------------------------------------------------------------------------------


def _function_tool_param(tool: Tool) -> dict[str, Any]:
    """A `FunctionTool` as an Anthropic client tool; hosted OpenAI tools have no equivalent.

    `strict_json_schema` is not forwarded as Anthropic's `strict`, which only some models accept;
    the schema itself still carries the strict constraints.
    """
    if not isinstance(tool, FunctionTool):
        name = getattr(tool, "name", type(tool).__name__)
        raise UserError(
            f"{_BACKEND} supports only function tools and handoffs; {type(tool).__name__} "
            f"`{name}` is a hosted OpenAI tool. Remove it or use an OpenAI model."
        )
    ensure_function_tool_supports_responses_only_features(tool, backend_name=_BACKEND)
    return _tool(tool.name, tool.description, tool.params_json_schema)


def _handoff_tool_param(handoff: Handoff) -> dict[str, Any]:
    """A handoff as the function tool the SDK expects the model to call (`transfer_to_...`)."""
    return _tool(handoff.tool_name, handoff.tool_description, handoff.input_json_schema)


def _tool(name: str, description: str | None, schema: Mapping[str, Any]) -> dict[str, Any]:
    param: dict[str, Any] = {"name": name, "input_schema": dict(schema)}
    if description:
        param["description"] = description
    return param


def _placeholder_tools(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Bare definitions of the tools called in `messages`, in order of first use."""
    names = dict.fromkeys(
        block["name"]
        for message in messages
        for block in message["content"]
        if block["type"] == "tool_use"
    )
    if not names and any(
        block["type"] == "tool_result" for message in messages for block in message["content"]
    ):
        names = {"tool": None}
    return [_tool(name, None, {"type": "object"}) for name in names]


def _tool_choice_param(
    choice: str | MCPToolChoice | None, parallel_tool_calls: bool | None
) -> dict[str, Any] | None:
    """`model_settings.tool_choice` in Anthropic's terms; None keeps Anthropic's default (auto).

    "required" is Anthropic's "any"; a tool name forces that tool. `parallel_tool_calls=False`
    becomes `disable_parallel_tool_use`, which Anthropic's "none" does not take.
    """
    if isinstance(choice, MCPToolChoice):
        raise UserError(f"{_BACKEND} cannot force an MCP tool choice (MCPToolChoice).")
    ensure_tool_choice_supports_backend(choice, backend_name=_BACKEND)
    if choice == "none":
        return {"type": "none"}
    if choice is None and parallel_tool_calls is not False:
        return None
    if choice in (None, "auto"):
        param: dict[str, Any] = {"type": "auto"}
    elif choice == "required":
        param = {"type": "any"}
    else:
        param = {"type": "tool", "name": choice}
    if parallel_tool_calls is False:
        param["disable_parallel_tool_use"] = True
    return param


def _responses_tool_choice(choice: str | MCPToolChoice | None) -> Any:
    """The tool choice a Responses `Response` reports (informational only)."""
    if choice in ("auto", "required", "none"):
        return choice
    if isinstance(choice, str):
        return {"type": "function", "name": choice}
    return "auto"


def _output_config(output_schema: AgentOutputSchemaBase | None) -> dict[str, Any] | None:
    """A structured `output_type` as Anthropic structured outputs (a JSON-schema format).

    Only models with structured-output support accept it; others answer with an API error.
    """
    if output_schema is None or output_schema.is_plain_text():
        return None
    return {"format": {"type": "json_schema", "schema": output_schema.json_schema()}}


# -- input items -> system + messages --------------------------------------------------------------


def _convert_input(
    input: str | Iterable[TResponseInputItem],
) -> tuple[list[str], list[dict[str, Any]]]:
    """Split Responses input items into system text and alternating Anthropic messages.

    Anthropic wants user and assistant turns to alternate, so consecutive items of one role merge
    into one message: an assistant's text and its `function_call`s become one assistant turn with
    `tool_use` blocks, and `function_call_output`s become `tool_result` blocks of the next user
    turn. System and developer messages join the top-level `system` (Anthropic has no system turn
    inside `messages`).
    """
    if isinstance(input, str):
        input = [{"role": "user", "content": input}]
    system_parts: list[str] = []
    messages: list[dict[str, Any]] = []
    for item in input:
        turn = _item_to_turn(item)
        if turn is None:
            continue
        role, blocks = turn
        if role == "system":
            system_parts.extend(block["text"] for block in blocks)
        elif not blocks:
            continue
        elif messages and messages[-1]["role"] == role:
            messages[-1]["content"].extend(blocks)
        else:
            messages.append({"role": role, "content": blocks})
    for message in messages:
        if message["role"] == "user":
            # A user turn after tool use must *begin* with the tool results; sorting is stable.
            message["content"].sort(key=lambda block: block["type"] != "tool_result")
    return system_parts, messages


def _item_to_turn(item: Any) -> tuple[_Role, list[_Block]] | None:
    """One input item as (role, content blocks); None for items Anthropic cannot use."""
    if not isinstance(item, Mapping):
        raise UserError(f"{_BACKEND} expects input items as dicts, got {type(item).__name__}.")
    item_type = item.get("type", "message")
    if item_type == "function_call":
        return "assistant", [_tool_use_block(item)]
    if item_type == "function_call_output":
        return "user", [_tool_result_block(item)]
    if item_type == "reasoning":
        # Another model's reasoning (or an OpenAI encrypted summary): Anthropic cannot replay it.
        return None
    if item_type == "message":
        role = item.get("role")
        if role in ("system", "developer"):
            return "system", _content_blocks(item.get("content", ""))
        if role in ("user", "assistant"):
            return role, _content_blocks(item.get("content", ""))
        raise UserError(f"{_BACKEND} cannot send a message with role {role!r}.")
    raise UserError(
        f"{_BACKEND} cannot send input items of type {item_type!r} (only messages, function "
        "calls and their outputs)."
    )


def _tool_use_block(item: Mapping[str, Any]) -> _Block:
    """A `function_call` item as an assistant `tool_use` block whose id is the call id."""
    arguments = item.get("arguments") or "{}"
    try:
        tool_input = json.loads(arguments)
    except json.JSONDecodeError:
        tool_input = None
    if not isinstance(tool_input, dict):
        # A call truncated mid-arguments must not make the whole history unsendable: keep the
        # raw text where the model can still see it.
        tool_input = {"_raw_arguments": arguments}
    return {"type": "tool_use", "id": item["call_id"], "name": item["name"], "input": tool_input}


def _tool_result_block(item: Mapping[str, Any]) -> _Block:
    """A `function_call_output` item as a user `tool_result` block for the matching tool_use."""
    call_id = item.get("call_id")
    if not call_id:
        raise UserError(f"{_BACKEND} cannot send a function_call_output without a call_id.")
    output = item.get("output", "")
    content: str | list[_Block] = output if isinstance(output, str) else _content_blocks(output)
    block: _Block = {"type": "tool_result", "tool_use_id": call_id}
    if content:
        block["content"] = content
    return block


def _content_blocks(content: str | Iterable[Mapping[str, Any]]) -> list[_Block]:
    """Message content (a string or Responses content parts) as Anthropic content blocks.

    Empty text is dropped: Anthropic rejects empty text blocks.
    """
    if isinstance(content, str):
        return [{"type": "text", "text": content}] if content else []
    blocks = (_content_part_block(part) for part in content)
    return [block for block in blocks if block is not None]


def _content_part_block(part: Mapping[str, Any]) -> _Block | None:
    part_type = part.get("type")
    if part_type in ("input_text", "output_text", "text"):
        text = part.get("text") or ""
    elif part_type == "refusal":
        text = part.get("refusal") or ""
    elif part_type == "input_image":
        return _image_block(part)
    elif part_type == "input_file":
        return _document_block(part)
    else:
        raise UserError(f"{_BACKEND} cannot send content parts of type {part_type!r}.")
    return {"type": "text", "text": text} if text else None


def _image_block(part: Mapping[str, Any]) -> _Block:
    url = part.get("image_url")
    if not url:
        raise UserError(f"{_BACKEND} needs images as a URL or data URL, not an OpenAI file_id.")
    return {"type": "image", "source": _source(url)}


def _document_block(part: Mapping[str, Any]) -> _Block:
    """A PDF (`input_file` as a data URL or URL) as an Anthropic document block."""
    if file_url := part.get("file_url"):
        return {"type": "document", "source": {"type": "url", "url": file_url}}
    data = part.get("file_data") or ""
    source = _source(data)
    if source.get("media_type") != "application/pdf":
        raise UserError(f"{_BACKEND} can send files only as PDF data URLs or URLs.")
    return {"type": "document", "source": source}


def _source(url: str) -> dict[str, Any]:
    """`data:<type>;base64,<data>` as a base64 source, anything else as a URL source."""
    if url.startswith("data:"):
        header, _, data = url.partition(",")
        media_type = header.removeprefix("data:").removesuffix(";base64")
        return {"type": "base64", "media_type": media_type, "data": data}
    return {"type": "url", "url": url}


# -- Anthropic output -> Responses output ----------------------------------------------------------


def _output_items(message: Message) -> list[TResponseOutputItem]:
    """A finished Anthropic message as Responses output items, in block order.

    Consecutive text blocks (Claude splits text around citations) share one assistant message,
    one `output_text` part each, so the SDK reads the whole answer as the final output. Each
    `tool_use` block becomes a function call. Thinking and server-tool blocks are dropped.
    """
    items: list[TResponseOutputItem] = []
    for block in message.content:
        if block.type == "text":
            if not items or not isinstance(items[-1], ResponseOutputMessage):
                items.append(_message_item("completed"))
            items[-1].content.append(_output_text(block.text))
        elif block.type == "tool_use":
            items.append(_function_call(block.id, block.name, json.dumps(block.input)))
    _check_not_truncated(message.stop_reason, items)
    if message.stop_reason == "refusal":
        if not items or not isinstance(items[-1], ResponseOutputMessage):
            items.append(_message_item("completed"))
        items[-1].content.append(_refusal(message))
    return items


def _check_not_truncated(stop_reason: str | None, items: list[TResponseOutputItem]) -> None:
    """An answer cut off before any output is an error, not an empty (final) answer."""
    if stop_reason in ("max_tokens", "model_context_window_exceeded") and not items:
        raise ModelBehaviorError(
            f"The Anthropic model stopped ({stop_reason}) before writing any text or tool "
            "call. Raise max_tokens or shorten the conversation."
        )


def _refusal(message: Message | None) -> ResponseOutputRefusal:
    details = message.stop_details if message is not None else None
    explanation = details.explanation if details is not None else None
    return ResponseOutputRefusal(type="refusal", refusal=explanation or _DEFAULT_REFUSAL)


def _message_item(status: Literal["in_progress", "completed"]) -> ResponseOutputMessage:
    return ResponseOutputMessage(
        id=FAKE_RESPONSES_ID, content=[], role="assistant", status=status, type="message"
    )


def _output_text(text: str) -> ResponseOutputText:
    return ResponseOutputText(type="output_text", text=text, annotations=[], logprobs=[])


def _function_call(call_id: str, name: str, arguments: str) -> ResponseFunctionToolCall:
    return ResponseFunctionToolCall(
        id=FAKE_RESPONSES_ID, call_id=call_id, name=name, arguments=arguments, type="function_call"
    )


# -- usage -----------------------------------------------------------------------------------------


def _usage_from_anthropic(usage: Any) -> ResponseUsage:
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


def _agents_usage(usage: ResponseUsage) -> Usage:
    return Usage(
        requests=1,
        input_tokens=usage.input_tokens,
        output_tokens=usage.output_tokens,
        total_tokens=usage.total_tokens,
        input_tokens_details=usage.input_tokens_details,
        output_tokens_details=usage.output_tokens_details,
    )


def _record_span_result(
    span: Span[GenerationSpanData],
    tracing: ModelTracing,
    output: list[TResponseOutputItem],
    usage: Usage,
) -> None:
    span.span_data.usage = {
        "input_tokens": usage.input_tokens,
        "output_tokens": usage.output_tokens,
    }
    if tracing.include_data():
        span.span_data.output = [item.model_dump() for item in output]


# -- Anthropic stream -> Responses stream ----------------------------------------------------------


@dataclass
class _OpenBlock:
    """A content block between its `content_block_start` and `content_block_stop`."""

    output_index: int
    item: ResponseOutputMessage | ResponseFunctionToolCall
    content_index: int = 0
    #: For tool_use: the input sent with content_block_start, used if no JSON deltas follow.
    initial_arguments: str = ""


class _StreamTranslator:
    """Turns Anthropic stream events into the Responses stream events the SDK's Runner consumes.

    Items are laid out as in `_output_items`: consecutive text blocks share one assistant message
    (one `output_text` part each), each `tool_use` block is a function call item whose argument
    JSON streams as `function_call_arguments.delta`s. `finish()` closes what is open and ends
    with `response.completed`, carrying every output item and the usage.
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
        _check_not_truncated(self._stop_reason, self._output)
        events: list[TResponseStreamEvent] = []
        if self._stop_reason == "refusal":
            events += self._add_refusal()
        events += self._close_message()
        response = self._response.model_copy(
            update={"output": list(self._output), "usage": _usage_from_anthropic(self._usage)}
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
        message.content.append(_output_text(""))
        block = _OpenBlock(self._output_index(message), message, len(message.content) - 1)
        self._blocks[index] = block
        events.append(
            ResponseContentPartAddedEvent(
                type="response.content_part.added",
                item_id=FAKE_RESPONSES_ID,
                output_index=block.output_index,
                content_index=block.content_index,
                part=_output_text(""),
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
        call = _function_call(call_id, name, "")
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
        self._message = _message_item("in_progress")
        self._output.append(self._message)
        return [
            ResponseOutputItemAddedEvent(
                type="response.output_item.added",
                item=_message_item("in_progress"),
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
        refusal = (details.explanation if details is not None else None) or _DEFAULT_REFUSAL
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
