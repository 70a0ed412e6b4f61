"""Responses input items, tools, tool choice and output schema -> an Anthropic Messages request.

The Agents SDK hands a model OpenAI Responses input items plus its tools, handoffs, settings and
output schema; the Messages API wants a top-level `system`, strictly alternating user and
assistant `messages` made of content blocks, Anthropic tool definitions and its own tool choice.
`AnthropicRequest.build` does that conversion once, so the blocking and the streaming call send
exactly the same request.

Tool calls keep their identity across the bridge: a `function_call`'s `call_id` becomes the
`tool_use` id, so the `tool_result` built from its `function_call_output` answers the right call.
Handoffs need no special case: the SDK offers them as function tools named `transfer_to_<agent>`.
What Anthropic cannot express (hosted OpenAI tools, server-side conversations, file ids) fails
with a `UserError` here rather than being silently dropped.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from agents import (
    AgentOutputSchemaBase,
    FunctionTool,
    Handoff,
    ModelSettings,
    Tool,
    TResponseInputItem,
    UserError,
)
from agents.model_settings import MCPToolChoice
from agents.tool import (
    ensure_function_tool_supports_responses_only_features,
    ensure_tool_choice_supports_backend,
)
from openai.types.responses.response_prompt_param import ResponsePromptParam

#: How the SDK's feature checks and our own errors name this backend.
_BACKEND = "AnthropicModel (Anthropic Messages API)"

_Role = Literal["user", "assistant", "system"]
_Block = dict[str, Any]


# -- the request ---------------------------------------------------------------------------------


@dataclass
class AnthropicRequest:
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
    ) -> AnthropicRequest:
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


def reject_server_side_state(
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
