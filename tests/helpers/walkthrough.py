"""What a person does in the studio, as test steps: click, type, set up a model, chat once.

Clicks and typing happen while the qasync loop runs: QTest processes Qt events as it goes, and an
asyncio step run then, outside a running loop, fails ("no running event loop").
"""

from __future__ import annotations

import json

from PySide6.QtCore import QPoint, Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QRadioButton

from carrier_studio.ui.widgets.chat_items import MessageBubble
from tests.helpers.waiting import wait_until


def strip_mcp_servers(workspace) -> None:
    """The seeded examples use npx MCP servers; chat tests run without them."""
    for path in (workspace / "characters").glob("*.json"):
        data = json.loads(path.read_text())
        data.pop("mcp_servers", None)
        path.write_text(json.dumps(data, indent=2))


def _in_loop(loop, act) -> None:
    """Do ``act`` while the loop runs (see the module's docstring)."""

    async def run() -> None:
        act()

    loop.run_until_complete(run())


def click(loop, widget) -> None:
    """A left click where a person would click: a button's middle, a radio button's circle."""
    assert widget.isVisible() and widget.isEnabled(), widget.objectName()
    at = QPoint(8, widget.height() // 2) if isinstance(widget, QRadioButton) else QPoint()
    _in_loop(loop, lambda: QTest.mouseClick(widget, Qt.MouseButton.LeftButton, pos=at))


def type_into(loop, widget, words: str) -> None:
    def act() -> None:
        widget.setFocus()
        QTest.keyClick(widget, Qt.Key.Key_A, Qt.KeyboardModifier.ControlModifier)
        QTest.keyClicks(widget, words)

    _in_loop(loop, act)


def set_up_local_model(studio, loop, base_url: str, model: str) -> None:
    """What a new user does in the guide: type the server's address, test, pick, use."""
    guide = studio.first_run
    wait_until(loop, lambda: guide is not None and guide.isVisible())
    assert guide.local.isChecked(), "a local server is the first offer"
    wait_until(loop, lambda: not studio.tasks.running("Looking for local servers"), timeout=10)
    type_into(loop, guide.address, base_url)
    click(loop, guide.test_button)
    wait_until(loop, lambda: guide.model.count() > 0, timeout=30)
    assert "Connected" in guide.status.text()
    guide.model.setCurrentIndex(guide.model.findText(model))
    click(loop, guide.use)
    wait_until(loop, lambda: not guide.isVisible())


def chat_once(studio, loop, words: str, *, within: float = 120) -> list[MessageBubble]:
    """Open the chat with the first character, start a conversation, send, wait for the reply."""
    page = studio.window.page("chat")
    wait_until(loop, lambda: studio.window.current_page_key() == "chat")
    wait_until(loop, lambda: page.character.count() > 0)
    if page.thread is None:
        click(loop, page.new_button)
        wait_until(loop, lambda: page.thread is not None)
    loop.run_until_complete(studio.tasks.wait_idle())  # the conversation is drawn
    before = len(page.transcript.items())
    type_into(loop, page.composer, words)
    _in_loop(loop, lambda: QTest.keyClick(page.composer, Qt.Key.Key_Return))
    # The user's bubble, then the answer (or an error card): the turn is over when it is idle.
    answered = lambda: len(page.transcript.items()) >= before + 2 and not page._running  # noqa: E731
    wait_until(loop, answered, timeout=within)
    loop.run_until_complete(page.deps.chat.drain())
    return [w for w in page.transcript.items() if isinstance(w, MessageBubble)]
