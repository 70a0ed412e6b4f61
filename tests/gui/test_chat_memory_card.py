"""A reply shows what it recalled, and a recalled memory opens on the Memory page."""

from __future__ import annotations

from carrier_studio.core.memory import MemoryRecord
from carrier_studio.ui.widgets.chat_items import MemoryCard
from tests.fakes import text
from tests.gui.test_chat_page import _items, _send, chat, server  # noqa: F401 - fixtures


def test_recalled_memories_show_per_reply_and_open_on_the_memory_page(chat, loop, server):  # noqa: F811
    page, studio = chat
    service = loop.run_until_complete(studio.session.memory.ready())
    fact = MemoryRecord("Ada", "Sam keeps bees on the roof of the library.", "fact")
    loop.run_until_complete(service.remember([fact]))

    server.script(text("How are the bees?"), text("Nice weather."))
    _send(page, loop, "Tell me about my bees on the roof")
    (card,) = _items(page, MemoryCard)
    assert card.toggle.text().startswith("▸  Recalled 1 memory · best ")
    assert "meaning" in card.toggle.text()
    assert card.details.isHidden()
    card.toggle.click()
    assert card.details.isVisible()
    assert "Sam keeps bees" in card.details.text()
    assert "fact from user" in card.details.text()

    # The card is kept with the conversation: reopening it draws it again.
    page._render_history(
        loop.run_until_complete(studio.session.chat.conversations.transcript(page.thread.id)), set()
    )
    assert len(_items(page, MemoryCard)) == 1

    # A link in the card opens that memory on the Memory page.
    _items(page, MemoryCard)[0].details.linkActivated.emit(fact.id)
    loop.run_until_complete(studio.tasks.wait_idle())
    assert studio.window.current_page_key() == "memory"
    memory_page = studio.window.page("memory")
    loop.run_until_complete(studio.tasks.wait_idle())
    assert memory_page.detail.record is not None
    assert memory_page.detail.record.id == fact.id
