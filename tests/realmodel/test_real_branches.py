"""Edit and branch on the real small model (#16): edit → branch → regenerate → switch back →
restart → the model is sent exactly the branch shown. Structure, not wording: which messages
the requests carry, through the Chat page as a person drives it."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest

from carrier_studio.core.settings import CompatEndpoint, ModelChoice
from carrier_studio.ui.widgets.chat_items import MessageBubble
from tests.helpers.waiting import wait_until
from tests.helpers.walkthrough import chat_once, click, strip_mcp_servers, type_into

if TYPE_CHECKING:
    from tests.realmodel.conftest import RealModel

pytestmark = pytest.mark.real_model

#: A deadline, not a measure (one CPU thread, up to 256 new tokens a reply).
WITHIN = 300.0


def _said(request: dict) -> list[tuple[str, str]]:
    """The user and assistant turns a chat-completions request carried, in order."""
    return [
        (m["role"], m["content"])
        for m in request["messages"]
        if m.get("role") in ("user", "assistant") and isinstance(m.get("content"), str)
    ]


def _shown(page) -> list[str]:
    return [w.text for w in page.transcript.items() if isinstance(w, MessageBubble)]


def _press_return(loop, widget) -> None:
    async def press() -> None:
        QTest.keyClick(widget, Qt.Key.Key_Return)

    loop.run_until_complete(press())


def _bubbles(page, loop, count: int) -> list[MessageBubble]:
    def marked() -> bool:
        found = [w for w in page.transcript.items() if isinstance(w, MessageBubble)]
        return len(found) == count and all(b.message_id is not None for b in found)

    wait_until(loop, marked, timeout=WITHIN)
    return [w for w in page.transcript.items() if isinstance(w, MessageBubble)]


def _studio(make_studio, workspace, real_model, loop):
    studio = make_studio(str(workspace), start=False)
    providers = studio.session.settings.settings.providers
    providers.endpoints = [CompatEndpoint(name="local", base_url=real_model.base_url)]
    providers.default = ModelChoice(
        provider="openai-compatible", model=real_model.model, endpoint="local", temperature=0
    )
    strip_mcp_servers(workspace)
    loop.run_until_complete(studio.start())
    studio.window.show_page("chat")
    return studio


def test_edit_branch_switch_and_restart_send_the_branch_shown(
    real_model: RealModel, make_studio, loop, tmp_path
):
    workspace = tmp_path / "workspace"
    studio = _studio(make_studio, workspace, real_model, loop)
    page = studio.window.page("chat")
    requests = real_model.proxy.chat_requests
    chat_once(studio, loop, "My name is Sam.", within=WITHIN)
    chat_once(studio, loop, "I like tea.", within=WITHIN)
    bubbles = _bubbles(page, loop, 4)

    # Edit the second message: the new text goes out as a branch beside the old one.
    click(loop, bubbles[2].edit_button)
    assert page.composer.toPlainText() == "I like tea."
    sent = len(requests)
    type_into(loop, page.composer, "I like coffee.")
    _press_return(loop, page.composer)
    wait_until(loop, lambda: len(requests) > sent and not page._running, timeout=WITHIN)
    loop.run_until_complete(page.deps.chat.drain())
    bubbles = _bubbles(page, loop, 4)
    assert bubbles[2].text == "I like coffee." and bubbles[2].branches.label.text() == "2/2"
    first_coffee = bubbles[3].text
    assert _said(requests[-1])[-1] == ("user", "I like coffee.")
    assert ("user", "I like tea.") not in _said(requests[-1])

    # Regenerate the reply, then go back to the first one.
    sent = len(requests)
    click(loop, bubbles[3].retry_button)
    wait_until(loop, lambda: len(requests) > sent and not page._running, timeout=WITHIN)
    bubbles = _bubbles(page, loop, 4)
    assert bubbles[3].branches.label.text() == "2/2"
    click(loop, bubbles[3].branches.previous)
    wait_until(loop, lambda: _shown(page)[-1:] == [first_coffee], timeout=WITHIN)
    loop.run_until_complete(studio.shutdown())

    # After a restart the same branch shows, and it is what the model is sent next.
    again = _studio(make_studio, workspace, real_model, loop)
    page = again.window.page("chat")
    wait_until(loop, lambda: page.thread is not None, timeout=30)
    bubbles = _bubbles(page, loop, 4)
    assert [b.text for b in bubbles][2:] == ["I like coffee.", first_coffee]
    chat_once(again, loop, "What do I like?", within=WITHIN)
    turns = _said(requests[-1])
    assert turns[0] == ("user", "My name is Sam.")
    assert turns[2:] == [
        ("user", "I like coffee."),
        ("assistant", first_coffee),
        ("user", "What do I like?"),
    ]
