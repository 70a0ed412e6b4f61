"""Character-test results as a Qt table: one row per scenario, one column per model.

A cell is empty (not asked for), waiting (part of the running matrix), or holds the
`RunRecord` that run produced: pass or fail, latency, tokens and cost. Records arrive one at a
time while a matrix runs (`ScenarioService.run`'s ``on_result``), so `set_record` changes one
cell, and adds its row or column when the record is for a pair the grid did not show yet.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt
from PySide6.QtGui import QColor

from carrier_studio.core.scenarios.record import RunRecord

Index = QModelIndex | QPersistentModelIndex
#: The role that gives a cell's `RunRecord` (None while it waits or was not asked for).
RecordRole = Qt.ItemDataRole.UserRole + 1
#: The cell is part of the running matrix and has no result yet.
WAITING = "waiting"
#: The matrix was stopped before this cell ran.
STOPPED = "stopped"


@dataclass(frozen=True)
class Row:
    """A scenario as the grid shows it; ``key`` is what `RunRecord.scenario` says."""

    key: str
    title: str
    tooltip: str = ""


def summary(record: RunRecord) -> str:
    """The cell's text: the outcome, then what the run took (``1.2 s · 340 tok · $0.0012``)."""
    if record.error is not None:
        return "✗ could not run"  # the tooltip and the transcript say why
    if record.passed:
        outcome = "✓ pass"
    else:
        failed = sum(1 for v in record.verdicts if not v.passed)
        outcome = f"✗ {failed} failed"
    parts = [f"{record.latency_s:.1f} s", f"{record.tokens} tok"]
    if record.cost_usd is not None:
        parts.append(f"${record.cost_usd:.4f}")
    if record.replayed:
        parts.append("replayed")
    # Two lines: the outcome reads at a glance, the figures beneath, in a narrow column too.
    return f"{outcome}\n{' · '.join(parts)}"


def short_label(label: str) -> str:
    """A model label as a column title: ``qwen (openai-compatible at lm)`` → ``qwen at lm``."""
    return re.sub(r" \(openai-compatible at (.+)\)$", r" at \1", label)


def _tooltip(record: RunRecord) -> str:
    if record.error is not None:
        return record.error
    failed = [v for v in record.verdicts if not v.passed]
    if not failed:
        return f"All {len(record.verdicts)} expectations held. Open the cell for the transcript."
    lines = [f"{v.expect.where}: {v.expect.kind}: {v.detail}" for v in failed[:5]]
    if len(failed) > 5:
        lines.append(f"… and {len(failed) - 5} more")
    return "\n".join(lines)


class QtRunGridModel(QAbstractTableModel):
    def __init__(self, colors: dict[str, str], parent: Any = None) -> None:
        super().__init__(parent)
        self._colors = colors
        self._rows: list[Row] = []
        self._models: list[str] = []
        self._cells: dict[tuple[str, str], RunRecord | str] = {}

    # -- changes ---------------------------------------------------------------------------------

    def set_colors(self, colors: dict[str, str]) -> None:
        self._colors = colors
        if self._rows and self._models:
            last = self.index(len(self._rows) - 1, len(self._models) - 1)
            self.dataChanged.emit(self.index(0, 0), last)

    def set_matrix(self, rows: list[Row], models: list[str], *, waiting: bool = True) -> None:
        """Show ``rows`` × ``models``; every cell waits for its result (or is empty)."""
        self.beginResetModel()
        try:
            self._rows = list(rows)
            self._models = list(dict.fromkeys(models))
            self._cells = (
                {(r.key, m): WAITING for r in self._rows for m in self._models} if waiting else {}
            )
        finally:
            self.endResetModel()

    def set_record(self, record: RunRecord) -> QModelIndex:
        """Put one result in its cell (adding the row or column it needs); returns the cell."""
        row = self.row_of(record.scenario)
        if row < 0:
            row = len(self._rows)
            self.beginInsertRows(QModelIndex(), row, row)
            self._rows.append(Row(record.scenario, record.scenario))
            self.endInsertRows()
        column = self.column_of(record.model)
        if column < 0:
            column = len(self._models)
            self.beginInsertColumns(QModelIndex(), column, column)
            self._models.append(record.model)
            self.endInsertColumns()
        self._cells[(record.scenario, record.model)] = record
        index = self.index(row, column)
        self.dataChanged.emit(index, index)
        return index

    def stop_waiting(self, *, stopped: bool = True) -> None:
        """The matrix ended: cells still waiting say it was stopped, or (when it ran to its end
        and they were not part of it, e.g. a scenario that pins its own model) go blank."""
        for key, value in list(self._cells.items()):
            if value == WAITING:
                if stopped:
                    self._cells[key] = STOPPED
                else:
                    del self._cells[key]
        if self._rows and self._models:
            last = self.index(len(self._rows) - 1, len(self._models) - 1)
            self.dataChanged.emit(self.index(0, 0), last)

    def drop_empty_columns(self) -> None:
        """Remove the columns no result came for (a stand-in such as "each character's own
        model", whose results are filed under the models that answered)."""
        for column in reversed(range(len(self._models))):
            model = self._models[column]
            if any(isinstance(self._cells.get((r.key, model)), RunRecord) for r in self._rows):
                continue
            self.beginRemoveColumns(QModelIndex(), column, column)
            del self._models[column]
            self._cells = {k: v for k, v in self._cells.items() if k[1] != model}
            self.endRemoveColumns()

    # -- reading ---------------------------------------------------------------------------------

    def row_of(self, key: str) -> int:
        return next((i for i, r in enumerate(self._rows) if r.key == key), -1)

    def column_of(self, model: str) -> int:
        return self._models.index(model) if model in self._models else -1

    def record(self, row: int, column: int) -> RunRecord | None:
        if not (0 <= row < len(self._rows) and 0 <= column < len(self._models)):
            return None
        value = self._cells.get((self._rows[row].key, self._models[column]))
        return value if isinstance(value, RunRecord) else None

    def records(self) -> list[RunRecord]:
        return [v for v in self._cells.values() if isinstance(v, RunRecord)]

    def waiting(self) -> int:
        return sum(1 for v in self._cells.values() if v == WAITING)

    # -- Qt ------------------------------------------------------------------------------------

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: N802, B008 - Qt override
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: N802, B008
        return 0 if parent.isValid() else len(self._models)

    def headerData(  # noqa: N802 - Qt override
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        horizontal = orientation == Qt.Orientation.Horizontal
        names = self._models if horizontal else [r.title for r in self._rows]
        if not 0 <= section < len(names):
            return None
        if role == Qt.ItemDataRole.DisplayRole:
            return short_label(names[section]) if horizontal else names[section]
        if role == Qt.ItemDataRole.ToolTipRole:
            return names[section] if horizontal else (self._rows[section].tooltip or None)
        return None

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or not (
            0 <= index.row() < len(self._rows) and 0 <= index.column() < len(self._models)
        ):
            return None
        value = self._cells.get((self._rows[index.row()].key, self._models[index.column()]))
        if role == RecordRole:
            return value if isinstance(value, RunRecord) else None
        if role == Qt.ItemDataRole.DisplayRole:
            if isinstance(value, RunRecord):
                return summary(value)
            return {WAITING: "…", STOPPED: "stopped"}.get(value or "", "")
        if role == Qt.ItemDataRole.ForegroundRole and isinstance(value, RunRecord):
            return QColor(self._colors["ok" if value.passed else "error"])
        if role == Qt.ItemDataRole.ForegroundRole and value in (WAITING, STOPPED):
            return QColor(self._colors["idle"])
        if role == Qt.ItemDataRole.ToolTipRole and isinstance(value, RunRecord):
            return _tooltip(value)
        return None
