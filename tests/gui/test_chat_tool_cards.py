"""Tool cards (#16): one line until opened, everything shown without inner scroll boxes, a long
result cut short until "Show all", and the wait for approval apart from the tool's run time."""

from __future__ import annotations

import re

from PySide6.QtWidgets import QAbstractScrollArea

from carrier_studio.ui.widgets.chat_items import ApprovalCard, MessageBubble, ToolCard
from tests.fakes import text, tool_call
from tests.gui.test_chat_page import (  # noqa: F401 - fixtures
    _items,
    _new_conversation_asking_for_calculate,
    _send,
    chat,
    server,
)
from tests.helpers.waiting import wait_until


def _no_inner_scrolling(card: ToolCard) -> None:
    for area in card.findChildren(QAbstractScrollArea):
        if area.isVisible():
            assert area.verticalScrollBar().maximum() == 0, area.objectName()
            assert area.horizontalScrollBar().maximum() == 0, area.objectName()


def test_a_long_result_is_cut_short_until_show_all(qtbot) -> None:
    card = ToolCard("search_notes", '{"query": "bees"}', "Ada")
    qtbot.addWidget(card)
    card.resize(600, 200)
    card.show()
    result = "\n".join(f"note {n}: the bees on the library roof" for n in range(80))
    card.finish(result, 0.031)
    assert card.toggle.text() == "▸  search_notes · ran 31 ms"
    assert card.details.isHidden()
    card.toggle.click()
    assert card.details.isVisible() and card.toggle.text().startswith("▾")
    shown = card.result_view.toPlainText()
    assert shown.startswith("note 0:") and shown.endswith("…") and "note 79" not in shown
    assert card.show_all_button.isVisible()
    assert card.show_all_button.text() == "Show all (80 lines)"
    _no_inner_scrolling(card)
    card.show_all_button.click()
    assert card.result_view.toPlainText() == result
    assert card.show_all_button.text() == "Show less"
    qtbot.waitUntil(lambda: card.result_view.height() > 80 * 10)  # grown to all 80 lines
    _no_inner_scrolling(card)
    card.toggle.click()
    assert card.details.isHidden()
    # A short result has nothing to show all of.
    short = ToolCard("calculate", "{}", "Ada")
    qtbot.addWidget(short)
    short.finish("42", 0.002)
    assert short.show_all_button.isHidden()


def test_the_times_of_a_call_that_asked_and_of_one_stored_before(qtbot) -> None:
    asked = ToolCard("calculate", "{}", "Ada")
    qtbot.addWidget(asked)
    asked.finish("4", 0.031, 8.5)
    assert asked.toggle.text() == "▸  calculate · ran 31 ms"
    assert asked.waited.text() == "Waited 8.5 s for your approval before it ran."
    assert not asked.waited.isHidden(), "shown with the card collapsed too"
    older = ToolCard("calculate", "{}", "Ada")
    qtbot.addWidget(older)
    older.finish("4", 8.535, None)  # stored before the wait was recorded apart
    assert older.toggle.text() == "▸  calculate · took 8.5 s"
    assert "approval is not known" in older.toggle.toolTip()
    assert older.waited.isHidden()


def test_tool_cards_in_the_chat(chat, loop, server):  # noqa: F811
    page, studio = chat
    server.script(tool_call("calculate", {"expression": "6*7"}), text("42 it is."))
    _send(page, loop, "6*7?")
    (card,) = _items(page, ToolCard)
    assert card.toggle.text().startswith("▸  calculate · ran ")
    assert card.waited.isHidden()
    card.toggle.click()
    assert '"expression": "6*7"' in card.arguments_view.toPlainText()
    assert card.result_view.toPlainText() == "42"
    _no_inner_scrolling(card)

    _new_conversation_asking_for_calculate(page, studio, loop)
    server.script(tool_call("calculate", {"expression": "1+1"}), text("Two."))
    _send(page, loop, "1+1?")
    (approval,) = _items(page, ApprovalCard)
    _no_inner_scrolling(approval)
    approval.approve_button.click()
    wait_until(loop, lambda: not page._running and _items(page, MessageBubble)[-1].text == "Two.")
    asked = _items(page, ToolCard)[0]
    status, waited = asked.toggle.text(), asked.waited.text()
    assert " · ran " in status and waited.startswith("Waited "), (status, waited)
    assert waited.endswith(" for your approval before it ran.")
    # Reopened from studio.db, the card says the same.
    stored = loop.run_until_complete(studio.session.chat.conversations.transcript(page.thread.id))
    page._render_history(stored, set())
    again = _items(page, ToolCard)[0]
    digits = re.compile(r"\d+")  # stored to 0.1 ms: the last digit may round the other way
    assert digits.sub("#", again.toggle.text()) == digits.sub("#", status)
    assert digits.sub("#", again.waited.text()) == digits.sub("#", waited)


def test_a_long_tool_name_does_not_widen_the_transcript(chat, loop, server):  # noqa: F811
    page, _studio = chat
    card = ToolCard("filesystem_read_multiple_files_with_a_very_long_name_indeed", "{}", "Ada")
    card.finish("ok", 0.2, 12.0)
    page.transcript.add(card)
    loop.run_until_complete(_studio.tasks.wait_idle())
    assert page.transcript.minimumSizeHint().width() <= page.scroll.viewport().width()
    assert "very_long_name" in card.toggle.toolTip()
