"""The MCP page's Prompts tab: a running server's prompts with their arguments, Get prompt with
a form for them, the server's messages (and its errors) shown, list changes, and answers that
come back after the user moved on. Real servers: tests/mcp/resources_server.py (Python),
npm's server-everything and FastMCP (no prompts)."""

from __future__ import annotations

import asyncio

import pytest
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication, QLineEdit

from carrier_studio.core.mcp import ServerState
from carrier_studio.services.mcp import client as studio_client
from carrier_studio.ui.widgets.mcp_prompts import PromptBrowser
from tests.fakes import running_server
from tests.gui.test_chat_servers import SERVER_START, _studio
from tests.gui.test_mcp_notifications import LISTS_CHANGE
from tests.gui.test_mcp_resources_prompts import NOTES
from tests.helpers.waiting import wait_until
from tests.helpers.walkthrough import _in_loop, click
from tests.mcp.servers import fastmcp_stdio, node_servers


@pytest.fixture
def server():
    with running_server() as srv:
        yield srv


def _prompts_tab(studio, loop, name) -> tuple:
    studio.window.show_page("mcp")
    mcp = studio.window.page("mcp")
    loop.run_until_complete(studio.tasks.wait_idle())
    mcp.table.selectRow(mcp.model.row_of(name))
    mcp.details.setCurrentWidget(mcp.prompts)
    return mcp, mcp.prompts


def _names(browser: PromptBrowser) -> list[str]:
    return [browser.list.item(i).text() for i in range(browser.list.count())]


def _select(browser: PromptBrowser, name: str) -> None:
    browser.list.setCurrentRow(_names(browser).index(name))


def _get(loop, browser: PromptBrowser) -> None:
    got: list[bool] = []
    browser.got.connect(lambda: got.append(True))
    click(loop, browser.get_button)
    wait_until(loop, lambda: got, SERVER_START)


def test_a_running_server_s_prompts_are_listed_and_got(make_studio, loop, server, tmp_path):
    page, studio = _studio(make_studio, loop, server, {"notes": NOTES}, [])
    mcp, browser = _prompts_tab(studio, loop, "notes")
    assert mcp.details.tabText(mcp.details.indexOf(browser)) == "Prompts"
    assert browser.empty.isVisible()
    assert browser.empty.text() == "Start the server to see its prompts."

    said: list[str] = []
    browser.listed.connect(lambda: said.append(browser.empty.text()))
    mcp.restart_server()  # "Start"
    wait_until(loop, lambda: browser.list.count() == 2, SERVER_START)
    assert said[0] == "notes is starting; its prompts show when it runs."
    assert _names(browser) == ["summarize", "greet"]
    assert browser.current().name == "summarize", "the first is shown"
    heading = browser.heading.text()
    assert "Ask for a summary of a topic" in heading
    assert "Arguments: topic (required), style" in heading
    topic = browser.form.findChild(QLineEdit, "arg_topic")
    assert topic is not None and browser.form.isVisible()

    # A required argument left empty: nothing is sent, and the field is named.
    click(loop, browser.get_button)
    assert browser.problem.text() == "Not sent: topic: a value is required"
    assert browser.messages_view.toPlainText() == ""

    topic.setText("the moon")
    _get(loop, browser)
    assert browser.messages_view.toPlainText() == (
        "user:\nPlease summarize the moon in a short way."
    )
    assert browser.problem.text() == "1 message"
    click(loop, browser.copy_button)
    assert QApplication.clipboard().text() == browser.messages_view.toPlainText()

    # By keyboard: Enter on a prompt without arguments gets it at once.
    browser.list.setFocus()
    _select(browser, "greet")
    assert browser.form.isHidden() and "No arguments." in browser.heading.text()
    assert browser.messages_view.toPlainText() == "", "another prompt: the old answer goes"
    got: list[bool] = []
    browser.got.connect(lambda: got.append(True))
    _in_loop(loop, lambda: QTest.keyClick(browser.list, Qt.Key.Key_Return))
    wait_until(loop, lambda: got, SERVER_START)
    assert browser.messages_view.toPlainText() == "user:\nSay hello to the studio."
    # Enter on one with arguments goes to its first field; Enter there gets it.
    _select(browser, "summarize")
    _in_loop(loop, lambda: QTest.keyClick(browser.list, Qt.Key.Key_Return))
    topic = browser.form.findChild(QLineEdit, "arg_topic")
    assert topic.hasFocus()
    QTest.keyClicks(topic, "tides")
    got.clear()
    _in_loop(loop, lambda: QTest.keyClick(topic, Qt.Key.Key_Return))
    wait_until(loop, lambda: got, SERVER_START)
    assert "summarize tides" in browser.messages_view.toPlainText()
    # Tab goes from the last field to Get prompt.
    browser.form.findChild(QLineEdit, "arg_style").setFocus()
    QTest.keyClick(QApplication.focusWidget(), Qt.Key.Key_Tab)
    assert QApplication.focusWidget() is browser.get_button

    # A prompt's messages that come after the user chose another prompt are not shown under it.
    release = asyncio.Event()
    answered: list[str] = []
    real_get = browser.browser.prompt

    async def slow(server_name, name, values=None):
        await release.wait()
        answered.append(name)
        return await real_get(server_name, name, values)

    browser.browser.prompt = slow
    _select(browser, "greet")
    click(loop, browser.get_button)
    assert browser.problem.text() == "Getting greet from notes…"
    _select(browser, "summarize")
    release.set()
    wait_until(loop, lambda: answered == ["greet"], SERVER_START)
    loop.run_until_complete(studio.tasks.wait_idle())
    assert browser.messages_view.toPlainText() == "" and browser.problem.text() == ""
    del browser.browser.prompt

    mcp.stop_server()
    wait_until(loop, lambda: studio.session.mcp.status("notes").state is ServerState.STOPPED)
    wait_until(loop, lambda: browser.empty.isVisible())
    assert browser.empty.text() == "Start the server to see its prompts."
    assert browser.list.count() == 0


def test_server_everything_s_prompts_errors_and_a_server_without_prompts(
    make_studio, loop, server, tmp_path
):
    everything = node_servers().everything_stdio()
    catalogue = {"adder": fastmcp_stdio(), "everything": everything}
    page, studio = _studio(make_studio, loop, server, catalogue, [])
    mcp, browser = _prompts_tab(studio, loop, "everything")
    mcp.restart_server()
    wait_until(loop, lambda: "args-prompt" in _names(browser), SERVER_START)
    _select(browser, "args-prompt")
    assert "<b>Arguments Prompt</b> (args-prompt)" in browser.heading.text()
    assert "Arguments: city (required), state" in browser.heading.text()
    city = browser.form.findChild(QLineEdit, "arg_city")
    assert city.placeholderText() == "Name of the city"
    city.setText("Paris")
    _get(loop, browser)
    assert browser.messages_view.toPlainText() == "user:\nWhat's weather in Paris?"

    # The server's own words when it refuses.
    _select(browser, "resource-prompt")
    browser.form.findChild(QLineEdit, "arg_resourceType").setText("Nope")
    browser.form.findChild(QLineEdit, "arg_resourceId").setText("2")
    _get(loop, browser)
    assert "Invalid resourceType: Nope" in browser.problem.text()
    assert browser.problem.property("tone") == "error"
    assert not browser.copy_button.isEnabled()
    # An embedded resource shows as a short label under its role.
    browser.form.findChild(QLineEdit, "arg_resourceType").setText("Text")
    _get(loop, browser)
    shown = browser.messages_view.toPlainText()
    assert shown.startswith("user:\nThis prompt includes the Text resource with id: 2.")
    assert "user:\n[resource: demo://resource/dynamic/text/2 (text/plain, " in shown

    # A server that offers no prompts says so plainly.
    mcp.table.selectRow(mcp.model.row_of("adder"))
    assert browser.empty.text() == "Start the server to see its prompts."
    mcp.restart_server()
    wait_until(loop, lambda: browser.empty.text() == "adder offers no prompts.", SERVER_START)
    assert browser.empty.isVisible() and browser.pane.isHidden()


def test_a_prompt_the_server_adds_shows_without_a_reconnect(
    make_studio, loop, server, tmp_path, monkeypatch
):
    monkeypatch.setattr(studio_client, "CONNECT_MODE", LISTS_CHANGE)
    page, studio = _studio(make_studio, loop, server, {"notes": NOTES}, [])
    mcp, browser = _prompts_tab(studio, loop, "notes")
    mcp.restart_server()
    wait_until(loop, lambda: browser.list.count() == 2, SERVER_START)
    _select(browser, "greet")
    pid = studio.session.mcp.status("notes").pid
    loop.run_until_complete(studio.session.mcp.call_tool("notes", "add_prompt", {"name": "shiny"}))
    wait_until(loop, lambda: browser.list.count() == 3, SERVER_START)
    assert _names(browser) == ["summarize", "greet", "shiny"]
    assert browser.current().name == "greet", "the chosen prompt stays chosen"
    assert studio.session.mcp.status("notes").pid == pid, "the same connection"


def test_switching_server_while_one_lists_never_shows_its_prompts(
    make_studio, loop, server, tmp_path
):
    everything = node_servers().everything_stdio()
    page, studio = _studio(
        make_studio, loop, server, {"everything": everything, "notes": NOTES}, []
    )
    for name in ("everything", "notes"):
        loop.run_until_complete(studio.session.mcp.start(name))
    real = studio.window.page("mcp").prompts.browser.prompts
    gate = asyncio.Event()
    outcome: list[str] = []

    async def held(name: str):
        if name == "notes":  # notes answers only after the user went on to everything
            await gate.wait()
            outcome.append("notes answered")
        return await real(name)

    studio.window.page("mcp").prompts.browser.prompts = held
    mcp, browser = _prompts_tab(studio, loop, "notes")
    assert browser.empty.text() == "Asking notes for its prompts…"
    listed: list[str | None] = []
    browser.listed.connect(lambda: listed.append(browser.server))
    mcp.table.selectRow(mcp.model.row_of("everything"))
    wait_until(loop, lambda: "everything" in listed, SERVER_START)
    assert "args-prompt" in _names(browser)
    gate.set()
    wait_until(loop, lambda: outcome == ["notes answered"], SERVER_START)
    loop.run_until_complete(studio.tasks.wait_idle())
    assert browser.server == "everything"
    assert "summarize" not in _names(browser), "notes' late answer must not land here"
    assert all(p.server == "everything" for p in map(_prompt, _rows(browser)))

    # The page closing while notes lists again: that listing ends with it, answering nowhere.
    gate.clear()
    outcome.clear()

    async def held_again(name: str):
        try:
            await gate.wait()
        except asyncio.CancelledError:
            outcome.append("cancelled")
            raise
        outcome.append("answered after the page closed")
        return await real(name)

    browser.browser.prompts = held_again
    mcp.table.selectRow(mcp.model.row_of("notes"))
    assert browser.empty.text() == "Asking notes for its prompts…"
    loop.run_until_complete(mcp.shutdown())
    wait_until(loop, lambda: outcome == ["cancelled"], SERVER_START)


def _rows(browser: PromptBrowser) -> list:
    return [browser.list.item(i) for i in range(browser.list.count())]


def _prompt(item):
    return item.data(Qt.ItemDataRole.UserRole)
