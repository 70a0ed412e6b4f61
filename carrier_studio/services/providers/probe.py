"""Ask a model server which models it offers, and find the local ones already running.

For Settings' "Test connection" and "Find local servers": one GET of the server's model list,
with every way it can fail worded for a person as a `ProviderError` (nothing listening, no
answer in time, the key refused, a URL without /v1, an answer that is not a model list).

Over aiohttp (a declared dependency, imported only when a probe runs), not the provider SDKs:
a listing needs no client setup, and the SDKs' own retries would make a wrong port slow.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from typing import Any, NamedTuple
from urllib.parse import urlsplit

from carrier_studio.core.errors import ProviderError

OPENAI_URL = "https://api.openai.com/v1"
ANTHROPIC_URL = "https://api.anthropic.com"
ANTHROPIC_VERSION = "2023-06-01"
#: The servers a creator is likely to run locally, by the name their endpoint row gets, and
#: their usual ports. Each answers OpenAI's GET /v1/models.
LOCAL_SERVERS: tuple[tuple[str, int], ...] = (
    ("ollama", 11434),
    ("lm-studio", 1234),
    ("llama-cpp", 8080),
    ("vllm", 8000),
)
#: Seconds a listing may take (a server loading a model can be slow to answer).
TIMEOUT = 10.0
#: Seconds a local port gets: refused connections come back at once, so this only bounds a
#: port held by something that accepts and then says nothing.
LOCAL_TIMEOUT = 1.5

_TITLES = {"openai": "OpenAI", "anthropic": "Anthropic", "openai-compatible": "The server"}


class LocalServer(NamedTuple):
    """A server found by `find_local_servers`: its endpoint name, base URL and models."""

    label: str
    base_url: str
    models: list[str]


def models_url(kind: str, base_url: str) -> str:
    """Where `kind`'s model list is: ``{base}/models`` for OpenAI and OpenAI-compatible servers
    (whose base URL ends in /v1), ``{root}/v1/models`` for Anthropic (whose base is the root)."""
    if kind == "anthropic":
        root = (base_url or ANTHROPIC_URL).strip().rstrip("/")
        root = root.removesuffix("/v1")
        return f"{root}/v1/models"
    if kind == "openai":
        return f"{(base_url or OPENAI_URL).strip().rstrip('/')}/models"
    if kind == "openai-compatible":
        return f"{base_url.strip().rstrip('/')}/models"
    raise ValueError(f"unknown provider kind: {kind!r}")


async def list_models(
    kind: str, base_url: str, api_key: str, *, within: float = TIMEOUT
) -> list[str]:
    """The model ids the server offers, in its order.

    Args:
        kind: "openai", "anthropic" or "openai-compatible".
        base_url: The configured base URL; empty means the official service (OpenAI, Anthropic).
        api_key: The key to send; empty sends none (most local servers need none).
        within: Seconds for the whole request.

    Raises:
        ProviderError: in words, for each way the listing can fail.
    """
    import aiohttp

    title = _TITLES.get(kind, "The server")
    url = models_url(kind, base_url)
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ProviderError(
            f"{base_url or url} is not a web address",
            hint="Write it in full, e.g. http://127.0.0.1:11434/v1.",
        )
    if kind in ("openai", "anthropic") and not api_key:
        raise ProviderError(
            f"there is no {title} API key to test with",
            hint=f"Type the {title} API key under Settings → Model providers first.",
        )
    origin = f"{parts.scheme}://{parts.netloc}"
    headers = _headers(kind, api_key)
    params = {"limit": "1000"} if kind == "anthropic" else None
    try:
        async with (
            aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=within)) as session,
            session.get(url, headers=headers, params=params, allow_redirects=True) as response,
        ):
            status = response.status
            raw = await response.read()
    except aiohttp.ClientConnectorDNSError as exc:
        raise ProviderError(
            f"the host {parts.hostname} was not found",
            hint="Check the spelling of the base URL, and your network connection.",
        ) from exc
    except aiohttp.ClientSSLError as exc:
        raise ProviderError(
            f"the secure connection to {origin} failed: {exc}",
            hint="A local server usually speaks plain http://, not https://.",
        ) from exc
    except aiohttp.ClientConnectorError as exc:
        if isinstance(exc.os_error, ConnectionRefusedError):
            raise ProviderError(
                f"nothing is listening at {origin}: is the server running?",
                hint="Start it (Ollama: `ollama serve`; LM Studio: start its local server), "
                "or check the port in the base URL.",
            ) from exc
        reason = exc.os_error.strerror or str(exc.os_error)
        raise ProviderError(
            f"{origin} cannot be reached: {reason}",
            hint="Check the base URL and your network connection.",
        ) from exc
    except TimeoutError as exc:
        raise ProviderError(
            f"{origin} did not answer within {within:g} s",
            hint="The server may be busy loading a model: try again in a moment, "
            "or check the address.",
        ) from exc
    except aiohttp.ClientError as exc:
        raise ProviderError(
            f"the connection to {origin} failed: {exc or type(exc).__name__}",
            hint="Check the base URL (http or https?) and that the server is running.",
        ) from exc
    return _models_from(kind, title, url, status, raw)


def _headers(kind: str, api_key: str) -> dict[str, str]:
    if kind == "anthropic":
        return {"x-api-key": api_key, "anthropic-version": ANTHROPIC_VERSION}
    return {"Authorization": f"Bearer {api_key}"} if api_key else {}


def _models_from(kind: str, title: str, url: str, status: int, raw: bytes) -> list[str]:
    import json

    if status in (401, 403):
        local = kind == "openai-compatible"
        raise ProviderError(
            f"the server refused the key ({status})",
            hint="This server wants an API key: it is read from COMPAT_<NAME>_API_KEY "
            "(the endpoint's name) in the keyring or the workspace .env."
            if local
            else f"Check the {title} API key under Settings → Model providers.",
        )
    if status == 404:
        raise ProviderError(
            f"{url} was not found: "
            + (
                "is the base URL the server's root (without /v1)?"
                if kind == "anthropic"
                else "does the URL end in /v1?"
            ),
            hint="Ollama, LM Studio, llama.cpp and vLLM all serve their API under /v1, "
            "e.g. http://127.0.0.1:11434/v1."
            if kind != "anthropic"
            else None,
        )
    if status >= 400:
        raise ProviderError(
            f"{url} answered with an error ({status}): {_short(raw)}",
            hint="Check the server's own log for why.",
        )
    try:
        body = json.loads(raw)
    except ValueError as exc:
        raise ProviderError(
            f"{url} did not answer with JSON (it said: {_short(raw)})",
            hint="Is this an OpenAI-compatible server? Its base URL usually ends in /v1.",
        ) from exc
    models = _ids(body)
    if models is None:
        raise ProviderError(
            f"{url} answered JSON that is not a list of models",
            hint="Is this an OpenAI-compatible server? Its base URL usually ends in /v1.",
        )
    return models


def _ids(body: Any) -> list[str] | None:
    """The ids in OpenAI's and Anthropic's ``{"data": [{"id": …}]}`` (llama.cpp also sends
    ``"models"`` with ``"name"``); None when the answer is not such a list."""
    if not isinstance(body, dict):
        return None
    items = body.get("data")
    if not isinstance(items, list):
        items = body.get("models")
    if not isinstance(items, list):
        return None
    ids: list[str] = []
    for item in items:
        name = item.get("id") or item.get("name") if isinstance(item, dict) else None
        if isinstance(name, str) and name and name not in ids:
            ids.append(name)
    return ids


def listing_endpoint(choice: Any, providers: Any) -> Any:
    """The OpenAI-compatible endpoint (a CompatEndpoint) ``choice`` (a ModelChoice) runs on,
    whose model list may state windows; None for the official services (their sizes are in
    the known table) or an endpoint that is not configured."""
    if choice.provider != "openai-compatible":
        return None
    endpoint = next((e for e in providers.endpoints if e.name == choice.endpoint), None)
    if endpoint is None and providers.endpoints and not choice.endpoint:
        endpoint = providers.endpoints[0]
    return endpoint


async def windows_for(choice: Any, providers: Any, secrets: Any) -> dict[str, int]:
    """`listed_windows` of the `listing_endpoint` ``choice`` runs on, with its key from
    ``secrets``; {} when there is none. Bounded by `listed_windows`' 3 s (a keyring read
    aside)."""
    endpoint = listing_endpoint(choice, providers)
    if endpoint is None:
        return {}
    key = await asyncio.to_thread(secrets.get, endpoint.secret_name)
    return await listed_windows(str(endpoint.base_url), key or "")


async def listed_windows(base_url: str, api_key: str, *, within: float = 3.0) -> dict[str, int]:
    """The context windows an OpenAI-compatible server states in its model list, by model id;
    {} when it states none or cannot be asked (the caller falls back to known sizes).

    vLLM says ``max_model_len``; LM Studio and OpenRouter ``max_context_length`` or
    ``context_length``; llama.cpp's server ``meta.n_ctx`` or, in older builds, only the
    training size ``meta.n_ctx_train`` (the served window may have been set smaller with -c).
    """
    import json

    import aiohttp

    url = models_url("openai-compatible", base_url)
    try:
        async with (
            aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=within)) as session,
            session.get(url, headers=_headers("openai-compatible", api_key)) as response,
        ):
            if response.status != 200:
                return {}
            body = json.loads(await response.read())
    except (aiohttp.ClientError, TimeoutError, ValueError):
        return {}
    items = body.get("data") if isinstance(body, dict) else None
    windows: dict[str, int] = {}
    for item in items if isinstance(items, list) else []:
        if not isinstance(item, dict) or not isinstance(item.get("id"), str):
            continue
        meta = item.get("meta") if isinstance(item.get("meta"), dict) else {}
        for value in (
            item.get("max_model_len"),
            item.get("max_context_length"),
            item.get("context_length"),
            meta.get("n_ctx"),
            meta.get("n_ctx_train"),
        ):
            if isinstance(value, int) and not isinstance(value, bool) and value > 0:
                windows[item["id"]] = value
                break
    return windows


def _short(raw: bytes, limit: int = 120) -> str:
    text = " ".join(raw.decode(errors="replace").split())
    if not text:
        return "nothing"
    return text if len(text) <= limit else text[: limit - 1] + "…"


async def find_local_servers(
    servers: Iterable[tuple[str, int]] = LOCAL_SERVERS,
    *,
    host: str = "127.0.0.1",
    within: float = LOCAL_TIMEOUT,
) -> list[LocalServer]:
    """The local servers that answer a model listing, probed all at once, in `servers` order.

    A port that refuses, stays silent or answers something other than a model list (another
    web server on 8080) is skipped without a word.
    """

    async def probe(label: str, port: int) -> LocalServer | None:
        base_url = f"http://{host}:{port}/v1"
        try:
            models = await list_models("openai-compatible", base_url, "", within=within)
        except ProviderError:
            return None
        return LocalServer(label, base_url, models)

    found = await asyncio.gather(*(probe(label, port) for label, port in servers))
    return [server for server in found if server is not None]
