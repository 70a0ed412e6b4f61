"""What a failed MCP server shows (its error and stderr on the MCP page) says why it failed and
never holds a secret from its settings, whether written in mcp_servers.json or filled from the
keyring through ``${VAR}``."""

from __future__ import annotations

import asyncio

import pytest

from carrier_studio.core.mcp import ServerConfig, ServerState
from carrier_studio.core.redaction import REDACTED, Redactor
from carrier_studio.services.platform.secrets import mcp_secret_values
from tests.mcp.servers import NodeServers, node_servers
from tests.services.test_mcp_servers import managed, write_catalogue

LITERAL = "literal-mcp-secret-1234"  # in mcp_servers.json, under a name that says secret
FILLED = "filled-from-keyring-5678"  # filled into ${REMOTE_TOKEN} by the lookup
SHAPED = "ghp_" + "Qx7" * 12  # under a neutral name, but shaped like a GitHub token


@pytest.fixture
def servers() -> NodeServers:
    return node_servers()


def test_a_servers_secrets_never_reach_its_error_or_stderr(tmp_path, servers):
    echo = (
        "console.error('starting with ' + process.env.SERVICE_API_KEY);"
        "console.error('remote ' + process.env.REMOTE_TOKEN + ' and ' + process.env.OTHER);"
        "console.error('Error: auth refused for ' + process.env.SERVICE_API_KEY);"
        "console.error('Node.js v20.20.2');"
        "process.exit(1)"
    )
    env = {"SERVICE_API_KEY": LITERAL, "REMOTE_TOKEN": "${REMOTE_TOKEN}", "OTHER": SHAPED}
    path = write_catalogue(
        tmp_path / "mcp_servers.json",
        {"echo": {"command": servers.node, "args": ["-e", echo], "env": env}},
    )
    redactor = Redactor()

    async def scenario():
        lookup = {"REMOTE_TOKEN": FILLED}.get
        async with managed(path, lookup) as manager:
            manager.supervision.redactor = redactor
            assert await manager.ensure(["echo"]) == []
            return manager.status("echo"), manager.failed["echo"]

    status, failed = asyncio.run(scenario())
    assert status.state is ServerState.FAILED
    shown = "\n".join([status.error, failed, *status.stderr_tail])
    for secret in (LITERAL, FILLED, SHAPED):
        assert secret not in shown
    # The error quotes the line that says why, not the version banner printed last.
    assert f"(stderr: Error: auth refused for {REDACTED})" in status.error
    assert f"remote {REDACTED} and {REDACTED}" in status.stderr_tail
    # The workspace's redactor now knows the values, for the log and crash reports too.
    assert LITERAL in redactor and FILLED in redactor


def test_the_filesystem_server_says_its_directory_is_not_accessible(tmp_path, servers):
    missing = tmp_path / "no-such-folder"
    path = write_catalogue(
        tmp_path / "mcp_servers.json", {"files": servers.filesystem_stdio(str(missing))}
    )

    async def scenario():
        async with managed(path) as manager:
            assert await manager.ensure(["files"]) == []
            return manager.status("files")

    status = asyncio.run(scenario())
    assert status.state is ServerState.FAILED
    assert "(stderr: Error: None of the specified directories are accessible)" in status.error


def test_a_start_error_that_names_a_secret_is_redacted(tmp_path):
    # The SDK's own error (no such program) quotes the command, here filled from the keyring.
    path = write_catalogue(
        tmp_path / "mcp_servers.json",
        {"gone": {"command": str(tmp_path / "${REMOTE_TOKEN}" / "server")}},
    )

    async def scenario():
        async with managed(path, {"REMOTE_TOKEN": FILLED}.get) as manager:
            manager.supervision.redactor = Redactor()
            assert await manager.ensure(["gone"]) == []
            return manager.status("gone")

    status = asyncio.run(scenario())
    assert status.state is ServerState.FAILED
    assert FILLED not in status.error
    assert REDACTED in status.error


def test_which_settings_of_a_server_the_redactor_learns():
    config = ServerConfig(
        name="s",
        type="stdio",
        command="x",
        env={
            "GITHUB_TOKEN": "${GITHUB_TOKEN}",  # a name, filled (and learned) at start
            "SERVICE_API_KEY": LITERAL,
            "NODE_ENV": "production",
            "OTHER": "Zq9Zq9Zq9Zq9Zq9Zq9Zq9",
        },
        headers={"Authorization": "Bearer header-token-value-9", "X-Trace": "on"},
    )
    assert sorted(mcp_secret_values(config)) == sorted(
        [LITERAL, "Zq9Zq9Zq9Zq9Zq9Zq9Zq9", "Bearer header-token-value-9", "header-token-value-9"]
    )
