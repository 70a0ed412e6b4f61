"""The MCP catalogue's servers as a Qt table: on/off, status, transport, tools, last error."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt, Signal
from PySide6.QtGui import QColor

from carrier_studio.core.mcp.status import ServerState, ServerStatus

Index = QModelIndex | QPersistentModelIndex
COLUMNS = ["On", "Server", "Status", "Transport", "Tools", "Last error"]
_STATE_COLOR = {
    ServerState.RUNNING: "ok",
    ServerState.STARTING: "warn",
    ServerState.FAILED: "error",
    ServerState.STOPPED: "idle",
}


class QtMcpServerModel(QAbstractTableModel):
    #: The user ticked or unticked a server; the page applies it through the manager.
    toggle_requested = Signal(str, bool)

    def __init__(self, colors: dict[str, str], parent: Any = None) -> None:
        super().__init__(parent)
        self._rows: list[ServerStatus] = []
        self._colors = colors

    def set_colors(self, colors: dict[str, str]) -> None:
        self._colors = colors
        if self._rows:
            self.dataChanged.emit(self.index(0, 2), self.index(len(self._rows) - 1, 2))

    def set_statuses(self, statuses: list[ServerStatus]) -> None:
        self.beginResetModel()
        try:
            self._rows = list(statuses)
        finally:
            self.endResetModel()

    def update(self, status: ServerStatus) -> None:
        """Show a new snapshot of one server (a new server appends a row)."""
        for row, current in enumerate(self._rows):
            if current.name == status.name:
                self._rows[row] = status
                self.dataChanged.emit(self.index(row, 0), self.index(row, len(COLUMNS) - 1))
                return
        self.beginInsertRows(QModelIndex(), len(self._rows), len(self._rows))
        self._rows.append(status)
        self.endInsertRows()

    def status(self, row: int) -> ServerStatus:
        return self._rows[row]

    def row_of(self, name: str) -> int:
        return next((i for i, s in enumerate(self._rows) if s.name == name), -1)

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: N802, B008 - Qt override
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: N802, B008
        return 0 if parent.isValid() else len(COLUMNS)

    def headerData(  # noqa: N802 - Qt override
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return COLUMNS[section]
        return None

    def flags(self, index: Index) -> Qt.ItemFlag:
        base = super().flags(index)
        if index.isValid() and index.column() == 0:
            return base | Qt.ItemFlag.ItemIsUserCheckable
        return base

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or not 0 <= index.row() < len(self._rows):
            return None
        status = self._rows[index.row()]
        column = index.column()
        if role == Qt.ItemDataRole.CheckStateRole and column == 0:
            return Qt.CheckState.Checked if status.enabled else Qt.CheckState.Unchecked
        if role == Qt.ItemDataRole.DisplayRole:
            if column == 1:
                return status.name
            if column == 2:
                if status.state is ServerState.FAILED and status.retry_in:
                    return f"failed · retry in {status.retry_in:.0f} s"
                return status.state.value
            if column == 3:
                return status.transport
            if column == 4:
                return str(len(status.tools)) if status.state is ServerState.RUNNING else ""
            if column == 5:
                return status.error.splitlines()[0] if status.error else ""
        if role == Qt.ItemDataRole.DecorationRole and column == 2:
            return QColor(self._colors[_STATE_COLOR[status.state]])
        if role == Qt.ItemDataRole.ToolTipRole and column == 5 and status.error:
            return status.error
        return None

    def setData(self, index: Index, value: Any, role: int = Qt.ItemDataRole.EditRole) -> bool:  # noqa: N802
        if index.isValid() and index.column() == 0 and role == Qt.ItemDataRole.CheckStateRole:
            checked = Qt.CheckState(value) == Qt.CheckState.Checked
            self.toggle_requested.emit(self._rows[index.row()].name, checked)
            return True
        return False
