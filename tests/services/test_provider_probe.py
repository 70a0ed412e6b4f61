"""Listing a server's models for Settings' "Test connection", and finding local servers (#15).

Against the scripted fake LLM server over real HTTP, and small aiohttp servers that answer the
ways a wrong setup does (a refused key, an HTML page, silence).
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from urllib.parse import urlsplit

import pytest
from aiohttp import web

from carrier_studio.core.errors import ProviderError
from carrier_studio.services.providers import LocalServer, find_local_servers, list_models
from tests.fakes import DEFAULT_MODELS, running_server

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@asynccontextmanager
async def answering(handler: Handler) -> AsyncIterator[str]:
    """A server on 127.0.0.1 answering every request with `handler`; yields its root URL."""
    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", handler)
    runner = web.AppRunner(app, handler_cancellation=True, shutdown_timeout=1)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    try:
        yield f"http://127.0.0.1:{site.port}"
    finally:
        await runner.cleanup()


@contextmanager
def closed_port() -> Iterator[int]:
    """A port that refuses connections: bound (so nothing else takes it) but not listening."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        yield sock.getsockname()[1]


def refused(coro: Awaitable[object]) -> ProviderError:
    with pytest.raises(ProviderError) as caught:
        asyncio.run(coro)  # type: ignore[arg-type]
    return caught.value


def test_lists_an_openai_compatible_servers_models():
    with running_server(models=("llama3.2", "qwen3")) as server:
        models = asyncio.run(list_models("openai-compatible", server.openai_base_url, ""))
        assert models == ["llama3.2", "qwen3"]
        (request,) = server.requests
        assert (request.method, request.path) == ("GET", "/v1/models")
        assert "authorization" not in request.headers  # no key, none sent


def test_a_trailing_slash_and_a_key_are_handled():
    with running_server() as server:
        models = asyncio.run(
            list_models("openai-compatible", server.openai_base_url + "/", "sk-local")
        )
        assert models == list(DEFAULT_MODELS)
        assert server.requests[0].headers["authorization"] == "Bearer sk-local"


def test_openai_lists_with_a_bearer_key():
    with running_server() as server:
        models = asyncio.run(list_models("openai", server.openai_base_url, "sk-openai"))
        assert models == list(DEFAULT_MODELS)
        assert server.requests[0].headers["authorization"] == "Bearer sk-openai"


@pytest.mark.parametrize("suffix", ["", "/", "/v1"])
def test_anthropic_lists_from_the_root_with_its_headers(suffix):
    with running_server(models=("claude-sonnet-4-5", "claude-haiku-4-5")) as server:
        models = asyncio.run(list_models("anthropic", server.base_url + suffix, "sk-ant"))
        assert models == ["claude-sonnet-4-5", "claude-haiku-4-5"]
        (request,) = server.requests
        assert request.path == "/v1/models"
        assert request.headers["x-api-key"] == "sk-ant"
        assert request.headers["anthropic-version"] == "2023-06-01"


@pytest.mark.parametrize("kind", ["openai", "anthropic"])
def test_the_official_services_need_a_key_first(kind):
    error = refused(list_models(kind, "", ""))
    assert "no" in error.message and "API key" in error.message
    assert error.hint and "Settings" in error.hint


def test_nothing_listening_is_said_in_words():
    with closed_port() as port:
        error = refused(list_models("openai-compatible", f"http://127.0.0.1:{port}/v1", ""))
    assert error.message == (
        f"nothing is listening at http://127.0.0.1:{port}: is the server running?"
    )
    assert error.hint and "ollama serve" in error.hint


def test_a_refused_key_is_said_in_words():
    async def unauthorized(_request: web.Request) -> web.Response:
        return web.json_response({"error": {"message": "Invalid API key"}}, status=401)

    async def main() -> None:
        async with answering(unauthorized) as root:
            await list_models("openai-compatible", f"{root}/v1", "wrong")

    error = refused(main())
    assert error.message == "the server refused the key (401)"
    assert error.hint and "COMPAT_<NAME>_API_KEY" in error.hint


def test_a_url_without_v1_is_said_in_words():
    with running_server() as server:
        error = refused(list_models("openai-compatible", server.base_url, ""))
    assert error.message == f"{server.base_url}/models was not found: does the URL end in /v1?"


def test_an_answer_that_is_not_json_is_said_in_words():
    async def html(_request: web.Request) -> web.Response:
        return web.Response(
            text="<html><body>Welcome to nginx!</body></html>", content_type="text/html"
        )

    async def main() -> None:
        async with answering(html) as root:
            await list_models("openai-compatible", f"{root}/v1", "")

    error = refused(main())
    assert "did not answer with JSON" in error.message
    assert "Welcome to nginx!" in error.message


def test_json_that_is_no_model_list_is_said_in_words():
    async def other(_request: web.Request) -> web.Response:
        return web.json_response({"status": "ok"})

    async def main() -> None:
        async with answering(other) as root:
            await list_models("openai-compatible", f"{root}/v1", "")

    assert "not a list of models" in refused(main()).message


def test_silence_times_out_in_words():
    async def main() -> None:
        never = asyncio.Event()

        async def silent(_request: web.Request) -> web.Response:
            await never.wait()  # until the client gives up and the handler is cancelled
            return web.Response()

        async with answering(silent) as root:
            await list_models("openai-compatible", f"{root}/v1", "", within=0.3)

    error = refused(main())
    assert error.message.endswith("did not answer within 0.3 s")


def test_not_a_web_address():
    error = refused(list_models("openai-compatible", "localhost:11434", ""))
    assert error.message == "localhost:11434 is not a web address"


def test_find_local_servers_reports_those_that_answer():
    async def main(port: int, closed: int, html_root: str) -> list[LocalServer]:
        return await find_local_servers(
            [
                ("ollama", closed),
                ("lm-studio", port),
                ("llama-cpp", urlsplit(html_root).port or 0),
            ]
        )

    async def html(_request: web.Request) -> web.Response:
        return web.Response(text="<html>a web app</html>", content_type="text/html")

    async def scenario(server_port: int, closed: int) -> list[LocalServer]:
        async with answering(html) as html_root:
            return await main(server_port, closed, html_root)

    with running_server(models=("llama3.2",)) as server, closed_port() as closed:
        port = urlsplit(server.base_url).port
        assert port is not None
        found = asyncio.run(scenario(port, closed))
    assert found == [LocalServer("lm-studio", f"http://127.0.0.1:{port}/v1", ["llama3.2"])]


def test_find_local_servers_probes_all_at_once():
    """Every port is asked before any answers: silent ports cost one timeout, not one each."""

    async def main() -> list[LocalServer]:
        asked = 0
        all_asked = asyncio.Event()

        async def wait_for_all(_request: web.Request) -> web.Response:
            nonlocal asked
            asked += 1
            if asked == 3:
                all_asked.set()
            await all_asked.wait()  # only answers once all three probes are in flight
            return web.json_response({"data": [{"id": "m"}]})

        async with (
            answering(wait_for_all) as a,
            answering(wait_for_all) as b,
            answering(wait_for_all) as c,
        ):
            servers = [
                (name, urlsplit(root).port or 0)
                for name, root in zip("abc", (a, b, c), strict=True)
            ]
            return await find_local_servers(servers, within=2)

    assert [s.label for s in asyncio.run(main())] == ["a", "b", "c"]
