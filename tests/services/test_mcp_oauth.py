"""OAuth 2.1 sign-in of a remote MCP server, against a real authorization server and a protected
MCP server on a socket (`tests.mcp.oauth_server`, the `mcp` package's own server-side auth).

The "browser" is an httpx client that follows the authorize URL: the authorization server
answers with a redirect to the studio's loopback listener, as it would after a person agreed.
"""

from __future__ import annotations

import asyncio
import io
import json
import logging
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx2
import pytest
from keyring.backends.fail import Keyring as FailKeyring

from carrier_studio.core.mcp import ServerState
from carrier_studio.core.mcp.config import check_server
from carrier_studio.core.mcp.variables import variables_in
from carrier_studio.core.redaction import Redactor
from carrier_studio.services.mcp import oauth
from carrier_studio.services.mcp.oauth import KEY_PREFIX, McpOAuth, SignInRefusedError
from carrier_studio.services.platform.secrets import SERVICE, SecretStore
from tests.mcp.oauth_server import OAuthServer, running_oauth_server
from tests.services.test_mcp_servers import managed, write_catalogue


@pytest.fixture
def server() -> Iterator[OAuthServer]:
    with running_oauth_server() as running:
        yield running


@pytest.fixture
def secrets(tmp_path, keyring_backend) -> SecretStore:
    return SecretStore("keyring", tmp_path / ".env", backend=keyring_backend, redactor=Redactor())


@pytest.fixture
def sign_ins(secrets) -> Iterator[McpOAuth]:
    """The process's sign-ins, as the session installs them."""
    installed = McpOAuth(secrets)
    oauth.install(installed)
    yield installed
    oauth.install(None)


class Browser:
    """Follows the authorization URL like a browser whose user agrees at once."""

    def __init__(self) -> None:
        self.opened: list[str] = []
        self.pages: list[str] = []

    async def __call__(self, url: str) -> None:
        self.opened.append(url)
        async with httpx2.AsyncClient(follow_redirects=True) as client:
            reply = await client.get(url)
        self.pages.append(reply.text)


def _catalogue(tmp_path: Path, server: OAuthServer) -> Path:
    return write_catalogue(
        tmp_path / "mcp_servers.json", {"remote": {"url": server.url, "oauth": True}}
    )


def _record(keyring_backend) -> dict | None:
    text = keyring_backend.entries.get((SERVICE, KEY_PREFIX + "remote"))
    return json.loads(text) if text else None


def test_sign_in_discovers_registers_and_keeps_the_token_in_the_keyring(
    tmp_path, server, secrets, sign_ins, keyring_backend, caplog
):
    caplog.set_level(logging.DEBUG)
    path = _catalogue(tmp_path, server)
    config = check_server("remote", {"url": server.url, "oauth": True})
    browser = Browser()

    async def scenario():
        async with managed(path) as manager:
            # Before a sign-in, a connection does not open a browser: it says what to do.
            before = await manager.start("remote")
            await sign_ins.sign_in(config, browser)
            after = await manager.start("remote")
            assert after.state is ServerState.RUNNING, after.error
            result = await manager.call_tool("remote", "whoami", {})
            return before, result

    before, result = asyncio.run(scenario())
    assert before.state is ServerState.FAILED
    assert "remote asks you to sign in" in before.error
    assert "Sign in…" in before.error
    assert result.text == "signed in"
    # Discovery (RFC 9728, then RFC 8414), dynamic registration (RFC 7591), PKCE.
    assert "/.well-known/oauth-protected-resource/mcp" in server.paths
    assert "/.well-known/oauth-authorization-server" in server.paths
    assert "/register" in server.paths
    assert len(server.authority.clients) == 1
    [opened] = browser.opened
    query = parse_qs(urlsplit(opened).query)
    assert opened.startswith(f"{server.base}/authorize?")
    assert query["code_challenge_method"] == ["S256"]
    redirect = urlsplit(query["redirect_uri"][0])
    assert (redirect.hostname, redirect.path) == ("127.0.0.1", "/callback")
    assert "Signed in to remote" in browser.pages[0]
    assert server.authority.grants == ["authorization_code"]
    # The token is in the keyring, and nowhere else: no file, no log line; the redactor knows it.
    record = _record(keyring_backend)
    assert record is not None and record["url"] == server.url
    token = record["tokens"]["access_token"]
    refresh = record["tokens"]["refresh_token"]
    assert token in server.authority.access
    for secret in (token, refresh):
        assert secret in secrets.redactor
        assert secret not in caplog.text
        for file in tmp_path.rglob("*"):
            if file.is_file():
                assert secret.encode() not in file.read_bytes(), file


def test_an_expired_token_is_refreshed_after_a_restart_without_a_sign_in(
    tmp_path, server, secrets, keyring_backend
):
    path = _catalogue(tmp_path, server)
    config = check_server("remote", {"url": server.url, "oauth": True})
    asyncio.run(McpOAuth(secrets).sign_in(config, Browser()))
    first = _record(keyring_backend)
    assert first is not None
    # An hour later: the server no longer takes the token, and the stored expiry has passed.
    server.authority.expire_access_tokens()
    first["expires_at"] -= 7200
    keyring_backend.entries[(SERVICE, KEY_PREFIX + "remote")] = json.dumps(first)
    # A new start of the studio: new sign-ins over the same keyring, no browser allowed.
    oauth.install(McpOAuth(secrets))

    async def scenario():
        async with managed(path) as manager:
            status = await manager.start("remote")
            return status, await manager.call_tool("remote", "whoami", {})

    try:
        status, result = asyncio.run(scenario())
    finally:
        oauth.install(None)
    assert status.state is ServerState.RUNNING, status.error
    assert result.text == "signed in"
    assert server.authority.grants == ["authorization_code", "refresh_token"]
    second = _record(keyring_backend)
    assert second is not None
    assert second["tokens"]["access_token"] != first["tokens"]["access_token"]
    assert second["tokens"]["access_token"] in secrets.redactor


def test_sign_out_deletes_the_token_and_the_server_asks_again(
    tmp_path, server, sign_ins, keyring_backend
):
    path = _catalogue(tmp_path, server)
    config = check_server("remote", {"url": server.url, "oauth": True})

    async def scenario():
        await sign_ins.sign_in(config, Browser())
        assert await sign_ins.signed_in(config)
        await sign_ins.sign_out(config)
        gone = _record(keyring_backend) is None
        async with managed(path) as manager:
            return gone, await sign_ins.signed_in(config), await manager.start("remote")

    gone, still, status = asyncio.run(scenario())
    assert gone and not still
    assert status.state is ServerState.FAILED
    assert "asks you to sign in" in status.error


def test_a_refused_sign_in_says_so_and_keeps_nothing(tmp_path, server, sign_ins, keyring_backend):
    server.authority.refuse = "access_denied"
    config = check_server("remote", {"url": server.url, "oauth": True})
    browser = Browser()

    with pytest.raises(SignInRefusedError) as refused:
        asyncio.run(sign_ins.sign_in(config, browser))

    assert str(refused.value) == "the sign-in of remote was refused: the test user declined"
    assert "Not signed in" in browser.pages[0]
    assert server.authority.grants == []
    record = _record(keyring_backend)
    assert record is None or "tokens" not in record


def test_without_a_keyring_tokens_stay_in_memory_not_in_the_env_file(tmp_path, server):
    secrets = SecretStore("dotenv", tmp_path / ".env", redactor=Redactor())
    sign_ins = McpOAuth(secrets)
    config = check_server("remote", {"url": server.url, "oauth": True})

    async def scenario():
        await sign_ins.sign_in(config, Browser())
        return await sign_ins.signed_in(config)

    assert asyncio.run(scenario())
    assert not (tmp_path / ".env").exists()


def test_an_sse_server_signs_in_too(tmp_path, sign_ins):
    with running_oauth_server("sse") as sse:
        path = write_catalogue(
            tmp_path / "mcp_servers.json",
            {"remote": {"type": "sse", "url": sse.url, "oauth": True}},
        )
        config = check_server("remote", {"type": "sse", "url": sse.url, "oauth": True})

        async def scenario():
            await sign_ins.sign_in(config, Browser())
            async with managed(path) as manager:
                status = await manager.start("remote")
                assert status.state is ServerState.RUNNING, status.error
                return await manager.call_tool("remote", "whoami", {})

        assert asyncio.run(scenario()).text == "signed in"
        assert sse.authority.grants == ["authorization_code"]


def test_signing_in_again_asks_the_browser_again_and_replaces_the_token(
    server, sign_ins, keyring_backend
):
    config = check_server("remote", {"url": server.url, "oauth": True})
    browser = Browser()

    async def scenario():
        await sign_ins.sign_in(config, browser)
        first = _record(keyring_backend)
        await sign_ins.sign_in(config, browser)
        return first, _record(keyring_backend)

    first, second = asyncio.run(scenario())
    assert len(browser.opened) == 2
    assert server.authority.grants == ["authorization_code", "authorization_code"]
    assert len(server.authority.clients) == 1  # the registration is kept
    assert first and second
    assert first["tokens"]["access_token"] != second["tokens"]["access_token"]


def test_a_hand_registered_clients_secret_comes_from_the_keyring(secrets):
    secrets.set("REMOTE_CLIENT_SECRET", "s3cret-from-keyring")
    raw = {
        "url": "https://x/mcp",
        "oauth": {"client_id": "mine", "client_secret": "${REMOTE_CLIENT_SECRET}"},
    }
    config = check_server("remote", raw)
    assert variables_in(config) == ["REMOTE_CLIENT_SECRET"]  # the page offers a field for it
    storage = McpOAuth(secrets).connection_auth(config).context.storage

    client = asyncio.run(storage.get_client_info())

    assert (client.client_id, client.client_secret) == ("mine", "s3cret-from-keyring")
    assert client.token_endpoint_auth_method == "client_secret_basic"
    assert "s3cret-from-keyring" in secrets.redactor


def test_a_url_from_a_variable_signs_in_at_the_filled_url(tmp_path, server, secrets, sign_ins):
    secrets.set("REMOTE_URL", server.url)
    path = write_catalogue(
        tmp_path / "mcp_servers.json", {"remote": {"url": "${REMOTE_URL}", "oauth": True}}
    )
    written = check_server("remote", {"url": "${REMOTE_URL}", "oauth": True})

    async def scenario():
        await sign_ins.sign_in(written, Browser())  # the page has the entry as written
        async with managed(path, secrets.get) as manager:
            return await sign_ins.signed_in(written), await manager.start("remote")

    signed_in, status = asyncio.run(scenario())
    assert signed_in
    assert status.state is ServerState.RUNNING, status.error


def test_sign_in_and_out_from_the_command_line(tmp_path, server, keyring_backend):
    from carrier_studio.cli import build_parser
    from carrier_studio.mcp_cli import run_mcp
    from carrier_studio.services.platform.paths import AppPaths

    workspace = tmp_path / "ws"
    workspace.mkdir()
    write_catalogue(
        workspace / "mcp_servers.json",
        {"remote": {"url": server.url, "oauth": True}, "local": {"command": "x"}},
    )
    browser = Browser()

    def run(*argv: str, backend=keyring_backend) -> tuple[int, str, str]:
        args = build_parser().parse_args(["--workspace", str(workspace), "mcp", *argv])
        out, err = io.StringIO(), io.StringIO()
        paths = AppPaths.under(tmp_path / "user")
        code = run_mcp(
            args,
            out,
            err,
            app_paths=paths,
            keyring_backend=backend,
            environ={},
            open_browser=browser,
        )
        return code, out.getvalue(), err.getvalue()

    code, out, err = run("sign-in", "remote")
    assert code == 0, err
    assert f"Open this address to sign in to remote:\n  {server.base}/authorize?" in out
    assert out.endswith("Signed in to remote; the tokens are kept in the system keyring.\n")
    assert _record(keyring_backend) is not None
    assert run("sign-out", "remote")[:2] == (0, "Signed out of remote: its tokens are deleted.\n")
    assert _record(keyring_backend) is None
    code, _out, err = run("sign-in", "local")
    assert code == 1 and "'local' is not a server with an \"oauth\" entry" in err
    code, _out, err = run("sign-in", "remote", backend=FailKeyring())
    assert code == 1 and "a sign-in needs the system keyring here" in err
    assert len(browser.opened) == 1
