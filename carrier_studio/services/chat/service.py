"""Chat threads: a `ChatSession` bound to a stored conversation.

Everything a run produces is written to studio.db as it passes (user text first, so it is never
lost; tool cards, handoffs, approvals and errors as they happen; the answer and the SDK history
when the run ends), so a conversation reopens after a restart exactly as it was left — a run
paused for approvals included.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from carrier_studio.core import messages
from carrier_studio.core.characters.document import CharacterDoc
from carrier_studio.core.errors import CarrierError
from carrier_studio.core.mcp import ServerStatus
from carrier_studio.core.mcp.requests import ListChanged
from carrier_studio.core.runtime.memory_hooks import (
    RecallService,
)
from carrier_studio.core.sdk_import import import_modules
from carrier_studio.core.settings import WORKSPACE_DEFAULT, ConversationModel
from carrier_studio.services.characters import CharacterStore
from carrier_studio.services.chat.conversations import ConversationStore
from carrier_studio.services.chat.greeting import greet, greeting_choice, next_greeting
from carrier_studio.services.chat.mcp_tools import server_names, server_status
from carrier_studio.services.chat.thread import ChatThread, ThreadDeps
from carrier_studio.services.mcp import McpManager
from carrier_studio.services.platform.secrets import SecretStore
from carrier_studio.services.platform.settings_store import SettingsStore
from carrier_studio.services.providers import (
    ModelPlan,
    ProviderClients,
    check_choice,
    checked,
    choice_for,
    listing_endpoint,
    plan_for,
    windows_for,
)

log = logging.getLogger(__name__)

#: The modules a chat thread runs on (the agents SDK behind them).
CHAT_RUNTIME = ("carrier_studio.core.runtime.session", "carrier_studio.core.runtime.agent_factory")
#: Seconds before a server whose model list stated no window for a model is asked again.
ASK_WINDOW_AGAIN_S = 60.0
#: Seconds before a window a server stated is asked for again. A long-running bot or
#: `carrier-studio headless` would otherwise keep the first answer for good: llama.cpp
#: restarted with a smaller ``-c`` would refuse every reply until the process restarts. A
#: refusal as too long forgets the window at once (`forget_context_window`); this catches a
#: window that grew, or one shrunk without a refusal yet.
ASK_STATED_WINDOW_AGAIN_S = 600.0


class ChatService:
    def __init__(
        self,
        conversations: ConversationStore,
        characters: CharacterStore,
        settings: SettingsStore,
        secrets: SecretStore,
        mcp: McpManager | None = None,
        memory: RecallService | None = None,
        instagram: Any = None,
        clients: ProviderClients | None = None,
    ) -> None:
        self.conversations = conversations
        #: The provider clients the threads share (a new one if none is given); whoever
        #: built the service closes them once no thread runs (`Session.stop`).
        self.clients = clients if clients is not None else ProviderClients()
        #: The Instagram queue (a core.runtime.instagram_tool.PostQueuer): characters with
        #: Instagram turned on get the queue_instagram_post tool. None: no such tool.
        self.instagram = instagram
        #: Long-term memory: recalled before each turn, the turn stored after it. None: off.
        self.memory = memory
        #: Memory writes still running (awaited by `drain`, so shutdown loses none).
        self._remembering: set[asyncio.Task[None]] = set()
        #: MCP server starts asked for when a character was chosen (cancelled by `drain`).
        self._warming: set[asyncio.Future[Any]] = set()
        self.characters = characters
        self.settings = settings
        self.secrets = secrets
        self.mcp = mcp
        #: Open threads by conversation id, with how many users hold each: the Chat page and
        #: the Discord bot share one thread per conversation, so neither overwrites the
        #: other's history.
        self._threads: dict[int, list[Any]] = {}
        #: Each open conversation's own model choice as stored (the thread holds only the
        #: resolved model, which cannot tell "the workspace default" from a fixed choice).
        self._models: dict[int, ConversationModel] = {}
        #: Each endpoint's model list as last asked, by (base URL, model): when, and the
        #: windows it states (`learn_context_window`; an ask still running is shared).
        self._windows: dict[tuple[str, str], tuple[float, asyncio.Future[dict[str, int]]]] = {}
        if mcp is not None:
            # A server's new tools reach the open conversations' next message (#19 item 4).
            mcp.on_list_changed(self._on_list_changed)
            # A server that stopped, restarted or failed makes the next message look again.
            mcp.changed.subscribe(self._on_server_changed)
        self._thread_deps = ThreadDeps(
            conversations=conversations,
            settings=settings,
            secrets=secrets,
            mcp=mcp,
            memory=memory,
            remember_later=self.remember_later,
            instagram=instagram,
            characters_by_name=self.characters_by_name,
            release=self.release,
            clients=self.clients,
        )

    async def characters_by_name(self) -> dict[str, CharacterDoc]:
        entries = await asyncio.to_thread(self.characters.list)
        return {e.doc.name: e.doc for e in entries if e.doc is not None and e.error is None}

    async def pickable(self) -> dict[str, Path | None]:
        """The characters a chat can be with, by name, each with its avatar image (None when it
        has none): what a character box shows, from one read of the folder."""
        entries = await asyncio.to_thread(self.characters.list)
        return {e.doc.name: e.avatar for e in entries if e.doc is not None and e.error is None}

    async def warm(self, character: str) -> list[str]:
        """Start the MCP servers of ``character`` (and of those it hands off to) in the
        background, so its first message need not wait for them; returns their names.

        Nothing starts when the character's model cannot run here (no key, no endpoint): a
        chat that cannot run must not start servers for nothing.
        """
        docs = await self.characters_by_name()
        doc = docs.get(character)
        if doc is None:
            return []
        names = server_names(docs, doc)
        if self.mcp is None or not names:
            return names
        providers = self.settings.settings.providers
        try:
            await asyncio.to_thread(
                check_choice, choice_for(doc, providers), providers, self.secrets
            )
        except CarrierError:
            # None start, but each shows as it is ("not started"): unread, the catalogue had
            # no such server, and a fresh profile's card said "not in the MCP catalogue".
            with contextlib.suppress(CarrierError):  # a broken file: the MCP page says why
                await self.mcp.ensure_loaded()
            return names
        starting = asyncio.ensure_future(self.mcp.ensure(names))
        self._warming.add(starting)
        starting.add_done_callback(self._warming.discard)
        # A server that fails shows so in its status; the warm-up itself has nothing to say.
        starting.add_done_callback(lambda f: f.cancelled() or f.exception())
        return names

    def server_status(self, name: str) -> ServerStatus | None:
        """An MCP server's status now; None when the catalogue has no such server."""
        return server_status(self.mcp, name)

    def watch_servers(self, listener: Callable[[ServerStatus], None]) -> Callable[[], None]:
        """Call ``listener`` on every MCP server change; returns the way to stop."""
        if self.mcp is None:
            return lambda: None
        return self.mcp.changed.subscribe(listener)

    def _on_server_changed(self, status: ServerStatus) -> None:
        for thread, _users in self._threads.values():
            thread.server_changed(status.name)

    def _on_list_changed(self, change: ListChanged) -> None:
        if change.kind == "tools":
            for thread, _users in self._threads.values():
                thread.tools_changed(change.server)

    async def open(self, conversation_id: int) -> ChatThread:
        """The conversation's thread (shared with anyone who has it open); `close` releases it."""
        held = self._threads.get(conversation_id)
        if held is not None:
            held[1] += 1
            thread = held[0]
            thread.transcript = await self.conversations.transcript(conversation_id)
            return thread
        conversation = await self.conversations.get(conversation_id)
        transcript = await self.conversations.transcript(conversation_id)
        # A thread runs on the agents SDK. Imported here on the loop's thread, while the
        # window's warm-up was importing it in a worker, the UI froze on the import lock until
        # that finished (seconds; the first conversation of a fresh start stayed blank).
        await asyncio.to_thread(import_modules, *CHAT_RUNTIME)
        thread = ChatThread(self._thread_deps, conversation, transcript)
        self._threads[conversation_id] = [thread, 1]
        self._models[conversation_id] = conversation.model_choice
        if conversation.model_choice is not None:
            # Before prepare(), so the agent is built on the conversation's own model.
            plan = await self._plan(thread, conversation.model_choice)
            thread.model_override = plan.choice
        self._warm_memory(conversation.character)
        if conversation.pending_state:
            await thread.restore_pending()
        thread.prepare()
        return thread

    async def _plan(self, thread: ChatThread, choice: ConversationModel) -> ModelPlan:
        docs = await self.characters_by_name()
        doc = docs.get(thread.character) or CharacterDoc({"name": thread.character})
        return plan_for(doc, self.settings.settings.providers, choice)

    async def model_plans(self, thread: ChatThread) -> tuple[ModelPlan, ModelPlan, ModelPlan]:
        """For the Chat page's model box: what the character alone would run on, what the
        workspace default is, and what answers this conversation now, checked (with what
        stops it, if anything)."""
        docs = await self.characters_by_name()
        doc = docs.get(thread.character) or CharacterDoc({"name": thread.character})
        providers = self.settings.settings.providers
        own = plan_for(doc, providers)
        workspace = plan_for(doc, providers, WORKSPACE_DEFAULT)
        current = plan_for(doc, providers, self._models.get(thread.id))
        return own, workspace, await asyncio.to_thread(checked, current, providers, self.secrets)

    def model_choice(self, thread: ChatThread) -> ConversationModel:
        """The conversation's own model choice (None: its character decides)."""
        return self._models.get(thread.id)

    async def set_model(self, thread: ChatThread, choice: ConversationModel) -> None:
        """Run this conversation on ``choice`` from now on, and after a restart (the character
        file is not changed); None goes back to the character's model."""
        await self.conversations.set_model_choice(thread.id, choice)
        self._models[thread.id] = choice
        if choice is None:
            # No override at all, so the thread follows later edits of the character.
            thread.set_model(None)
        else:
            thread.set_model((await self._plan(thread, choice)).choice)

    def _warm_memory(self, character: str) -> None:
        """Have the character's memories ready before the first message (at a million
        memories, loading the index takes seconds)."""
        warm = getattr(self.memory, "warm", None)
        if warm is None:
            return

        async def go() -> None:
            try:
                await warm(character)
            except Exception:  # noqa: BLE001 - the first recall loads it anyway
                log.debug("warming memories of %s failed", character, exc_info=True)

        task = asyncio.ensure_future(go())
        self._remembering.add(task)
        task.add_done_callback(self._remembering.discard)

    async def drain(self) -> None:
        """Wait for the memories of finished turns to be written (called at shutdown)."""
        for starting in list(self._warming):
            starting.cancel()  # the servers stay under their supervisors; only the wait ends
        for _when, asking in self._windows.values():
            asking.cancel()  # an ask still running (at most listed_windows' 3 s)
        while self._remembering:
            await asyncio.gather(*list(self._remembering), return_exceptions=True)

    def remember_later(self, records: list[Any]) -> None:
        """Store a finished turn's memories in the background; a failure is reported once."""
        if self.memory is None or not records:
            return
        memory = self.memory

        async def write() -> None:
            try:
                await memory.remember(records)
            except Exception as exc:  # noqa: BLE001 - a memory failure must not break the chat
                messages.warning(f"This turn could not be stored in memory: {exc}")

        task = asyncio.ensure_future(write())
        self._remembering.add(task)
        task.add_done_callback(self._remembering.discard)

    def release(self, thread: ChatThread) -> bool:
        """One user less; True when nobody holds the thread any more."""
        held = self._threads.get(thread.id)
        if held is None or held[0] is not thread:
            return True
        held[1] -= 1
        if held[1] > 0:
            return False
        del self._threads[thread.id]
        self._models.pop(thread.id, None)
        return True

    # -- greetings (services/chat/greeting.py) -------------------------------------------------

    async def greet(self, conversation_id: int, character: str) -> bool:
        """Open a new conversation with its character's greeting (False: it has none)."""
        doc = (await self.characters_by_name()).get(character)
        return doc is not None and await greet(self.conversations, conversation_id, doc)

    async def greeting_choice(self, conversation_id: int, character: str) -> tuple[int, int] | None:
        """(the greeting showing, how many) while only a greeting was said; else None."""
        doc = (await self.characters_by_name()).get(character)
        if doc is None:
            return None
        return await greeting_choice(self.conversations, conversation_id, doc)

    async def next_greeting(self, conversation_id: int, character: str) -> bool:
        """Replace the greeting with the character's next one; reopen the thread after it."""
        doc = (await self.characters_by_name()).get(character)
        return doc is not None and await next_greeting(self.conversations, conversation_id, doc)

    async def learn_context_window(self, thread: ChatThread, *, cached: bool = False) -> None:
        """Ask an OpenAI-compatible server for its models' context windows (vLLM, LM Studio and
        llama.cpp state them in their model list), so the meter and the run use the served size
        rather than a guess. The official services' sizes are in the known table already.

        Args:
            cached: Take what an earlier ask of the same endpoint and model learned (the
                Discord bot, before each reply: one listing per endpoint and model, not per
                message). False asks again (the Chat page, as a conversation opens: a server
                restarted with another window is seen), and the answer is kept for the others.
        """
        choice = await self._model_of(thread)
        thread.context.listed = await self.context_windows(choice, cached=cached)

    async def forget_context_window(self, thread: ChatThread) -> None:
        """Drop what was learned of the window of ``thread``'s model: its server refused a
        request as longer than the window (restarted with a smaller one), so the next
        `learn_context_window` asks it again rather than fitting to the old size."""
        choice = await self._model_of(thread)
        endpoint = listing_endpoint(choice, self.settings.settings.providers)
        if endpoint is not None:
            self._windows.pop((str(endpoint.base_url), choice.model), None)

    async def _model_of(self, thread: ChatThread) -> Any:
        """The character's own model. Until its agent is built the thread knows only the
        default, so the characters are read then; once built (the bot's every reply after the
        first) the thread's doc serves, not a read of every character file per message."""
        # The thread's doc is private to it; read, never written, here (its deps are us).
        if thread.model_override is None and thread._character_doc is None:
            doc = (await self.characters_by_name()).get(thread.character)
            return thread.model_choice(doc)
        return thread.model_choice()

    async def context_windows(self, choice: Any, *, cached: bool = True) -> dict[str, int]:
        """The context windows the server of ``choice`` states, by model id ({} for a server
        that cannot list them): what `learn_context_window` learns, kept per endpoint and
        model, so a team run's members take what the chat or the bot learned (and the other
        way round) rather than asking again. ``cached`` as for `learn_context_window`."""
        endpoint = listing_endpoint(choice, self.settings.settings.providers)
        if endpoint is None:
            return {}
        key = (str(endpoint.base_url), choice.model)
        asked = self._windows.get(key)
        if not cached or asked is None or _ask_again(asked, choice.model):
            asked = (time.monotonic(), asyncio.ensure_future(self._ask_windows(choice)))
            self._windows[key] = asked
        # Shielded: a reply cancelled while it waits leaves the answer to the next one.
        return await asyncio.shield(asked[1])

    async def _ask_windows(self, choice: Any) -> dict[str, int]:
        providers = self.settings.settings.providers
        try:
            return await windows_for(choice, providers, self.secrets)
        except Exception:  # noqa: BLE001 - a window unknown is a guess, never a failed reply
            log.debug("asking %s for its context windows failed", choice, exc_info=True)
            return {}


def _ask_again(asked: tuple[float, asyncio.Future[dict[str, int]]], model: str) -> bool:
    """Whether an earlier ask of a server is out of date: an answer that states no window for
    ``model`` is asked again after `ASK_WINDOW_AGAIN_S` (a server still loading its model
    answers 503, one not yet started not at all), one that states it after
    `ASK_STATED_WINDOW_AGAIN_S` (the server may have restarted with another window)."""
    when, answer = asked
    if not answer.done():
        return False
    if answer.cancelled():
        return True
    limit = ASK_STATED_WINDOW_AGAIN_S if model in answer.result() else ASK_WINDOW_AGAIN_S
    return time.monotonic() - when >= limit
