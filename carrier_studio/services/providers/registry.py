"""The provider registry: each provider module registered once, looked up by name.

Everything that needs a model goes through here: `check_choice` before starting anything for a
chat, `text_model` for plain completions, `agents_model` for chats, `choice_for` to read a
character's own model. Adding a provider is one module implementing `ModelProvider` (see
openai.py) and one `register` line below; its name also goes in `core.settings.PROVIDERS`, the
table settings and character files are validated against.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import importlib
import logging
import threading
import time
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field, replace
from typing import Any, TypeVar

from carrier_studio.core.characters.document import CharacterDoc
from carrier_studio.core.errors import ProviderError
from carrier_studio.core.settings import (
    DEFAULT_MODELS,
    PROVIDERS,
    WORKSPACE_DEFAULT,
    ConversationModel,
    ModelChoice,
    ProviderSettings,
    character_temperature,
    named_provider,
    provider_key,
)
from carrier_studio.services.platform.secrets import SecretStore
from carrier_studio.services.providers.anthropic import AnthropicProvider
from carrier_studio.services.providers.base import ModelProvider, TextModel, http_client
from carrier_studio.services.providers.compatible import CompatibleProvider
from carrier_studio.services.providers.openai import OpenAIProvider

T = TypeVar("T")

log = logging.getLogger(__name__)

#: Seconds after its last answer a shared client is warmed again when a conversation opens or
#: the person types (`ProviderClients.warm`): servers close idle connections on their own.
WARM_AFTER_S = 20.0
#: How long a closing client waits for its warm-up's one HEAD to end (`_settle_warming`).
WARM_SETTLE_S = 1.0

_REGISTRY: dict[str, ModelProvider] = {}


def register(provider: ModelProvider) -> None:
    _REGISTRY[provider.name] = provider


register(OpenAIProvider())
register(AnthropicProvider())
register(CompatibleProvider())


def provider_named(name: str) -> ModelProvider:
    try:
        return _REGISTRY[name]
    except KeyError:
        known = ", ".join(sorted(_REGISTRY))
        raise ProviderError(
            f"there is no model provider named {name!r} (known: {known})",
            hint="Pick a provider under Settings or in the character's model section.",
        ) from None


def check_choice(choice: ModelChoice, providers: ProviderSettings, secrets: SecretStore) -> None:
    """Raise ProviderError if ``choice`` cannot work (no model, no key, unknown endpoint), before
    anything is started for it."""
    if not choice.model.strip():
        raise ProviderError("no model is chosen", hint="Pick a default model under Settings.")
    provider_named(choice.provider).check(choice, providers, secrets)


def _connect(
    choice: ModelChoice, providers: ProviderSettings, secrets: SecretStore
) -> tuple[ModelProvider, Any, str]:
    check_choice(choice, providers, secrets)
    provider = provider_named(choice.provider)
    client, label = provider.connect(choice, providers, secrets)
    return provider, client, label


def text_model(choice: ModelChoice, providers: ProviderSettings, secrets: SecretStore) -> TextModel:
    """The model ``choice`` names, for plain completions (the character builder)."""
    provider, client, label = _connect(choice, providers, secrets)
    return provider.text_model(client, choice, label)


async def with_text_model(
    choice: ModelChoice,
    providers: ProviderSettings,
    secrets: SecretStore,
    work: Callable[[TextModel], Awaitable[T]],
) -> T:
    """Run ``work`` on a text model for ``choice`` and close the model after it. Reading the key
    (a keyring call) and importing the provider SDK happen off the event loop."""
    model = await asyncio.to_thread(text_model, choice, providers, secrets)
    try:
        return await work(model)
    finally:
        await model.close()


def agents_model(
    choice: ModelChoice, providers: ProviderSettings, secrets: SecretStore
) -> tuple[Any, Any, Any]:
    """An `agents.Model`, its `ModelSettings` and a new HTTP client (the caller closes it).
    Conversations share theirs instead (`ProviderClients`).

    Raises ProviderError when the choice cannot work (no key, unknown endpoint).
    """
    provider, client, _label = _connect(choice, providers, secrets)
    model, settings = provider.agents_model(client, choice)
    return model, settings, client


@dataclass(eq=False)
class _Shared:
    client: Any
    #: The choice it was made for, to see whether its key or endpoint changed since.
    choice: ModelChoice
    identity: tuple[str, str | None, str]
    #: How many agents hold it; a replaced client closes when the last lets go.
    leases: int = 0
    replaced: bool = False
    #: Its HTTP client, and when it last had an answer (monotonic; 0: never).
    http: Any = None
    answered: float = 0.0
    warming: asyncio.Future[None] | None = None

    async def heard(self, _response: Any) -> None:
        self.answered = time.monotonic()


@dataclass(eq=False)
class ProviderClients:
    """The provider clients conversations share: one per provider, base URL and key (by its
    fingerprint), so a new conversation, or an agent rebuilt, sends its first request on a
    connection an earlier one left open instead of paying a new TCP and TLS handshake (#21).

    The composition root owns it (`Session`: closed at stop, after the chat). An agent leases
    its client (`agents_model`) and hands it back (`release`) when no run uses it any more. A
    changed key or endpoint gets a new client; the old one is replaced at once (no new agent
    gets it; `current` tells holders to rebuild) and closed when its last holder lets go, so
    the old key is not sent again.
    """

    _shared: dict[tuple[str, str | None, str], _Shared] = field(default_factory=dict)
    _replaced: list[_Shared] = field(default_factory=list)
    #: `agents_model` runs in worker threads (it reads keys); the rest on the loop.
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _check_lock: threading.Lock = field(default_factory=threading.Lock)
    #: The provider settings the keys were last checked against (`_checked_for`), and the
    #: check under way: one per settings object, which every caller meanwhile awaits.
    _checked: ProviderSettings | None = None
    _checking: tuple[ProviderSettings, concurrent.futures.Future[None]] | None = None
    #: Every provider settings object seen, oldest first: a build that read them before a
    #: save must not check (and evict) against them once newer ones were checked.
    _seen: list[ProviderSettings] = field(default_factory=list)
    _closed: bool = False

    def agents_model(
        self, choice: ModelChoice, providers: ProviderSettings, secrets: SecretStore
    ) -> tuple[Any, Any, Any]:
        """An `agents.Model`, its `ModelSettings` and the shared client it uses, leased: hand
        it back with `release`, never close it. Reads keys (the keyring): call it in a thread.

        Raises ProviderError when the choice cannot work (no key, unknown endpoint).
        """
        check_choice(choice, providers, secrets)
        provider = provider_named(choice.provider)
        target = provider.target(choice, providers, secrets)
        identity = target.identity(provider.name)
        check = self._checked_for(providers)  # Settings were saved: the others' keys too
        if check is not None and check[1]:
            self._run_check(check, providers, secrets)
        elif check is not None:
            check[0].result()  # another conversation is checking these settings
        with self._lock:
            if self._closed:
                raise ProviderError("the studio is closing: no model can be reached now")
            shared = self._shared.get(identity)
            if shared is None:
                shared = _Shared(None, choice, identity)
                sdk = importlib.import_module(provider.sdk)
                shared.http = http_client(sdk, on_response=shared.heard)
                shared.client = provider.client(target, shared.http)
                for old in list(self._shared.values()):
                    if _same_place(old.choice, choice):
                        self._replace(old)  # its key or base URL changed
                self._shared[identity] = shared
            shared.leases += 1
        model, settings = provider.agents_model(shared.client, choice)
        return model, settings, shared.client

    async def current(
        self, clients: Iterable[Any], providers: ProviderSettings, secrets: SecretStore
    ) -> bool:
        """Whether ``clients`` are still the ones their choices get: False after a key or
        endpoint changed (the holder builds its agent again). The keys are read again only
        when the provider settings changed since the last check (Settings saves keys with
        them); otherwise this costs nothing. Whoever asks while that check runs waits for it
        (its answer is not known before), and a check that failed is tried again."""
        check = self._checked_for(providers)
        if check is not None:
            if check[1]:  # the thread finishes the check even if this caller is cancelled
                await asyncio.to_thread(self._run_check, check, providers, secrets)
            else:
                await asyncio.wrap_future(check[0])
        with self._lock:  # a build in a worker thread may be adding one
            live = {id(shared.client) for shared in self._shared.values()}
        return all(id(client) in live for client in clients)

    def _checked_for(
        self, providers: ProviderSettings
    ) -> tuple[concurrent.futures.Future[None], bool] | None:
        """The check of the keys against ``providers`` to wait for, and whether the caller
        runs it (True: the first to ask); None when there is nothing to check: they were
        checked, or newer settings were (what they would replace is current)."""
        with self._lock:
            if providers is self._checked:
                return None
            if self._order(providers) < 0:
                self._seen.append(providers)
            elif self._newer_checked(providers):
                return None
            if self._checking is not None and self._checking[0] is providers:
                return self._checking[1], False
            future: concurrent.futures.Future[None] = concurrent.futures.Future()
            future.set_running_or_notify_cancel()  # a waiter cancelled does not cancel it
            self._checking = (providers, future)
            return future, True

    def _run_check(
        self,
        check: tuple[concurrent.futures.Future[None], bool],
        providers: ProviderSettings,
        secrets: SecretStore,
    ) -> None:
        """Check, tell those waiting, and only on success count ``providers`` as checked: a
        check that failed (a locked keyring) is tried again by the next caller."""
        future = check[0]
        try:
            with self._check_lock:  # one at a time: an older check never runs after a newer
                with self._lock:
                    stale = self._newer_checked(providers)
                if not stale:
                    self._check(providers, secrets)
        except BaseException as exc:
            future.set_exception(exc)
            raise
        else:
            future.set_result(None)
        finally:
            with self._lock:
                if self._checking is not None and self._checking[1] is future:
                    self._checking = None
                if future.exception() is None and not self._newer_checked(providers):
                    self._checked = providers

    def _newer_checked(self, providers: ProviderSettings) -> bool:
        """Whether settings seen after ``providers`` were checked already (under the lock)."""
        return self._checked is not None and self._order(self._checked) > self._order(providers)

    def _order(self, providers: ProviderSettings) -> int:
        """Where ``providers`` came among the settings seen (-1: not yet); by identity, as
        settings saved unchanged compare equal."""
        return next((i for i, p in enumerate(self._seen) if p is providers), -1)

    def _check(self, providers: ProviderSettings, secrets: SecretStore) -> None:
        with self._lock:
            candidates = list(self._shared.values())
        for shared in candidates:
            provider = provider_named(shared.choice.provider)
            try:
                identity = provider.target(shared.choice, providers, secrets).identity(
                    provider.name
                )
            except ProviderError:
                identity = None  # its endpoint is gone
            if identity != shared.identity:
                with self._lock:
                    self._replace(shared)

    def _replace(self, shared: _Shared) -> None:
        if self._shared.get(shared.identity) is shared:
            del self._shared[shared.identity]
            shared.replaced = True
            self._replaced.append(shared)

    async def release(self, client: Any) -> None:
        """An agent on ``client`` is gone and no run uses it; a replaced client with no holder
        left is closed."""
        with self._lock:
            for shared in (*self._shared.values(), *self._replaced):
                if shared.client is client:
                    shared.leases -= 1
                    break
            done = [s for s in self._replaced if s.leases <= 0]
            self._replaced = [s for s in self._replaced if s.leases > 0]
        for shared in done:
            await _settle_warming(shared)
            await shared.client.close()

    def warm(self, clients: Iterable[Any]) -> None:
        """Open a connection for ``clients`` in the background unless one answered lately
        (`WARM_AFTER_S`): a conversation opened or the person types, so the message they send
        next needs no TCP and TLS handshake (the first of a session, or after a pause). One
        HEAD of the API's base URL: no key is sent, no tokens are spent, and whatever it
        answers leaves the connection open for the send."""
        wanted = {id(client) for client in clients}
        now = time.monotonic()
        with self._lock:
            candidates = list(self._shared.values())
        for shared in candidates:
            if self._closed or id(shared.client) not in wanted:
                continue
            if shared.warming is not None and not shared.warming.done():
                continue
            if now - shared.answered < WARM_AFTER_S:
                continue
            shared.warming = asyncio.ensure_future(self._warm(shared))

    @staticmethod
    async def _warm(shared: _Shared) -> None:
        try:
            await shared.http.head(str(shared.client.base_url))
        except Exception:  # noqa: BLE001 - the send connects (and says why) if this could not
            log.debug("warming the connection to %s failed", shared.identity[1], exc_info=True)

    async def close(self) -> None:
        """Close every client (at the session's stop, once nothing runs)."""
        with self._lock:
            self._closed = True
            everything = [*self._shared.values(), *self._replaced]
            self._shared, self._replaced = {}, []
        for shared in everything:
            await _settle_warming(shared)
            await shared.client.close()


async def _settle_warming(shared: _Shared) -> None:
    """Let a warm-up under way end before its client closes: cancelled while it connected,
    httpx left the socket to the garbage collector ("unclosed transport", seen in CI). One
    HEAD: it gets `WARM_SETTLE_S`, then it is cancelled after all."""
    warming = shared.warming
    if warming is None or warming.done():
        return
    done, _ = await asyncio.wait({warming}, timeout=WARM_SETTLE_S)
    if not done:
        warming.cancel()
        await asyncio.gather(warming, return_exceptions=True)


def _same_place(a: ModelChoice, b: ModelChoice) -> bool:
    """Whether two choices reach the same server as configured (the same provider, and for an
    OpenAI-compatible one the same endpoint row): a new client for one replaces the other's."""
    return a.provider == b.provider and (
        a.provider != "openai-compatible" or a.endpoint == b.endpoint
    )


def choice_for(doc: CharacterDoc, providers: ProviderSettings) -> ModelChoice:
    """The model a character runs on. The rule, in full:

    - A character that names a provider (``model.provider``, else ``modelProvider``) runs on
      it, with the model it names; naming none, it gets the workspace default's model when the
      default uses the same provider, else that provider's usual model (an endpoint: its first
      listed model). Its own provider is used even when it is not configured: the chat then
      says so (`plan_for`), rather than quietly answering with another model.
    - A character that names none follows the workspace default.
    - Either way the character's temperature applies.

    Raises ProviderError when the character names a provider the studio cannot run.
    """
    data = doc.data
    default = providers.default
    temperature = character_temperature(data)
    named = named_provider(data)
    if named is None:
        if temperature is None:
            return default
        return default.model_copy(update={"temperature": temperature})
    provider = provider_key(named)
    if provider is None:
        known = ", ".join(PROVIDERS)
        raise ProviderError(
            f'{doc.name or "this character"} asks for the model provider "{named}", '
            "which Carrier Studio cannot run",
            hint=f"Pick one of {known} in the character's Model tab, "
            "or use the workspace default for this conversation.",
        )
    own = doc.section("model")
    endpoint = own.get("endpoint") if isinstance(own.get("endpoint"), str) else None
    model = own.get("model") if isinstance(own.get("model"), str) else ""
    if provider == "openai-compatible" and not endpoint:
        endpoint = default.endpoint if default.provider == provider else None
        endpoint = endpoint or next((e.name for e in providers.endpoints), None)
    if not model.strip():
        model = _usual_model(provider, endpoint, providers)
    data = {
        "provider": provider,
        "model": model,
        "endpoint": endpoint,
        "temperature": default.temperature if temperature is None else temperature,
    }
    try:
        return ModelChoice.model_validate(data)
    except ValueError as exc:
        raise ProviderError(f"{doc.name}'s model section is invalid: {exc}") from exc


def _usual_model(provider: str, endpoint: str | None, providers: ProviderSettings) -> str:
    default = providers.default
    if default.provider == provider and (
        provider != "openai-compatible" or default.endpoint == endpoint
    ):
        return default.model
    if provider == "openai-compatible":
        listed = next((e.models for e in providers.endpoints if e.name == endpoint), [])
        return listed[0] if listed else ""  # check_choice then says no model is chosen
    return DEFAULT_MODELS.get(provider, default.model)


@dataclass(frozen=True)
class ModelPlan:
    """Which model will answer a conversation, and why, as the Chat page shows it."""

    #: The model that answers (None: the character asks for a provider the studio cannot run).
    choice: ModelChoice | None
    #: Where the choice comes from: "character" (the file names a provider), "workspace" (it
    #: names none), or "conversation" (picked in the model box for this conversation).
    source: str
    #: Why, in words: "Ada's own model", "the workspace default (Ada names no provider)".
    reason: str
    #: The character's name, for the words above.
    character: str = ""
    #: What stops the choice from answering (no key, unknown endpoint); empty when it can.
    problem: str = ""

    @property
    def label(self) -> str:
        return self.choice.label if self.choice is not None else "no model"


def plan_for(
    doc: CharacterDoc, providers: ProviderSettings, selection: ConversationModel = None
) -> ModelPlan:
    """The model a conversation with ``doc`` runs on: the conversation's own ``selection`` when
    it has one, else `choice_for`'s rule; says why. `checked` adds what stops it."""
    name = doc.name or "The character"
    if isinstance(selection, ModelChoice):
        return ModelPlan(selection, "conversation", "chosen for this conversation", name)
    temperature = character_temperature(doc.data)
    default = providers.default
    if temperature is not None:
        default = default.model_copy(update={"temperature": temperature})
    if selection == WORKSPACE_DEFAULT:
        reason = "workspace default, chosen for this conversation"
        return ModelPlan(default, "conversation", reason, name)
    named = named_provider(doc.data)
    if named is None:
        return ModelPlan(
            default, "workspace", f"workspace default ({name} names no provider)", name
        )
    try:
        choice = choice_for(doc, providers)
    except ProviderError as exc:
        return ModelPlan(None, "character", f"{name}'s own provider", name, exc.message + ".")
    return ModelPlan(choice, "character", f"{name}'s own model", name)


def checked(plan: ModelPlan, providers: ProviderSettings, secrets: SecretStore) -> ModelPlan:
    """``plan`` with what stops it from answering, if anything (reads keys: call it in a
    thread)."""
    if plan.choice is None or plan.problem:
        return plan
    try:
        check_choice(plan.choice, providers, secrets)
    except ProviderError as exc:
        if plan.source == "character":
            title = PROVIDERS.get(plan.choice.provider, plan.choice.provider)
            problem = f"{plan.character} asks for {title} ({plan.choice.model}), but {exc.message}."
        else:
            problem = f"{plan.label} cannot answer: {exc.message}."
        return replace(plan, problem=problem)
    return plan
