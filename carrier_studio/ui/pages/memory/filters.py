"""The Memory page's filter row: character, kind, source, a date range, pinned only."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, time, timedelta

from PySide6.QtCore import QDate, Signal
from PySide6.QtWidgets import QCheckBox, QComboBox, QDateEdit, QHBoxLayout, QWidget

from carrier_studio.core.memory.model import KINDS, MemoryFilter

#: The sources a memory can come from (`Provenance.client`).
CLIENTS = ("chat", "discord", "instagram", "import", "user")
#: A date edit at this (its minimum) means "no bound"; it shows its special text there.
ANY_DATE = QDate(2000, 1, 1)


def day_start(date: QDate) -> datetime:
    """Local midnight of ``date``, in UTC (memories are stored in UTC)."""
    return datetime.combine(date.toPython(), time.min).astimezone().astimezone(UTC)


class MemoryFilters(QWidget):
    #: Any filter changed.
    changed = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        row = QHBoxLayout(self)
        row.setContentsMargins(0, 0, 0, 0)
        self.characters: list[str] = []
        self.character = QComboBox()
        self.character.setObjectName("memoryCharacterFilter")
        self.character.addItem("All characters", None)
        self.character.setMinimumWidth(150)
        self.kind = QComboBox()
        self.kind.addItem("All kinds", None)
        for kind in KINDS:
            self.kind.addItem(kind, kind)
        self.client = QComboBox()
        self.client.addItem("All sources", None)
        for client in CLIENTS:
            self.client.addItem(client, client)
        self.since = self._date_edit("from any date")
        self.until = self._date_edit("to any date")
        self.pinned = QCheckBox("Pinned only")
        for combo in (self.character, self.kind, self.client):
            combo.currentIndexChanged.connect(self._on_edited)
        for edit in (self.since, self.until):
            edit.dateChanged.connect(self._on_edited)
        self.pinned.toggled.connect(self._on_edited)
        for widget in (self.character, self.kind, self.client, self.since, self.until):
            row.addWidget(widget)
        row.addWidget(self.pinned)
        row.addStretch(1)

    @staticmethod
    def _date_edit(any_text: str) -> QDateEdit:
        edit = QDateEdit()
        edit.setCalendarPopup(True)
        edit.setDisplayFormat("yyyy-MM-dd")
        edit.setMinimumDate(ANY_DATE)
        edit.setSpecialValueText(any_text)
        edit.setDate(ANY_DATE)
        edit.setMinimumWidth(120)
        return edit

    def _on_edited(self, *_args: object) -> None:
        self.changed.emit()

    def current(self) -> MemoryFilter:
        kind = self.kind.currentData()
        since, until = self.since.date(), self.until.date()
        return MemoryFilter(
            character=self.character.currentData(),
            kinds=frozenset({kind}) if kind else None,
            client=self.client.currentData(),
            since=day_start(since) if since != ANY_DATE else None,
            # Inclusive of the chosen day: up to the start of the next one.
            until=day_start(until) + timedelta(days=1) if until != ANY_DATE else None,
            pinned=True if self.pinned.isChecked() else None,
        )

    def set_characters(self, names: Sequence[str]) -> None:
        """Offer these names (sorted), keeping the chosen one; says nothing of the change."""
        self.characters = sorted(names)
        chosen = self.character.currentData()
        self.character.blockSignals(True)
        try:
            self.character.clear()
            self.character.addItem("All characters", None)
            for name in self.characters:
                self.character.addItem(name, name)
            if chosen in self.characters:
                self.character.setCurrentIndex(self.characters.index(chosen) + 1)
        finally:
            self.character.blockSignals(False)
