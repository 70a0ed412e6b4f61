"""MCP notifications in the window (#19 item 4): progress on the running tool card and on the
MCP page's Call tool, server log messages in the Log tab with their level (coloured, filtered),
and resources/prompts list changes refreshing the MCP page and the chat without a reconnect.
A real Python MCP server (tests/mcp/resources_server.py) and the scripted model server."""

from __future__ import annotations

import sys

import pytest
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest

from carrier_studio.services.mcp import client as studio_client
from carrier_studio.ui.widgets.chat_items import ToolCard
from tests.fakes import running_server, text, tool_call
from tests.gui.test_chat_servers import SERVER_START, _finish, _studio, _tool_names
from tests.helpers.waiting import wait_until
from tests.helpers.walkthrough import click
from tests.mcp.servers import HERE

#: The protocol whose servers announce list changes as notifications (2025-11-25): on
#: 2026-07-28 they go only to a subscriptions/listen stream, which the studio does not open
#: (services/mcp/answers.py says why).
LISTS_CHANGE = "legacy"

NOTES = {"command": sys.executable, "args": [str(HERE / "resources_server.py")]}


@pytest.fixture
def server():
    with running_server() as srv:
        yield srv


def _mcp_page(studio, loop, name):
    studio.window.show_page("mcp")
    mcp = studio.window.page("mcp")
    loop.run_until_complete(studio.tasks.wait_idle())
    mcp.table.selectRow(mcp.model.row_of(name))
    return mcp


def _log_colours(view):
    """Each shown line of the log with the colour it is drawn in."""
    found = []
    block = view.text.document().begin()
    while block.isValid():
        colour = block.begin().fragment().charFormat().foreground().color().name()
        found.append((block.text(), colour))
        block = block.next()
    return found


def test_progress_and_log_messages_on_the_mcp_page(make_studio, loop, server, tmp_path):
    page, studio = _studio(make_studio, loop, server, {"notes": NOTES}, [])
    mcp = _mcp_page(studio, loop, "notes")
    mcp.restart_server()
    wait_until(loop, lambda: mcp.tool_list.count() == 4, SERVER_START)
    gate = tmp_path / "gate"
    rows = [mcp.tool_list.item(i).text() for i in range(mcp.tool_list.count())]
    mcp.tool_list.setCurrentRow(rows.index("step"))
    mcp.form.findChild(object, "arg_n").setText("2")
    mcp.form.findChild(object, "arg_gate").setText(str(gate))
    click(loop, mcp.call_button)
    wait_until(loop, lambda: "1 of 2" in mcp.result.toPlainText(), SERVER_START)
    assert mcp.result.toPlainText() == "Calling step… 1 of 2 — step 1"
    gate.with_name("gate.1").touch()
    wait_until(loop, lambda: "2 of 2" in mcp.result.toPlainText(), SERVER_START)
    gate.with_name("gate.2").touch()
    wait_until(loop, lambda: mcp.result.toPlainText().startswith("stepped 2"), SERVER_START)

    # The server's log messages in its Log tab, each in its level's colour.
    view = mcp.log_view
    colours = studio.theme.colors()
    wait_until(loop, lambda: "[error] the last step hurt" in view.plain(), SERVER_START)
    lines = dict(_log_colours(view))
    assert lines["[info] stepped 1 of 2"] == colours["text"].lower()
    assert lines["[error] the last step hurt"] == colours["error"].lower()
    assert colours["error"].lower() != colours["text"].lower()
    view.filter.setCurrentIndex(view.filter.findData("warning"))
    assert view.plain() == "[error] the last step hurt"
    view.filter.setCurrentIndex(view.filter.findData("mcp"))
    assert view.plain().splitlines() == [
        "[info] stepped 1 of 2",
        "[info] stepped 2 of 2",
        "[error] the last step hurt",
    ]
    view.filter.setCurrentIndex(view.filter.findData("stderr"))
    assert "[info]" not in view.plain()


def test_a_new_resource_and_tool_show_on_the_mcp_page_without_a_reconnect(
    make_studio, loop, server, tmp_path, monkeypatch
):
    monkeypatch.setattr(studio_client, "CONNECT_MODE", LISTS_CHANGE)
    page, studio = _studio(make_studio, loop, server, {"notes": NOTES}, [])
    mcp = _mcp_page(studio, loop, "notes")
    mcp.details.setCurrentWidget(mcp.resources)
    mcp.restart_server()
    browser = mcp.resources
    wait_until(loop, lambda: browser.list.count() == 4, SERVER_START)
    pid = studio.session.mcp.status("notes").pid
    loop.run_until_complete(
        studio.session.mcp.call_tool("notes", "add_note", {"name": "late", "text": "I came later"})
    )
    wait_until(loop, lambda: browser.list.count() == 5, SERVER_START)
    assert browser.list.item(3).text() == "late"
    # And a new tool in the Tools tab.
    tools = mcp.tool_list.count()
    loop.run_until_complete(studio.session.mcp.call_tool("notes", "add_tool", {"name": "zing"}))
    wait_until(loop, lambda: mcp.tool_list.count() == tools + 1, SERVER_START)
    assert "zing" in [mcp.tool_list.item(i).text() for i in range(mcp.tool_list.count())]
    assert studio.session.mcp.status("notes").pid == pid, "the same connection"


def test_progress_on_the_chat_tool_card_and_new_prompts_without_a_reconnect(
    make_studio, loop, server, tmp_path, monkeypatch
):
    monkeypatch.setattr(studio_client, "CONNECT_MODE", LISTS_CHANGE)
    page, studio = _studio(make_studio, loop, server, {"notes": NOTES}, ["notes"])
    wait_until(loop, lambda: len(page.mcp.commands.prompts) == 2, SERVER_START)
    # MCP tools ask first by default; this one runs at once.
    loop.run_until_complete(studio.session.chat.conversations.set_workspace_policy("step", "auto"))
    gate = tmp_path / "gate"
    server.script(tool_call("step", {"n": 3, "gate": str(gate)}), text("Stepped."))
    page.composer.setFocus()
    QTest.keyClicks(page.composer, "Take three steps")
    QTest.keyClick(page.composer, Qt.Key.Key_Return)

    def card():
        cards = [w for w in page.transcript.items() if isinstance(w, ToolCard)]
        return cards[0] if cards else None

    wait_until(loop, lambda: card() is not None and card().progress.isVisible(), SERVER_START)
    assert card().progress_text.text() == "1 of 3 — step 1"
    assert card().progress.value() == 333
    gate.with_name("gate.1").touch()
    wait_until(loop, lambda: card().progress_text.text() == "2 of 3 — step 2", SERVER_START)
    gate.with_name("gate.2").touch()
    wait_until(loop, lambda: card().progress_text.text() == "3 of 3 — step 3", SERVER_START)
    assert card().progress.value() == 1000
    gate.with_name("gate.3").touch()
    _finish(page, studio, loop)
    assert card().progress.isHidden() and card().progress_text.isHidden()
    assert "step · ran" in card().toggle.text()

    # A prompt added while the server runs becomes a /command.
    pid = studio.session.mcp.status("notes").pid
    loop.run_until_complete(studio.session.mcp.call_tool("notes", "add_prompt", {"name": "shiny"}))
    wait_until(loop, lambda: len(page.mcp.commands.prompts) == 3, SERVER_START)
    assert page.mcp.commands.prompts[-1].command == "/shiny"
    assert studio.session.mcp.status("notes").pid == pid, "the same connection"


def test_a_new_tool_reaches_the_next_message_without_a_reconnect(
    make_studio, loop, server, tmp_path, monkeypatch
):
    monkeypatch.setattr(studio_client, "CONNECT_MODE", LISTS_CHANGE)
    page, studio = _studio(make_studio, loop, server, {"notes": NOTES}, ["notes"])
    manager = studio.session.mcp
    wait_until(loop, lambda: page.mcp.button.isEnabled(), SERVER_START)
    # The conversation's agent is built before the first message (as when the user reads
    # before typing), so that build is never awaited by a turn.
    page.new_conversation()
    wait_until(loop, lambda: page.thread is not None and page.thread._agent is not None, 60)
    server.script(text("Hello."))
    page.composer.setFocus()
    QTest.keyClicks(page.composer, "Hi")
    QTest.keyClick(page.composer, Qt.Key.Key_Return)
    _finish(page, studio, loop)
    assert "sparkle" not in _tool_names(server.requests[-1])
    assert "step" in _tool_names(server.requests[-1])

    pid = manager.status("notes").pid
    loop.run_until_complete(manager.call_tool("notes", "add_tool", {"name": "sparkle"}))
    wait_until(loop, lambda: "sparkle" in [t.name for t in manager.status("notes").tools])
    server.script(text("Now I can sparkle."))
    QTest.keyClicks(page.composer, "Again")
    QTest.keyClick(page.composer, Qt.Key.Key_Return)
    _finish(page, studio, loop)
    assert "sparkle" in _tool_names(server.requests[-1])
    assert manager.status("notes").pid == pid, "the same connection"
