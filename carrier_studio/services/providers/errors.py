"""Provider failures worded for a person: SDK exceptions -> `ProviderError` / `RunError`."""

from __future__ import annotations

import re
import sys

from carrier_studio.core.errors import ProviderError
from carrier_studio.core.runtime.context_budget import TOO_LONG_ADVICE
from carrier_studio.core.runtime.events import ErrorKind, RunError

#: How providers word a request longer than the model's context window: llama.cpp ("exceeds
#: the available context size"), OpenAI ("maximum context length", code
#: context_length_exceeded), Anthropic ("prompt is too long"), Ollama and LM Studio ("context
#: length"), vLLM ("maximum context length").
_TOO_LONG = re.compile(
    r"context[ _](size|length|window)|context_length_exceeded|prompt is too long"
    r"|too many tokens",
    re.IGNORECASE,
)
TOO_LONG_HINT = (
    "The request is longer than this model's context window: the character's instructions, "
    f"its tools (each MCP server's tool descriptions count) and the conversation. {TOO_LONG_ADVICE}"
    " The meter under the conversation shows the estimate."
)


def too_long(hint: str) -> bool:
    """Whether a failure (its `RunError` / transcript hint) is the provider refusing a request
    as longer than the model's context window: a window learned from its server is then out
    of date."""
    return hint == TOO_LONG_HINT


def provider_error(exc: Exception, label: str) -> ProviderError:
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
        hint = TOO_LONG_HINT if status in (400, 413) and _TOO_LONG.search(message) else None
        return ProviderError(f"{label} answered with an error ({status}): {message}", hint=hint)
    return ProviderError(f"{label} failed: {exc}")


def classify_error(exc: BaseException) -> RunError:
    """A failed run, worded for the chat: what happened and what to do about it."""
    if isinstance(exc, ProviderError):
        return RunError(ErrorKind.CONFIG, exc.message, exc.hint or "", exc.retry_after)
    kind = ErrorKind.OTHER
    module = type(exc).__module__.split(".")[0]
    if module in ("openai", "anthropic"):
        label = "Anthropic" if module == "anthropic" else "The provider"
        error = provider_error(exc, label)  # type: ignore[arg-type]
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
