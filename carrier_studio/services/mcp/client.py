"""The studio's own MCP client: every connection, on every transport, is built here.

The agents SDK connects a server with a bare ``mcp.Client`` (no callbacks, named "mcp") and
then calls the session's ``call_tool`` directly, which skips the Client's retry loop for
``InputRequiredResult`` (multi-round tool calls, protocol 2026-07-28). `studio_class` wraps
each of the SDK's three server classes so that its connection is an ``mcp.Client`` named
"Carrier Studio" with the package's version, with callbacks for elicitation (form and URL),
sampling and roots (which the SDK declares as capabilities because they are given), and
logging; the session handed to the SDK is a `_Session` whose ``call_tool`` (and
``get_prompt``, ``read_resource``) go through the Client, so the rounds are answered.

`ClientSide` is what the manager shares with every connection: the window's `McpAsker` (the
dialogs; None headless: elicitations are declined and sampling denied, with a log line), the
`Sampler` that runs an approved sampling request on a model, the roots of each server, and
the emitters for what servers tell during calls (`ToolProgress`, `ServerLog`, `ListChanged`).
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import functools
import logging
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from carrier_studio import __version__
from carrier_studio.core.events import Emitter
from carrier_studio.core.mcp.requests import (
    ListChanged,
    McpAsker,
    SamplingRequest,
    ServerLog,
    ToolProgress,
    chat_model,
)
from carrier_studio.core.settings import ModelChoice
from carrier_studio.services.mcp import answers

log = logging.getLogger(__name__)

CLIENT_NAME = "Carrier Studio"
#: How the Client picks the protocol: "auto" probes 2026-07-28 and falls back to the
#: handshake. Tests set "legacy" to talk 2025-11-25 to a server that speaks both.
CONNECT_MODE = "auto"
#: The lowest level of log messages asked of 2026-07-28 servers (they send none unasked).
LOG_LEVEL = "info"


class Sampler(Protocol):
    """Runs approved sampling requests on the studio's models (`sampling.SettingsSampler`)."""

    def model_for(self, choice: ModelChoice | None) -> ModelChoice:
        """The model a request runs on: the chat's, else the workspace default."""
        ...

    def always_allowed(self, server: str) -> bool: ...

    async def allow_always(self, server: str) -> None:
        """Remember "always allow" for ``server`` (it survives a restart)."""
        ...

    async def complete(self, choice: ModelChoice, request: SamplingRequest) -> tuple[str, str]:
        """The model's answer to ``request`` and the model's name."""
        ...


@dataclass
class _Call:
    """A tool call in flight on one server: whose run it is, for progress and sampling."""

    call_id: str
    tool: str
    model: ModelChoice | None


#: The agents SDK's tool call id of the call being made, set by the SDK's meta-resolver hook
#: in the task that makes the call (its context is copied into the call's task).
_call_id: contextvars.ContextVar[str] = contextvars.ContextVar("carrier_mcp_call_id", default="")


class ClientSide:
    """What the studio's client does for servers' requests and notifications (one per
    manager; `McpManager.client`). The window sets ``asker``; the session sets ``sampler`` and
    ``roots``."""

    def __init__(self) -> None:
        #: The dialogs; None: no window (headless, tests without one).
        self.asker: McpAsker | None = None
        self.sampler: Sampler | None = None
        #: A server's roots (folders it may see); the workspace and the user's additions.
        self.roots: Callable[[str], list[Path]] = lambda server: []
        #: Progress of a running tool call (the chat's tool card shows it by ``call_id``).
        self.progress: Emitter[ToolProgress] = Emitter("MCP progress")
        #: A log message a server sent (level and redacted text).
        self.logs: Emitter[ServerLog] = Emitter("MCP server logs")
        #: A server's tools, resources or prompts changed (caches already dropped).
        self.lists_changed: Emitter[ListChanged] = Emitter("MCP list changes")
        self._calls: dict[str, list[_Call]] = {}

    def running_call(self, server: str) -> _Call | None:
        """The latest tool call in flight on ``server`` (a sampling request belongs to it)."""
        calls = self._calls.get(server)
        return calls[-1] if calls else None

    @contextlib.contextmanager
    def calling(self, server: str, tool: str) -> Any:
        call = _Call(_call_id.get(), tool, chat_model.get())
        self._calls.setdefault(server, []).append(call)
        try:
            yield call
        finally:
            self._calls[server].remove(call)


class _Session:
    """The SDK's view of the connection: the Client's session, except that calls that may
    need several rounds (``InputRequiredResult``) go through the Client's own loop."""

    def __init__(self, client: Any, side: ClientSide, server: str) -> None:
        self._client = client
        self._side = side
        self._server = server

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client.session, name)

    async def call_tool(
        self,
        name: str,
        arguments: dict[str, Any] | None = None,
        read_timeout_seconds: Any = None,
        progress_callback: Any = None,
        *,
        meta: Any = None,
        **_: Any,
    ) -> Any:
        with self._side.calling(self._server, name) as call:

            async def progress(done: float, total: float | None, message: str | None) -> None:
                event = ToolProgress(self._server, call.call_id, name, done, total, message or "")
                self._side.progress.emit(event)
                if progress_callback is not None:
                    await progress_callback(done, total, message)

            return await self._client.call_tool(
                name,
                arguments,
                read_timeout_seconds=read_timeout_seconds,
                progress_callback=progress,
                meta=meta,
            )

    async def get_prompt(self, name: str, arguments: dict[str, str] | None = None, **_: Any) -> Any:
        return await self._client.get_prompt(name, arguments)

    async def read_resource(self, uri: Any, **_: Any) -> Any:
        return await self._client.read_resource(str(uri))


#: A listen stream's event class name → the list it says changed (2026-07-28).
_LISTEN_EVENTS = {
    "ToolsListChanged": "tools",
    "PromptsListChanged": "prompts",
    "ResourcesListChanged": "resources",
}


async def _listen(client: Any, handler: answers.Handlers) -> None:
    """Follow a 2026-07-28 server's list changes, which it announces only to a
    ``subscriptions/listen`` stream (2025-11-25 servers send notifications instead, handled
    by `answers.Handlers.message`). A server that cannot listen, or a stream that ends, only
    stops the following: the connection itself is the supervisor's to judge."""
    from mcp.client.subscriptions import ListenNotSupportedError

    capabilities = client.server_capabilities
    wanted = {
        kind: bool(getattr(getattr(capabilities, kind, None), "list_changed", False))
        for kind in ("tools", "prompts", "resources")
    }
    if not any(wanted.values()):
        return
    try:
        async with client.listen(
            tools_list_changed=wanted["tools"],
            prompts_list_changed=wanted["prompts"],
            resources_list_changed=wanted["resources"],
        ) as subscription:
            async for event in subscription:
                kind = _LISTEN_EVENTS.get(type(event).__name__)
                if kind is not None:
                    handler.list_changed(kind)
    except ListenNotSupportedError:
        return  # 2025-11-25: notifications come on the connection instead
    except Exception as exc:  # noqa: BLE001 - a lost stream must not take the connection down
        log.info("%s: no longer following list changes: %s", handler.name, exc)


def client_info() -> Any:
    import mcp_types

    return mcp_types.Implementation(name=CLIENT_NAME, version=__version__)


@functools.cache
def studio_class(base: type) -> type:
    """``base`` (an agents-SDK server class) connecting through the studio's client."""

    class StudioServer(base):  # type: ignore[misc, valid-type]
        #: Set by the supervisor before each connect (`ServerEntry.server_for`).
        carrier_side: ClientSide | None = None
        carrier_run: Any = None

        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            # The SDK's hook before each tool call, in the task that makes it: it is where
            # the call's id (the chat's tool card) is known. It adds no _meta.
            self.tool_meta_resolver = _note_call_id

        def _client_session_context(self, read_timeout: Any) -> Any:
            return _studio_session(self, read_timeout)

    StudioServer.__name__ = StudioServer.__qualname__ = f"Studio{base.__name__}"
    return StudioServer


def _note_call_id(context: Any) -> None:
    _call_id.set(str(getattr(context.run_context, "tool_call_id", "") or ""))


@contextlib.asynccontextmanager
async def _studio_session(server: Any, read_timeout: Any) -> AsyncIterator[Any]:
    """The SDK's own v2 connection (a task owns the Client, so connect and cleanup share its
    cancel scopes), with the studio's Client instead of the bare one."""
    import mcp

    side: ClientSide = server.carrier_side or ClientSide()
    run = server.carrier_run
    entry = getattr(run, "entry", None)
    handler = answers.Handlers(server.name, side, entry)
    ready: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
    close = asyncio.Event()

    async def run_client() -> None:
        try:
            client = mcp.Client(
                server.create_streams(),
                mode=CONNECT_MODE,
                cache=None,
                read_timeout_seconds=read_timeout,
                message_handler=handler.message,
                client_info=client_info(),
                elicitation_callback=handler.elicit,
                sampling_callback=handler.sample,
                list_roots_callback=handler.list_roots,
                logging_callback=handler.log,
                log_level=LOG_LEVEL,
            )
            async with client as connected:
                handler.client = connected
                ready.set_result(_Session(connected, side, server.name))
                listener = asyncio.create_task(
                    _listen(connected, handler), name=f"mcp-listen:{server.name}"
                )
                try:
                    await close.wait()
                finally:
                    listener.cancel()
                    await asyncio.wait({listener})
        except BaseException as exc:
            if not ready.done():
                ready.set_exception(exc)
                return
            raise
        finally:
            handler.client = None

    task = asyncio.create_task(run_client(), name=f"mcp-client:{server.name}")
    try:
        try:
            session = await asyncio.shield(ready)
        except asyncio.CancelledError:
            ready.cancel()
            task.cancel()
            with contextlib.suppress(BaseException):
                await task
            raise
        except BaseException:
            await task
            raise
        try:
            yield session
        finally:
            close.set()
            try:
                await task
            except asyncio.CancelledError:
                task.cancel()
                with contextlib.suppress(BaseException):
                    await task
                raise
    finally:
        close.set()
