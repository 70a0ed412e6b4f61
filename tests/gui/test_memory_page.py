"""The Memory page on a real local store (studio.db with sqlite-vec) and the real local embedder.

The page is built on its own (as app.py builds it) with a TaskOwner; every wait runs the qasync
loop (wait_until / run_until_complete), so the page's fetches and jobs run as in the app.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest
from PySide6.QtCore import QDate, QModelIndex, QPoint, Qt
from PySide6.QtTest import QTest

from carrier_studio.core import messages
from carrier_studio.core.errors import CarrierError
from carrier_studio.core.events import Emitter
from carrier_studio.core.memory import EmbeddingSpace, MemoryFilter, MemoryRecord, Provenance
from carrier_studio.core.memory.model import StoredMemory
from carrier_studio.services.memory.embedders import LocalEmbedder
from carrier_studio.services.memory.service import MemoryService
from carrier_studio.services.memory.sqlite_store import SqliteMemoryStore
from carrier_studio.ui.models.memory_table import COLUMNS, SCORE_COLUMNS, QtMemoryTableModel
from carrier_studio.ui.pages.memory import MemoryPage, MemoryPageDeps
from carrier_studio.ui.tasks import TaskOwner
from tests.helpers.waiting import wait_until

T0 = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
SENTENCES = {
    "fact": [
        "Sam's dog is a golden retriever called Biscuit.",
        "Sam is allergic to peanuts and carries an epipen.",
        "The band rehearses every Thursday in the old garage.",
    ],
    "message": [
        "I just got back from hiking in the Alps, the glaciers were huge.",
        "Can you recommend a good sourdough recipe for beginners?",
        "My flight to Tokyo leaves on Friday morning.",
    ],
    "summary": ["We talked about Sam's trip to Japan and what to pack for it."],
    "post": ["New track out tonight: synthwave about neon rain."],
}


@pytest.fixture
def memory(loop, tmp_path):
    store = loop.run_until_complete(SqliteMemoryStore.open(tmp_path / "studio.db"))
    service = MemoryService(store, LocalEmbedder())
    yield service
    loop.run_until_complete(service.close())


def _random_memories(service, character, n, *, start=T0, kind="message", client="chat", seed=0):
    """``n`` memories one minute apart (newest = ``start``), with random unit vectors."""
    rng = np.random.default_rng(seed)
    vectors = rng.normal(size=(n, service.embedder.dimension)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    items = [
        StoredMemory(
            MemoryRecord(
                character=character,
                content=f"{character} memory number {i}",
                kind=kind,
                provenance=Provenance(client=client, room=f"room-{i % 3}"),
                created_at=start - timedelta(minutes=i),
            ),
            vectors[i],
        )
        for i in range(n)
    ]
    return items


def _add(loop, service, items):
    loop.run_until_complete(service.store.add(items, service.space))


def _remember_sentences(loop, service, character="Ada"):
    records = [
        MemoryRecord(
            character=character,
            content=text,
            kind=kind,
            provenance=Provenance(client="discord", room="general", speaker="sam"),
            created_at=T0 - timedelta(hours=n),
        )
        for n, (kind, text) in enumerate(
            (kind, text) for kind, texts in SENTENCES.items() for text in texts
        )
    ]
    loop.run_until_complete(service.remember(records))
    return records


@pytest.fixture
def open_page(qtbot, loop, memory):
    pages = []

    def make(move_target=None, characters=("Ada", "Ben"), service=None, **more) -> MemoryPage:
        async def names() -> list[str]:
            return list(characters)

        async def ready() -> MemoryService:
            return memory

        tasks = TaskOwner()
        deps = MemoryPageDeps(service or ready, names, move_target, **more)
        page = MemoryPage(deps, tasks)
        qtbot.addWidget(page)
        page.resize(1400, 900)
        page.show()
        loop.run_until_complete(tasks.wait_idle())
        pages.append(page)
        return page

    yield make
    for page in pages:
        loop.run_until_complete(page.shutdown())
        loop.run_until_complete(page.tasks.cancel_all())


def _idle(loop, page):
    loop.run_until_complete(page.tasks.wait_idle())


def _choose(combo, data):
    combo.setCurrentIndex(combo.findData(data))


def _contents(page):
    return [page.model.record(r).content for r in range(page.model.rowCount())]


def test_listing_loads_one_page_and_scrolling_fetches_more(loop, memory, open_page):
    _add(loop, memory, _random_memories(memory, "Ada", 450))
    page = open_page()
    assert page.model.rowCount() == 200, "one page, not the whole table"
    assert page.count_label.text() == "450 memories"
    first = page.model.record(0)
    assert first.content == "Ada memory number 0", "newest first"
    assert page.model.index(0, 1).data() == "Ada memory number 0"
    assert page.model.index(0, 3).data() == "chat · room-0"
    page.table.scrollToBottom()
    wait_until(loop, lambda: page.model.rowCount() == 400)
    page.table.scrollToBottom()
    wait_until(loop, lambda: page.model.rowCount() == 450)
    _idle(loop, page)
    assert page.model.exhausted and not page.model.canFetchMore(QModelIndex())
    times = [page.model.record(r).created_at for r in range(450)]
    assert times == sorted(times, reverse=True)
    assert len({page.model.record(r).id for r in range(450)}) == 450


def test_filters_narrow_the_listing(loop, memory, open_page):
    _add(loop, memory, _random_memories(memory, "Ada", 30, kind="fact", client="chat"))
    _add(
        loop,
        memory,
        _random_memories(memory, "Ben", 20, kind="post", client="instagram", seed=1),
    )
    pinned = replace(_random_memories(memory, "Ben", 1, seed=2)[0].record, pinned=True, id="pin1")
    loop.run_until_complete(memory.remember([pinned]))
    page = open_page()
    assert page.model.rowCount() == 51
    _choose(page.character_filter, "Ben")
    wait_until(loop, lambda: page.model.rowCount() == 21)
    assert {page.model.record(r).character for r in range(21)} == {"Ben"}
    _choose(page.kind_filter, "post")
    wait_until(loop, lambda: page.model.rowCount() == 20)
    _choose(page.kind_filter, None)
    _choose(page.client_filter, "instagram")
    wait_until(loop, lambda: page.model.rowCount() == 20)
    assert page.model.index(0, 3).data().startswith("instagram")
    _choose(page.client_filter, None)
    page.pinned_filter.setChecked(True)
    wait_until(loop, lambda: page.model.rowCount() == 1)
    assert page.model.record(0).id == "pin1" and page.model.index(0, 6).data() == "pinned"
    page.pinned_filter.setChecked(False)
    _choose(page.character_filter, None)
    wait_until(loop, lambda: page.model.rowCount() == 51)
    # A date range: Ada's 30 memories are T0 minus 0…29 minutes, all on T0's day; nothing the
    # day before.
    day = T0.astimezone().date()
    page.since_filter.setDate(QDate(day.year, day.month, day.day))
    page.until_filter.setDate(QDate(day.year, day.month, day.day))
    wait_until(loop, lambda: page.model.rowCount() == 51)
    before = day - timedelta(days=1)
    page.since_filter.setDate(QDate(before.year, before.month, before.day))
    page.until_filter.setDate(QDate(before.year, before.month, before.day))
    wait_until(loop, lambda: page.model.rowCount() == 0)
    _idle(loop, page)
    assert page.count_label.text() == "0 memories"


def test_search_shows_scores_with_their_parts(loop, memory, open_page):
    _remember_sentences(loop, memory)
    page = open_page()
    assert page.model.columnCount() == len(COLUMNS)
    page.search.setText("pet dog")
    wait_until(loop, lambda: page.model.searching)
    _idle(loop, page)
    assert page.model.columnCount() == len(COLUMNS) + len(SCORE_COLUMNS)
    headers = [page.model.headerData(c, Qt.Orientation.Horizontal) for c in range(10)]
    assert headers[-3:] == ["Score", "Meaning", "Words"]
    assert "golden retriever" in page.model.record(0).content
    top = page.model.hit(0)
    assert page.model.index(0, 7).data() == f"{top.score:.3f}"
    assert page.model.index(0, 8).data() == f"{top.semantic:.3f}"
    assert page.model.index(0, 9).data() == f"{top.keyword:.3f}", "'dog' is a word of it"
    assert page.count_label.text().endswith("found")
    # Meaning only: no word has to match, and there is no words part.
    _choose(page.mode, "semantic")
    page.search.setText("travelling to Asia by plane")
    wait_until(loop, lambda: page.model.searching and "Tokyo" in page.model.record(0).content)
    assert page.model.index(0, 9).data() == "—"
    # Words only: the hits contain the word; there is no meaning part.
    _choose(page.mode, "keyword")
    page.search.setText("sourdough")
    wait_until(loop, lambda: page.model.rowCount() == 1 and page.model.searching)
    assert "sourdough" in page.model.record(0).content
    assert page.model.index(0, 8).data() == "—"
    page.search.clear()
    wait_until(loop, lambda: not page.model.searching and page.model.rowCount() == 8)
    assert page.model.columnCount() == len(COLUMNS)


def test_editing_and_saving_re_embeds_and_pin_keeps_edits(loop, memory, open_page):
    _remember_sentences(loop, memory)
    page = open_page()
    row = next(r for r in range(8) if "sourdough" in page.model.record(r).content)
    page.table.selectRow(row)
    detail = page.detail
    assert "sourdough" in detail.content.toPlainText()
    assert "from discord · room general · said by sam" == detail.provenance.text()
    assert not detail.save_button.isEnabled()
    detail.content.setPlainText("Sam plays the cello in a string quartet.")
    detail.importance.setValue(0.9)
    detail.kind.setCurrentText("fact")
    assert detail.save_button.isEnabled()
    detail.save_button.click()
    _idle(loop, page)
    stored = loop.run_until_complete(memory.get([detail.record.id]))[0]
    assert stored.content == "Sam plays the cello in a string quartet."
    assert (stored.kind, stored.importance) == ("fact", 0.9)
    assert page.model.index(row, 1).data() == "Sam plays the cello in a string quartet."
    # The vector followed the new content: it is now the new sentence's embedding.
    expected = loop.run_until_complete(memory.embedder.embed([stored.content]))[0]
    vectors = loop.run_until_complete(memory.vectors(MemoryFilter(character="Ada"), 100))
    vector = next(s.vector for s in vectors if s.record.id == stored.id)
    assert float(vector @ expected) > 0.999
    # Pin stores only the flag; an unsaved edit stays in the pane.
    detail.content.setPlainText("an edit not saved yet")
    detail.pin_button.click()
    _idle(loop, page)
    stored = loop.run_until_complete(memory.get([stored.id]))[0]
    assert stored.pinned and stored.content == "Sam plays the cello in a string quartet."
    assert detail.pin_button.text() == "Unpin" and detail.pinned.isChecked()
    assert detail.content.toPlainText() == "an edit not saved yet" and detail.dirty
    assert page.model.index(row, 6).data() == "pinned"
    # Bad metadata is refused with where it is wrong, and nothing is saved.
    detail.metadata.setPlainText('{"topic": music}')
    detail.save_button.click()
    assert detail.error.isVisible() and "line 1, column 11" in detail.error.text()
    _idle(loop, page)
    assert loop.run_until_complete(memory.get([stored.id]))[0].content == stored.content


def test_delete_with_undo_bar_and_ctrl_z(loop, memory, open_page):
    _add(loop, memory, _random_memories(memory, "Ada", 40))
    page = open_page()
    page.table.setFocus()
    page.table.selectRow(2)
    page.table.selectionModel().select(
        page.model.index(3, 0),
        page.table.selectionModel().SelectionFlag.Select
        | page.table.selectionModel().SelectionFlag.Rows,
    )
    doomed = page.selected_ids()
    assert len(doomed) == 2
    QTest.keyClick(page.table, Qt.Key.Key_Delete)
    _idle(loop, page)
    assert page.model.rowCount() == 38
    assert all(page.model.row_of(i) < 0 for i in doomed)
    assert page.undo_bar.isVisible() and page.undo_label.text() == "Deleted 2 memories ·"
    assert loop.run_until_complete(memory.count()) == 38
    QTest.keySequence(page.table, "Ctrl+Z")
    _idle(loop, page)
    assert loop.run_until_complete(memory.count()) == 40
    assert page.model.rowCount() == 40 and [page.model.row_of(i) for i in doomed] == [2, 3]
    assert not page.undo_bar.isVisible()
    assert page.count_label.text() == "40 memories"


def test_undo_under_a_search_brings_the_hit_back_and_the_count_agrees(loop, memory, open_page):
    """#15: after Delete then Undo under an active search the restored memory was missing
    while the count said it was there."""
    _remember_sentences(loop, memory)
    page = open_page()
    _choose(page.mode, "keyword")
    page.search.setText("sourdough")
    wait_until(loop, lambda: page.model.searching and page.model.rowCount() == 1)
    _idle(loop, page)
    doomed = page.model.record(0).id
    page.table.setFocus()
    page.table.selectRow(0)
    QTest.keyClick(page.table, Qt.Key.Key_Delete)
    _idle(loop, page)
    assert page.model.rowCount() == 0 and page.count_label.text() == "0 found"
    QTest.keySequence(page.table, "Ctrl+Z")
    _idle(loop, page)
    wait_until(loop, lambda: page.model.rowCount() == 1)
    assert page.model.searching and page.model.record(0).id == doomed
    assert page.count_label.text() == "1 found"
    assert not page.undo_bar.isVisible()


def test_the_content_column_stays_readable_in_a_narrow_table(loop, memory, open_page):
    """#15: at 1024×700 the Content column shrank to a few pixels; now the least needed
    columns give way first, and come back when there is room."""
    from carrier_studio.ui.pages.memory.browser import MIN_CONTENT_WIDTH

    _remember_sentences(loop, memory)
    page = open_page()
    _idle(loop, page)

    def shown() -> list[str]:
        header = page.table.horizontalHeader()
        return [
            page.model.headerData(c, Qt.Orientation.Horizontal)
            for c in range(page.model.columnCount())
            if not header.isSectionHidden(c)
        ]

    page.table.resize(420, 300)
    wait_until(loop, lambda: page.table.columnWidth(1) >= MIN_CONTENT_WIDTH)
    assert "Content" in shown() and "Created" in shown() and "Pinned" not in shown()
    # A search adds three score columns: the score stays, its parts give way.
    page.search.setText("pet dog")
    wait_until(loop, lambda: page.model.searching)
    _idle(loop, page)
    page.table.resize(430, 300)
    wait_until(loop, lambda: page.table.columnWidth(1) >= MIN_CONTENT_WIDTH)
    assert "Score" in shown() and "Meaning" not in shown()
    page.table.resize(1400, 300)
    wait_until(loop, lambda: "Meaning" in shown() and "Pinned" in shown())
    assert page.table.columnWidth(1) >= MIN_CONTENT_WIDTH


def test_a_large_delete_asks_first(loop, memory, open_page):
    _add(loop, memory, _random_memories(memory, "Ada", 60))
    page = open_page()
    asked = []
    page.ask = type("A", (), {"confirm": staticmethod(lambda *a: asked.append(a[2]) or False)})
    page.table.selectAll()
    page.delete_button.click()
    _idle(loop, page)
    assert "Delete 60 memories?" in asked[0]
    assert loop.run_until_complete(memory.count()) == 60, "refused: nothing deleted"
    page.ask = type("A", (), {"confirm": staticmethod(lambda *a: True)})
    page.delete_button.click()
    _idle(loop, page)
    assert loop.run_until_complete(memory.count()) == 0
    assert page.undo_label.text() == "Deleted 60 memories ·"
    page.undo_button.click()
    _idle(loop, page)
    assert loop.run_until_complete(memory.count()) == 60 and page.model.rowCount() == 60


def test_a_new_note_with_ctrl_n(loop, memory, open_page):
    _add(loop, memory, _random_memories(memory, "Ada", 5))
    page = open_page()
    _choose(page.character_filter, "Ben")
    _idle(loop, page)
    page.activateWindow()
    page.table.setFocus()
    QTest.keySequence(page.table, "Ctrl+F")
    assert page.search.hasFocus()
    QTest.keySequence(page.table, "Ctrl+N")
    assert page.detail.is_new and page.detail.character.currentText() == "Ben"
    assert page.detail.content.hasFocus() or page.detail.content.isEnabled()
    page.detail.content.setPlainText("Ben prefers tea to coffee.")
    page.detail.save_button.click()
    _idle(loop, page)
    assert page.model.rowCount() == 1 and page.model.record(0).kind == "note"
    stored = loop.run_until_complete(memory.page(MemoryFilter(character="Ben"))).records
    assert [(r.content, r.provenance.client) for r in stored] == [
        ("Ben prefers tea to coffee.", "user")
    ]
    hits = loop.run_until_complete(
        memory.recall("Ben", "what does Ben like to drink in the morning?")
    )
    assert hits and hits[0].record.content == "Ben prefers tea to coffee."


def test_export_and_import_round_trip(loop, memory, open_page, tmp_path):
    records = _remember_sentences(loop, memory)
    page = open_page()
    target = tmp_path / "ada.jsonl"
    page.ask = type("A", (), {"save_jsonl": staticmethod(lambda *a: str(target))})
    _choose(page.character_filter, "Ada")
    _idle(loop, page)
    page.export_button.click()
    _idle(loop, page)
    lines = target.read_text().splitlines()
    assert len(lines) == 1 + len(records)
    assert json.loads(lines[0])["embedder_id"] == memory.embedder.id
    assert not page.job_bar.isVisible()
    page.table.selectAll()
    page.delete_selected()
    _idle(loop, page)
    assert loop.run_until_complete(memory.count()) == 0
    page.ask = type("A", (), {"open_jsonl": staticmethod(lambda *a: str(target))})
    page.import_button.click()
    _idle(loop, page)
    assert loop.run_until_complete(memory.count()) == len(records)
    wait_until(loop, lambda: page.model.rowCount() == len(records))
    assert {page.model.record(r).id for r in range(len(records))} == {r.id for r in records}
    assert page.job_progress.maximum() >= 1


def test_a_stopped_import_says_what_it_kept_and_a_second_import_adds_the_rest(
    loop, memory, open_page, tmp_path, message_bus
):
    records = _remember_sentences(loop, memory)
    source = tmp_path / "all.jsonl"
    loop.run_until_complete(memory.export_jsonl(source))
    loop.run_until_complete(memory.delete([r.id for r in records]))
    page = open_page()
    memory.import_chunk = 2
    original, entered, release = memory.store.add, asyncio.Event(), asyncio.Event()

    async def gated_add(items, space, **kwargs):
        written = await original(items, space, **kwargs)
        entered.set()  # the first chunk is committed; hold the import here
        await release.wait()
        return written

    memory.store.add = gated_add
    page.import_jsonl(source)
    wait_until(loop, entered.is_set)
    page.job_cancel.click()
    release.set()  # the chunk being written when Cancel came ends (it cannot stop halfway)
    _idle(loop, page)
    memory.store.add = original
    assert loop.run_until_complete(memory.count()) == 2
    said = [m.text for m in message_bus.held()]
    assert any(f"stopped: 2 of {len(records)} memories were stored" in t for t in said), said
    wait_until(loop, lambda: page.model.rowCount() == 2)  # the list shows what is kept

    page.import_jsonl(source)
    _idle(loop, page)
    assert loop.run_until_complete(memory.count()) == len(records)
    said = [m.text for m in message_bus.held()]
    assert any(
        f"Imported {len(records) - 2} memories from all.jsonl; 2 were already stored" in t
        for t in said
    ), said


def test_a_bad_import_file_names_its_lines_and_imports_nothing(
    loop, memory, open_page, tmp_path, message_bus
):
    _add(loop, memory, _random_memories(memory, "Ada", 3))
    page = open_page()
    bad = tmp_path / "bad.jsonl"
    bad.write_text(
        '{"character": "Ada", "content": "fine"}\n'
        "{not json\n"
        '{"character": "Ada", "content": "fine too"}\n'
        '{"character": "Ada", "content": "x", "importance": 7}\n'
    )
    page.import_jsonl(bad)
    _idle(loop, page)
    text = page.import_problems.text()
    assert page.import_problems.isVisible()
    assert "bad.jsonl was not imported" in text and "nothing was added" in text
    assert "line 2: not valid JSON" in text
    assert "line 4: &quot;importance&quot;" in text or 'line 4: "importance"' in text
    assert loop.run_until_complete(memory.count()) == 3
    errors = [m for m in message_bus.held() if m.level is messages.Level.ERROR]
    assert errors and "line 2" in errors[0].details and "line 4" in errors[0].details


def _map_for(loop, page, character):
    _choose(page.character_filter, character)
    wait_until(loop, lambda: len(page.map.ids()) > 0)
    _idle(loop, page)


def test_clicking_a_point_on_the_map_opens_that_memory(loop, memory, open_page):
    _remember_sentences(loop, memory)
    page = open_page()
    assert "Choose a character" in page.map.caption.text()
    _map_for(loop, page, "Ada")
    assert len(page.map.ids()) == 8 and "8 memories of Ada" in page.map.caption.text()
    page.table.clearSelection()
    chosen = next(r for r in page.map_records if "Tokyo" in r.content)
    QTest.mouseClick(
        page.map.view.viewport(), Qt.MouseButton.LeftButton, pos=page.map.point_position(chosen.id)
    )
    _idle(loop, page)
    assert page.detail.record is not None and page.detail.record.id == chosen.id
    assert page.selected_ids() == [chosen.id]


def test_selecting_a_region_of_the_map_selects_its_rows(loop, memory, open_page):
    # More than a page: the selection has to load the rows it selects.
    _add(loop, memory, _random_memories(memory, "Ada", 320))
    _add(loop, memory, _random_memories(memory, "Ben", 10, seed=3))
    page = open_page()
    _map_for(loop, page, "Ada")
    assert len(page.map.ids()) == 320
    viewport = page.map.view.viewport()
    positions = {mid: page.map.point_position(mid) for mid in page.map.ids()}
    # The left half of the drawn points.
    xs = sorted(p.x() for p in positions.values())
    middle = xs[len(xs) // 2]
    top = min(p.y() for p in positions.values()) - 10
    bottom = max(p.y() for p in positions.values()) + 10
    left = xs[0] - 10
    inside = {mid for mid, p in positions.items() if p.x() < middle - 6}
    outside = {mid for mid, p in positions.items() if p.x() > middle + 6}
    QTest.mousePress(viewport, Qt.MouseButton.LeftButton, pos=QPoint(left, top))
    QTest.mouseMove(viewport, QPoint((left + middle) // 2, (top + bottom) // 2))
    QTest.mouseMove(viewport, QPoint(middle, bottom))
    QTest.mouseRelease(viewport, Qt.MouseButton.LeftButton, pos=QPoint(middle, bottom))
    _idle(loop, page)
    selected = set(page.selected_ids())
    assert inside <= selected and not (outside & selected)
    assert len(selected) > 100
    assert page.model.rowCount() > 200, "rows beyond the first page were loaded to select them"
    assert set(page.map.view.selected_ids()) == selected


def test_show_memory_opens_one_that_is_not_loaded(loop, memory, open_page):
    items = _random_memories(memory, "Ada", 260)
    _add(loop, memory, items)
    page = open_page()
    oldest = items[-1].record
    assert page.model.row_of(oldest.id) < 0
    page.show_memory(oldest.id)
    _idle(loop, page)
    assert page.detail.record == oldest
    loaded = items[0].record
    page.show_memory(loaded.id)
    assert page.selected_ids() == [loaded.id] and page.detail.record == loaded


def test_move_to_another_store_with_progress(loop, memory, open_page, tmp_path, message_bus):
    _add(loop, memory, _random_memories(memory, "Ada", 1200))
    assert not open_page().move_button.isEnabled(), "no target store configured"
    opened = []

    async def target():
        store = await SqliteMemoryStore.open(tmp_path / "elsewhere.db")
        opened.append(store)
        return store

    refreshed = []

    async def changed():
        refreshed.append(await memory.count())

    page = open_page(move_target=target, changed=changed)
    assert page.move_button.isEnabled()
    reports = []
    page.job_progress.valueChanged.connect(reports.append)
    page.ask = type("A", (), {"confirm": staticmethod(lambda *a: True)})
    page.move_button.click()
    assert page.job_bar.isVisible() and not page.import_button.isEnabled()
    _idle(loop, page)
    assert loop.run_until_complete(memory.count()) == 0
    assert reports and reports[-1] == 1200 and len(set(reports)) >= 3
    other = loop.run_until_complete(SqliteMemoryStore.open(tmp_path / "elsewhere.db"))
    try:
        assert loop.run_until_complete(other.count(MemoryFilter())) == 1200
    finally:
        loop.run_until_complete(other.close())
    assert opened and opened[0]._conn is None, "the page closed the store it was given"
    wait_until(loop, lambda: page.model.rowCount() == 0)
    assert not page.job_bar.isVisible() and page.import_button.isEnabled()
    assert refreshed == [0], "the status bar was told once the move ended"
    said = [m.text for m in message_bus.held() if m.level is messages.Level.INFO]
    assert said == ["Moved 1,200 memories to the local store."]  # the store by its title


def test_a_move_names_the_store_by_its_title_and_adds_its_advice(
    loop, memory, open_page, tmp_path, message_bus
):
    """As after a large move into Supabase through its API (a local store stands in)."""
    _add(loop, memory, _random_memories(memory, "Ada", 3))

    class Remote(SqliteMemoryStore):
        title = "Supabase"

        def move_advice(self, moved: int) -> str:
            return f"Advice after {moved}."

    async def target():
        return await Remote.open(tmp_path / "elsewhere.db")

    page = open_page(move_target=target)
    page.ask = type("A", (), {"confirm": staticmethod(lambda *a: True)})
    page.move_button.click()
    _idle(loop, page)
    said = [m.text for m in message_bus.held() if m.level is messages.Level.INFO]
    assert said == ["Moved 3 memories to Supabase. Advice after 3."]


def test_cancelling_a_move_loses_nothing(loop, memory, open_page, tmp_path):
    _add(loop, memory, _random_memories(memory, "Ada", 3000))

    async def target():
        return await SqliteMemoryStore.open(tmp_path / "elsewhere.db")

    page = open_page(move_target=target)
    page.ask = type("A", (), {"confirm": staticmethod(lambda *a: True)})
    page.move_button.click()
    wait_until(loop, lambda: page.job_progress.value() >= 500)
    page.job_cancel.click()
    _idle(loop, page)
    assert not page.job_bar.isVisible()
    here = loop.run_until_complete(memory.count())
    other = loop.run_until_complete(SqliteMemoryStore.open(tmp_path / "elsewhere.db"))
    try:
        there = loop.run_until_complete(other.count(MemoryFilter()))
    finally:
        loop.run_until_complete(other.close())
    assert here + there >= 3000 and here < 3000 and here > 0


def test_re_embedding_when_the_embedder_changed(loop, memory, open_page):
    old = EmbeddingSpace("an-older-embedder", memory.embedder.dimension)
    items = _random_memories(memory, "Ada", 150)
    loop.run_until_complete(memory.store.add(items, old))
    page = open_page()
    assert page.reembed_bar.isVisible()
    assert "an-older-embedder" in page.reembed_label.text()
    page.reembed_button.click()
    assert page.job_bar.isVisible()
    _idle(loop, page)
    assert loop.run_until_complete(memory.store.space()) == memory.space
    assert not page.reembed_bar.isVisible()
    assert page.job_progress.maximum() == 150


def test_the_table_model_passes_the_model_tester(qtmodeltester, loop, memory):
    records = [s.record for s in _random_memories(memory, "Ada", 30)]
    model = QtMemoryTableModel(memory.page, TaskOwner())
    model.restore(records[:0])
    model.show_hits([])
    qtmodeltester.check(model)
    from carrier_studio.core.memory.model import SearchHit

    model.show_hits([SearchHit(r, 0.5, 0.4, None) for r in records])
    qtmodeltester.check(model)
    assert model.columnCount() == len(COLUMNS) + len(SCORE_COLUMNS)
    model.remove([records[3].id, records[4].id, records[10].id])
    assert model.rowCount() == 27
    qtmodeltester.check(model)


def test_a_memory_that_cannot_open_says_why(loop, open_page):
    async def failing():
        raise CarrierError("the memory store is set to Supabase but no Supabase URL is set")

    page = open_page(service=failing)
    assert page.unavailable.isVisible()
    assert "no Supabase URL is set" in page.unavailable.text()
    assert not page.import_button.isEnabled() and not page.search.isEnabled()
    assert page.model.rowCount() == 0


def test_a_replaced_service_is_picked_up(loop, memory, open_page, tmp_path):
    _add(loop, memory, _random_memories(memory, "Ada", 5))
    changed = Emitter("memory")  # as MemoryController.changed
    current = {"service": memory}

    async def ready():
        return current["service"]

    page = open_page(service=ready, on_service_changed=changed.subscribe)
    assert page.model.rowCount() == 5
    other_store = loop.run_until_complete(SqliteMemoryStore.open(tmp_path / "other.db"))
    other = MemoryService(other_store, memory.embedder)
    try:
        _add(loop, other, _random_memories(other, "Ben", 2, seed=4))
        current["service"] = other
        changed.emit(other)
        _idle(loop, page)
        wait_until(loop, lambda: page.model.rowCount() == 2)
        assert page.model.record(0).character == "Ben"
    finally:
        loop.run_until_complete(other_store.close())
    loop.run_until_complete(page.shutdown())
    assert len(changed) == 0, "the page unsubscribed when it shut down"


def test_the_first_screen_is_announced_once_painted_even_when_empty(loop, memory, open_page):
    _add(loop, memory, _random_memories(memory, "Ada", 30))
    page = open_page()
    painted = []
    page.first_screen_painted.connect(lambda: painted.append(page.model.rowCount()))
    page.refresh()
    wait_until(loop, lambda: painted == [30])
    _choose(page.client_filter, "discord")  # no memory came from Discord
    wait_until(loop, lambda: painted == [30, 0])
    _idle(loop, page)
    assert painted == [30, 0], "once per listing"


def test_unsaved_edits_are_kept_unless_the_user_drops_them(loop, memory, open_page):
    _add(loop, memory, _random_memories(memory, "Ada", 10))
    page = open_page()
    asked = []
    answer = {"discard": False}
    page.ask = type(
        "A", (), {"confirm": staticmethod(lambda *a: asked.append(a[2]) or answer["discard"])}
    )
    page.table.selectRow(0)
    first = page.detail.record
    page.detail.content.setPlainText("a half-written correction")
    assert page.dirty
    page.table.selectRow(1)
    assert asked and "unsaved changes" in asked[-1]
    assert page.detail.record == first
    assert page.detail.content.toPlainText() == "a half-written correction"
    # The window's close asks pages with unsaved work to save (Studio.confirm_close).
    assert loop.run_until_complete(page.save_now()) is True
    assert not page.dirty
    stored = loop.run_until_complete(memory.get([first.id]))[0]
    assert stored.content == "a half-written correction"
    page.detail.content.setPlainText("another edit")
    answer["discard"] = True
    page.table.selectRow(2)
    assert page.detail.record.id == page.model.record(2).id and not page.dirty
    assert loop.run_until_complete(memory.get([first.id]))[0].content == stored.content


def test_characters_with_memories_join_the_filter(loop, memory, open_page):
    _add(loop, memory, _random_memories(memory, "Zed", 4))  # not a workspace character
    page = open_page(characters=("Ada",))
    names = [page.character_filter.itemText(i) for i in range(page.character_filter.count())]
    assert names == ["All characters", "Ada", "Zed"]
    _choose(page.character_filter, "Zed")
    wait_until(loop, lambda: page.model.rowCount() == 4 and page.model.filter.character == "Zed")


def test_a_memory_asked_for_while_opening_is_shown_once_open(loop, memory, open_page, qtbot):
    import asyncio

    items = _random_memories(memory, "Ada", 5)
    _add(loop, memory, items)
    gate = asyncio.Event()
    told = []

    async def slow_ready():
        await gate.wait()
        return memory

    async def changed():
        told.append(await memory.count())

    async def names():
        return ["Ada"]

    tasks = TaskOwner()
    page = MemoryPage(MemoryPageDeps(slow_ready, names, changed=changed), tasks)
    qtbot.addWidget(page)
    page.show_memory(items[3].record.id)  # the chat's link, before the store has opened
    assert page.detail.record is None and not page.search.isEnabled()
    gate.set()
    loop.run_until_complete(tasks.wait_idle())
    assert page.detail.record == items[3].record
    page.table.selectRow(0)
    page.delete_selected()
    loop.run_until_complete(tasks.wait_idle())
    assert told == [4], "the status bar's count follows a delete"
    loop.run_until_complete(page.shutdown())


def test_the_date_filters_are_dark_in_the_dark_theme(make_studio, qtbot):
    """#15: the date filters showed as bright boxes in the dark theme."""
    from PySide6.QtGui import QColor

    from carrier_studio.ui.pages.memory.filters import MemoryFilters
    from carrier_studio.ui.theme import palettes

    studio = make_studio(start=False)
    studio.theme.set_choice("dark")
    filters = MemoryFilters()
    qtbot.addWidget(filters)
    filters.resize(900, 40)
    filters.show()
    qtbot.waitExposed(filters)
    combo = filters.client.grab().toImage()
    for edit in (filters.since, filters.until):
        image = edit.grab().toImage()
        middle = image.height() // 2
        # Inside the frame, left of the text: the box's own background as painted…
        painted = QColor(image.pixel(4, middle))
        assert painted.lightness() < 80, (edit.text(), painted.name())
        assert painted.name().upper() == palettes()["dark"]["surface"].upper()
        # …its frame drawn like the other filters' (the theme's, not a bright native one)…
        assert image.pixel(0, middle) == combo.pixel(0, middle)
        # …and no bright button box around its calendar arrow.
        button = [
            QColor(image.pixel(x, 3)).lightness()
            for x in range(image.width() - 24, image.width() - 2)
        ]
        assert max(button) < 80, button
