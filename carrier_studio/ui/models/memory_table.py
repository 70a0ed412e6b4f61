"""Memories as a lazily loaded Qt table: a page at a time from the store, newest first.

The view asks for more rows when it scrolls near the end (`canFetchMore` / `fetchMore`); the
model then fetches the next keyset page on the asyncio loop through the page's `TaskOwner`, so
a million memories cost one page of SQL and one screen of painting, never a blocking query. One
fetch runs at a time; a reset (new filters) while one is in flight is picked up by that same
fetch, which then loads the first page of the new listing and drops the stale one.

In search mode the rows are the hits of one search, with their scores as extra columns.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt, Signal

from carrier_studio.core.memory.model import MemoryFilter, MemoryPage, MemoryRecord, SearchHit

if TYPE_CHECKING:
    from carrier_studio.ui.tasks import TaskOwner

Index = QModelIndex | QPersistentModelIndex
Fetch = Callable[[MemoryFilter, str | None, int], Awaitable[MemoryPage]]

COLUMNS = ["Kind", "Content", "Character", "Source", "Created", "Importance", "Pinned"]
SCORE_COLUMNS = ["Score", "Meaning", "Words"]
#: The memory's id, for any column.
IdRole = Qt.ItemDataRole.UserRole + 1
PAGE_SIZE = 200
#: The content column shows one line; the tooltip shows this much of the rest.
_TOOLTIP_CHARS = 1500
_RIGHT = Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter


def source_label(record: MemoryRecord) -> str:
    """``client`` or ``client · room``: where the memory was said."""
    room = record.provenance.room
    return f"{record.provenance.client} · {room}" if room else record.provenance.client


def one_line(text: str, limit: int = 240) -> str:
    line = text.strip().split("\n", 1)[0]
    more = len(line) > limit or "\n" in text.strip()
    return (line[:limit].rstrip() + " …") if more else line


def matches(f: MemoryFilter, record: MemoryRecord) -> bool:
    """Whether a listing with filter ``f`` would show ``record`` (for rows added locally)."""
    p = record.provenance
    return (
        (f.character is None or record.character == f.character)
        and (f.kinds is None or record.kind in f.kinds)
        and (f.client is None or p.client == f.client)
        and (f.room is None or p.room == f.room)
        and (f.since is None or record.created_at >= f.since)
        and (f.until is None or record.created_at < f.until)
        and (f.pinned is None or record.pinned == f.pinned)
    )


def _part(value: float | None) -> str:
    return "—" if value is None else f"{value:.3f}"


class QtMemoryTableModel(QAbstractTableModel):
    #: A page arrived (or a search's hits were shown); the number of rows now loaded.
    loaded = Signal(int)

    def __init__(
        self, fetch: Fetch, tasks: TaskOwner, *, page_size: int = PAGE_SIZE, parent: Any = None
    ) -> None:
        super().__init__(parent)
        self._fetch = fetch
        self._tasks = tasks
        self.page_size = page_size
        self.filter = MemoryFilter()
        self._records: list[MemoryRecord] = []
        self._hits: list[SearchHit] | None = None
        self._row_of: dict[str, int] | None = None
        self._cursor: str | None = None
        self._exhausted = True
        self._generation = 0
        self._fetching = False

    # -- what is shown ----------------------------------------------------------------------

    @property
    def searching(self) -> bool:
        return self._hits is not None

    @property
    def fetching(self) -> bool:
        return self._fetching

    @property
    def exhausted(self) -> bool:
        return self._exhausted

    def list(self, f: MemoryFilter) -> None:
        """Show the memories ``f`` matches, newest first; the first page loads at once."""
        self.beginResetModel()
        try:
            self.filter = f
            self._records = []
            self._hits = None
            self._row_of = None
            self._cursor = None
            self._exhausted = False
            self._generation += 1
        finally:
            self.endResetModel()
        self.fetchMore(QModelIndex())

    def show_hits(self, hits: Sequence[SearchHit], f: MemoryFilter | None = None) -> None:
        """Show one search's hits, best first, with their scores (``f``: the search's filter)."""
        self.beginResetModel()
        try:
            if f is not None:
                self.filter = f
            self._hits = list(hits)
            self._records = [hit.record for hit in self._hits]
            self._row_of = None
            self._cursor = None
            self._exhausted = True
            self._generation += 1
        finally:
            self.endResetModel()
        self.loaded.emit(len(self._records))

    def record(self, row: int) -> MemoryRecord:
        return self._records[row]

    def hit(self, row: int) -> SearchHit | None:
        return self._hits[row] if self._hits is not None else None

    def records(self) -> list[MemoryRecord]:
        return list(self._records)

    def row_of(self, memory_id: str) -> int:
        if self._row_of is None:
            self._row_of = {r.id: n for n, r in enumerate(self._records)}
        return self._row_of.get(memory_id, -1)

    def oldest_loaded(self) -> datetime | None:
        return self._records[-1].created_at if self._records and not self.searching else None

    # -- local changes (edits, deletes, undo, new notes) ------------------------------------

    def replace(self, record: MemoryRecord) -> None:
        """Show an edited memory in place (it stays where it is, even if it no longer
        matches the filter: the user is looking at it)."""
        row = self.row_of(record.id)
        if row < 0:
            return
        self._records[row] = record
        if self._hits is not None:
            old = self._hits[row]
            self._hits[row] = SearchHit(record, old.score, old.semantic, old.keyword)
        self.dataChanged.emit(self.index(row, 0), self.index(row, self.columnCount() - 1))

    def remove(self, ids: Iterable[str]) -> None:
        rows = sorted({r for r in (self.row_of(i) for i in ids) if r >= 0}, reverse=True)
        # Remove contiguous runs from the bottom up, so earlier row numbers stay valid.
        while rows:
            last = first = rows.pop(0)
            while rows and rows[0] == first - 1:
                first = rows.pop(0)
            self.beginRemoveRows(QModelIndex(), first, last)
            del self._records[first : last + 1]
            if self._hits is not None:
                del self._hits[first : last + 1]
            self._row_of = None
            self.endRemoveRows()

    def restore(self, records: Iterable[MemoryRecord]) -> None:
        """Put memories back (undo, a new note) where a listing would have them.

        One older than every loaded row is left to the next page, which will bring it; in
        search mode nothing is added (the hits were for a query, not a listing).
        """
        if self._hits is not None:
            return
        for record in sorted(records, key=lambda r: r.created_at):
            if not matches(self.filter, record) or self.row_of(record.id) >= 0:
                continue
            oldest = self.oldest_loaded()
            if oldest is not None and record.created_at < oldest and not self._exhausted:
                continue
            row = next(
                (n for n, r in enumerate(self._records) if r.created_at <= record.created_at),
                len(self._records),
            )
            self.beginInsertRows(QModelIndex(), row, row)
            self._records.insert(row, record)
            self._row_of = None
            self.endInsertRows()

    # -- lazy loading -----------------------------------------------------------------------

    def canFetchMore(self, parent: Index) -> bool:  # noqa: N802 - Qt override
        return not parent.isValid() and not self._exhausted and not self._fetching

    def fetchMore(self, parent: Index) -> None:  # noqa: N802 - Qt override
        if parent.isValid() or self._exhausted or self._fetching:
            return
        self._fetching = True
        if self._tasks.start("Loading memories", self._load(), failure="stopped") is None:
            self._fetching = False

    async def _load(self) -> None:
        try:
            while not self._exhausted and self._hits is None:
                generation, cursor = self._generation, self._cursor
                page = await self._fetch(self.filter, cursor, self.page_size)
                if generation != self._generation:
                    continue  # the listing was reset meanwhile: load its first page instead
                self._append(page)
                return
        finally:
            self._fetching = False

    def _append(self, page: MemoryPage) -> None:
        self._cursor = page.next_cursor
        self._exhausted = page.next_cursor is None
        fresh = [r for r in page.records if self.row_of(r.id) < 0]
        if fresh:
            start = len(self._records)
            self.beginInsertRows(QModelIndex(), start, start + len(fresh) - 1)
            self._records.extend(fresh)
            if self._row_of is not None:
                self._row_of.update((r.id, start + n) for n, r in enumerate(fresh))
            self.endInsertRows()
        self.loaded.emit(len(self._records))

    # -- the table --------------------------------------------------------------------------

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: N802, B008 - Qt override
        return 0 if parent.isValid() else len(self._records)

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: N802, B008
        if parent.isValid():
            return 0
        return len(COLUMNS) + (len(SCORE_COLUMNS) if self._hits is not None else 0)

    def headerData(  # noqa: N802 - Qt override
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        if orientation != Qt.Orientation.Horizontal or not 0 <= section < self.columnCount():
            return None
        names = COLUMNS + SCORE_COLUMNS
        if role == Qt.ItemDataRole.DisplayRole:
            return names[section]
        if role == Qt.ItemDataRole.ToolTipRole and section >= len(COLUMNS):
            return {
                "Score": "The combined score the search ranked by (0–1)",
                "Meaning": "How close in meaning (cosine similarity of the embeddings)",
                "Words": "How well the words match (full-text rank, 0–1)",
            }[names[section]]
        return None

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or not 0 <= index.row() < len(self._records):
            return None
        record = self._records[index.row()]
        column = index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            return self._display(index.row(), record, column)
        if role == IdRole:
            return record.id
        if role == Qt.ItemDataRole.ToolTipRole and column == 1:
            text = record.content
            return text if len(text) <= _TOOLTIP_CHARS else text[:_TOOLTIP_CHARS] + " …"
        if role == Qt.ItemDataRole.TextAlignmentRole and (column == 5 or column >= len(COLUMNS)):
            return _RIGHT
        return None

    def _display(self, row: int, record: MemoryRecord, column: int) -> str | None:
        if column == 0:
            return record.kind
        if column == 1:
            return one_line(record.content)
        if column == 2:
            return record.character
        if column == 3:
            return source_label(record)
        if column == 4:
            return record.created_at.astimezone().strftime("%Y-%m-%d %H:%M")
        if column == 5:
            return f"{record.importance:.2f}"
        if column == 6:
            return "pinned" if record.pinned else ""
        if self._hits is not None and column < self.columnCount():
            hit = self._hits[row]
            return [f"{hit.score:.3f}", _part(hit.semantic), _part(hit.keyword)][
                column - len(COLUMNS)
            ]
        return None
