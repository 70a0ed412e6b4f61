"""One open conversation (`ChatThread`): its turns, approvals and retries, all persisted.

A thread gets what it works with as `ThreadDeps` from the `ChatService` that opened it; it
stores every transcript item as it completes (core/runtime/transcript.py) and the SDK history
after each run, so a conversation survives a restart.
"""

# Long: one conversation's turn cycle (agent set-up, MCP tools, recall, persistence) shares
# the thread's state; the MCP tools went to mcp_tools.py, the agent set-up (_build_agent) is the
# next cut.

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

from carrier_studio.core import messages
from carrier_studio.core.characters.document import CharacterDoc
from carrier_studio.core.errors import CarrierError
from carrier_studio.core.mcp.requests import chat_model
from carrier_studio.core.runtime.attachments import Attachment
from carrier_studio.core.runtime.events import (
    ApprovalRequested,
    ChatEvent,
    Done,
    ErrorKind,
    MemoriesRecalled,
    RunError,
    ToolsUnavailable,
)
from carrier_studio.core.runtime.memory_hooks import (
    RecallService,
    context_block,
    memory_settings,
    min_score,
    recalled_event,
    turn_records,
    with_memory_block,
)
from carrier_studio.core.runtime.transcript import (
    ApprovalResult,
    AssistantText,
    Failure,
    Memories,
    Stored,
    ToolCall,
    TurnReducer,
    UserText,
    failure_of,
)
from carrier_studio.core.settings import ModelChoice, ProviderSettings
from carrier_studio.services.chat.context import ContextFit
from carrier_studio.services.chat.conversations import Conversation, ConversationStore
from carrier_studio.services.chat.mcp_tools import gather_tools, server_names
from carrier_studio.services.chat.recall import (
    RecallAhead,
    RecallKey,
    memories_version,
    recall_is_free,
)
from carrier_studio.services.mcp import McpManager
from carrier_studio.services.platform.secrets import SecretStore
from carrier_studio.services.platform.settings_store import SettingsStore
from carrier_studio.services.providers import (
    ProviderClients,
    check_choice,
    choice_for,
    classify_error,
)

log = logging.getLogger(__name__)

TITLE_LENGTH = 48
#: How long a message waits for memory recall before going without it.
RECALL_WAIT = 5.0
#: The longest a turn holds the writes it starts before its request (the user's message, the
#: title, the memories): they are released when the request goes, or after this at the latest.
HOLD_WRITES = 0.05


def _is_user(stored: Stored) -> bool:
    return isinstance(stored.item, UserText)


def _after(first: asyncio.Future[Any], then: Any) -> asyncio.Future[Any]:
    """A future for ``then`` (a coroutine) that runs once ``first`` is done."""

    async def chain() -> Any:
        await first
        return await then

    return asyncio.ensure_future(chain())


#: Leases of cancelled builds being handed back (a task nobody holds could be collected).
_HANDING_BACK: set[asyncio.Future[None]] = set()


def _hand_back(build: asyncio.Future[Any], leases: list[Any], clients: ProviderClients) -> None:
    """Hand back the clients a build that did not finish (cancelled, failed) leased, once its
    thread stops leasing: a replaced one then closes, not at the session's stop."""

    async def hand_back() -> None:
        await asyncio.gather(build, return_exceptions=True)
        for client in leases:
            await clients.release(client)

    task = asyncio.ensure_future(hand_back())
    _HANDING_BACK.add(task)
    task.add_done_callback(_HANDING_BACK.discard)


@dataclass(frozen=True)
class ThreadDeps:
    """What a `ChatThread` works with, handed in by `ChatService` (one per service)."""

    conversations: ConversationStore
    settings: SettingsStore
    secrets: SecretStore
    mcp: McpManager | None
    #: Long-term memory (None: off) and the way to store a turn's memories in the background.
    memory: RecallService | None
    remember_later: Callable[[list[Any]], None]
    #: The Instagram queue for the queue_instagram_post tool (None: no such tool).
    instagram: Any
    characters_by_name: Callable[[], Awaitable[dict[str, CharacterDoc]]]
    #: Tells the service one holder let the thread go; True when nobody holds it any more.
    release: Callable[[ChatThread], bool]
    #: The provider clients every conversation shares (their warm connections, #21).
    clients: ProviderClients


class ChatThread:
    """One open conversation: send, retry, cancel, resolve approvals; all of it persisted."""

    def __init__(
        self, deps: ThreadDeps, conversation: Conversation, transcript: list[Stored]
    ) -> None:
        self._deps = deps
        self.conversation = conversation
        #: The conversation as stored when it was opened (the page draws it).
        self.transcript = transcript
        self.model_override: ModelChoice | None = None
        self.pending: list[ApprovalRequested] = []
        self._agent: Any = None
        #: The agent the session's runs start with: the one this turn got from
        #: `_ensure_agent`, so an agent dropped while the turn sets up (a model switch during
        #: its memory recall) is not the None it runs on.
        self._run_agent: Any = None
        #: Shared HTTP clients the current agents' models lease (`ProviderClients`); those of
        #: replaced agents are handed back once no run can still use them (a run goes on with
        #: the agent it started with). The thread never closes one: others use it too.
        self._clients: list[Any] = []
        #: The provider settings they were leased with (the oldest, if a save came between).
        self._leased_with: Any = None
        self._retired: list[Any] = []
        self._rebuild_agent = False
        self._user_write: asyncio.Future[int] | None = None
        #: Writes a turn started before its request, held until it goes (`_release_writes`):
        #: redacting and encoding them cost the loop ~2 ms the request waited for (#21).
        self._held: list[Awaitable[Any]] = []
        self._hold_timer: asyncio.TimerHandle | None = None
        #: This turn's recall, running while the SDK sets the run up; the model-input filter
        #: awaits it. And a recall started while the user typed (`recall_ahead`).
        self._recalling: asyncio.Future[MemoriesRecalled | None] | None = None
        self._ahead = RecallAhead()
        #: Set by the model-input filter: this turn's request is on its way.
        self._request_sent = asyncio.Event()
        self._building: asyncio.Future[None] | None = None
        self._turn = asyncio.Lock()
        self._closed = False
        #: The MCP server objects the agent's tools call, to notice a server restarted.
        self._mcp_servers: dict[str, int] = {}
        self._mcp_waiting = False
        #: Servers whose tools changed since the agent was built (#19: list_changed).
        self._mcp_tools_changed: set[str] = set()
        #: Servers whose state changed since the agent was built (stopped, restarted, failed):
        #: only then does a message ask the manager again (~1.5 ms of the loop, #21).
        self._mcp_state_changed: set[str] = set()
        #: The character's MCP servers whose tools the agent lacks, with why; and what the
        #: transcript was last told, so a broken server is said once, not at every message.
        self.unavailable: dict[str, str] = {}
        self._told_unavailable: dict[str, str] = {}
        #: Set by `stop_waiting`: the message goes on without the servers still starting.
        self._go_on = asyncio.Event()
        #: The character as last read, so labels and run records name its own model.
        self._character_doc: CharacterDoc | None = None
        #: This turn's recalled memories as instructions text, and what the turn was about, so
        #: a run that finishes after approvals still stores its turn.
        self._memory_block = ""
        self._turn_memory: tuple[str, str, str | None] | None = None
        #: The request against the model's context window: each model call is sent without
        #: the oldest turns that no longer fit (services/chat/context.py).
        #: The names of the tools each MCP server gave the agent (for `ContextFit.fitted_agent`).
        self._mcp_tool_names: dict[str, list[str]] = {}
        self.context = ContextFit(
            lambda: self.model_choice().model,
            lambda: self._agent,
            lambda: self.session.history,
            lambda: self._mcp_tool_names,
        )
        # The agents SDK costs ~3.7 s of imports: the session imports it when a conversation
        # opens, so the studio's first screen (which builds ChatService) never waits for it.
        from carrier_studio.core.runtime.session import ChatSession

        self.session = ChatSession(
            lambda: self._run_agent,
            classify_error,
            history=conversation.history,
            run_config=self._run_config,  # built per run: the tracing setting may change
            on_response=self._on_response,
        )

    @property
    def id(self) -> int:
        return self.conversation.id

    @property
    def character(self) -> str:
        return self.conversation.character

    def _run_config(self) -> Any:
        from agents import RunConfig

        tracing = self._deps.settings.settings.providers.openai_tracing
        return RunConfig(
            tracing_disabled=not tracing,
            workflow_name="Carrier Studio chat",
            call_model_input_filter=self.context.wrap(self._with_memories),
        )

    async def _with_memories(self, data: Any) -> Any:
        """Give the character this turn's recalled memories, in its instructions only (the
        history stays as it was said; other agents in a handoff get their own prompt). The
        recall ran while the SDK set the run up."""
        recalling = self._recalling
        if recalling is not None and not recalling.done():
            await asyncio.wait({recalling})  # a cancelled one sends no memories
        if data.agent.name != self.character:
            return data.model_data
        return with_memory_block(data.model_data, self._memory_block)

    def model_choice(self, doc: CharacterDoc | None = None) -> ModelChoice:
        """The model this conversation runs on: the switcher's choice, else the character's."""
        providers = self._deps.settings.settings.providers
        if self.model_override is not None:
            return self.model_override
        if doc is None and self._character_doc is not None:
            doc = self._character_doc
        return choice_for(doc or CharacterDoc({"name": self.character}), providers)

    def set_model(self, choice: ModelChoice | None) -> None:
        """Use another model for this conversation (the character file is not changed)."""
        self.model_override = choice
        self._drop_agent()
        self.prepare()  # build the new agent now, not when the next message is sent

    def _drop_agent(self) -> None:
        """Build the agent again before the next turn. The build under way (or finished, from
        `prepare`) is of the old agent: it goes too, so no turn awaits it and finds None."""
        self._agent = None
        if self._building is not None:
            self._building.cancel()  # a no-op on a finished build
            self._building = None

    async def close(self) -> None:
        """Let go of the thread; the last holder closes its model clients (everything is
        already saved)."""
        if not self._deps.release(self):
            return
        self._closed = True  # a turn awaiting the build cancelled below does not build again
        self.session.cancel()
        if self._building is not None:
            self._building.cancel()
            await asyncio.gather(self._building, return_exceptions=True)
            self._building = None
        self._ahead.cancel()
        self._release_writes()
        if self._user_write is not None:
            await self._user_write
            self._user_write = None
        self._retired += self._clients
        self._clients = []
        await self._release_retired()

    async def _release_retired(self) -> None:
        retired, self._retired = self._retired, []
        for client in retired:
            await self._deps.clients.release(client)

    def prepare(self) -> None:
        """Start building the agent now, so the first message does not wait for it."""
        if self._agent is None and self._building is None:
            self._building = asyncio.ensure_future(self._build_agent())
            # A failure here is reported when the user sends, not as an orphan exception.
            self._building.add_done_callback(lambda f: f.cancelled() or f.exception())

    async def _ensure_agent(self) -> Any:
        """The current agent, built (or its build awaited) if there is none. A build replaced
        while awaited (`_drop_agent`: a model switch, a remembered policy) is not this turn's
        failure: the turn waits for the new one."""
        if self._agent is not None and await self._mcp_changed():
            # A server restarted (its tools must call the new connection) or changed its tools.
            self._drop_agent()
        deps = self._deps
        providers = deps.settings.settings.providers
        if self._agent is not None:
            if await deps.clients.current(self._clients, providers, deps.secrets):
                self._leased_with = providers  # still what these settings get
            else:
                self._drop_agent()  # a key or endpoint changed: the old key is not sent again
        while self._agent is None:
            if self._building is None:
                self._building = asyncio.ensure_future(self._build_agent())
            building = self._building
            try:
                # Shielded: a cancelled turn leaves the build for the next one.
                await asyncio.shield(building)
            except asyncio.CancelledError:
                if self._closed or building is self._building or not building.cancelled():
                    raise  # the turn itself was cancelled, or the thread closed
            finally:
                if self._building is building and building.done():
                    self._building = None
        if self._leased_with is not deps.settings.settings.providers:
            # Settings were saved after the build leased (or while this waited): check again.
            return await self._ensure_agent()
        return self._agent

    async def _build_agent(self) -> None:
        # Not closed here: a turn may still run on the old agent (a model switch mid-turn).
        self._retired += self._clients
        self._clients = []
        service = self._deps
        docs = await service.characters_by_name()
        doc = docs.get(self.character)
        self._character_doc = doc
        if doc is None:
            raise CarrierError(
                f'the character "{self.character}" no longer exists or cannot be read',
                hint="Restore it on the Characters page, or start a conversation with another.",
            )
        remembered = {name: await service.conversations.remembered(name) for name in docs}
        providers = service.settings.settings.providers
        # This build's leases: the thread adopts them only if the build is not cancelled.
        leases: list[Any] = []
        leased_with: list[ProviderSettings] = []

        def resolve(character: CharacterDoc) -> Any:
            # The settings as they are now, not as the build began (a save while it waited
            # for the MCP servers): the newest key and base URL, checked against nothing older.
            providers = service.settings.settings.providers
            choice = (
                self.model_choice(character)
                if character.name == self.character
                else choice_for(character, providers)
            )
            model, settings, client = service.clients.agents_model(
                choice, providers, service.secrets
            )
            leases.append(client)
            leased_with.append(providers)
            return model, settings

        if providers.openai_tracing:
            # The user opted in to trace upload: the SDK's exporter needs the key explicitly,
            # since ours lives in the keyring, not in the environment.
            from agents import set_tracing_export_api_key

            key = await asyncio.to_thread(service.secrets.get, "OPENAI_API_KEY")
            if key:
                set_tracing_export_api_key(key)
        # A chat that cannot run (no key, no endpoint) must not start MCP servers for nothing.
        await asyncio.to_thread(check_choice, self.model_choice(doc), providers, service.secrets)
        mcp_tools = await self._mcp_tools(docs, doc)
        workspace_policy = await service.conversations.workspace_policies()
        instagram_tool = None
        if service.instagram is not None:
            from carrier_studio.core.runtime.instagram_tool import make_queue_post_tool

            instagram_tool = make_queue_post_tool(service.instagram)
        from carrier_studio.core.runtime.agent_factory import AgentFactory

        factory = AgentFactory(
            resolve,
            docs,
            remembered,
            mcp_tools=mcp_tools,
            workspace_policy=workspace_policy,
            instagram_tool=instagram_tool,
        )
        # Building reads keys from the keyring, which may block: off the event loop. It goes
        # on in its thread if this build is cancelled: its leases are handed back after it.
        build = asyncio.ensure_future(asyncio.to_thread(factory.build, doc))
        try:
            agent = await asyncio.shield(build)
        except BaseException:
            _hand_back(build, leases, service.clients)
            raise
        self._clients, self._agent = leases, agent
        self._leased_with = leased_with[0] if leased_with else providers
        # Not warmed here, as every opened conversation was: the warm-ups of conversations
        # closed at once (tests open dozens) left sockets to the garbage collector in CI. The
        # person's typing warms the connection (`recall_ahead`).
        # Fitted to the window now, while the person types, not when they send (~1 ms, more
        # with MCP servers and handoffs); a window learned later fits it again.
        self.context.fitted_agent(self._agent)

    async def _mcp_tools(self, docs: dict[str, CharacterDoc], doc: CharacterDoc) -> dict:
        """The tools of the character's MCP servers that run: a failed server is left out at
        once, one still starting is waited for (visibly: the page shows each server's state)
        up to MCP_START_WAIT or until `stop_waiting`, and the next message looks again."""
        self._go_on.clear()
        self._mcp_tools_changed.clear()  # listed now; a change from here on is noticed
        self._mcp_state_changed.clear()
        found = await gather_tools(self._deps.mcp, server_names(docs, doc), self._go_on)
        self._mcp_waiting = found.starting
        self._mcp_servers = found.servers
        self.unavailable = found.unavailable
        self._mcp_tool_names = {
            server: [tool.name for tool in tools] for server, tools in found.tools.items()
        }
        return found.tools

    def stop_waiting(self) -> None:
        """Go on now without the MCP servers that are still starting (the page's button)."""
        self._go_on.set()

    def tools_changed(self, server: str) -> None:
        """``server`` says its tools changed: the next message's agent has the new ones (the
        connection stays; only the agent is built again)."""
        self._mcp_tools_changed.add(server)

    def server_changed(self, server: str) -> None:
        """``server``'s state changed (McpManager.changed): the next message checks whether
        the agent's tools still call a running connection."""
        self._mcp_state_changed.add(server)

    async def _mcp_changed(self) -> bool:
        manager = self._deps.mcp
        if self._mcp_tools_changed & set(self._mcp_servers):
            self._mcp_tools_changed.clear()
            return True
        if manager is not None and self._mcp_waiting:
            return True  # servers were still starting last time: look again
        if manager is not None and any(n in manager.active for n in self.unavailable):
            return True  # a server that was down runs now: its tools can be had
        if manager is None or not self._mcp_servers:
            return False
        if not self._mcp_state_changed & set(self._mcp_servers):
            return False  # each is the connection the agent was built with, still running
        self._mcp_state_changed.clear()
        current = await manager.ensure(sorted(self._mcp_servers))
        return {s.name: id(s) for s in current} != self._mcp_servers

    async def restore_pending(self) -> None:
        try:
            # Resumed as it was sent: without the tools a small window left out.
            self._run_agent = self.context.fitted_agent(await self._ensure_agent())[0]
        except CarrierError:
            # No key or endpoint yet: keep the paused run for when there is one.
            self.pending = []
            return
        try:
            self.pending = await self.session.restore_pending(self.conversation.pending_state or "")
        except Exception as exc:  # noqa: BLE001 - an unreadable paused run must not block the chat
            self.pending = []
            failure = Failure(
                f"A paused run could not be resumed: {exc}", "Send the message again."
            )
            await self._deps.conversations.add_item(self.id, failure)
            await self._deps.conversations.save_history(self.id, self.session.history, None)

    # -- turns ------------------------------------------------------------------------------

    async def send(
        self,
        text: str,
        *,
        client: str = "chat",
        speaker: str | None = None,
        attachments: tuple[Attachment, ...] = (),
    ) -> AsyncIterator[ChatEvent]:
        """Run one user turn. ``client`` and ``speaker`` say where the message came from (the
        chat page, or a Discord user) for the memories the turn leaves; ``attachments`` go to
        the model as input parts and are stored with the message."""
        store = self._deps.conversations
        self._turn_memory = (text, client, speaker)
        # Stored before anything else can fail, so the user's text is never lost; but the
        # request does not wait for it: the turn's own items are stored after it (`_written`),
        # and the writes start once the request has gone (`_hold_writes`).
        self._hold_writes()
        self._write_later(store.add_item(self.id, UserText(text, attachments=attachments)))
        if self.conversation.title == "New conversation":
            title = " ".join(text.split())[:TITLE_LENGTH] or "New conversation"
            self._write_later(store.rename(self.id, title))
            self.conversation = Conversation(
                self.id, self.character, title, self.conversation.history, None
            )
        async for event in self._guarded(lambda: self.session.send(text, attachments), recall=text):
            yield event

    async def retry(self) -> AsyncIterator[ChatEvent]:
        """Answer the last user message again. The previous answer stays as an alternative
        (core/runtime/branches.py), unless it failed before saying anything: that one goes."""
        store = self._deps.conversations
        stored = await store.transcript(self.id)
        at = next((i for i in range(len(stored) - 1, -1, -1) if _is_user(stored[i])), None)
        if at is None:
            return
        last, reply = stored[at], stored[at + 1 :]
        text, files = last.item.text, last.item.attachments
        if reply and not any(isinstance(s.item, AssistantText | ToolCall) for s in reply):
            await store.delete_branch(self.id, reply[0].id)
        await store.branch_from(self.id, last.id)
        await self._go_on_from(await store.parent_of(self.id, last.id))
        # The user's message was stored in memory with the first answer; only the new answer
        # is stored this time.
        self._turn_memory = ("", "chat", None)
        async for event in self._guarded(lambda: self.session.send(text, files), recall=text):
            yield event

    async def edit(self, message_id: int, text: str) -> AsyncIterator[ChatEvent]:
        """Send ``text`` in place of the user message ``message_id``: it and what followed it
        stay as the other branch, and the model sees only what came before it."""
        store = self._deps.conversations
        parent = await store.parent_of(self.id, message_id)
        await store.branch_from(self.id, parent)
        await self._go_on_from(parent)
        async for event in self.send(text):
            yield event

    async def _go_on_from(self, message_id: int | None) -> None:
        """The session goes on with the history after ``message_id``; a run paused on the old
        branch is dropped now, not left to be restored after a restart."""
        store = self._deps.conversations
        history = await store.history_at(self.id, message_id)
        self.session.start_over(history)
        self.pending = []
        await store.save_history(self.id, history, None)

    async def switch(self, message_id: int) -> list[Stored]:
        """Show the alternative ``message_id`` (its newest branch) and go on from it: the model
        sees that branch next. Returns the transcript to draw."""
        store = self._deps.conversations
        leaf = await store.switch_to(self.id, message_id)
        history = await store.history_at(self.id, leaf)
        self.session.start_over(history)
        self.pending = []
        await store.save_history(self.id, history, None)
        self.transcript = await store.transcript(self.id)
        return self.transcript

    async def resolve(
        self, decisions: dict[str, bool], remember: dict[str, bool] | None = None
    ) -> AsyncIterator[ChatEvent]:
        store = self._deps.conversations
        for request in self.pending:
            approved = decisions.get(request.approval_id, False)
            result = ApprovalResult(request.tool, approved, request.approval_id, request.agent)
            await store.add_item(self.id, result)
            if (remember or {}).get(request.approval_id):
                await store.remember(request.agent, request.tool, "auto" if approved else "off")
                # The paused run goes on with its agent; the next turn's agent is rebuilt with
                # the remembered policy.
                self._rebuild_agent = True
        self.pending = []
        async for event in self._guarded(lambda: self.session.resolve(decisions)):
            yield event

    def cancel(self) -> None:
        self.session.cancel()

    # -- persistence ------------------------------------------------------------------------

    def recall_ahead(self, text: str) -> None:
        """Recall for ``text`` now (the page asks after a pause in typing): a message then sent
        with exactly this text uses it while the memories are unchanged, any other text
        recalls afresh. Only when recalling costs no request (the local store and embedder)."""
        self._deps.clients.warm(self._clients)  # typing: the send follows (#21)
        memory, doc = self._deps.memory, self._character_doc
        if memory is None or doc is None or not text or not recall_is_free(memory):
            return
        enabled, limit = memory_settings(doc.section("memory"))
        if not enabled:
            return
        room, character = str(self.id), self.character
        self._ahead.start(
            RecallKey(character, text, room, "chat", limit, memories_version(memory)),
            lambda: memory.recall(character, text, room=room, limit=limit, client="chat"),
        )

    async def _recall(self, text: str) -> MemoriesRecalled | None:
        """This turn's memories (None when memory is off for the character or unavailable)."""
        memory = self._deps.memory
        doc = self._character_doc
        self._memory_block = ""
        if memory is None or doc is None:
            return None
        enabled, limit = memory_settings(doc.section("memory"))
        if not enabled:
            return None
        try:
            client = self._turn_memory[1] if self._turn_memory else "chat"
            room = str(self.id)
            key = RecallKey(self.character, text, room, client, limit, memories_version(memory))
            ahead = self._ahead.take(key)
            hits = await asyncio.wait_for(
                ahead
                if ahead is not None
                else memory.recall(self.character, text, room=room, limit=limit, client=client),
                RECALL_WAIT,
            )
        except Exception as exc:  # noqa: BLE001 - the chat goes on without memories
            messages.warning(f"Memories could not be recalled for this message: {exc}")
            return None
        recalled = recalled_event(self.character, hits, min_score(doc.section("memory")))
        self._memory_block = context_block(recalled)
        if not recalled.memories:
            return None  # nothing to show: no card in the transcript
        # Stored after the user's message, while the request is on its way.
        self._write_later(
            self._deps.conversations.add_item(self.id, Memories(recalled.memories, self.character))
        )
        return recalled

    def _write_later(self, write: Awaitable[Any]) -> None:
        """Store ``write`` after the writes this turn started before it, without waiting: the
        model's request goes first, and `_written` is awaited before the reply is stored.
        While the turn holds its writes (`_hold_writes`) it waits for `_release_writes`."""
        if self._hold_timer is not None:
            self._held.append(write)
        elif self._user_write is None:
            self._user_write = asyncio.ensure_future(write)
        else:
            self._user_write = _after(self._user_write, write)

    def _on_response(self) -> None:
        """The model's response started (or HOLD_WRITES passed): its request has gone. The
        writes held for it go now and the memory card is drawn (under anyio's checkpoints they
        ran before the request was written when released as the model-input filter ran). A
        local model may think for seconds before its first chunk: the card shows meanwhile."""
        self._release_writes()
        self._request_sent.set()

    def _hold_writes(self) -> None:
        """Hold this turn's writes until its request goes (at most HOLD_WRITES): started at
        once, they ran on the loop between the SDK's set-up steps, before the request."""
        if self._hold_timer is None:
            self._hold_timer = asyncio.get_running_loop().call_later(HOLD_WRITES, self._on_response)

    def _release_writes(self) -> None:
        if self._hold_timer is not None:
            self._hold_timer.cancel()
            self._hold_timer = None
        held, self._held = self._held, []
        for write in held:
            self._write_later(write)

    async def _written(self) -> None:
        """Wait for the writes `_write_later` started (the user's message, the title, the
        recalled memories), so what the reply stores comes after them."""
        recalling = self._recalling
        if recalling is not None and not recalling.done():
            # The run ended before its request (the filter awaits the recall): the memories
            # were not sent, and the turn need not wait for them.
            recalling.cancel()
        self._release_writes()
        if self._user_write is not None:
            await self._user_write
            self._user_write = None

    def _remember_turn(self, done: Done) -> None:
        if self._turn_memory is None or not done.completed:
            return
        doc = self._character_doc
        if doc is None or not memory_settings(doc.section("memory"))[0]:
            return
        text, client, speaker = self._turn_memory
        self._turn_memory = None
        self._deps.remember_later(
            turn_records(
                self.character,
                text,
                done.final_text,
                client=client,
                room=str(self.id),
                speaker=speaker,
            )
        )

    async def _guarded(self, start: Any, recall: str | None = None) -> AsyncIterator[ChatEvent]:
        """Run a turn with the agent ready, one turn at a time per conversation (the bot and
        the page may share it); a setup failure is a RunError like any other."""
        async with self._turn:
            recalling: asyncio.Future[MemoriesRecalled | None] | None = None
            try:
                building = self._building is not None and not self._building.done()
                if self._agent is None or building or self._mcp_waiting:
                    self._release_writes()  # it may wait for MCP servers: store the message now
                agent = await self._ensure_agent()
                # A small window may not hold every MCP server's tools beside a conversation.
                self._run_agent, left_out = self.context.fitted_agent(agent)
                unavailable = {**self.unavailable, **left_out}
                if unavailable != self._told_unavailable:
                    self._told_unavailable = dict(unavailable)
                    if unavailable:
                        yield ToolsUnavailable(tuple(sorted(unavailable.items())))
                self._request_sent = asyncio.Event()
                if recall is not None:
                    # Recalled while the SDK sets the run up; its model-input filter waits.
                    recalling = self._recalling = asyncio.ensure_future(self._recall(recall))
                # A server's sampling request during this run's tool calls runs on its model.
                chat_model.set(self.model_choice())
                stream = start()
            except (CarrierError, ValueError) as exc:
                error = (
                    classify_error(exc)
                    if isinstance(exc, CarrierError)
                    else RunError(ErrorKind.OTHER, str(exc))
                )
                error = self._redacted(error)
                await self._store_error(error)
                yield error
                yield Done("", self.character, completed=False)
                return
            except BaseException:
                self._release_writes()  # a cancelled set-up holds nothing back
                raise
            try:
                events = self._persisted(stream)
                if recalling is not None:
                    events = self._recalled_first(events, recalling)
                async for event in events:
                    yield event
            finally:
                if recalling is not None and not recalling.done():
                    recalling.cancel()
                self._release_writes()

    async def _recalled_first(
        self, events: AsyncIterator[ChatEvent], recalling: asyncio.Future[Any]
    ) -> AsyncIterator[ChatEvent]:
        """The run's events, after the turn's recalled memories: those go to the page once the
        request is on its way (the card is drawn while the model thinks), or before the run's
        first event if that comes first (a run that failed before its request)."""

        async def first() -> ChatEvent:
            return await anext(events)

        upcoming = asyncio.ensure_future(first())
        sent = asyncio.ensure_future(self._request_sent.wait())
        try:
            await asyncio.wait({upcoming, sent}, return_when=asyncio.FIRST_COMPLETED)
            await asyncio.wait({recalling})
            if not recalling.cancelled() and recalling.exception() is None:
                recalled = recalling.result()
                if recalled is not None:
                    yield recalled
            try:
                event = await upcoming
            except StopAsyncIteration:
                return
            yield event
            async for event in events:
                yield event
        finally:
            sent.cancel()
            upcoming.cancel()  # a no-op once done; else the run stops with its consumer

    def _redacted(self, error: RunError) -> RunError:
        """The error as the page may show it: the store's redaction, on screen too."""
        redact = self._deps.conversations.redact
        return replace(error, message=redact(error.message), hint=redact(error.hint))

    async def _store_error(self, error: RunError) -> None:
        await self._written()
        await self._deps.conversations.add_item(self.id, failure_of(error))

    async def _persisted(self, stream: AsyncIterator[ChatEvent]) -> AsyncIterator[ChatEvent]:
        """Pass the run's events on, storing each transcript item as soon as it is complete."""
        store = self._deps.conversations
        started_at = datetime.now(UTC).isoformat(timespec="milliseconds")
        clock = time.monotonic()
        turn = TurnReducer(self.character)
        status, error_text = "completed", None
        self.context.left_out = 0  # this run's model calls say what they went without
        async for event in stream:
            if isinstance(event, RunError):
                event = self._redacted(event)  # a provider error may echo the key it was sent
            if isinstance(event, Done):
                turn.left_out = self.context.left_out  # kept with the reply, for the marker
            items = turn.feed(event)
            if items or isinstance(event, Done):
                await self._written()  # the request went first; the turn is stored in order
            for item in items:
                await store.add_item(self.id, item)
            if isinstance(event, ApprovalRequested):
                self.pending.append(event)
            elif isinstance(event, RunError):
                status, error_text = "failed", event.message
            elif isinstance(event, Done):
                if self._rebuild_agent and not event.pending_approvals:
                    self._rebuild_agent = False
                    self._drop_agent()
                if not event.pending_approvals:
                    await self._release_retired()  # the run is over: nothing uses them now
                if event.cancelled:
                    status = "cancelled"
                elif event.pending_approvals:
                    status = "waiting"
                await store.save_history(
                    self.id, self.session.history, self.session.pending_state()
                )
                await store.record_run(
                    self.id,
                    started_at=started_at,
                    duration_ms=int((time.monotonic() - clock) * 1000),
                    agent=event.agent,
                    model=self.model_choice().model,
                    status=status,
                    input_tokens=turn.input_tokens,
                    output_tokens=turn.output_tokens,
                    error=error_text,
                )
                self._remember_turn(event)
            yield event
