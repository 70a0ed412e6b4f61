"""A reply shows what it recalled and why, in words; each memory can be pinned, edited,
forgotten (with Undo) or opened on the Memory page from the card (#16)."""

from __future__ import annotations

import re

from PySide6.QtWidgets import QAbstractScrollArea, QApplication

from carrier_studio.core.memory import MemoryRecord, Provenance
from carrier_studio.ui.pages import chat as chat_page
from carrier_studio.ui.widgets.chat_items import MemoryCard
from carrier_studio.ui.widgets.memory_card import score_words
from tests.fakes import error, hang, text
from tests.gui.test_chat_page import _agent_ready, _items, _send, chat, server  # noqa: F401
from tests.helpers.waiting import wait_until

BEES = "Sam keeps **bees** on the roof of the library."


def _recalled_card(chat, loop, server):  # noqa: F811
    page, studio = chat
    service = loop.run_until_complete(studio.session.memory.ready())
    fact = MemoryRecord("Ada", BEES, "fact", Provenance("user"))
    loop.run_until_complete(service.remember([fact]))
    server.script(text("How are the bees?"), text("Nice weather."))
    _send(page, loop, "Tell me about my bees on the roof of the library")
    (card,) = _items(page, MemoryCard)
    return page, studio, service, fact, card


def test_a_recalled_memory_is_rendered_markdown_with_its_score_in_words(chat, loop, server):  # noqa: F811
    page, studio, _service, fact, card = _recalled_card(chat, loop, server)
    assert re.fullmatch(r"▸  Recalled 1 memory · best match 0\.\d\d of 1", card.toggle.text())
    assert card.details.isHidden()
    card.toggle.click()
    assert card.details.isVisible()
    (row,) = card.rows
    # Markdown, rendered in the UI font: no asterisks, "bees" in bold, not a code box.
    assert row.body.toPlainText().strip() == "Sam keeps bees on the roof of the library."
    assert "font-weight:700" in row.body.toHtml()
    assert not row.body.font().fixedPitch()
    assert row.body.font().family() == QApplication.font().family()
    assert row.body.verticalScrollBar().maximum() == 0, "all of it shows, no inner scrolling"
    # The score in words, with the weights the fusion uses, and sums that add up.
    about = row.about.text()
    assert "fact from user" in about
    found = re.search(
        r"score (\d\.\d\d) ≈ 70% of meaning (\d\.\d\d)"
        r"( \+ 30% of words (\d\.\d\d)| \(no words in common\)"
        r"| \(shared words too common to count\))",
        about,
    )
    assert found, about
    score, meaning = float(found[1]), float(found[2])
    words = float(found[4] or 0)
    assert abs(0.7 * meaning + 0.3 * words - score) <= 0.02  # importance moves it ≤ 0.02
    assert "70% from how close the memory's meaning is" in card.explained.text()

    # The card is kept with the conversation: reopening it draws it again.
    stored = loop.run_until_complete(studio.session.chat.conversations.transcript(page.thread.id))
    page._render_history(stored, set())
    assert len(_items(page, MemoryCard)) == 1

    # Open shows that memory on the Memory page.
    reopened = _items(page, MemoryCard)[0]
    reopened.toggle.click()
    reopened.rows[0].open_button.click()
    loop.run_until_complete(studio.tasks.wait_idle())
    assert studio.window.current_page_key() == "memory"
    memory_page = studio.window.page("memory")
    loop.run_until_complete(studio.tasks.wait_idle())
    assert memory_page.detail.record is not None
    assert memory_page.detail.record.id == fact.id


def test_pin_edit_and_forget_a_memory_from_the_card(chat, loop, server):  # noqa: F811
    page, studio, service, fact, card = _recalled_card(chat, loop, server)
    card.toggle.click()
    (row,) = card.rows

    def stored():
        found = loop.run_until_complete(service.get([fact.id]))
        return found[0] if found else None

    row.pin_button.click()
    loop.run_until_complete(studio.tasks.wait_idle())
    assert stored().pinned
    assert row.pin_button.text() == "Unpin" and "📌 pinned" in row.about.text()

    row.edit_button.click()
    assert row.editor.isVisible() and row.editor.toPlainText() == BEES
    assert not isinstance(row.body, QAbstractScrollArea) or row.body.isHidden()
    row.editor.setPlainText("Sam keeps *two* hives of bees on the library roof.")
    row.save_button.click()
    loop.run_until_complete(studio.tasks.wait_idle())
    assert stored().content == "Sam keeps *two* hives of bees on the library roof."
    assert stored().pinned, "editing keeps the pin"
    assert row.body.isVisible() and row.editor.isHidden()
    assert row.body.toPlainText().strip() == "Sam keeps two hives of bees on the library roof."

    # Forget deletes at once and offers Undo (as the Memory page does), no question asked.
    row.forget_button.click()
    loop.run_until_complete(studio.tasks.wait_idle())
    assert stored() is None
    assert row.forgotten.isVisible() and row.undo_button.isVisible()
    assert row.pin_button.isHidden() and row.edit_button.isHidden()
    row.undo_button.click()
    loop.run_until_complete(studio.tasks.wait_idle())
    back = stored()
    assert back is not None and back.content.startswith("Sam keeps *two* hives")
    assert row.forgotten.isHidden() and row.forget_button.isVisible()


def _remember_bees(loop, studio) -> None:
    service = loop.run_until_complete(studio.session.memory.ready())
    loop.run_until_complete(service.remember([MemoryRecord("Ada", BEES, "fact")]))


def test_the_card_goes_above_the_reply_though_drawn_after_its_first_words(
    chat,  # noqa: F811
    loop,
    server,  # noqa: F811
    monkeypatch,
):
    # Drawn once the first words are painted (#21), it still reads in the order things
    # happened: the user's message, what was recalled for it, the reply. (No drawing on a
    # timer here: a loaded machine could draw it before the reply came.)
    monkeypatch.setattr(chat_page, "CARD_WAIT_MS", 60_000)
    page, studio = chat
    _remember_bees(loop, studio)
    cards_at_first_words: list[int] = []
    page.first_token_painted.connect(
        lambda: cards_at_first_words.append(len(_items(page, MemoryCard)))
    )
    server.script(text("They are busy."))
    _send(page, loop, "How are my bees on the library roof?")
    kinds = [type(w).__name__ for w in page.transcript.items()]
    assert kinds[-3:] == ["MessageBubble", "MemoryCard", "MessageBubble"], kinds
    assert cards_at_first_words == [0], "the card came before the reply's first words"
    assert page.transcript.items()[-1].text == "They are busy."


def test_the_card_shows_while_the_model_thinks(chat, loop, server):  # noqa: F811
    page, studio = chat
    _remember_bees(loop, studio)
    server.script(hang())
    _agent_ready(page, loop)
    page.composer.setPlainText("How are my bees on the library roof?")
    page.send()
    wait_until(loop, lambda: _items(page, MemoryCard))
    assert page._running, "drawn before the reply came"
    page.stop()
    wait_until(loop, lambda: not page._running)
    assert len(_items(page, MemoryCard)) == 1


def test_a_reply_that_fails_keeps_its_card(chat, loop, server):  # noqa: F811
    page, studio = chat
    _remember_bees(loop, studio)
    server.script(error(400, "no such model"))
    _send(page, loop, "How are my bees on the library roof?")
    assert len(_items(page, MemoryCard)) == 1


def test_the_score_in_words_adds_up_as_the_fusion_does() -> None:
    # The "best 0.24 (meaning 0.18 + words 0.38)" read like wrong arithmetic.
    both = {"score": 0.24, "semantic": 0.18, "keyword": 0.38}
    assert score_words(both) == "0.24 ≈ 70% of meaning 0.18 + 30% of words 0.38"
    meaning_only = {"score": 0.41, "semantic": 0.58, "keyword": None}
    assert score_words(meaning_only) == "0.41 ≈ 70% of meaning 0.58 (no words in common)"
    common = {"score": 0.39, "semantic": 0.55, "keyword": 0.000001}
    assert score_words(common).endswith("(shared words too common to count)")
    words_only = {"score": 0.5, "semantic": None, "keyword": 0.5}
    assert score_words(words_only) == "0.50, from shared words alone (meaning was not compared)"
