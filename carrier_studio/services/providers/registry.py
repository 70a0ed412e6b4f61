"""The provider registry: each provider module registered once, looked up by name.

Everything that needs a model goes through here: `check_choice` before starting anything for a
chat, `text_model` for plain completions, `agents_model` for chats, `choice_for` to read a
character's own model. Adding a provider is one module implementing `ModelProvider` (see
openai.py) and one `register` line below; its name also goes in `core.settings.PROVIDERS`, the
table settings and character files are validated against.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
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
from carrier_studio.services.providers.base import ModelProvider, TextModel
from carrier_studio.services.providers.compatible import CompatibleProvider
from carrier_studio.services.providers.openai import OpenAIProvider

T = TypeVar("T")

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
    """An `agents.Model`, its `ModelSettings` and its HTTP client (the caller closes it).

    Raises ProviderError when the choice cannot work (no key, unknown endpoint).
    """
    provider, client, _label = _connect(choice, providers, secrets)
    model, settings = provider.agents_model(client, choice)
    return model, settings, client


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
