"""Edit and branch on the Chat page (#16): edit → branch → switch alternatives → restart → the
next request carries the branch shown."""

from __future__ import annotations

from carrier_studio.ui.widgets.chat_items import MessageBubble
from tests.fakes import text
from tests.gui.test_chat_page import _items, _send, _settle, chat, server  # noqa: F401 - fixtures
from tests.helpers.waiting import wait_until
from tests.services.test_chat_branches import said


def _bubbles(page, loop, count):
    """The page's messages once the finished turn has marked them with their stored ids."""
    wait_until(
        loop,
        lambda: (
            len(_items(page, MessageBubble)) == count
            and all(b.message_id is not None for b in _items(page, MessageBubble))
        ),
    )
    return _items(page, MessageBubble)


def _switch_shown(bubble):
    return bubble.branches.label.text() if bubble.branches.isVisible() else ""


def test_edit_regenerate_switch_and_restart(chat, loop, server, make_studio):  # noqa: F811
    page, studio = chat
    server.script(
        text("Hi Sam."),
        text("Tea is nice."),
        text("Coffee is nice."),
        text("Coffee is great."),
        text("You like coffee."),
    )
    _send(page, loop, "My name is Sam.")
    _send(page, loop, "I like tea.")
    bubbles = _bubbles(page, loop, 4)
    assert bubbles[2].edit_button.isVisible()

    bubbles[2].edit_button.click()
    assert page.composer.toPlainText() == "I like tea."
    assert page.edit_bar.isVisible()
    page.composer.clear()
    _send(page, loop, "I like coffee.")
    bubbles = _bubbles(page, loop, 4)
    assert [b.text for b in bubbles][2:] == ["I like coffee.", "Coffee is nice."]
    assert _switch_shown(bubbles[2]) == "2/2" and not page.edit_bar.isVisible()
    assert said(server.requests[-1]) == [
        ("user", "My name is Sam."),
        ("assistant", "Hi Sam."),
        ("user", "I like coffee."),
    ]

    bubbles[3].retry_button.click()
    wait_until(loop, lambda: not page._running)
    bubbles = _bubbles(page, loop, 4)
    assert bubbles[3].text == "Coffee is great." and _switch_shown(bubbles[3]) == "2/2"
    assert said(server.requests[-1]) == said(server.requests[-2])

    bubbles[3].branches.previous.click()  # back to the first reply
    wait_until(loop, lambda: _items(page, MessageBubble)[-1].text == "Coffee is nice.")
    bubbles = _bubbles(page, loop, 4)
    assert _switch_shown(bubbles[3]) == "1/2" and _switch_shown(bubbles[2]) == "2/2"

    loop.run_until_complete(studio.shutdown())
    again = make_studio(str(studio.session.workspace.root))
    again.window.show_page("chat")
    page2 = again.window.page("chat")
    _settle(page2, again, loop)
    page2.character.setCurrentText("Ada")
    _settle(page2, again, loop, lambda: page2.thread is not None)
    bubbles = _bubbles(page2, loop, 4)
    assert [b.text for b in bubbles][2:] == ["I like coffee.", "Coffee is nice."]
    assert _switch_shown(bubbles[3]) == "1/2" and _switch_shown(bubbles[2]) == "2/2"

    _send(page2, loop, "What do I like?")
    assert said(server.requests[-1]) == [
        ("user", "My name is Sam."),
        ("assistant", "Hi Sam."),
        ("user", "I like coffee."),
        ("assistant", "Coffee is nice."),
        ("user", "What do I like?"),
    ]
