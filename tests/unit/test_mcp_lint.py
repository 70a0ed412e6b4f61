"""Lint for mcp_servers.json: servers that check out but cannot work on this machine."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from carrier_studio.core.mcp.config import Catalogue, check_server
from carrier_studio.core.mcp.lint import lint_catalogue, looks_like_placeholder

WINDOWS = Path(__file__).parent.parent / "data" / "mcp" / "windows_mcp_servers.json"


def warnings_of(platform: str = "linux", **lookups):
    catalogue = Catalogue.from_text(WINDOWS.read_text(), WINDOWS)
    catalogue.check()  # every server is well-formed: only lint has something to say
    return {w.where: w.message for w in lint_catalogue(catalogue, platform=platform, **lookups)}


def test_windows_paths_name_the_server_and_the_field():
    found = warnings_of()
    where = "$.mcpServers.filesystem.args[2]"
    assert found[where].startswith("filesystem: 'C:\\\\Users\\\\Dana\\\\Documents\\\\Carrier' is")
    assert "Windows path" in found[where]
    assert "Windows path" in found["$.mcpServers.filesystem.args[3]"]  # D:/ counts too
    assert "Windows path" in found["$.mcpServers.sqlite.command"]
    assert (
        "forward slashes ('./servers/notes/index.js')" in found["$.mcpServers.local-notes.args[0]"]
    )
    assert "forward slashes ('../tools')" in found["$.mcpServers.local-notes.cwd"]
    # On Windows the same paths are fine.
    assert not any("Windows" in m for m in warnings_of("win32").values())


def test_placeholders_are_flagged_where_they_are():
    found = warnings_of()
    assert (
        "'<your-token>' looks like a placeholder"
        in found["$.mcpServers.github.env.GITHUB_PERSONAL_ACCESS_TOKEN"]
    )
    assert "placeholder" in found["$.mcpServers.brave-search.env.BRAVE_API_KEY"]
    assert "placeholder" in found["$.mcpServers.weather.headers.Authorization"]
    assert "placeholder" in found["$.mcpServers.sqlite.env.DB_PASSWORD"]


def test_unset_variables_and_missing_programs_with_lookups():
    found = warnings_of(is_set=lambda name: False, which=lambda name: None, exists=os.path.exists)
    assert "${WEATHER_KEY} is not set" in found["$.mcpServers.weather.headers.X-Api-Key"]
    assert "'python3' is not installed" in found["$.mcpServers.scripts.command"]
    assert not any("WEATHER_KEY" in m for m in warnings_of(is_set=lambda n: True).values())


@pytest.mark.parametrize(
    ("value", "placeholder"),
    [
        ("<your-token>", True),
        ("YOUR_API_KEY", True),
        ("your-api-key-here", True),
        ("sk-xxxxxxxx", True),
        ("xxx", True),
        ("changeme", True),
        ("ghp_16C7e42F292c6912E7710c838347Ae178B4a", False),
        ("/home/dana/notes", False),
        ("--db-path", False),
        ("youtube", False),
    ],
)
def test_what_counts_as_a_placeholder(value, placeholder):
    assert looks_like_placeholder(value) is placeholder


def test_relative_paths_resolve_against_the_config_folder_not_the_studio(tmp_path):
    config = tmp_path / "ws" / "mcp_servers.json"
    raw = {"command": "python3", "args": ["./scripts/tools_server.py"]}
    server = check_server("scripts", raw, config)
    assert server.cwd == str(tmp_path / "ws")
    assert server.raw == raw  # the user's text is not rewritten
    relative_cwd = check_server("x", {"command": "node", "args": ["a.js"], "cwd": "srv"}, config)
    assert relative_cwd.cwd == str(tmp_path / "ws" / "srv")
    # A Carrier checkout runs from its root, not from config/.
    carrier = tmp_path / "carrier" / "config" / "mcp_servers.json"
    assert check_server("scripts", raw, carrier).cwd == str(tmp_path / "carrier")
    # Nothing relative: the server runs where it always did.
    assert check_server("time", {"command": "uvx", "args": ["mcp-server-time"]}, config).cwd is None
