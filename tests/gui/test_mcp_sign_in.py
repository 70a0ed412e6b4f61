"""Sign in to a remote OAuth MCP server from the MCP page, and sign out, with the browser replaced
by an httpx client that follows the authorization page (`tests.mcp.oauth_server` is a real
authorization server and protected MCP server on a socket)."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from urllib.parse import urlsplit

import pytest

from carrier_studio.core.mcp import ServerState
from carrier_studio.services.mcp.oauth import KEY_PREFIX
from carrier_studio.services.platform.secrets import SERVICE
from tests.helpers.waiting import wait_until
from tests.mcp.oauth_server import OAuthServer, running_oauth_server
from tests.services.test_mcp_oauth import Browser


@pytest.fixture
def server() -> Iterator[OAuthServer]:
    with running_oauth_server() as running:
        yield running


@pytest.fixture
def mcp(make_studio, loop, tmp_path, server):
    workspace = tmp_path / "ws"
    workspace.mkdir()
    catalogue = {
        "mcpServers": {
            "remote": {"url": server.url, "oauth": True},
            "plain": {"url": server.url},
        }
    }
    (workspace / "mcp_servers.json").write_text(json.dumps(catalogue))
    studio = make_studio(str(workspace))
    studio.window.show_page("mcp")
    page = studio.window.page("mcp")
    loop.run_until_complete(studio.tasks.wait_idle())
    yield studio, page


def _select(page, loop, studio, name):
    page.table.selectRow(page.model.row_of(name))
    loop.run_until_complete(studio.tasks.wait_idle())


def test_sign_in_and_out_from_the_mcp_page(mcp, loop, server, keyring_backend, tmp_path):
    studio, page = mcp
    bar = page.sign_in
    _select(page, loop, studio, "plain")
    assert bar.isHidden()  # a server without "oauth" has nothing to sign in to
    _select(page, loop, studio, "remote")
    assert bar.isVisible()
    assert bar.status.text() == "Not signed in"
    assert bar.sign_out_button.isHidden()
    browser = Browser()
    bar.open_url = browser

    bar.sign_in_button.click()
    assert bar.status.text() == "Finish signing in in your browser…"
    assert not bar.sign_in_button.isEnabled()
    loop.run_until_complete(studio.tasks.wait_idle())

    assert len(browser.opened) == 1 and browser.opened[0].startswith(server.base)
    assert bar.status.text() == "Signed in"
    assert bar.sign_out_button.isVisible()
    record = json.loads(keyring_backend.entries[(SERVICE, KEY_PREFIX + "remote")])
    # The tokens are in the keyring only: no file the studio wrote (studio.db, settings, the
    # catalogue) holds them; tests/services/test_mcp_oauth.py checks the log records.
    for secret in (record["tokens"]["access_token"], record["tokens"]["refresh_token"]):
        for file in tmp_path.rglob("*"):
            if file.is_file():
                assert secret.encode() not in file.read_bytes(), file
    # Signed in, the server started again, with its tools.
    status = studio.session.mcp.status("remote")
    assert status.state is ServerState.RUNNING, status.error
    assert [page.tool_list.item(i).text() for i in range(page.tool_list.count())] == ["whoami"]

    bar.sign_out_button.click()
    loop.run_until_complete(studio.tasks.wait_idle())
    assert bar.status.text() == "Not signed in"
    assert bar.sign_out_button.isHidden()
    assert (SERVICE, KEY_PREFIX + "remote") not in keyring_backend.entries


def test_a_refused_sign_in_says_why(mcp, loop, server, keyring_backend):
    studio, page = mcp
    server.authority.refuse = "access_denied"
    _select(page, loop, studio, "remote")
    page.sign_in.open_url = Browser()

    page.sign_in.sign_in_button.click()
    loop.run_until_complete(studio.tasks.wait_idle())

    errors = [m.text for m in studio.messages.history if "refused" in m.text]
    assert errors == [
        "Signing in to remote could not finish: the sign-in of remote was refused: "
        "the test user declined"
    ]
    assert page.sign_in.status.text() == "Not signed in"
    assert page.sign_in.sign_in_button.isEnabled()
    record = keyring_backend.entries.get((SERVICE, KEY_PREFIX + "remote"))
    assert record is None or "tokens" not in json.loads(record)


def test_a_sign_in_the_browser_never_finishes_can_be_cancelled(mcp, loop, keyring_backend):
    studio, page = mcp
    _select(page, loop, studio, "remote")
    bar = page.sign_in
    opened: list[str] = []
    bar.open_url = opened.append  # a browser whose user walks away

    bar.sign_in_button.click()
    wait_until(loop, lambda: bool(opened))
    assert bar.cancel_button.isVisible()
    bar.cancel_button.click()
    loop.run_until_complete(studio.tasks.wait_idle())

    assert bar.status.text() == "Not signed in"
    assert bar.cancel_button.isHidden() and bar.sign_in_button.isEnabled()
    # The loopback listener is closed: its port (the registered redirect URI's) is free again.
    record = json.loads(keyring_backend.entries[(SERVICE, KEY_PREFIX + "remote")])
    port = urlsplit(record["client"]["redirect_uris"][0]).port
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", port))


def test_without_a_browser_the_whole_address_can_be_copied(mcp, loop, keyring_backend, qapp):
    studio, page = mcp
    _select(page, loop, studio, "remote")
    bar = page.sign_in
    opened: list[str] = []

    def no_browser(url: str) -> bool:
        opened.append(url)
        return False

    bar.open_url = no_browser
    bar.sign_in_button.click()
    wait_until(loop, lambda: bool(opened))

    assert bar.status.text() == "No browser could be opened: copy this address into one"
    assert bar.address.isVisible() and bar.address.isReadOnly()
    assert bar.address.text() == opened[0]  # whole, not cut short
    bar.copy_button.click()
    assert qapp.clipboard().text() == opened[0]
    bar.cancel_button.click()
    loop.run_until_complete(studio.tasks.wait_idle())
    assert not bar.address.isVisible()


def test_the_address_can_be_copied_while_the_browser_is_open(mcp, loop, keyring_backend):
    studio, page = mcp
    _select(page, loop, studio, "remote")
    bar = page.sign_in
    opened: list[str] = []
    bar.open_url = opened.append
    bar.sign_in_button.click()
    wait_until(loop, lambda: bool(opened))
    assert bar.status.text() == "Finish signing in in your browser…"
    assert bar.copy_button.isVisible() and bar.address.text() == opened[0]
    bar.cancel_button.click()
    loop.run_until_complete(studio.tasks.wait_idle())
