"""A small HTTP proxy that gives llama.cpp's server tool calls on demand for a tiny model.

llama.cpp's server (tests/realmodel/serve.py) speaks Chat Completions well: streaming, usage,
``null`` or list contents, ``role: tool`` results (rendered by chatml_tools.jinja). What it
cannot do with SmolLM2-135M is *produce* a tool call when asked to: the model has no tool-call
format of its own, so the server has nothing to parse, ignores ``tool_choice: "required"`` (or a
named function) and the model chats instead (measured: 0 calls in 6 runs).

So the proxy rewrites one kind of request. When ``tool_choice`` demands a call, it asks the
server for that call as JSON held to a schema (``response_format: json_schema``, which the server
enforces with a grammar): ``{"name": <one of the offered tools>, "arguments": <its parameters>}``.
The answer goes back to the client as the ``tool_calls`` message OpenAI would have sent, or as
its Chat Completions SSE stream (role, tool-call delta, finish chunk, optional usage, ``[DONE]``)
when the client asked to stream. Everything else, streaming included, passes through unchanged:
with ``auto`` (or no ``tool_choice``) the model sees the tools and answers in text.

An agent loop therefore runs call -> result -> answer when the first turn forces the call
(``tool_choice="required"``) and the SDK resets the choice afterwards (``reset_tool_choice``).

Run it in-process with `start_proxy` (a background thread with its own event loop), or by hand::

    python tests/realmodel/proxy.py --upstream http://127.0.0.1:8000 --port 8001
"""

from __future__ import annotations

import argparse
import asyncio
import copy
import json
import re
import secrets
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import aiohttp
from aiohttp import web

_HOP_HEADERS = {"content-length", "transfer-encoding", "connection", "content-encoding"}


# -- forced tool calls -----------------------------------------------------------------------


def forced_tools(body: dict[str, Any]) -> list[dict[str, Any]]:
    """The tools one of which must be called, or [] when the model may answer in text."""
    tools = [t for t in body.get("tools") or [] if t.get("type", "function") == "function"]
    choice = body.get("tool_choice")
    if not tools or choice in (None, "auto", "none"):
        return []
    if choice == "required":
        return tools
    if isinstance(choice, dict):  # {"type": "function", "function": {"name": ...}}
        name = (choice.get("function") or {}).get("name")
        return [t for t in tools if t["function"]["name"] == name]
    return []


def _call_schema(tool: dict[str, Any]) -> dict[str, Any]:
    function = tool["function"]
    parameters = function.get("parameters") or {"type": "object", "properties": {}}
    return {
        "type": "object",
        "properties": {"name": {"const": function["name"]}, "arguments": parameters},
        "required": ["name", "arguments"],
        "additionalProperties": False,
    }


def call_request(body: dict[str, Any], tools: list[dict[str, Any]]) -> dict[str, Any]:
    """The request that asks for one call to one of ``tools`` as schema-held JSON."""
    schemas = [_call_schema(tool) for tool in tools]
    schema = schemas[0] if len(schemas) == 1 else {"anyOf": schemas}
    request = copy.deepcopy(body)
    for key in ("tool_choice", "stream", "stream_options", "parallel_tool_calls"):
        request.pop(key, None)
    request["response_format"] = {
        "type": "json_schema",
        "json_schema": {"name": "tool_call", "schema": schema},
    }
    return request


def as_tool_call(completion: dict[str, Any]) -> dict[str, Any]:
    """The server's JSON answer turned into the ``tool_calls`` completion OpenAI would send."""
    completion = copy.deepcopy(completion)
    choice = completion["choices"][0]
    call = json.loads(choice["message"].get("content") or "{}")
    choice["message"] = {
        "role": "assistant",
        "content": None,
        "tool_calls": [
            {
                "id": f"call_{secrets.token_hex(8)}",
                "type": "function",
                "function": {"name": call["name"], "arguments": json.dumps(call["arguments"])},
            }
        ],
    }
    choice["finish_reason"] = "tool_calls"
    return completion


# -- SSE re-emission -------------------------------------------------------------------------


def completion_to_chunks(completion: dict[str, Any], include_usage: bool) -> Iterator[dict]:
    """A non-streaming chat completion as the chunks a streaming call would have produced."""
    base = {
        "id": completion.get("id", "chatcmpl-proxy"),
        "object": "chat.completion.chunk",
        "created": completion.get("created", int(time.time())),
        "model": completion.get("model", ""),
    }

    def chunk(delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
        choice = {"index": 0, "delta": delta, "finish_reason": finish, "logprobs": None}
        return {**base, "choices": [choice]}

    choice = completion["choices"][0]
    message = choice.get("message") or {}
    yield chunk({"role": "assistant", "content": ""})
    # Word-sized content deltas, so a client sees a real stream of several chunks.
    for piece in re.findall(r"\S+\s*|\s+", message.get("content") or ""):
        yield chunk({"content": piece})
    for index, call in enumerate(message.get("tool_calls") or []):
        function = call.get("function", {})
        yield chunk(
            {
                "tool_calls": [
                    {
                        "index": index,
                        "id": call.get("id", f"call_{index}"),
                        "type": "function",
                        "function": {
                            "name": function.get("name", ""),
                            "arguments": function.get("arguments") or "{}",
                        },
                    }
                ]
            }
        )
    finish = choice.get("finish_reason") or ("tool_calls" if message.get("tool_calls") else "stop")
    yield chunk({}, finish)
    if include_usage and completion.get("usage"):
        yield {**base, "choices": [], "usage": completion["usage"]}


# -- the server ------------------------------------------------------------------------------


class ToolCallProxy:
    """An aiohttp app forwarding to ``upstream`` (e.g. ``http://127.0.0.1:8000``).

    ``chat_requests`` keeps every chat request as the client sent it, so a test can check
    what the model was asked; ``url`` is set by `start_proxy`.
    """

    def __init__(self, upstream: str) -> None:
        self.upstream = upstream.rstrip("/")
        self.url = ""
        self.chat_requests: list[dict[str, Any]] = []
        self._client: aiohttp.ClientSession | None = None
        self.app = web.Application()
        self.app.router.add_post("/v1/chat/completions", self._chat)
        self.app.router.add_route("*", "/{tail:.*}", self._passthrough)
        self.app.on_cleanup.append(self._close_client)

    @property
    def client(self) -> aiohttp.ClientSession:
        if self._client is None:
            timeout = aiohttp.ClientTimeout(total=600)
            self._client = aiohttp.ClientSession(timeout=timeout, auto_decompress=False)
        return self._client

    async def _close_client(self, _app: web.Application) -> None:
        if self._client is not None:
            await self._client.close()

    async def _chat(self, request: web.Request) -> web.StreamResponse:
        body = await request.json()
        self.chat_requests.append(body)
        tools = forced_tools(body)
        if not tools:
            return await self._forward(request, json.dumps(body).encode())
        url = f"{self.upstream}/v1/chat/completions"
        async with self.client.post(url, json=call_request(body, tools)) as upstream:
            payload = await upstream.read()
            if upstream.status != 200:  # let the client see the server's own error
                return web.Response(
                    status=upstream.status, body=payload, content_type="application/json"
                )
        completion = as_tool_call(json.loads(payload))
        if not body.get("stream"):
            return web.json_response(completion)
        include_usage = bool((body.get("stream_options") or {}).get("include_usage"))
        response = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
        await response.prepare(request)
        for chunk in completion_to_chunks(completion, include_usage):
            await response.write(f"data: {json.dumps(chunk)}\n\n".encode())
        await response.write(b"data: [DONE]\n\n")
        await response.write_eof()
        return response

    async def _passthrough(self, request: web.Request) -> web.StreamResponse:
        return await self._forward(request, await request.read())

    async def _forward(self, request: web.Request, data: bytes) -> web.StreamResponse:
        """Send the request upstream and stream the answer back byte for byte."""
        headers = {
            k: v
            for k, v in request.headers.items()
            if k.lower() not in _HOP_HEADERS and k.lower() != "host"
        }
        async with self.client.request(
            request.method, f"{self.upstream}{request.path_qs}", data=data, headers=headers
        ) as upstream:
            response = web.StreamResponse(
                status=upstream.status,
                headers={
                    k: v for k, v in upstream.headers.items() if k.lower() not in _HOP_HEADERS
                },
            )
            await response.prepare(request)
            async for block in upstream.content.iter_any():
                await response.write(block)
            await response.write_eof()
            return response


@contextmanager
def start_proxy(upstream: str) -> Iterator[ToolCallProxy]:
    """Run the proxy on a free 127.0.0.1 port in a background thread (own event loop)."""
    loop = asyncio.new_event_loop()
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    proxy = ToolCallProxy(upstream)
    proxy.url = f"http://127.0.0.1:{sock.getsockname()[1]}"
    runner = web.AppRunner(proxy.app, access_log=None)

    async def start() -> None:
        await runner.setup()
        await web.SockSite(runner, sock).start()

    thread = threading.Thread(target=loop.run_forever, name="realmodel-proxy", daemon=True)
    thread.start()
    try:
        asyncio.run_coroutine_threadsafe(start(), loop).result(timeout=10)
        yield proxy
    finally:
        asyncio.run_coroutine_threadsafe(runner.cleanup(), loop).result(timeout=10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=10)
        loop.close()
        sock.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--upstream", required=True, help="llama server, e.g. http://h:8000")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8001)
    args = parser.parse_args()
    web.run_app(ToolCallProxy(args.upstream).app, host=args.host, port=args.port)


if __name__ == "__main__":
    main()
