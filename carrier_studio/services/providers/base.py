"""What a model provider is: the interface each provider module implements.

A provider turns a `ModelChoice` plus settings and keys into a client, and a client into the two
kinds of model the studio runs: a plain `TextModel` (the character builder, captions, the tool
maker) and an `agents.Model` for chats. The SDKs are imported inside the methods: they cost
seconds at start-up. Providers are registered by name in `registry.py`.
"""

from __future__ import annotations

import functools
import hashlib
from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from carrier_studio.core.errors import ProviderError
from carrier_studio.core.settings import ModelChoice, ProviderSettings
from carrier_studio.services.platform.secrets import SecretStore

if TYPE_CHECKING:
    import ssl

#: Local servers (Ollama, LM Studio, llama.cpp) ignore the key but the client needs one.
NO_KEY = "not-needed"
#: Seconds an idle pooled connection is kept for reuse. httpx's 5 s default drops it while a
#: person types the next message, so the next request paid a new TCP (and TLS) handshake.
#: Longer is safe against servers: before reusing an idle connection httpcore checks whether
#: the server closed it (``has_expired``: the socket is readable), and a request that still
#: races a close is retried (``max_retries=1``). 90 s stays under the idle timeouts of NAT
#: boxes and load balancers that drop a connection without a word (Firefox keeps 115 s).
KEEPALIVE_S = 90.0


@functools.cache
def tls_context() -> ssl.SSLContext:
    """One TLS context for every provider client. Each client would build its own, loading the
    CA bundle: ~45 ms of CPU here with the GIL held (even for an http:// server), once per
    opened conversation. The same defaults as the clients' own (the system's CAs,
    ``SSL_CERT_FILE``/``SSL_CERT_DIR``); a context is safe to share between clients."""
    import httpx2  # the openai and anthropic SDKs' HTTP client

    return httpx2.create_ssl_context()


def http_client(sdk: Any, on_response: Callable[[Any], Awaitable[None]] | None = None) -> Any:
    """The SDK's (``openai`` or ``anthropic``) default async HTTP client, on the shared TLS
    context, keeping idle connections `KEEPALIVE_S`; the SDK client closes it with itself.
    ``on_response`` hears of every response (`ProviderClients`: when the connection was last
    used)."""
    import httpx2

    # The SDKs' own limits (1000 connections, 100 kept), with a longer keep-alive.
    limits = httpx2.Limits(
        max_connections=1000, max_keepalive_connections=100, keepalive_expiry=KEEPALIVE_S
    )
    hooks = {"response": [on_response]} if on_response is not None else None
    return sdk.DefaultAsyncHttpxClient(verify=tls_context(), limits=limits, event_hooks=hooks)


@dataclass(frozen=True)
class Target:
    """Where a provider's client connects and the key it sends: two choices with the same
    target can share one client (and its warm connections). TLS is not part of it: every
    client uses the one `tls_context`."""

    base_url: str | None
    api_key: str = field(repr=False)

    def identity(self, provider: str) -> tuple[str, str | None, str]:
        """The provider, base URL and a fingerprint of the key (never the key itself)."""
        return provider, self.base_url, hashlib.sha256(self.api_key.encode()).hexdigest()[:16]


@dataclass(frozen=True)
class Completion:
    text: str
    input_tokens: int = 0
    output_tokens: int = 0


class TextModel(Protocol):
    label: str

    async def complete(
        self,
        system: str,
        messages: list[dict[str, str]],
        max_tokens: int | None = None,
        schema: dict[str, Any] | None = None,
    ) -> Completion:
        """Answer the conversation ``messages`` (role user/assistant) under ``system``, in at
        most ``max_tokens`` tokens when given (an MCP sampling request's limit). With a JSON
        ``schema`` the provider is asked for structured output where it offers it (a server
        that refuses it is asked again without); the caller still parses and validates."""
        ...

    async def close(self) -> None:
        """Close the HTTP client."""
        ...


class ModelProvider(ABC):
    """One provider: how to check a choice, connect, and build its two kinds of model."""

    #: The name settings and characters use (`ModelChoice.provider`).
    name: str
    #: How a person reads it in an error message.
    title: str

    @abstractmethod
    def check(self, choice: ModelChoice, providers: ProviderSettings, secrets: SecretStore) -> None:
        """Raise `ProviderError` if the choice cannot work here (no key, unknown endpoint)."""

    @abstractmethod
    def target(
        self, choice: ModelChoice, providers: ProviderSettings, secrets: SecretStore
    ) -> Target:
        """The base URL (None: the SDK's default) and key a client for ``choice`` uses."""

    #: The SDK module whose client `client` makes (its `http_client` type).
    sdk: str = "openai"

    @abstractmethod
    def client(self, target: Target, http: Any = None) -> Any:
        """A new authenticated SDK client for ``target``, over ``http`` (an `http_client` of
        `sdk`; a new one when None)."""

    def label(self, choice: ModelChoice, providers: ProviderSettings) -> str:
        """How a person reads the choice: ``OpenAI (gpt-4.1)``."""
        return f"{self.title} ({choice.model})"

    def connect(
        self, choice: ModelChoice, providers: ProviderSettings, secrets: SecretStore
    ) -> tuple[Any, str]:
        """A new authenticated SDK client for the choice, and its label."""
        return self.client(self.target(choice, providers, secrets)), self.label(choice, providers)

    @abstractmethod
    def text_model(self, client: Any, choice: ModelChoice, label: str) -> TextModel:
        """A plain completion model over ``client``."""

    @abstractmethod
    def agents_model(self, client: Any, choice: ModelChoice) -> tuple[Any, Any]:
        """An `agents.Model` over ``client`` and the `ModelSettings` it needs."""


def require_key(secrets: SecretStore, name: str, title: str) -> None:
    """Raise the error a person understands when the provider's API key is not stored."""
    if not secrets.get(name):
        raise ProviderError(
            f"no {title} API key is set", hint="Add it under Settings → Model providers."
        )
