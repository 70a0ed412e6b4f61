"""The studio's answers to one connection's server-initiated requests and notifications.

Elicitation goes to the window's `McpAsker` (declined, with a log line, when there is none)
and the schema's defaults are put into an accepted answer (SEP-1034); sampling is shown for
approval unless the server is always allowed, then runs on the chat's model (`Sampler`); roots
are the server's folders as file URIs. Log messages join the server's entry (redacted), and a
changed list drops the SDK's tools cache and is announced. The callbacks answer with the MCP
SDK's types; `client` builds one `Handlers` per connection.

List changes arrive as notifications on 2025-11-25 connections (`Handlers.message`). On
2026-07-28 they come only to a ``subscriptions/listen`` stream, which `client._listen` keeps
open beside the connection, in a task of its own, and hands to `Handlers.list_changed`.
"""

from __future__ import annotations

import asyncio
import json
import logging
from typing import TYPE_CHECKING, Any

from carrier_studio.core.mcp.elicitation import fill_defaults, form_fields
from carrier_studio.core.mcp.requests import (
    ElicitationRequest,
    ListChanged,
    SamplingDecision,
    SamplingMessage,
    SamplingRequest,
    ServerLog,
)

if TYPE_CHECKING:
    from carrier_studio.services.mcp.client import ClientSide

log = logging.getLogger(__name__)

#: The code MCP's specification gives a user's refusal of a sampling request.
USER_REJECTED = -1

_LIST_METHODS = {
    "notifications/tools/list_changed": "tools",
    "notifications/resources/list_changed": "resources",
    "notifications/prompts/list_changed": "prompts",
}


class Handlers:
    """The callbacks of one connection of server ``name``."""

    def __init__(self, name: str, side: ClientSide, entry: Any) -> None:
        self.name = name
        self.side = side
        #: The server's `ServerEntry` (None for a server built outside the manager).
        self.entry = entry
        #: The connected ``mcp.Client`` while the connection lasts.
        self.client: Any = None

    # -- elicitation -----------------------------------------------------------------------

    async def elicit(self, context: Any, params: Any) -> Any:
        import mcp_types as types

        mode = getattr(params, "mode", "form") or "form"
        schema = getattr(params, "requested_schema", None) or {}
        if hasattr(schema, "model_dump"):
            schema = schema.model_dump(by_alias=True, exclude_none=True)
        request = ElicitationRequest(
            server=self.name,
            message=str(params.message),
            mode="url" if mode == "url" else "form",
            fields=form_fields(schema) if mode != "url" else (),
            url=str(getattr(params, "url", "") or ""),
            schema=dict(schema),
        )
        asker = self.side.asker
        if asker is None:
            log.info("MCP server %s asked the user something; declined (no window)", self.name)
            return types.ElicitResult(action="decline")
        try:
            answer = await asker.elicit(request)
        except Exception:  # noqa: BLE001 - a broken dialog must not hang the server's call
            log.exception("asking the user for MCP server %s failed", self.name)
            return types.ElicitResult(action="cancel")
        if answer.action != "accept" or request.mode == "url":
            return types.ElicitResult(action=answer.action)
        return types.ElicitResult(action="accept", content=fill_defaults(schema, answer.content))

    # -- sampling --------------------------------------------------------------------------

    async def sample(self, context: Any, params: Any) -> Any:
        import mcp_types as types

        sampler, asker = self.side.sampler, self.side.asker
        if sampler is None or asker is None:
            log.info("MCP server %s asked for a completion; denied (no window)", self.name)
            return types.ErrorData(
                code=USER_REJECTED, message="Sampling is not available: nobody can approve it"
            )
        call = self.side.running_call(self.name)
        choice = sampler.model_for(call.model if call else None)
        request = SamplingRequest(
            server=self.name,
            system_prompt=str(params.system_prompt or ""),
            messages=tuple(_message(m) for m in params.messages),
            max_tokens=int(params.max_tokens),
            model_label=choice.label,
        )
        if not sampler.always_allowed(self.name):
            decision = await asker.approve_sampling(request)
            if decision is SamplingDecision.DENY:
                return types.ErrorData(code=USER_REJECTED, message="User rejected sampling request")
            if decision is SamplingDecision.ALWAYS:
                await sampler.allow_always(self.name)
        try:
            text, model = await sampler.complete(choice, request)
        except Exception as exc:  # noqa: BLE001 - the server gets the reason as an MCP error
            log.warning("sampling for MCP server %s failed: %s", self.name, exc)
            return types.ErrorData(
                code=types.INTERNAL_ERROR, message=f"the studio's model failed: {exc}"
            )
        return types.CreateMessageResult(
            role="assistant",
            content=types.TextContent(type="text", text=text),
            model=model,
            stop_reason="endTurn",
        )

    # -- roots -----------------------------------------------------------------------------

    async def list_roots(self, context: Any) -> Any:
        import mcp_types as types

        folders = await asyncio.to_thread(self.side.roots, self.name)
        return types.ListRootsResult(
            roots=[types.Root(uri=path.resolve().as_uri(), name=path.name) for path in folders]
        )

    # -- notifications ---------------------------------------------------------------------

    async def log(self, params: Any) -> None:
        data = params.data
        text = data if isinstance(data, str) else json.dumps(data, default=str)
        level = str(params.level)
        if self.entry is not None:
            text = self.entry.add_log(level, text, params.logger or "")
        self.side.logs.emit(ServerLog(self.name, level, text, params.logger or ""))

    async def message(self, message: Any) -> None:
        if isinstance(message, Exception):
            return
        kind = _LIST_METHODS.get(getattr(message, "method", ""))
        if kind is not None:
            self.list_changed(kind)

    def list_changed(self, kind: str) -> None:
        if self.entry is not None:
            self.entry.list_changed(kind)
        self.side.lists_changed.emit(ListChanged(self.name, kind))  # type: ignore[arg-type]


def _message(message: Any) -> SamplingMessage:
    blocks = message.content if isinstance(message.content, list) else [message.content]
    parts = []
    for block in blocks:
        kind = getattr(block, "type", "")
        parts.append(block.text if kind == "text" else f"[{kind or 'content'} not shown]")
    return SamplingMessage(role=message.role, text="\n".join(parts))
