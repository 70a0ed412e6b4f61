"""The Memory page's browser: the filters, the search box, the count, and the table of memories.

The table loads a page of memories at a time (ui/models/memory_table.py), so a million rows
open as fast as a hundred; a search shows its scored hits in the same table instead. The
browser lists or searches again whenever the filters or the search box change, counts what a
listing holds, and selects rows on request (the map's regions), loading pages until they are
there. What a selection opens (the detail pane, the map's marks) is the page's business: the
browser only says that the user selected something (`selection_changed`).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from PySide6.QtCore import (
    QEvent,
    QItemSelection,
    QItemSelectionModel,
    QModelIndex,
    QObject,
    QTimer,
    Signal,
)
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QHeaderView,
    QLabel,
    QLineEdit,
    QTableView,
)

from carrier_studio.core.memory.model import MemoryFilter, MemoryQuery, MemoryRecord
from carrier_studio.core.memory.model import MemoryPage as Listing
from carrier_studio.ui.models.memory_table import QtMemoryTableModel
from carrier_studio.ui.pages.memory.filters import MemoryFilters

if TYPE_CHECKING:
    from carrier_studio.ui.pages.memory.page import MemoryPage

#: Hits a search shows.
SEARCH_LIMIT = 200
#: The narrowest the Content column gets: below this the memories cannot be read (at 1024×700
#: with the detail pane open it shrank to a few pixels).
MIN_CONTENT_WIDTH = 220
#: Columns given up, in this order, when the table is too narrow for all of them and the
#: content: Pinned, Source, Kind, the score's parts, Character (the detail pane shows them all).
_DROP_ORDER = (6, 3, 0, 9, 8, 2)
#: Each column's usual width (the content, 1, takes what is left).
_WIDTHS = (68, 0, 84, 84, 120, 76, 52, 58, 66, 58)
MODES = (("Hybrid", "hybrid"), ("Meaning", "semantic"), ("Words", "keyword"))


class _ColumnFit(QObject):
    """Refits the table's columns whenever its viewport is resized."""

    def __init__(self, fit: Callable[[], None], parent: QObject) -> None:
        super().__init__(parent)
        self._fit = fit

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 - Qt override
        if event.type() == QEvent.Type.Resize:
            self._fit()
        return False


class _PaintWatch(QObject):
    """Tells when the table's viewport painted the first page (or hits) of a listing."""

    def __init__(
        self, model: QtMemoryTableModel, table: QTableView, painted: Callable[[], None]
    ) -> None:
        super().__init__(table)
        self.table = table
        self.painted = painted
        self.armed = False
        self.loaded = False
        model.loaded.connect(self._on_loaded)

    def arm(self) -> None:
        self.armed, self.loaded = True, False

    def _on_loaded(self, _rows: int) -> None:
        if self.armed and not self.loaded:
            self.loaded = True
            self.table.viewport().update()  # an empty result paints too

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 - Qt override
        if self.armed and self.loaded and event.type() == QEvent.Type.Paint:
            self.armed = False
            # After this paint has finished, not before: queue the signal.
            QTimer.singleShot(0, self.painted)
        return False


class MemoryBrowser(QObject):
    #: The filters changed (the listing follows by itself).
    filters_changed = Signal()
    #: The user selected these memories in the table (not the map through `select`).
    selection_changed = Signal(list)

    def __init__(self, page: MemoryPage) -> None:
        super().__init__(page)
        self.page = page
        self.tasks = page.tasks
        #: The character names the filter offers.
        self.characters: list[str] = []
        self._selecting_from_map = False
        self._scanned = 0
        self._build_filters()
        self._build_search()
        self.model = QtMemoryTableModel(self._fetch_page, self.tasks, parent=self)
        self.model.loaded.connect(self._on_model_loaded)
        self._build_table()
        self._paint_watch = _PaintWatch(self.model, self.table, page.first_screen_painted.emit)
        self.table.viewport().installEventFilter(self._paint_watch)
        self._search_timer = QTimer(self, singleShot=True, interval=250)
        self._search_timer.timeout.connect(self.refresh)

    # -- building ---------------------------------------------------------------------------

    def _build_filters(self) -> None:
        self.filters = MemoryFilters()
        self.filters.changed.connect(self._on_filters_changed)

    def _build_search(self) -> None:
        self.search = QLineEdit()
        self.search.setObjectName("memorySearch")
        self.search.setPlaceholderText("Search memories (Ctrl+F)…")
        self.search.setClearButtonEnabled(True)
        self.search.setMinimumWidth(180)
        self.search.textChanged.connect(lambda _t: self._search_timer.start())
        self.search.returnPressed.connect(self.refresh)
        self.mode = QComboBox()
        self.mode.setObjectName("memorySearchMode")
        for label, mode in MODES:
            self.mode.addItem(label, mode)
        self.mode.setToolTip(
            "Hybrid: meaning and words together. Meaning: embeddings only. Words: full text only."
        )
        self.mode.currentIndexChanged.connect(lambda _i: self.search.text() and self.refresh())
        self.count_label = QLabel()
        self.count_label.setObjectName("memoryCount")

    def _build_table(self) -> None:
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
        self.table.viewport().installEventFilter(_ColumnFit(self._fit_columns, self))
        self.table.selectionModel().selectionChanged.connect(self._on_table_selection_changed)

    def _size_columns(self) -> None:
        # The content takes what is left; the rest are as wide as their usual values.
        header = self.table.horizontalHeader()
        for column in range(self.model.columnCount()):
            if column == 1:
                header.setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
            else:
                self.table.setColumnWidth(column, _WIDTHS[column])
        # With one character chosen, its name on every row says nothing; importance is in the
        # detail pane (the content needs the width more).
        self.table.setColumnHidden(2, self.model.filter.character is not None)
        self.table.setColumnHidden(5, True)
        self._fit_columns()

    def _wanted_columns(self) -> list[int]:
        """The columns shown when there is room: all but Importance, and Character only when
        the rows are of several characters."""
        hidden = {5} | ({2} if self.model.filter.character is not None else set())
        return [c for c in range(self.model.columnCount()) if c not in hidden]

    def _fit_columns(self) -> None:
        """Give the content at least MIN_CONTENT_WIDTH: drop the least needed columns first."""
        room = self.table.viewport().width()
        shown = self._wanted_columns()

        def width(column: int) -> int:  # a hidden column measures 0: count its usual width
            hidden = self.table.isColumnHidden(column)
            return _WIDTHS[column] if hidden else self.table.columnWidth(column)

        for column in _DROP_ORDER:
            others = sum(width(c) for c in shown if c != 1)
            if room - others >= MIN_CONTENT_WIDTH:
                break
            if column in shown:
                shown.remove(column)
        for column in range(self.model.columnCount()):
            self.table.setColumnHidden(column, column not in shown)

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
        self.filters_changed.emit()

    def refresh(self) -> None:
        """List (or search) again with what the filters and the search box say now."""
        self._search_timer.stop()
        if self.page.service is None:
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
            hits = await self.page.memory.search(query)
            if query == self.current_query():
                self.model.show_hits(hits, query.filter)
                self.count_label.setText(f"{len(hits)} found")
                return

    async def _fetch_page(self, f: MemoryFilter, cursor: str | None, limit: int) -> Listing:
        return await self.page.memory.page(f, cursor, limit)

    def _on_model_loaded(self, rows: int) -> None:
        if rows <= self.model.page_size:  # the first page of a listing: count it once
            self.refresh_count()
            self._scanned = 0
        # Memories of characters the workspace no longer has (or imported ones) can still be
        # filtered by: their names join the list as rows show them.
        known = set(self.characters)
        fresh = {self.model.record(r).character for r in range(self._scanned, rows)} - known
        self._scanned = rows
        if fresh and not self.model.searching:
            self.set_characters([*self.characters, *fresh])

    def refresh_count(self) -> None:
        if not self.model.searching and not self.tasks.running("Counting memories"):
            self.tasks.start("Counting memories", self._count())

    async def _count(self) -> None:
        f = self.model.filter
        total = await self.page.memory.count(f)
        if not self.model.searching and f == self.model.filter:
            self.count_label.setText(f"{total:,} memor{'y' if total == 1 else 'ies'}")

    def set_characters(self, names: Sequence[str]) -> None:
        self.filters.set_characters(names)
        self.characters = self.filters.characters

    def focus_search(self) -> None:
        self.search.setFocus()
        self.search.selectAll()

    # -- selection --------------------------------------------------------------------------

    def selected_ids(self) -> list[str]:
        rows = sorted(i.row() for i in self.table.selectionModel().selectedRows())
        return [self.model.record(r).id for r in rows]

    def _on_table_selection_changed(self, *_args: object) -> None:
        if not self._selecting_from_map:
            self.selection_changed.emit(self.selected_ids())

    async def select(
        self, ids: Sequence[str], shown: Sequence[MemoryRecord]
    ) -> MemoryRecord | None:
        """Select these memories' rows, loading pages until every one that the listing
        shows is loaded (the listing is newest first, so the oldest of them, found among
        ``shown``, bounds it). Returns the memory when exactly one row is selected."""
        wanted = set(ids)
        if not wanted:
            self.table.clearSelection()
            return None
        if not self.model.searching:
            records = {r.id: r for r in shown if r.id in wanted}
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
        return self.model.record(rows[0].row()) if len(rows) == 1 else None

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
