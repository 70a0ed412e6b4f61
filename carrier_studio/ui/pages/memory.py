"""The Memory page: browse, search, edit and maintain what the characters remember.

The table loads a page of memories at a time (ui/models/memory_table.py), so a million rows
open as fast as a hundred. Everything that touches the store is one owned task on the asyncio
loop, through the `MemoryService` the page is given; long jobs (import, export, moving to
Supabase, re-embedding) show progress and can be cancelled.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import (
    QEvent,
    QItemSelection,
    QItemSelectionModel,
    QModelIndex,
    QObject,
    Qt,
    QTimer,
    Signal,
)
from PySide6.QtGui import QKeySequence, QShortcut, QShowEvent
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QFileDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QMessageBox,
    QPushButton,
    QSplitter,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from carrier_studio.core import messages
from carrier_studio.core.errors import CarrierError
from carrier_studio.core.memory.errors import MemoryImportError
from carrier_studio.core.memory.model import (
    MemoryFilter,
    MemoryQuery,
    MemoryRecord,
    StoredMemory,
)
from carrier_studio.core.memory.model import (
    MemoryPage as Listing,
)
from carrier_studio.core.memory.projection import project_2d
from carrier_studio.ui.models.memory_table import QtMemoryTableModel
from carrier_studio.ui.tasks import TaskOwner
from carrier_studio.ui.widgets.job_bar import JobBar
from carrier_studio.ui.widgets.memory_detail import MemoryDetail
from carrier_studio.ui.widgets.memory_filters import MemoryFilters
from carrier_studio.ui.widgets.memory_map import MemoryMap
from carrier_studio.ui.widgets.page import Page

if TYPE_CHECKING:
    from carrier_studio.core.memory.protocols import MemoryStore
    from carrier_studio.services.memory.service import MemoryService, Progress

#: Deleting more than this many memories at once asks first.
CONFIRM_DELETE_OVER = 20
#: Hits a search shows.
SEARCH_LIMIT = 200
#: Memories the map draws (the newest of the filter).
MAP_LIMIT = 3000
MODES = (("Hybrid", "hybrid"), ("Meaning", "semantic"), ("Words", "keyword"))


@dataclass
class MemoryPageDeps:
    #: The open memory service: waits while it opens, raises a CarrierError saying why when it
    #: cannot (``MemoryController.ready``).
    service: Callable[[], Awaitable[MemoryService]]
    #: The workspace's character names (the character filter, new notes).
    characters: Callable[[], Awaitable[list[str]]]
    #: Opens the Supabase store to move memories into. The page owns what it returns and
    #: closes it when the move ends. None: moving is not offered.
    move_target: Callable[[], Awaitable[MemoryStore]] | None = None
    #: Whether a move target is configured now (asked whenever the page is shown); by default
    #: whether ``move_target`` was given.
    can_move: Callable[[], bool] | None = None
    #: Subscribes to "the service was replaced or failed" (``MemoryController.on_change``);
    #: returns the unsubscribe function.
    on_service_changed: Callable[[Callable[[], None]], Callable[[], None]] | None = None
    #: Awaited after the page changed the store (``MemoryController.refresh_status``).
    changed: Callable[[], Awaitable[None]] | None = None
    #: The session's re-embedding job (``MemoryController``): start it, the one running (or
    #: None), and its progress. Without them the page runs the job itself.
    start_reembed: Callable[[], Awaitable[None]] | None = None
    reembedding: Callable[[], Awaitable[None] | None] | None = None
    on_reembed_progress: Callable[[Callable[[Progress], None]], Callable[[], None]] | None = None


class MemoryAsk:
    """The page's questions to the user; tests replace these instead of driving dialogs."""

    @staticmethod
    def confirm(parent: QWidget, title: str, text: str) -> bool:
        answer = QMessageBox.question(parent, title, text)
        return answer == QMessageBox.StandardButton.Yes

    @staticmethod
    def open_jsonl(parent: QWidget) -> str | None:
        path, _ = QFileDialog.getOpenFileName(
            parent, "Import memories", "", "Memories (*.jsonl);;All files (*)"
        )
        return path or None

    @staticmethod
    def save_jsonl(parent: QWidget, suggested: str) -> str | None:
        path, _ = QFileDialog.getSaveFileName(
            parent, "Export memories", suggested, "Memories (*.jsonl)"
        )
        return path or None


class _PaintWatch(QObject):
    """Tells when the table's viewport painted the first page (or hits) of a listing."""

    def __init__(self, page: MemoryPage) -> None:
        super().__init__(page)
        self.page = page
        self.armed = False
        self.loaded = False
        page.model.loaded.connect(self._on_loaded)

    def arm(self) -> None:
        self.armed, self.loaded = True, False

    def _on_loaded(self, _rows: int) -> None:
        if self.armed and not self.loaded:
            self.loaded = True
            self.page.table.viewport().update()  # an empty result paints too

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 - Qt override
        if self.armed and self.loaded and event.type() == QEvent.Type.Paint:
            self.armed = False
            # After this paint has finished, not before: queue the signal.
            QTimer.singleShot(0, self.page.first_screen_painted.emit)
        return False


class MemoryPage(Page):
    #: The first screen of a listing (or a search) was painted (bench/memory_page.py).
    first_screen_painted = Signal()

    def __init__(self, deps: MemoryPageDeps, tasks: TaskOwner, parent: QWidget | None = None):
        super().__init__(
            "Memory",
            "What your characters remember, where it came from, and how it is found again.",
            parent,
        )
        self.deps = deps
        self.tasks = tasks
        #: The memory service, once it is open.
        self.service: MemoryService | None = None
        self.ask = MemoryAsk
        self.characters: list[str] = []
        #: Deletions that Undo can bring back, newest last.
        self.undo_stack: list[list[StoredMemory]] = []
        self._map_dirty = True
        #: The memories the map shows now.
        self.map_records: list[MemoryRecord] = []
        self._selecting_from_map = False
        self._scanned = 0
        self._pending_memory: str | None = None

        self.body.addWidget(self._build_filters())
        self.body.addLayout(self._build_actions())
        self.body.addWidget(self._build_banners())
        self.model = QtMemoryTableModel(self._fetch_page, tasks, parent=self)
        self.model.loaded.connect(self._on_model_loaded)
        splitter = QSplitter()
        splitter.addWidget(self._build_table())
        right = QSplitter(Qt.Orientation.Vertical)
        self.detail = MemoryDetail()
        self.detail.save_requested.connect(self._on_detail_save_requested)
        self.detail.pin_requested.connect(self._on_detail_pin_requested)
        self.detail.delete_requested.connect(lambda mid: self.delete_memories([mid]))
        right.addWidget(self.detail)
        self.map = MemoryMap()
        self.map.point_clicked.connect(self.show_memory)
        self.map.region_selected.connect(self._on_map_region_selected)
        right.addWidget(self.map)
        right.setSizes([420, 360])
        splitter.addWidget(right)
        # The table gets most of the width: its content column takes what the others leave.
        splitter.setStretchFactor(0, 5)
        splitter.setStretchFactor(1, 2)
        splitter.setSizes([1000, 380])
        self.body.addWidget(splitter, 1)
        self._paint_watch = _PaintWatch(self)
        self.table.viewport().installEventFilter(self._paint_watch)
        self._add_shortcuts()
        self._search_timer = QTimer(self, singleShot=True, interval=250)
        self._search_timer.timeout.connect(self.refresh)
        self._map_timer = QTimer(self, singleShot=True, interval=150)
        self._map_timer.timeout.connect(self._load_map_soon)
        self._set_ready(False)
        self._unsubscribe = (
            deps.on_service_changed(self._on_service_changed) if deps.on_service_changed else None
        )
        # A re-embedding the session started elsewhere (a new embedder in Settings) shows here
        # as soon as it reports.
        self._unsubscribe_reembed = (
            deps.on_reembed_progress(self._on_session_reembed) if deps.on_reembed_progress else None
        )
        self.tasks.start("Opening memories", self._open())

    # -- building ---------------------------------------------------------------------------

    def _build_filters(self) -> MemoryFilters:
        self.filters = MemoryFilters()
        self.filters.changed.connect(self._on_filters_changed)
        # Short names for the filter widgets (tests and the bench choose filters through them).
        self.character_filter = self.filters.character
        self.kind_filter = self.filters.kind
        self.client_filter = self.filters.client
        self.since_filter = self.filters.since
        self.until_filter = self.filters.until
        self.pinned_filter = self.filters.pinned
        return self.filters

    def _build_actions(self) -> QHBoxLayout:
        row = QHBoxLayout()
        self.search = QLineEdit()
        self.search.setObjectName("memorySearch")
        self.search.setPlaceholderText("Search memories (Ctrl+F)…")
        self.search.setClearButtonEnabled(True)
        self.search.setMinimumWidth(180)
        self.search.textChanged.connect(lambda _t: self._search_timer.start())
        self.search.returnPressed.connect(self.refresh)
        row.addWidget(self.search, 1)
        self.mode = QComboBox()
        self.mode.setObjectName("memorySearchMode")
        for label, mode in MODES:
            self.mode.addItem(label, mode)
        self.mode.setToolTip(
            "Hybrid: meaning and words together. Meaning: embeddings only. Words: full text only."
        )
        self.mode.currentIndexChanged.connect(lambda _i: self.search.text() and self.refresh())
        row.addWidget(self.mode)
        self.count_label = QLabel()
        self.count_label.setObjectName("memoryCount")
        row.addWidget(self.count_label)
        row.addSpacing(12)
        self.new_button = QPushButton("New")
        self.new_button.setToolTip("Write a note for a character to remember (Ctrl+N)")
        self.new_button.clicked.connect(self.new_memory)
        self.delete_button = QPushButton("Delete")
        self.delete_button.setToolTip(
            "Delete the selected memories (Delete); Ctrl+Z brings them back"
        )
        self.delete_button.clicked.connect(self.delete_selected)
        self.import_button = QPushButton("Import…")
        self.import_button.setToolTip("Add memories from a JSONL file")
        self.import_button.clicked.connect(self._on_import_clicked)
        self.export_button = QPushButton("Export…")
        self.export_button.setToolTip("Write the shown character's memories (or all) to JSONL")
        self.export_button.clicked.connect(self._on_export_clicked)
        self.move_button = QPushButton("To Supabase…")
        self.move_button.clicked.connect(self._on_move_clicked)
        self.move_button.setToolTip(
            "Move every local memory to the Supabase project set in Settings"
        )
        for button in (
            self.new_button,
            self.delete_button,
            self.import_button,
            self.export_button,
            self.move_button,
        ):
            row.addWidget(button)
        return row

    def _build_banners(self) -> QWidget:
        box = QWidget()
        layout = QVBoxLayout(box)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(4)
        # A long job: what it does, how far, and a way to stop it.
        self.jobs = JobBar(self.tasks)
        self.job_bar, self.job_progress = self.jobs, self.jobs.progress
        self.job_cancel = self.jobs.cancel_button
        layout.addWidget(self.jobs)
        # The embedder changed since the memories were embedded.
        self.reembed_bar = QWidget()
        reembed = QHBoxLayout(self.reembed_bar)
        reembed.setContentsMargins(0, 0, 0, 0)
        self.reembed_label = QLabel()
        self.reembed_label.setWordWrap(True)
        self.reembed_button = QPushButton("Re-embed")
        self.reembed_button.clicked.connect(self.start_reembed)
        reembed.addWidget(self.reembed_label, 1)
        reembed.addWidget(self.reembed_button)
        self.reembed_bar.hide()
        layout.addWidget(self.reembed_bar)
        # Deleted memories can come back.
        self.undo_bar = QWidget()
        self.undo_bar.setObjectName("memoryUndoBar")
        undo = QHBoxLayout(self.undo_bar)
        undo.setContentsMargins(0, 0, 0, 0)
        self.undo_label = QLabel()
        self.undo_button = QPushButton("Undo")
        self.undo_button.setToolTip("Bring the deleted memories back (Ctrl+Z)")
        self.undo_button.clicked.connect(self.undo_delete)
        undo.addWidget(self.undo_label)
        undo.addWidget(self.undo_button)
        undo.addStretch(1)
        self.undo_bar.hide()
        layout.addWidget(self.undo_bar)
        # The memory could not open.
        self.unavailable = QLabel()
        self.unavailable.setObjectName("memoryUnavailable")
        self.unavailable.setWordWrap(True)
        self.unavailable.hide()
        layout.addWidget(self.unavailable)
        # A file that could not be imported: which lines, and why.
        self.import_problems = QLabel()
        self.import_problems.setObjectName("memoryImportProblems")
        self.import_problems.setWordWrap(True)
        self.import_problems.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.import_problems.hide()
        layout.addWidget(self.import_problems)
        return box

    def _build_table(self) -> QTableView:
        self.table = QTableView()
        self.table.setObjectName("memoryTable")
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.table.setWordWrap(False)
        self.table.verticalHeader().hide()
        self.table.verticalHeader().setDefaultSectionSize(26)
        self.table.setHorizontalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)
        self.table.setModel(self.model)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        header.setStretchLastSection(False)
        self._size_columns()
        self.model.modelReset.connect(self._size_columns)
        self.table.selectionModel().selectionChanged.connect(self._on_table_selection_changed)
        return self.table

    def _add_shortcuts(self) -> None:
        context = Qt.ShortcutContext.WidgetWithChildrenShortcut
        for keys, slot in (
            (QKeySequence.StandardKey.Find, self.focus_search),
            (QKeySequence.StandardKey.Undo, self.undo_delete),
            (QKeySequence.StandardKey.New, self.new_memory),
        ):
            QShortcut(keys, self, slot).setContext(context)
        # Delete acts on the table (and the map), not on text being edited in the detail pane.
        for widget in (self.table, self.map.view):
            QShortcut(QKeySequence.StandardKey.Delete, widget, self.delete_selected).setContext(
                Qt.ShortcutContext.WidgetShortcut
            )

    def _size_columns(self) -> None:
        # The content takes what is left; the rest are as wide as their usual values.
        widths = [68, 0, 84, 84, 120, 76, 52, 58, 66, 58]
        header = self.table.horizontalHeader()
        for column in range(self.model.columnCount()):
            if column == 1:
                header.setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
            else:
                self.table.setColumnWidth(column, widths[column])
        # With one character chosen, its name on every row says nothing; importance is in the
        # detail pane (the content needs the width more).
        self.table.setColumnHidden(2, self.model.filter.character is not None)
        self.table.setColumnHidden(5, True)

    # -- filters and listing ----------------------------------------------------------------

    def current_filter(self) -> MemoryFilter:
        return self.filters.current()

    def current_query(self) -> MemoryQuery | None:
        text = self.search.text().strip()
        if not text:
            return None
        return MemoryQuery(text, self.current_filter(), SEARCH_LIMIT, self.mode.currentData())

    def _on_filters_changed(self, *_args: object) -> None:
        self.refresh()
        self._map_dirty = True
        self._map_timer.start()

    def refresh(self) -> None:
        """List (or search) again with what the filters and the search box say now."""
        self._search_timer.stop()
        if self.service is None:
            return
        self._paint_watch.arm()
        if self.current_query() is None:
            self.model.list(self.current_filter())
        else:
            self.tasks.start("Searching memories", self._search())

    async def _search(self) -> None:
        # One search at a time; if the box changed while it ran, search again for the new text.
        while (query := self.current_query()) is not None:
            self.count_label.setText("searching…")
            hits = await self.memory.search(query)
            if query == self.current_query():
                self.model.show_hits(hits, query.filter)
                self.count_label.setText(f"{len(hits)} found")
                return

    def _on_model_loaded(self, rows: int) -> None:
        if rows <= self.model.page_size:  # the first page of a listing: count it once
            self._refresh_count()
            self._scanned = 0
        # Memories of characters the workspace no longer has (or imported ones) can still be
        # filtered by: their names join the list as rows show them.
        known = set(self.characters)
        fresh = {self.model.record(r).character for r in range(self._scanned, rows)} - known
        self._scanned = rows
        if fresh and not self.model.searching:
            self.set_characters([*self.characters, *fresh])

    async def _count(self) -> None:
        f = self.model.filter
        total = await self.memory.count(f)
        if not self.model.searching and f == self.model.filter:
            self.count_label.setText(f"{total:,} memor{'y' if total == 1 else 'ies'}")

    async def _open(self) -> None:
        self.service = None
        self._set_ready(False)
        self.unavailable.hide()
        try:
            self.service = await self.deps.service()
        except CarrierError as exc:
            self.unavailable.setText(f"The memory is not available: {_escape(str(exc))}")
            self.unavailable.show()
            return
        names = await self.deps.characters()
        self.set_characters(names)
        self._set_ready(True)
        self.refresh()
        self._map_dirty = True
        self._map_timer.start()
        if self._pending_memory is not None and not self.detail.dirty:
            self.show_memory(self._pending_memory)
        self._pending_memory = None
        await self.check_embeddings()

    def _on_service_changed(self) -> None:
        self.tasks.start("Opening memories", self._open())

    def _set_ready(self, ready: bool) -> None:
        for widget in (
            self.new_button,
            self.delete_button,
            self.import_button,
            self.export_button,
            self.search,
            self.detail,
        ):
            widget.setEnabled(ready)
        self._update_move_button(ready)

    def _update_move_button(self, ready: bool = True) -> None:
        deps = self.deps
        configured = deps.move_target is not None and (deps.can_move is None or deps.can_move())
        self.move_button.setEnabled(ready and configured and not self.jobs.running)
        self.move_button.setToolTip(
            "Move every local memory into the Supabase store"
            if configured
            else "Set up a Supabase store under Settings → Memory to move memories there"
        )

    def showEvent(self, event: QShowEvent) -> None:  # noqa: N802 - Qt override
        super().showEvent(event)
        self._update_move_button(self.service is not None)

    async def _fetch_page(self, f: MemoryFilter, cursor: str | None, limit: int) -> Listing:
        return await self.memory.page(f, cursor, limit)

    @property
    def memory(self) -> MemoryService:
        """The open service (the page's actions are disabled until there is one)."""
        if self.service is None:
            raise CarrierError("the memory is not open yet", hint="Wait a moment and try again.")
        return self.service

    def set_characters(self, names: Sequence[str]) -> None:
        self.filters.set_characters(names)
        self.characters = self.filters.characters

    def focus_search(self) -> None:
        self.search.setFocus()
        self.search.selectAll()

    # -- selection, detail, show_memory -----------------------------------------------------

    def selected_ids(self) -> list[str]:
        rows = sorted(i.row() for i in self.table.selectionModel().selectedRows())
        return [self.model.record(r).id for r in rows]

    def _on_table_selection_changed(self, *_args: object) -> None:
        ids = self.selected_ids()
        if not self._selecting_from_map:
            self.map.mark(ids)
        if len(ids) == 1 and not self._selecting_from_map:
            self._open_in_detail(self.model.record(self.model.row_of(ids[0])))

    def _open_in_detail(self, record: MemoryRecord) -> None:
        current = self.detail.record
        if current is not None and current.id == record.id and not self.detail.is_new:
            return
        if self._may_leave_detail():
            self.detail.show_record(record)

    def _may_leave_detail(self) -> bool:
        """Unsaved edits in the detail pane are only dropped when the user says so (a modal
        question: call this from Qt slots, never from inside a task)."""
        return not self.detail.dirty or self.ask.confirm(
            self, "Unsaved changes", "Discard your unsaved changes to the open memory?"
        )

    # What the window asks before it closes (Studio.confirm_close).
    unsaved_label = "The open memory"

    @property
    def dirty(self) -> bool:
        return self.detail.dirty

    async def save_now(self) -> bool:
        """Save the open memory if it has changes; False when it could not be saved."""
        if not self.detail.dirty:
            return True
        try:
            record = self.detail.validated()
        except ValueError as exc:
            self.detail.show_error(str(exc))
            return False
        try:
            await self._save(record, self.detail.is_new)
        except CarrierError as exc:
            messages.error(f"The memory was not saved: {exc}")
            return False
        return True

    def show_memory(self, memory_id: str) -> None:
        """Open one memory in the detail pane (the chat links recalled memories here)."""
        if self.service is None:
            self._pending_memory = memory_id  # opened as soon as the memory is
            return
        if not self._may_leave_detail():
            return
        row = self.model.row_of(memory_id)
        if row >= 0:
            self.table.selectRow(row)
            self.table.scrollTo(self.model.index(row, 0))
            self.detail.show_record(self.model.record(row))
            return
        self.tasks.start("Opening a memory", self._show_stored(memory_id))

    async def _show_stored(self, memory_id: str) -> None:
        found = await self.memory.get([memory_id])
        if not found:
            messages.warning("That memory is no longer stored (it was deleted or moved).")
            return
        self.table.clearSelection()
        self.detail.show_record(found[0])
        self.map.mark([memory_id])

    def _on_map_region_selected(self, ids: list[str]) -> None:
        self.tasks.start("Selecting memories", self.select_memories(ids))

    async def select_memories(self, ids: Sequence[str]) -> None:
        """Select these memories' rows, loading pages until every one that the listing
        shows is loaded (the listing is newest first, so the oldest of them bounds it)."""
        wanted = set(ids)
        if not wanted:
            self.table.clearSelection()
            return
        if not self.model.searching:
            records = {r.id: r for r in self.map_records if r.id in wanted}
            oldest = min((r.created_at for r in records.values()), default=None)
            while not self.model.exhausted and oldest is not None:
                loaded = self.model.oldest_loaded()
                if loaded is not None and loaded < oldest:
                    break
                await self._fetch_next_page()
        selection = QItemSelection()
        last = self.model.columnCount() - 1
        for memory_id in wanted:
            row = self.model.row_of(memory_id)
            if row >= 0:
                selection.select(self.model.index(row, 0), self.model.index(row, last))
        self._selecting_from_map = True
        try:
            self.table.selectionModel().select(
                selection, QItemSelectionModel.SelectionFlag.ClearAndSelect
            )
        finally:
            self._selecting_from_map = False
        rows = self.table.selectionModel().selectedRows()
        if rows:
            self.table.scrollTo(min(rows, key=lambda i: i.row()))
        if len(rows) == 1 and not self.detail.dirty:  # no question from inside a task
            self.detail.show_record(self.model.record(rows[0].row()))

    async def _fetch_next_page(self) -> None:
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()

        def on_done(*_args: object) -> None:
            if not done.done():
                done.set_result(None)

        # A page arrived, or the loading task ended without one (it failed and said so).
        self.model.loaded.connect(on_done)
        self.tasks.finished.connect(on_done)
        try:
            if not self.model.fetching:
                self.model.fetchMore(QModelIndex())
            if self.model.fetching:
                await done
        finally:
            self.model.loaded.disconnect(on_done)
            self.tasks.finished.disconnect(on_done)

    # -- edit, pin, new ---------------------------------------------------------------------

    def new_memory(self) -> None:
        if not self._may_leave_detail():
            return
        self.table.clearSelection()
        self.detail.new_note(self.characters, self.character_filter.currentData())

    def _on_detail_save_requested(self, record: MemoryRecord) -> None:
        self.tasks.start(
            "Saving the memory", self._save(record, self.detail.is_new), busy=[self.detail]
        )

    async def _save(self, record: MemoryRecord, new: bool) -> None:
        if new:
            await self.memory.remember([record])
            self.model.restore([record])
            self._refresh_count()
            self._tell_store_changed()
        else:
            await self.memory.update(record)  # re-embeds when the content changed
            self.model.replace(record)
        self.detail.stored(record)
        self._map_dirty = True
        self._map_timer.start()
        messages.info("Memory saved.")

    def _on_detail_pin_requested(self, record: MemoryRecord) -> None:
        self.tasks.start("Pinning the memory", self._pin(record), busy=[self.detail])

    async def _pin(self, record: MemoryRecord) -> None:
        await self.memory.update(record)
        self.model.replace(record)
        self.detail.stored(record, keep_edits=True)

    # -- delete and undo --------------------------------------------------------------------

    def delete_selected(self) -> None:
        ids = self.selected_ids()
        if not ids and self.detail.record is not None and not self.detail.is_new:
            ids = [self.detail.record.id]
        self.delete_memories(ids)

    def delete_memories(self, ids: Sequence[str]) -> None:
        if not ids:
            return
        if len(ids) > CONFIRM_DELETE_OVER and not self.ask.confirm(
            self,
            "Delete memories",
            f"Delete {len(ids):,} memories? You can bring them back with Undo until you "
            "leave the studio.",
        ):
            return
        self.tasks.start("Deleting memories", self._delete(list(ids)), busy=[self.delete_button])

    async def _delete(self, ids: list[str]) -> None:
        removed = await self.memory.delete(ids)
        gone = [s.record.id for s in removed]
        self.model.remove(gone)
        self.map.remove(gone)
        self._map_dirty = True
        self._map_timer.start()
        if self.detail.record is not None and self.detail.record.id in gone:
            self.detail.clear()
        if removed:
            self.undo_stack.append(removed)
            self._show_undo_bar()
        self._refresh_count()
        self._tell_store_changed()

    def _show_undo_bar(self) -> None:
        if not self.undo_stack:
            self.undo_bar.hide()
            return
        n = len(self.undo_stack[-1])
        self.undo_label.setText(f"Deleted {n:,} memor{'y' if n == 1 else 'ies'} ·")
        self.undo_bar.show()

    def undo_delete(self) -> None:
        if self.undo_stack:
            self.tasks.start("Restoring memories", self._undo(), busy=[self.undo_button])

    async def _undo(self) -> None:
        removed = self.undo_stack[-1]
        await self.memory.undo_delete(removed)
        self.undo_stack.pop()
        self.model.restore([s.record for s in removed])
        self._show_undo_bar()
        self._refresh_count()
        self._tell_store_changed()
        self._map_dirty = True
        self._map_timer.start()
        n = len(removed)
        messages.info(f"Restored {n:,} memor{'y' if n == 1 else 'ies'}.")

    def _tell_store_changed(self) -> None:
        """Let the rest of the studio know (the status bar's memory count)."""
        if self.deps.changed is not None:
            self.tasks.start("Updating the memory status", self.deps.changed())

    def _refresh_count(self) -> None:
        if not self.model.searching and not self.tasks.running("Counting memories"):
            self.tasks.start("Counting memories", self._count())

    # -- the map ----------------------------------------------------------------------------

    def _load_map_soon(self) -> None:
        if self._map_dirty and self.service is not None:
            self.tasks.start("Drawing the memory map", self._load_map())

    async def _load_map(self) -> None:
        while self._map_dirty:
            self._map_dirty = False
            f = self.current_filter()
            if f.character is None:
                self.map_records = []
                self.map.show_message("Choose a character to see a map of its memories.")
                continue
            self.map.caption.setText(f"Drawing {f.character}'s memories…")
            stored = await self.memory.vectors(f, MAP_LIMIT)
            if self._map_dirty:
                continue  # the filters changed meanwhile: draw for the new ones
            vectors = [s.vector for s in stored]
            # A few thousand × 384 SVD is tens of milliseconds of CPU: not on the loop.
            projection = await asyncio.to_thread(project_2d, _stack(vectors))
            if self._map_dirty:
                continue
            records = [s.record for s in stored]
            self.map_records = records
            more = " (the newest)" if len(records) >= MAP_LIMIT else ""
            spread = sum(projection.explained) * 100
            self.map.show_points(
                records,
                projection.points,
                f"{len(records):,} memories of {f.character}{more} · the two axes hold "
                f"{spread:.0f}% of the variance · drag to select a region",
            )
            self.map.mark(self.selected_ids())

    # -- embeddings -------------------------------------------------------------------------

    async def check_embeddings(self) -> None:
        """Offer re-embedding when the stored vectors come from another embedder (and show
        the session's job when one already runs, e.g. started by a change in Settings)."""
        service = self.service
        if service is None:
            return
        running = self.deps.reembedding() if self.deps.reembedding is not None else None
        if running is not None and not running.done():
            self.reembed_bar.hide()
            if not self.jobs.running:
                self._follow_reembed(running)
            return
        stored = await service.store.space()
        if stored is None or stored == service.space:
            self.reembed_bar.hide()
            return
        self.reembed_label.setText(
            f"These memories were embedded with {stored.embedder_id}; the studio now uses "
            f"{service.space.embedder_id}. Until they are embedded again, search finds them by "
            "words only."
        )
        self.reembed_bar.show()

    def start_reembed(self) -> None:
        service = self.service
        if service is None:
            return
        if self.deps.start_reembed is not None:
            self._follow_reembed(self.deps.start_reembed())
            return
        job = service.reembed(service.embedder, progress=self._on_progress)
        self._start_job("Re-embedding memories", job)

    def _on_session_reembed(self, progress: Progress) -> None:
        running = self.deps.reembedding() if self.deps.reembedding is not None else None
        if running is not None and not running.done() and not self.jobs.running:
            self._follow_reembed(running)
            self._on_progress(progress)

    def _follow_reembed(self, job: Any) -> None:
        """Show the session's re-embedding job in the job bar; Cancel there stops it."""

        async def follow() -> None:
            subscribe = self.deps.on_reembed_progress
            unsubscribe = subscribe(self._on_progress) if subscribe is not None else None
            try:
                await asyncio.shield(job)
            except asyncio.CancelledError:
                if not job.done():
                    job.cancel()  # the user pressed Cancel (or the page closes)
                raise
            finally:
                if unsubscribe is not None:
                    unsubscribe()

        self._start_job("Re-embedding memories", follow())

    # -- import, export, move ---------------------------------------------------------------

    def _on_import_clicked(self) -> None:
        path = self.ask.open_jsonl(self)
        if path:
            self.import_jsonl(Path(path))

    def import_jsonl(self, path: Path) -> None:
        self.import_problems.hide()
        self._start_job("Importing memories", self._import(path))

    async def _import(self, path: Path) -> None:
        try:
            n = await self.memory.import_jsonl(path, progress=self._on_progress)
        except MemoryImportError as exc:
            self._show_import_problems(path, exc)
            return
        messages.info(f"Imported {n:,} memories from {path.name}.")
        self._after_bulk_change()

    def _show_import_problems(self, path: Path, exc: MemoryImportError) -> None:
        lines = [f"line {n}: {what}" for n, what in exc.problems]
        shown = "<br>".join(_escape(line) for line in lines[:8])
        more = f"<br>… and {len(lines) - 8} more" if len(lines) > 8 else ""
        self.import_problems.setText(
            f"<b>{_escape(path.name)} was not imported</b> — nothing was added. "
            f"{_escape(str(exc)) if not lines else ''}<br>{shown}{more}"
        )
        self.import_problems.show()
        messages.error(f"{path.name} was not imported: {exc}", details="\n".join(lines) or None)

    def _on_export_clicked(self) -> None:
        character = self.character_filter.currentData()
        suggested = f"{character or 'memories'}.jsonl"
        path = self.ask.save_jsonl(self, suggested)
        if path:
            self.export_jsonl(Path(path), character)

    def export_jsonl(self, path: Path, character: str | None) -> None:
        self._start_job("Exporting memories", self._export(path, character))

    async def _export(self, path: Path, character: str | None) -> None:
        n = await self.memory.export_jsonl(path, character=character, progress=self._on_progress)
        messages.info(f"Exported {n:,} memories to {path}.")

    def _on_move_clicked(self) -> None:
        if self.deps.move_target is None:
            return
        if not self.ask.confirm(
            self,
            "Move to Supabase",
            "Move every local memory to the Supabase store? Each batch is deleted here once "
            "it is stored there; an interrupted move can simply be started again.",
        ):
            return
        self._start_job("Moving memories to Supabase", self._move())

    async def _move(self) -> None:
        assert self.deps.move_target is not None
        target = await self.deps.move_target()
        try:
            n = await self.memory.move_to(target, progress=self._on_progress)
        finally:
            await target.close()
        messages.info(f"Moved {n:,} memories to {target.name}.")
        self._after_bulk_change()

    def _after_bulk_change(self) -> None:
        self.refresh()
        self._map_dirty = True
        self._map_timer.start()

    # -- long jobs --------------------------------------------------------------------------

    def _start_job(self, name: str, coro: Any) -> None:
        buttons = [self.import_button, self.export_button, self.move_button, self.reembed_button]
        self.jobs.start(name, coro, busy=buttons, ended=lambda: self._on_job_ended(name))

    def _on_job_ended(self, name: str) -> None:
        self._update_move_button(self.service is not None)
        self._tell_store_changed()
        if name.startswith(("Re-embedding", "Moving")):
            # Whether it finished or stopped half-way, show the stores as they are now.
            self.tasks.start("Checking embeddings", self.check_embeddings())
            self._after_bulk_change()

    def _on_progress(self, progress: Progress) -> None:
        self.jobs.report(progress.done, progress.total)

    def cancel_job(self) -> None:
        self.jobs.cancel()

    async def shutdown(self) -> None:
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None
        if self._unsubscribe_reembed is not None:
            self._unsubscribe_reembed()
            self._unsubscribe_reembed = None
        self.cancel_job()


def _stack(vectors: list) -> Any:
    import numpy as np

    return np.stack(vectors) if vectors else np.zeros((0, 0), np.float32)


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
