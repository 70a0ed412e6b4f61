"""A resource template's values on the MCP page's Resources tab: each is required, and Enter
reads (an empty value used to be sent; Enter did nothing). A real Python MCP server."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QLineEdit

from tests.gui.test_chat_servers import SERVER_START, _studio
from tests.gui.test_mcp_resources_prompts import NOTES, _select, server  # noqa: F401 - fixture
from tests.helpers.waiting import wait_until


def test_a_templates_values_are_required_and_enter_reads(make_studio, loop, server):  # noqa: F811
    _page, studio = _studio(make_studio, loop, server, {"notes": NOTES}, [])
    studio.window.show_page("mcp")
    mcp = studio.window.page("mcp")
    loop.run_until_complete(studio.tasks.wait_idle())
    mcp.table.selectRow(mcp.model.row_of("notes"))
    mcp.details.setCurrentWidget(mcp.resources)
    browser = mcp.resources
    mcp.restart_server()
    wait_until(loop, lambda: browser.list.count() == 4, SERVER_START)
    wait_until(loop, lambda: browser.preview_uri == "notes://readme", SERVER_START)

    _select(browser, "day (template)")
    browser.read_button.click()
    assert browser.problem.text() == "day: a value is required"
    loop.run_until_complete(studio.tasks.wait_idle())
    assert not browser.preview_uri  # nothing was read

    field = browser.template_form.findChild(QLineEdit, "arg_day")
    field.setText("friday")
    QTest.keyClick(field, Qt.Key.Key_Return)
    wait_until(loop, lambda: browser.preview_uri == "notes://day/friday", SERVER_START)
    assert browser.text_view.toPlainText() == "Notes for friday: water the plants."
