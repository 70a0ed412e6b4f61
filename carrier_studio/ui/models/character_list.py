"""The characters folder as a Qt list model (name, file, and whether it could be read)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import (
    QAbstractListModel,
    QModelIndex,
    QPersistentModelIndex,
    QSortFilterProxyModel,
    Qt,
)

if TYPE_CHECKING:
    from carrier_studio.services.characters.store import Entry

Index = QModelIndex | QPersistentModelIndex
PathRole = Qt.ItemDataRole.UserRole + 1
ErrorRole = Qt.ItemDataRole.UserRole + 2


class QtCharacterListModel(QAbstractListModel):
    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self._entries: list[Entry] = []
        self._dirty: set[Path] = set()

    def set_entries(self, entries: list[Entry]) -> None:
        self.beginResetModel()
        try:
            self._entries = list(entries)
        finally:
            self.endResetModel()

    def entry(self, row: int) -> Entry:
        return self._entries[row]

    def row_of(self, path: Path) -> int:
        return next((i for i, e in enumerate(self._entries) if e.path == path), -1)

    def set_dirty(self, path: Path, dirty: bool) -> None:
        changed = (path in self._dirty) != dirty
        (self._dirty.add if dirty else self._dirty.discard)(path)
        row = self.row_of(path)
        if changed and row >= 0:
            index = self.index(row)
            self.dataChanged.emit(index, index, [Qt.ItemDataRole.DisplayRole])

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: N802, B008 - Qt override
        return 0 if parent.isValid() else len(self._entries)

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or not 0 <= index.row() < len(self._entries):
            return None
        entry = self._entries[index.row()]
        if role == Qt.ItemDataRole.DisplayRole:
            marker = " •" if entry.path in self._dirty else ""
            problem = "  ⚠" if entry.error else ""
            return f"{entry.name}{marker}{problem}"
        if role == Qt.ItemDataRole.ToolTipRole:
            return str(entry.error) if entry.error else str(entry.path)
        if role == PathRole:
            return str(entry.path)
        if role == ErrorRole:
            return str(entry.error) if entry.error else None
        return None


class CharacterFilterModel(QSortFilterProxyModel):
    """Case-insensitive search over names, usernames, bios and topics."""

    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self._needle = ""

    def set_search(self, text: str) -> None:
        self.beginFilterChange()
        self._needle = text.strip().lower()
        self.endFilterChange(QSortFilterProxyModel.Direction.Rows)

    def filterAcceptsRow(self, source_row: int, source_parent: Index) -> bool:  # noqa: N802
        if not self._needle:
            return True
        model = self.sourceModel()
        assert isinstance(model, QtCharacterListModel)
        entry = model.entry(source_row)
        haystack = [entry.name, entry.path.name]
        if entry.doc is not None:
            haystack += [entry.doc.text("username"), *entry.doc.strings("bio")]
            haystack += entry.doc.strings("topics")
        return any(self._needle in text.lower() for text in haystack)
