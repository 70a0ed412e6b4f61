"""The folders an MCP server may see (its roots), on the MCP page's Configuration tab: the
workspace always, plus the folders added there, saved to the settings and told to a running
server at once (tests/mcp/client_server.py on 2025-11-25, which asks again on each call)."""

from __future__ import annotations

import json
import sys

import pytest
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest

from carrier_studio.services.mcp import client as studio_client
from tests.services.test_mcp_client import SERVER


@pytest.fixture
def mcp(make_studio, loop, tmp_path, monkeypatch):
    monkeypatch.setattr(studio_client, "CONNECT_MODE", "legacy")  # roots/list_changed exists
    workspace = tmp_path / "ws"
    workspace.mkdir()
    asker = {"command": sys.executable, "args": [str(SERVER)]}
    (workspace / "mcp_servers.json").write_text(json.dumps({"mcpServers": {"asker": asker}}))
    studio = make_studio(str(workspace))
    studio.window.show_page("mcp")
    page = studio.window.page("mcp")
    loop.run_until_complete(studio.tasks.wait_idle())
    return studio, page, workspace


def test_added_folders_are_saved_and_reach_the_running_server(mcp, loop, tmp_path):
    studio, page, workspace = mcp
    notes = tmp_path / "my notes"
    notes.mkdir()

    async def scenario():
        manager = studio.session.mcp
        page.table.selectRow(page.model.row_of("asker"))
        await manager.start("asker")
        await studio.tasks.wait_idle()
        folders = page.server_folders
        page.details.setCurrentIndex(page.details.indexOf(page.config_view.parentWidget()))
        assert folders.isVisible() and str(workspace) in folders.workspace.text()
        listed = (await manager.call_tool("asker", "list_my_roots")).text
        assert listed.splitlines() == [workspace.resolve().as_uri()]
        folders.choose_folder = lambda: str(notes)
        QTest.mouseClick(folders.add_button, Qt.MouseButton.LeftButton)
        await studio.tasks.wait_idle()
        saved = json.loads(studio.session.settings.path.read_text())
        assert saved["mcp"]["roots"] == {"asker": [str(notes)]}
        listed = (await manager.call_tool("asker", "list_my_roots")).text
        assert listed.splitlines() == [workspace.resolve().as_uri(), notes.as_uri()]
        folders.folders.setCurrentRow(0)
        QTest.mouseClick(folders.remove_button, Qt.MouseButton.LeftButton)
        await studio.tasks.wait_idle()
        assert studio.session.settings.settings.mcp.roots == {}

    loop.run_until_complete(scenario())


def test_the_servers_json_gets_the_configuration_tabs_height(mcp, loop, qapp):
    """At 1024x700 the folders box took most of the tab and the JSON four lines."""
    studio, page, _workspace = mcp
    studio.window.resize(1008, 660)
    studio.window.show()
    page.table.selectRow(page.model.row_of("asker"))
    page.details.setCurrentIndex(page.details.indexOf(page.config_view.parentWidget()))
    for _ in range(3):
        qapp.processEvents()
    lines = page.config_view.height() // page.config_view.fontMetrics().lineSpacing()
    assert lines >= 7, (lines, page.server_folders.height())
