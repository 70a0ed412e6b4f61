"""A Python MCP server that asks its client things: the studio's client capabilities, for real.

Run as ``python tests/mcp/client_server.py`` (stdio), or with ``--http PORT`` (streamable HTTP
at /mcp) or ``--sse PORT``. It speaks both protocol versions: on 2026-07-28 its questions ride
``InputRequiredResult`` (multi-round tool calls), on 2025-11-25 they are requests of their own
(the SDK's ``Resolve`` markers pick the way). Tools:

- ``ask_profile``: elicits a form (name, age, subscribe, colour; defaults on age, subscribe and
  colour) and says what came back;
- ``ask_summary``: samples the client's model and returns its text;
- ``list_my_roots``: the client's roots as URIs, one a line;
- ``count``: reports progress 1..n of n, logs a line at each step;
- ``ask_raw``: elicits a schema with a default on every type and returns the answer as sent,
  by hand (a multi-round InputRequiredResult tool on 2026-07-28);
- ``whoami``: the client's name, version, protocol and capabilities as JSON;
- ``grow``: adds a tool ``grown`` and says the tools list changed.
"""

from __future__ import annotations

import json
import sys
from typing import Annotated

from mcp.server.mcpserver import (
    Context,
    Elicit,
    ElicitationResult,
    ListRoots,
    MCPServer,
    Resolve,
    Sample,
)
from mcp_types import (
    ElicitRequest,
    ElicitRequestFormParams,
    InputRequiredResult,
    ListRootsResult,
    SamplingMessage,
    TextContent,
)
from pydantic import BaseModel, Field

server = MCPServer("carrier-client-test")


class Profile(BaseModel):
    name: str = Field(description="Your name")
    age: int = Field(default=30, description="Your age", ge=0, le=150)
    subscribe: bool = Field(default=True, description="Send me news")
    colour: str = Field(default="green", json_schema_extra={"enum": ["red", "green", "blue"]})


def _ask_profile() -> Elicit[Profile]:
    return Elicit("Tell me about you", Profile)


def _sample(topic: str) -> Sample:
    message = SamplingMessage(role="user", content=TextContent(type="text", text=f"Sum up {topic}"))
    return Sample([message], max_tokens=50, system_prompt="You sum things up in one line.")


def _roots() -> ListRoots:
    return ListRoots()


@server.tool()
def ask_profile(
    answer: Annotated[ElicitationResult[Profile], Resolve(_ask_profile)],
) -> str:
    """Ask the user for a profile."""
    if answer.action != "accept":
        return f"the user chose {answer.action}"
    data = answer.data
    return f"{data.name}, {data.age}, subscribe={data.subscribe}, colour={data.colour}"


@server.tool()
def ask_summary(topic: str, reply: Annotated[object, Resolve(_sample)]) -> str:
    """Ask the client's model to sum a topic up."""
    content = reply.content  # type: ignore[attr-defined]
    return f"model {reply.model} said: {content.text}"  # type: ignore[attr-defined]


@server.tool()
def list_my_roots(roots: Annotated[ListRootsResult, Resolve(_roots)]) -> str:
    """The client's roots, one a line."""
    return "\n".join(str(root.uri) for root in roots.roots) or "(no roots)"


@server.tool()
async def count(n: int, ctx: Context) -> str:
    """Count to n, reporting progress and logging each step."""
    for step in range(1, n + 1):
        await ctx.report_progress(step, n, f"step {step}")
        await ctx.log("info", f"counted {step} of {n}")
    await ctx.log("warning", "token sk-test-1234567890abcdef1234 was in my config")
    return f"counted to {n}"


@server.tool()
def whoami(ctx: Context) -> str:
    """The client's name, version and capabilities as it declared them, as JSON."""
    params = ctx.session.client_params
    info = params.client_info if params is not None else None
    caps = ctx.client_capabilities
    return json.dumps(
        {
            "name": info.name if info else None,
            "version": info.version if info else None,
            "protocol": ctx.protocol_version,
            "capabilities": caps.model_dump(by_alias=True, exclude_none=True) if caps else None,
        }
    )


#: A schema with a default on every type (SEP-1034); ``ask_raw`` returns what came back as is.
RAW_SCHEMA = {
    "type": "object",
    "properties": {
        "name": {"type": "string", "default": "Nobody"},
        "count": {"type": "integer", "default": 3},
        "ratio": {"type": "number", "default": 0.5},
        "ok": {"type": "boolean", "default": False},
        "mood": {"type": "string", "enum": ["calm", "busy"], "default": "calm"},
    },
}


@server.tool()
async def ask_raw(ctx: Context) -> str | InputRequiredResult:
    """Elicit RAW_SCHEMA and return the content exactly as the client sent it (JSON), by hand:
    on 2026-07-28 an InputRequiredResult and its second round, before it a request."""
    if (ctx.protocol_version or "") >= "2026-07-28":
        answer = (ctx.input_responses or {}).get("raw")
        if answer is None:
            ask = ElicitRequest(
                params=ElicitRequestFormParams(message="Raw?", requested_schema=RAW_SCHEMA)
            )
            return InputRequiredResult(input_requests={"raw": ask})
        return json.dumps(answer.content, sort_keys=True)
    result = await ctx.session.elicit_form("Raw?", RAW_SCHEMA, ctx.request_id)
    return json.dumps(result.content, sort_keys=True)


def grown() -> str:
    """A tool that appears after ``grow``."""
    return "I grew"


@server.tool()
async def grow(ctx: Context) -> str:
    """Add the tool ``grown`` and tell the client the tools changed."""
    server.tool()(grown)
    try:
        await ctx.notify_tools_changed()
    except Exception:  # noqa: BLE001 - no listener (2025-11-25): the notification goes instead
        pass
    try:
        await ctx.request_context.session.send_tool_list_changed()
    except Exception:  # noqa: BLE001 - 2026-07-28 has no such notification
        pass
    return "grown"


if __name__ == "__main__":
    if "--http" in sys.argv or "--sse" in sys.argv:
        flag = "--http" if "--http" in sys.argv else "--sse"
        port = int(sys.argv[sys.argv.index(flag) + 1])
        transport = "streamable-http" if flag == "--http" else "sse"
        print(f"carrier-client-test MCP server on port {port}", file=sys.stderr, flush=True)
        server.run(transport, host="127.0.0.1", port=port)  # type: ignore[call-overload]
    else:
        print("carrier-client-test MCP server ready", file=sys.stderr, flush=True)
        server.run()
