"""A running MCP server's resources, resource templates and prompts (#19).

`McpBrowser` asks a server the manager runs, over the same connection its tools use
(`McpManager.request`), and turns the SDK's answers into `core.mcp.resources` values. A server
that offers no resources or prompts answers "Method not found"; that is an empty list here, not
an error. Lists are read page by page up to `MAX_PAGES`.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from carrier_studio.core.mcp import McpServerError
from carrier_studio.core.mcp.resources import (
    PromptArgument,
    PromptInfo,
    PromptText,
    ResourceContent,
    ResourceInfo,
    TemplateInfo,
    decode_blob,
    prompt_text,
)

if TYPE_CHECKING:
    from agents.mcp import MCPServer

    from carrier_studio.services.mcp.manager import McpManager

log = logging.getLogger(__name__)

#: Pages of a list read at most (a server that pages forever must not hang the page).
MAX_PAGES = 20


def _not_offered(exc: BaseException) -> bool:
    """The server does not do this at all (JSON-RPC -32601, or the SDK saying so)."""
    text = str(exc).lower()
    return isinstance(exc, NotImplementedError) or "method not found" in text


class McpBrowser:
    """Resources and prompts of the manager's running servers.

    Every method raises McpServerError naming the server and what failed, as the manager's
    tool calls do; a server that is not running says so.
    """

    def __init__(self, manager: McpManager) -> None:
        self.manager = manager

    async def resources(self, server: str) -> list[ResourceInfo]:
        async def listed(sdk: MCPServer) -> list[ResourceInfo]:
            found: list[ResourceInfo] = []
            cursor: str | None = None
            for _ in range(MAX_PAGES):
                page = await sdk.list_resources(cursor)
                found += [
                    ResourceInfo(
                        uri=str(r.uri),
                        name=r.name or "",
                        title=getattr(r, "title", None) or "",
                        description=r.description or "",
                        mime=r.mime_type or "",
                        size=r.size,
                    )
                    for r in page.resources
                ]
                cursor = _next_cursor(page)
                if cursor is None:
                    break
            return found

        return await self._ask(server, "listing resources", listed, empty=[])

    async def templates(self, server: str) -> list[TemplateInfo]:
        from mcp.shared.uri_template import UriTemplate

        def variables(template: str) -> tuple[str, ...]:
            try:
                return tuple(UriTemplate.parse(template).variable_names)
            except Exception:  # noqa: BLE001 - a malformed template is shown, not filled
                return ()

        async def listed(sdk: MCPServer) -> list[TemplateInfo]:
            found: list[TemplateInfo] = []
            cursor: str | None = None
            for _ in range(MAX_PAGES):
                page = await sdk.list_resource_templates(cursor)
                found += [
                    TemplateInfo(
                        uri_template=t.uri_template,
                        name=t.name or "",
                        title=getattr(t, "title", None) or "",
                        description=t.description or "",
                        mime=t.mime_type or "",
                        variables=variables(t.uri_template),
                    )
                    for t in page.resource_templates
                ]
                cursor = _next_cursor(page)
                if cursor is None:
                    break
            return found

        return await self._ask(server, "listing resource templates", listed, empty=[])

    @staticmethod
    def expand(template: TemplateInfo, values: Mapping[str, str]) -> str:
        """The URI of one resource of ``template`` (RFC 6570, as the server's SDK reads it)."""
        from mcp.shared.uri_template import UriTemplate

        try:
            return UriTemplate.parse(template.uri_template).expand(dict(values))
        except Exception as exc:  # noqa: BLE001 - the SDK raises several kinds
            raise McpServerError(f"{template.uri_template} cannot be filled: {exc}") from exc

    async def read(self, server: str, uri: str) -> list[ResourceContent]:
        async def read(sdk: MCPServer) -> list[ResourceContent]:
            result = await sdk.read_resource(uri)
            return [_content(part) for part in result.contents]

        return await self._ask(server, f"reading {uri}", read)

    async def prompts(self, server: str) -> list[PromptInfo]:
        async def listed(sdk: MCPServer) -> list[PromptInfo]:
            # The SDK follows the pages itself.
            result = await sdk.list_prompts()
            return [
                PromptInfo(
                    server=server,
                    name=p.name,
                    title=getattr(p, "title", None) or "",
                    description=p.description or "",
                    arguments=tuple(
                        PromptArgument(a.name, a.description or "", bool(a.required))
                        for a in p.arguments or ()
                    ),
                )
                for p in result.prompts
            ]

        return await self._ask(server, "listing prompts", listed, empty=[])

    async def prompt(
        self, server: str, name: str, arguments: Mapping[str, str] | None = None
    ) -> PromptText:
        """The prompt ``name`` filled with ``arguments``, as one user message."""

        async def get(sdk: MCPServer) -> PromptText:
            result = await sdk.get_prompt(name, dict(arguments or {}))
            parts: list[tuple[str, str | ResourceContent]] = []
            for message in result.messages:
                content = message.content
                kind = getattr(content, "type", "")
                if kind == "text":
                    parts.append((message.role, content.text))
                elif kind == "image":
                    blob = decode_blob(content.data)
                    parts.append(
                        (
                            message.role,
                            ResourceContent(f"{name}.image", content.mime_type, blob=blob),
                        )
                    )
                elif kind == "resource":
                    parts.append((message.role, _content(content.resource)))
                elif kind == "resource_link":
                    parts.append((message.role, f"(see {content.uri})"))
                else:
                    parts.append((message.role, ResourceContent(f"{name}.{kind}", kind, blob=b"")))
            return prompt_text(parts)

        return await self._ask(server, f"getting the prompt {name}", get)

    async def _ask(self, server: str, doing: str, call: Any, *, empty: Any = None) -> Any:
        try:
            return await self.manager.request(server, doing, call)
        except McpServerError as exc:
            if empty is not None and _not_offered(exc.__cause__ or exc):
                return empty
            raise


def _next_cursor(page: Any) -> str | None:
    return getattr(page, "next_cursor", None) or getattr(page, "nextCursor", None)


def _content(part: Any) -> ResourceContent:
    mime = getattr(part, "mime_type", None) or ""
    if getattr(part, "text", None) is not None:
        return ResourceContent(str(part.uri), mime, text=part.text)
    return ResourceContent(str(part.uri), mime, blob=decode_blob(getattr(part, "blob", "") or ""))
