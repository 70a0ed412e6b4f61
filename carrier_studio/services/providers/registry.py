"""Model providers: OpenAI (Responses API), Anthropic (Messages), OpenAI-compatible servers.

This module turns a `ModelChoice` plus settings and keys into something that can answer. For now
that is a plain text completion (`TextModel`), used by the character builder; the chat runtime
builds its `agents` models here too. Provider errors become `ProviderError`s worded for a person,
with what to do about them. The SDKs are imported on first use: they cost seconds at start-up.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar

from carrier_studio.core.characters.document import CharacterDoc
from carrier_studio.core.errors import ProviderError
from carrier_studio.core.runtime.events import ErrorKind, RunError
from carrier_studio.core.settings import ModelChoice, ProviderSettings
from carrier_studio.services.platform.secrets import SecretStore

#: Local servers (Ollama, LM Studio, llama.cpp) ignore the key but the client needs one.
NO_KEY = "not-needed"

T = TypeVar("T")


@dataclass(frozen=True)
class Completion:
    text: str
    input_tokens: int = 0
    output_tokens: int = 0


class TextModel(Protocol):
    label: str

    async def complete(self, system: str, messages: list[dict[str, str]]) -> Completion:
        """Answer the conversation ``messages`` (role user/assistant) under ``system``."""
        ...

    async def close(self) -> None:
        """Close the HTTP client."""
        ...


def _provider_error(exc: Exception, label: str) -> ProviderError:
    """A provider SDK's exception, worded for a person. openai and anthropic name their
    exception classes alike, so one mapping serves both."""
    sdk = sys.modules.get(type(exc).__module__.split(".")[0])

    def raised(name: str) -> bool:
        kind = getattr(sdk, name, None)
        return isinstance(kind, type) and isinstance(exc, kind)

    if raised("AuthenticationError"):
        return ProviderError(
            f"{label} refused the API key (401).",
            hint="Check the key under Settings → Model providers.",
        )
    if raised("RateLimitError"):
        retry = exc.response.headers.get("retry-after")  # type: ignore[attr-defined]
        wait = float(retry) if retry and retry.replace(".", "", 1).isdigit() else None
        return ProviderError(
            f"{label} is rate limiting requests (429)"
            + (f"; it asks to wait {wait:g} s." if wait else "."),
            retry_after=wait,
            hint="Wait a moment and try again, or use another model.",
        )
    if raised("NotFoundError"):
        return ProviderError(
            f"{label} does not know this model (404).",
            hint="Check the model name under Settings or in the character.",
        )
    if raised("APIConnectionError"):
        return ProviderError(
            f"{label} cannot be reached: {exc}.",
            hint="Check your network connection, or that the local server is running.",
        )
    if raised("APIStatusError"):
        status, message = exc.status_code, exc.message  # type: ignore[attr-defined]
        return ProviderError(f"{label} answered with an error ({status}): {message}")
    return ProviderError(f"{label} failed: {exc}")


class _OpenAIResponses:
    def __init__(self, client: Any, model: str, temperature: float, label: str) -> None:
        self._client, self._model, self._temperature, self.label = client, model, temperature, label

    async def close(self) -> None:
        await self._client.close()

    async def complete(self, system: str, messages: list[dict[str, str]]) -> Completion:
        try:
            response = await self._client.responses.create(
                model=self._model,
                instructions=system,
                input=messages,
                temperature=self._temperature,
            )
        except Exception as exc:  # noqa: BLE001 - every provider failure is reworded
            raise _provider_error(exc, self.label) from exc
        usage = response.usage
        return Completion(
            response.output_text,
            usage.input_tokens if usage else 0,
            usage.output_tokens if usage else 0,
        )


class _OpenAIChat:
    def __init__(self, client: Any, model: str, temperature: float, label: str) -> None:
        self._client, self._model, self._temperature, self.label = client, model, temperature, label

    async def close(self) -> None:
        await self._client.close()

    async def complete(self, system: str, messages: list[dict[str, str]]) -> Completion:
        try:
            response = await self._client.chat.completions.create(
                model=self._model,
                messages=[{"role": "system", "content": system}, *messages],
                temperature=self._temperature,
            )
        except Exception as exc:  # noqa: BLE001 - every provider failure is reworded
            raise _provider_error(exc, self.label) from exc
        usage = response.usage
        return Completion(
            response.choices[0].message.content or "",
            usage.prompt_tokens if usage else 0,
            usage.completion_tokens if usage else 0,
        )


class _AnthropicMessages:
    # anthropic 2.x's Messages API takes no temperature: the model's own default applies.
    def __init__(self, client: Any, model: str) -> None:
        self._client, self._model = client, model
        self.label = f"Anthropic ({model})"

    async def close(self) -> None:
        await self._client.close()

    async def complete(self, system: str, messages: list[dict[str, str]]) -> Completion:
        try:
            response = await self._client.messages.create(
                model=self._model,
                system=system,
                messages=messages,
                max_tokens=4096,
            )
        except Exception as exc:  # noqa: BLE001 - every provider failure is reworded
            raise _provider_error(exc, self.label) from exc
        text = "".join(block.text for block in response.content if block.type == "text")
        return Completion(text, response.usage.input_tokens, response.usage.output_tokens)


@dataclass(frozen=True)
class _Connection:
    """An authenticated client for a model choice, and how to name it to a person."""

    provider: str
    client: Any
    label: str


def check_choice(choice: ModelChoice, providers: ProviderSettings, secrets: SecretStore) -> None:
    """Raise ProviderError if ``choice`` cannot work (no model, no key, unknown endpoint), before
    anything is started for it."""
    if not choice.model.strip():
        raise ProviderError("no model is chosen", hint="Pick a default model under Settings.")
    if choice.provider == "openai-compatible":
        if not any(e.name == choice.endpoint for e in providers.endpoints):
            raise ProviderError(
                f"the endpoint {choice.endpoint or '(none)'} is not configured",
                hint="Add it under Settings → OpenAI-compatible endpoints.",
            )
        return
    name = "ANTHROPIC_API_KEY" if choice.provider == "anthropic" else "OPENAI_API_KEY"
    if not secrets.get(name):
        label = "Anthropic" if choice.provider == "anthropic" else "OpenAI"
        raise ProviderError(
            f"no {label} API key is set", hint="Add it under Settings → Model providers."
        )


def _connect(choice: ModelChoice, providers: ProviderSettings, secrets: SecretStore) -> _Connection:
    """The client ``choice`` needs, with its key from the secret store; ProviderError if none."""
    check_choice(choice, providers, secrets)
    if choice.provider == "anthropic":
        import anthropic

        key = secrets.get("ANTHROPIC_API_KEY")
        client = anthropic.AsyncAnthropic(
            api_key=key, base_url=providers.anthropic_base_url or None, max_retries=1
        )
        return _Connection("anthropic", client, f"Anthropic ({choice.model})")

    import openai

    if choice.provider == "openai-compatible":
        endpoint = next(e for e in providers.endpoints if e.name == choice.endpoint)
        client = openai.AsyncOpenAI(
            base_url=endpoint.base_url,
            api_key=secrets.get(endpoint.secret_name) or NO_KEY,
            max_retries=1,
        )
        return _Connection("openai-compatible", client, f"{endpoint.name} ({choice.model})")
    client = openai.AsyncOpenAI(
        api_key=secrets.get("OPENAI_API_KEY"),
        base_url=providers.openai_base_url or None,
        max_retries=1,
    )
    return _Connection("openai", client, f"OpenAI ({choice.model})")


def text_model(choice: ModelChoice, providers: ProviderSettings, secrets: SecretStore) -> TextModel:
    """The model ``choice`` names, for plain completions (the character builder)."""
    conn = _connect(choice, providers, secrets)
    if conn.provider == "anthropic":
        return _AnthropicMessages(conn.client, choice.model)
    if conn.provider == "openai-compatible":
        return _OpenAIChat(conn.client, choice.model, choice.temperature, conn.label)
    return _OpenAIResponses(conn.client, choice.model, choice.temperature, conn.label)


# -- agents SDK models ------------------------------------------------------------------------


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


def choice_for(doc: CharacterDoc, providers: ProviderSettings) -> ModelChoice:
    """The model a character runs on: its own ``model`` section, else the workspace default."""
    own = doc.section("model")
    default = providers.default
    if not own.get("provider"):
        temperature = doc.data.get("temperature")
        if isinstance(temperature, (int, float)) and 0 <= temperature <= 2:
            return default.model_copy(update={"temperature": float(temperature)})
        return default
    data = {
        "provider": own.get("provider"),
        "model": own.get("model") or default.model,
        "endpoint": own.get("endpoint"),
        "temperature": own.get("temperature", doc.data.get("temperature", default.temperature)),
    }
    try:
        return ModelChoice.model_validate(data)
    except ValueError as exc:
        raise ProviderError(f"{doc.name}'s model section is invalid: {exc}") from exc


def agents_model(
    choice: ModelChoice, providers: ProviderSettings, secrets: SecretStore
) -> tuple[Any, Any, Any]:
    """An `agents.Model`, its `ModelSettings` and its HTTP client (the caller closes it).

    Raises ProviderError when the choice cannot work (no key, unknown endpoint).
    """
    from agents import ModelSettings, OpenAIChatCompletionsModel, OpenAIResponsesModel

    conn = _connect(choice, providers, secrets)
    settings = ModelSettings(temperature=choice.temperature)
    if conn.provider == "anthropic":
        from carrier_studio.services.providers.anthropic import AnthropicModel

        return AnthropicModel(choice.model, conn.client), settings, conn.client
    if conn.provider == "openai-compatible":
        # Chat Completions streams carry no usage unless asked for.
        settings = settings.resolve(ModelSettings(include_usage=True))
        model = OpenAIChatCompletionsModel(model=choice.model, openai_client=conn.client)
        return model, settings, conn.client
    return (
        OpenAIResponsesModel(model=choice.model, openai_client=conn.client),
        settings,
        conn.client,
    )


def classify_error(exc: BaseException) -> RunError:
    """A failed run, worded for the chat: what happened and what to do about it."""
    if isinstance(exc, ProviderError):
        return RunError(ErrorKind.CONFIG, exc.message, exc.hint or "", exc.retry_after)
    kind = ErrorKind.OTHER
    module = type(exc).__module__.split(".")[0]
    if module in ("openai", "anthropic"):
        label = "Anthropic" if module == "anthropic" else "The provider"
        error = _provider_error(exc, label)
        name = type(exc).__name__
        kind = {
            "AuthenticationError": ErrorKind.AUTH,
            "PermissionDeniedError": ErrorKind.AUTH,
            "RateLimitError": ErrorKind.RATE_LIMIT,
            "NotFoundError": ErrorKind.UNKNOWN_MODEL,
            "APIConnectionError": ErrorKind.NETWORK,
            "APITimeoutError": ErrorKind.NETWORK,
        }.get(name, ErrorKind.OTHER)
        return RunError(kind, error.message, error.hint or "", error.retry_after)
    from agents.exceptions import MaxTurnsExceeded

    if isinstance(exc, MaxTurnsExceeded):
        return RunError(
            kind,
            "The run stopped after too many turns (tool calls or handoffs going in circles).",
            "Try again, or simplify the request.",
        )
    return RunError(kind, f"{type(exc).__name__}: {exc}")
