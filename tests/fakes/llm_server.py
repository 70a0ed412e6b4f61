"""A local HTTP server that speaks OpenAI's and Anthropic's wire protocols, scripted per test.

The real `openai`, `anthropic` and `agents` clients talk to it over real HTTP on 127.0.0.1, so
tests exercise their request building, SSE parsing, retries and error mapping end to end. Each
generation request consumes the next scripted reply (FIFO); a test that forgets one gets a loud
HTTP 500 "no scripted reply". Every request is recorded so tests can assert what was sent.

Use `async with ScriptedLLMServer() as server:` from async code on the test's loop, or
`with running_server() as server:` to run it on its own loop in a background thread (sync tests,
Qt/qasync tests whose loop must stay free).
"""

from __future__ import annotations

import asyncio
import itertools
import json
import ssl
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any, Self

from aiohttp import web

from .anthropic_messages import MessagesDialect
from .dialect import Dialect, Turn, error_body, is_streaming
from .openai_chat import ChatCompletionsDialect
from .openai_embeddings import embeddings_body
from .openai_responses import ResponsesDialect
from .replies import REPLY_TYPES, ErrorReply, Hang, Reply

DEFAULT_MODELS: tuple[str, ...] = ("test-model", "gpt-4o-mini", "claude-sonnet-4-5")
DEFAULT_TIMEOUT = 5.0
#: The routes that generate (each consumes a scripted reply), as opposed to model listings and
#: embeddings, which a client may also send before or between them.
GENERATION_PATHS = frozenset({"/v1/chat/completions", "/v1/responses", "/v1/messages"})
_SSE_HEADERS = {"Content-Type": "text/event-stream; charset=utf-8", "Cache-Control": "no-cache"}
_REQUEST_ID_HEADER = {"openai": "x-request-id", "anthropic": "request-id"}


@dataclass
class RecordedRequest:
    """One request as the server received it. Header names are lower-cased.

    `reply` is the scripted reply it consumed (None for model listings, unknown routes and
    unscripted calls); `finished` turns true once the server is done with it and `disconnected`
    when the client went away first (cancelled or timed out).
    """

    method: str
    path: str
    headers: dict[str, str]
    body: Any
    query: dict[str, str] = field(default_factory=dict)
    reply: Reply | None = None
    finished: bool = False
    disconnected: bool = False
    #: The client's (host, port): requests with the same peer came over one TCP connection.
    peer: tuple[str, int] | None = None

    @property
    def stream(self) -> bool:
        return is_streaming(self.body)


class _ScriptState:
    """Replies and recorded requests, shared safely between the server thread and the test."""

    def __init__(self) -> None:
        # reentrant, so wait predicates may read the state through its own locked accessors
        self._lock = threading.RLock()
        self._changed = threading.Condition(self._lock)
        self._replies: deque[Reply] = deque()
        self._requests: list[RecordedRequest] = []

    def push(self, replies: Iterable[Reply]) -> None:
        replies = list(replies)
        for reply in replies:
            if not isinstance(reply, REPLY_TYPES):
                raise TypeError(f"not a scripted reply: {reply!r}")
        with self._lock:
            self._replies.extend(replies)

    def pop(self) -> Reply | None:
        with self._lock:
            return self._replies.popleft() if self._replies else None

    def pop_error(self) -> ErrorReply | None:
        """The oldest reply, only when it is an ErrorReply."""
        with self._lock:
            if self._replies and isinstance(self._replies[0], ErrorReply):
                return self._replies.popleft()  # type: ignore[return-value]
            return None

    def record(self, request: RecordedRequest) -> None:
        with self._lock:
            self._requests.append(request)

    def touch(self) -> None:
        with self._lock:
            self._changed.notify_all()

    def wait_until(self, predicate: Callable[[], bool], timeout: float) -> bool:
        """Block the calling thread until `predicate()` holds; False on timeout."""
        with self._changed:
            return self._changed.wait_for(predicate, timeout)

    def requests(self) -> list[RecordedRequest]:
        with self._lock:
            return list(self._requests)

    def pending(self) -> int:
        with self._lock:
            return len(self._replies)

    def reset(self) -> None:
        with self._lock:
            self._replies.clear()
            self._requests.clear()


class ScriptedLLMServer:
    """The fake provider, run on the current event loop (see the module docstring)."""

    def __init__(
        self, models: Iterable[str] = DEFAULT_MODELS, *, ssl_context: ssl.SSLContext | None = None
    ) -> None:
        self.models: tuple[str, ...] = tuple(models)
        #: Serve HTTPS with this context (its certificate), as the hosted APIs do.
        self.ssl_context = ssl_context
        #: The peers of HEAD requests (clients warming a connection); not in `requests`.
        self.warmups: list[tuple[str, int] | None] = []
        #: Extra fields of a model in the OpenAI-shaped list, by id (e.g. vLLM's
        #: ``max_model_len``, llama.cpp's ``meta``: servers that state a context window).
        self.model_fields: dict[str, dict[str, Any]] = {}
        self._state = _ScriptState()
        self._ids = itertools.count(1)
        self._runner: web.AppRunner | None = None
        self._port: int | None = None
        self._closing: asyncio.Event | None = None
        self._wakeup: asyncio.Event | None = None

    # -- lifecycle -----------------------------------------------------------------------------

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    async def start(self) -> None:
        """Listen on 127.0.0.1 with an OS-chosen port."""
        self._closing = asyncio.Event()
        self._wakeup = asyncio.Event()
        app = web.Application()
        app.router.add_post("/v1/chat/completions", self._handler(ChatCompletionsDialect()))
        app.router.add_post("/v1/responses", self._handler(ResponsesDialect()))
        app.router.add_post("/v1/messages", self._handler(MessagesDialect()))
        app.router.add_post("/v1/embeddings", self._embeddings)
        app.router.add_get("/v1/models", self._list_models)
        app.router.add_get("/v1/models/{model_id}", self._get_model)
        # A client warming its connection (HEAD, no key): counted, not a request of the API.
        app.router.add_route("HEAD", "/{tail:.*}", self._warmup)
        app.router.add_route("*", "/{tail:.*}", self._unknown_route)
        # handler_cancellation: a client disconnect cancels its handler, which is how hung and
        # streaming replies notice cancelled clients; a short shutdown bounds close().
        runner = web.AppRunner(app, handler_cancellation=True, access_log=None, shutdown_timeout=1)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0, ssl_context=self.ssl_context)
        await site.start()
        self._runner, self._port = runner, site.port

    async def close(self) -> None:
        """Release hung requests, close connections and stop listening."""
        if self._runner is None:
            return
        assert self._closing is not None
        self._closing.set()
        runner, self._runner = self._runner, None
        await runner.cleanup()

    # -- the test-facing API -------------------------------------------------------------------

    @property
    def port(self) -> int:
        if self._port is None:
            raise RuntimeError("server not started")
        return self._port

    @property
    def base_url(self) -> str:
        """The server root: Anthropic's `base_url` (the client appends `/v1/messages`)."""
        scheme = "https" if self.ssl_context is not None else "http"
        return f"{scheme}://127.0.0.1:{self.port}"

    @property
    def openai_base_url(self) -> str:
        """`…/v1`: OpenAI's `base_url` (the client appends `/chat/completions` etc.)."""
        return f"{self.base_url}/v1"

    def script(self, *replies: Reply) -> None:
        """Queue replies; each generation request consumes the oldest one."""
        self._state.push(replies)

    @property
    def requests(self) -> list[RecordedRequest]:
        """A snapshot of every request received so far, oldest first."""
        return self._state.requests()

    @property
    def completions(self) -> list[RecordedRequest]:
        """The generation requests only (chat completions, responses, messages), oldest first:
        what a test of the model's input indexes, whatever listings the client asked before."""
        return [r for r in self._state.requests() if r.path in GENERATION_PATHS]

    @property
    def pending(self) -> int:
        """How many scripted replies are still unconsumed."""
        return self._state.pending()

    def reset(self) -> None:
        """Forget queued replies and recorded requests (for a server shared between tests)."""
        self._state.reset()

    async def wait_until(
        self, predicate: Callable[[], bool], within: float = DEFAULT_TIMEOUT
    ) -> None:
        """Wait, on the server's loop, until `predicate()` holds after some request activity.

        Predicates are re-checked whenever a request arrives or finishes; TimeoutError after
        `within` seconds.
        """
        async with asyncio.timeout(within):
            while not predicate():
                assert self._wakeup is not None
                await self._wakeup.wait()

    async def wait_for_requests(
        self, count: int, within: float = DEFAULT_TIMEOUT
    ) -> list[RecordedRequest]:
        """Wait until at least `count` requests have arrived; returns the snapshot."""
        await self.wait_until(lambda: len(self._state.requests()) >= count, within)
        return self.requests

    # -- request handling ----------------------------------------------------------------------

    def _notify(self) -> None:
        self._state.touch()
        if self._wakeup is not None:
            self._wakeup.set()
            self._wakeup = asyncio.Event()

    async def _record(self, request: web.Request) -> RecordedRequest:
        raw = await request.read()
        body: Any = None
        if raw:
            try:
                body = json.loads(raw)
            except ValueError:
                body = raw.decode(errors="replace")
        recorded = RecordedRequest(
            method=request.method,
            path=request.path,
            headers={name.lower(): value for name, value in request.headers.items()},
            body=body,
            query=dict(request.query),
            peer=request.transport.get_extra_info("peername") if request.transport else None,
        )
        self._state.record(recorded)
        self._notify()
        return recorded

    def _new_id(self, prefix: str) -> str:
        return f"{prefix}scripted{next(self._ids):04d}"

    def _handler(self, dialect: Dialect) -> Callable[[web.Request], Any]:
        async def handle(request: web.Request) -> web.StreamResponse:
            recorded = await self._record(request)
            try:
                return await self._answer(request, recorded, dialect)
            except (asyncio.CancelledError, ConnectionResetError):
                recorded.disconnected = True
                raise
            finally:
                recorded.finished = True
                self._notify()

        return handle

    async def _answer(
        self, request: web.Request, recorded: RecordedRequest, dialect: Dialect
    ) -> web.StreamResponse:
        reply = self._state.pop()
        recorded.reply = reply
        if reply is None:
            message = f"no scripted reply for {request.method} {request.path}"
            # x-should-retry: false stops both clients retrying, so the test fails at once
            unscripted = ErrorReply(500, message, headers={"x-should-retry": "false"})
            return self._error(dialect.provider, unscripted)
        if isinstance(reply, ErrorReply):
            return self._error(dialect.provider, reply)
        if isinstance(reply, Hang):
            return await self._hang(request, recorded)
        body = recorded.body if isinstance(recorded.body, Mapping) else {}
        turn = Turn(
            body=body,
            reply=reply,
            usage=reply.resolved_usage(dialect.prompt_tokens(body)),
            new_id=self._new_id,
            created=int(time.time()),
        )
        headers = self._request_id(dialect.provider)
        if not recorded.stream:
            await asyncio.sleep(reply.total_delay())
            return web.json_response(dialect.render(turn), headers=headers)
        return await self._stream(request, turn, dialect, headers)

    async def _stream(
        self, request: web.Request, turn: Turn, dialect: Dialect, headers: dict[str, str]
    ) -> web.StreamResponse:
        response = web.StreamResponse(headers={**_SSE_HEADERS, **headers})
        await response.prepare(request)
        for event in dialect.stream(turn):
            if event.delay:
                await asyncio.sleep(event.delay)
            await response.write(event.encode())
        await response.write_eof()
        return response

    async def _hang(self, request: web.Request, recorded: RecordedRequest) -> web.StreamResponse:
        """Say nothing until the client leaves (the handler is cancelled) or the server stops."""
        assert self._closing is not None
        response: web.StreamResponse | None = None
        if recorded.stream:
            response = web.StreamResponse(headers=_SSE_HEADERS)
            await response.prepare(request)
        await self._closing.wait()
        return response or web.Response(status=503, text="server closing")

    def _request_id(self, provider: str) -> dict[str, str]:
        return {_REQUEST_ID_HEADER[provider]: self._new_id("req_")}

    def _error(self, provider: str, reply: ErrorReply) -> web.Response:
        headers = self._request_id(provider)
        payload = error_body(provider, reply, next(iter(headers.values())))
        return web.json_response(payload, status=reply.status, headers={**headers, **reply.headers})

    async def _list_models(self, request: web.Request) -> web.Response:
        """OpenAI's list shape, or Anthropic's when the request carries `anthropic-version`."""
        await self._record(request)
        if "anthropic-version" in request.headers:
            data = [_anthropic_model(model_id) for model_id in self.models]
            return web.json_response(
                {
                    "data": data,
                    "has_more": False,
                    "first_id": self.models[0] if self.models else None,
                    "last_id": self.models[-1] if self.models else None,
                }
            )
        data = [
            {**_openai_model(model_id), **self.model_fields.get(model_id, {})}
            for model_id in self.models
        ]
        return web.json_response({"object": "list", "data": data})

    async def _get_model(self, request: web.Request) -> web.Response:
        await self._record(request)
        model_id = request.match_info["model_id"]
        anthropic = "anthropic-version" in request.headers
        if model_id not in self.models:
            missing = ErrorReply(404, f"The model `{model_id}` does not exist")
            return self._error("anthropic" if anthropic else "openai", missing)
        return web.json_response(
            _anthropic_model(model_id) if anthropic else _openai_model(model_id)
        )

    async def _embeddings(self, request: web.Request) -> web.Response:
        """Deterministic embeddings (see openai_embeddings.py); a scripted ErrorReply at the
        head of the queue is answered instead, so tests can make the API refuse."""
        recorded = await self._record(request)
        try:
            reply = self._state.pop_error()
            if reply is not None:
                recorded.reply = reply
                return self._error("openai", reply)
            body = recorded.body if isinstance(recorded.body, dict) else {}
            status, payload = embeddings_body(body)
            return web.json_response(payload, status=status, headers=self._request_id("openai"))
        finally:
            recorded.finished = True
            self._notify()

    async def _warmup(self, request: web.Request) -> web.Response:
        self.warmups.append(request.transport.get_extra_info("peername"))
        self._notify()
        return web.Response()

    async def _unknown_route(self, request: web.Request) -> web.Response:
        await self._record(request)
        provider = "anthropic" if "anthropic-version" in request.headers else "openai"
        unknown = ErrorReply(404, f"Invalid URL ({request.method} {request.path})")
        response = self._error(provider, unknown)
        if provider == "openai":  # the API sends a null code here, not model_not_found
            payload = json.loads(response.text or "{}")
            payload["error"]["code"] = None
            response.text = json.dumps(payload)
        return response


def _openai_model(model_id: str) -> dict[str, Any]:
    return {"id": model_id, "object": "model", "created": 1_700_000_000, "owned_by": "scripted"}


def _anthropic_model(model_id: str) -> dict[str, Any]:
    return {
        "type": "model",
        "id": model_id,
        "display_name": model_id,
        "created_at": "2025-01-01T00:00:00Z",
        "lifecycle": "active",
    }


class ThreadedLLMServer:
    """A `ScriptedLLMServer` running on its own loop in a background thread.

    Same API, but waits block the calling thread (with a timeout) instead of awaiting.
    """

    def __init__(self, server: ScriptedLLMServer, state: _ScriptState) -> None:
        self._server = server
        self._state = state

    @property
    def models(self) -> tuple[str, ...]:
        return self._server.models

    @property
    def model_fields(self) -> dict[str, dict[str, Any]]:
        return self._server.model_fields

    @property
    def base_url(self) -> str:
        return self._server.base_url

    @property
    def openai_base_url(self) -> str:
        return self._server.openai_base_url

    def script(self, *replies: Reply) -> None:
        self._server.script(*replies)

    @property
    def requests(self) -> list[RecordedRequest]:
        return self._server.requests

    @property
    def completions(self) -> list[RecordedRequest]:
        return self._server.completions

    @property
    def warmups(self) -> list[tuple[str, int] | None]:
        return self._server.warmups

    @property
    def pending(self) -> int:
        return self._server.pending

    def reset(self) -> None:
        self._server.reset()

    def wait_until(self, predicate: Callable[[], bool], within: float = DEFAULT_TIMEOUT) -> None:
        """Block until `predicate()` holds after some request activity; TimeoutError if not."""
        if not self._state.wait_until(predicate, within):
            raise TimeoutError("condition not met within timeout")

    def wait_for_requests(
        self, count: int, within: float = DEFAULT_TIMEOUT
    ) -> list[RecordedRequest]:
        """Block until at least `count` requests have arrived; returns the snapshot."""
        self.wait_until(lambda: len(self.requests) >= count, within)
        return self.requests


@contextmanager
def running_server(
    models: Iterable[str] = DEFAULT_MODELS, timeout: float = DEFAULT_TIMEOUT
) -> Iterator[ThreadedLLMServer]:
    """Run a scripted server on a background thread's event loop for the `with` block."""
    loop = asyncio.new_event_loop()
    server = ScriptedLLMServer(models)
    thread = threading.Thread(target=_serve, args=(loop,), name="scripted-llm-server", daemon=True)
    thread.start()
    try:
        asyncio.run_coroutine_threadsafe(server.start(), loop).result(timeout)
        try:
            yield ThreadedLLMServer(server, server._state)
        finally:
            asyncio.run_coroutine_threadsafe(server.close(), loop).result(timeout)
    finally:
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout)


def _serve(loop: asyncio.AbstractEventLoop) -> None:
    asyncio.set_event_loop(loop)
    try:
        loop.run_forever()
    finally:
        loop.run_until_complete(loop.shutdown_asyncgens())
        loop.run_until_complete(loop.shutdown_default_executor())
        asyncio.set_event_loop(None)
        loop.close()
