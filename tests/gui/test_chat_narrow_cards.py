"""A tool with a long name at the size the studio opens on a 1024x700 screen: its cards give
way to the chat column (the walkthrough's "Remember for trigger-long-running-operation" widened
the transcript, which scrolled sideways, cut Approve to "Appr" and then the replies on the left).
"""

from __future__ import annotations

import json

from PySide6.QtCore import QPoint

from carrier_studio.core.runtime.events import ApprovalRequested
from carrier_studio.ui.widgets.chat_items import ApprovalCard, MessageBubble, ToolCard
from tests.gui.test_chat_page import chat, server  # noqa: F401 - fixtures
from tests.gui.test_layouts import _problems

LONG = "trigger-long-running-operation"


def test_a_long_tool_name_never_widens_the_transcript(chat, loop):  # noqa: F811
    page, studio = chat
    studio.window.resize(1008, 660)  # the window MainWindow._fitting opens on 1024x700
    page.transcript.add(MessageBubble("user", "", "Run the long operation"))
    page.transcript.add(ToolCard(LONG, json.dumps({"duration": 12, "steps": 6}), "Ada"))
    card = page._approval_card(
        ApprovalRequested("call-1", LONG, json.dumps({"duration": 12, "steps": 6}), "Ada")
    )
    # And one whose name has no place to break at all.
    other = page._approval_card(ApprovalRequested("call-2", "x" * 120, "{}", "Ada"))
    loop.run_until_complete(studio.tasks.wait_idle())
    page.scroll.ensureWidgetVisible(card.approve_button)  # what focus or a click would do
    problems = _problems(page, "chat")
    assert not problems, "\n".join(problems)
    assert page.scroll.horizontalScrollBar().maximum() == 0, "the transcript scrolls sideways"
    viewport = page.scroll.viewport()
    right = viewport.mapToGlobal(QPoint(viewport.width(), 0)).x()
    for approval in (card, other):
        assert isinstance(approval, ApprovalCard)
        for button in (approval.approve_button, approval.reject_button):
            assert button.width() >= button.minimumSizeHint().width(), button.text()
            assert button.mapToGlobal(QPoint(button.width(), 0)).x() <= right, button.text()
        # Cut to fit, whole in its tooltip.
        assert approval.remember.toolTip() == f"Remember for {approval.tool}"
        assert approval.remember.width() <= approval.width()
    # Above the buttons where it does not fit beside them: whole when a line of its own holds it.
    assert card.remember.text() == f"Remember for {LONG}"
    assert card.remember.y() < card.approve_button.y()
    assert other.remember.text().endswith("…")
