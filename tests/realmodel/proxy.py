"""A small HTTP proxy that lets an agent loop run against llama-cpp-python's OpenAI server.

llama-cpp-python 0.3.36's server, with ``--chat_format chatml-function-calling`` (the only
format that produces tool calls), breaks a standard Chat Completions tool loop in four places.
The proxy rewrites each ``POST /v1/chat/completions`` request before forwarding it:

1. An assistant message with ``"content": null`` and ``tool_calls`` (what every client sends
   back after a tool call) fails the server's request validation: the content becomes ``""``.
   Content given as a list of text parts is joined into a string too (the template prints it).
2. ``role: tool`` messages lose their content: the template renders bodies for system, user
   and assistant only, so the model never sees a tool's result (and, measured, then rambles
   about code). Each becomes a user message ``Tool result for <name>: <content>``, a wording
   this model answers from ("The function is returning the number 4817.").
3. ``tool_choice="required"`` fails with an empty HTTP 500 (the handler asserts it is "auto"):
   it becomes the named tool when there is one tool, else ``auto``.
   A missing ``tool_choice`` is left alone, although the server then leaves the tools out of
   the prompt (OpenAI would mean ``auto``): under ``auto`` the 135M model calls a tool on every
   turn, even right after a tool result, so an agent loop would never end. Forcing the first
   call (``required``) and letting the SDK reset the choice (``reset_tool_choice``) gives the
   loop call -> result -> text answer.
4. It refuses to stream when it may call tools (``Automatic streaming tool choice is not
   supported``): such requests go upstream without streaming and the proxy re-emits the answer
   as a Chat Completions SSE stream (role, content or tool_call deltas, a finish chunk, an
   optional usage chunk, ``[DONE]``).

Every other request passes through unchanged, streaming included. Run it in-process with
`start_proxy` (a background thread with its own event loop), or by hand::

    python tests/realmodel/proxy.py --upstream http://127.0.0.1:8000 --port 8001
"""

from __future__ import annotations

import argparse
import asyncio
import copy
import json
import re
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import aiohttp
from aiohttp import web

_HOP_HEADERS = {"content-length", "transfer-encoding", "connection", "content-encoding"}


# -- request normalisation -------------------------------------------------------------------


def _text(content: Any) -> str:
    """Message content as a plain string (the template prints content as is)."""
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        parts = [p.get("text", "") if isinstance(p, dict) else str(p) for p in content]
        return "".join(parts)
    return str(content)


def normalise_messages(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Fixes 1 and 2: string contents only, and tool results the template keeps."""
    names: dict[str, str] = {}  # tool_call_id -> function name, from the assistant's calls
    out: list[dict[str, Any]] = []
    for message in messages:
        message = dict(message)
        role = message.get("role")
        if role == "developer":  # newer OpenAI name for the system role
            role = message["role"] = "system"
        if role == "tool":
            name = names.get(message.get("tool_call_id", ""), "the tool")
            out.append(
                {
                    "role": "user",
                    "content": f"Tool result for {name}: {_text(message.get('content'))}",
                }
            )
            continue
        message["content"] = _text(message.get("content"))
        if role == "assistant":
            for call in message.get("tool_calls") or []:
                names[call.get("id", "")] = call.get("function", {}).get("name", "the tool")
        out.append(message)
    return out


def normalise_request(body: dict[str, Any]) -> dict[str, Any]:
    """All request fixes; returns a new body (the input is left as is)."""
    body = copy.deepcopy(body)
    body["messages"] = normalise_messages(body.get("messages") or [])
    tools = body.get("tools") or []
    if not tools:
        body.pop("tools", None)
        body.pop("tool_choice", None)
        return body
    if body.get("tool_choice") == "required":  # fix 3: the server asserts on "required"
        if len(tools) == 1:
            name = tools[0]["function"]["name"]
            body["tool_choice"] = {"type": "function", "function": {"name": name}}
        else:
            body["tool_choice"] = "auto"
    return body


def needs_stream_emulation(body: dict[str, Any]) -> bool:
    """Fix 4: the server streams only when it cannot call a tool."""
    may_call = bool(body.get("tools")) and body.get("tool_choice") not in (None, "none")
    return bool(body.get("stream")) and may_call


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


class NormalisingProxy:
    """An aiohttp app forwarding to ``upstream`` (e.g. ``http://127.0.0.1:8000``).

    ``chat_requests`` keeps every chat request as forwarded (after the fixes), so a test can
    check what the model was shown; ``url`` is set by `start_proxy`.
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
        body = normalise_request(await request.json())
        self.chat_requests.append(body)
        if not needs_stream_emulation(body):
            return await self._forward(request, json.dumps(body).encode())
        include_usage = bool((body.get("stream_options") or {}).get("include_usage"))
        plain = {k: v for k, v in body.items() if k != "stream_options"} | {"stream": False}
        url = f"{self.upstream}/v1/chat/completions"
        async with self.client.post(url, json=plain) as upstream:
            payload = await upstream.read()
            if upstream.status != 200:  # let the client see the server's own error
                return web.Response(
                    status=upstream.status, body=payload, content_type="application/json"
                )
        response = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
        await response.prepare(request)
        for chunk in completion_to_chunks(json.loads(payload), include_usage):
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
def start_proxy(upstream: str) -> Iterator[NormalisingProxy]:
    """Run the proxy on a free 127.0.0.1 port in a background thread (own event loop)."""
    loop = asyncio.new_event_loop()
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    proxy = NormalisingProxy(upstream)
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
    web.run_app(NormalisingProxy(args.upstream).app, host=args.host, port=args.port)


if __name__ == "__main__":
    main()
