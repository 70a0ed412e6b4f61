"""The Memory page's edits: the detail pane's Save, Pin and Delete, new notes, and Undo.

The detail pane (detail.py) only edits a copy and asks; this carries its requests out through
the memory service, one owned task each, and then updates what shows the memory (the table, the
map, the count). Deleted memories are kept here, newest last, so Undo can store them again
until the studio closes.

Unsaved edits in the pane are only dropped when the user says so: that question is modal, so
it is asked from Qt slots (`may_leave_detail`), never from inside a task.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QWidget

from carrier_studio.core import messages
from carrier_studio.core.errors import CarrierError
from carrier_studio.core.memory.model import MemoryRecord, StoredMemory
from carrier_studio.ui.pages.memory.detail import MemoryDetail

if TYPE_CHECKING:
    from carrier_studio.ui.pages.memory.page import MemoryPage

#: Deleting more than this many memories at once asks first.
CONFIRM_DELETE_OVER = 20


class MemoryEdits(QObject):
    def __init__(self, page: MemoryPage) -> None:
        super().__init__(page)
        self.page = page
        self.tasks = page.tasks
        #: Deletions that Undo can bring back, newest last.
        self.undo_stack: list[list[StoredMemory]] = []
        self.new_button = QPushButton("New")
        self.new_button.setToolTip("Write a note for a character to remember (Ctrl+N)")
        self.new_button.clicked.connect(self.new_memory)
        self.delete_button = QPushButton("Delete")
        self.delete_button.setToolTip(
            "Delete the selected memories (Delete); Ctrl+Z brings them back"
        )
        self.delete_button.clicked.connect(self.delete_selected)
        self._build_undo_bar()
        self.detail = MemoryDetail()
        self.detail.save_requested.connect(self._on_detail_save_requested)
        self.detail.pin_requested.connect(self._on_detail_pin_requested)
        self.detail.delete_requested.connect(lambda mid: self.delete_memories([mid]))

    def _build_undo_bar(self) -> None:
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

    # -- opening in the detail pane ---------------------------------------------------------

    def open_in_detail(self, record: MemoryRecord) -> None:
        current = self.detail.record
        if current is not None and current.id == record.id and not self.detail.is_new:
            return
        if self.may_leave_detail():
            self.detail.show_record(record)

    def may_leave_detail(self) -> bool:
        """Unsaved edits in the detail pane are only dropped when the user says so (a modal
        question: call this from Qt slots, never from inside a task)."""
        return not self.detail.dirty or self.page.ask.confirm(
            self.page, "Unsaved changes", "Discard your unsaved changes to the open memory?"
        )

    def show_memory(self, memory_id: str) -> None:
        """Open one memory in the detail pane, from the table if it is listed there."""
        if not self.may_leave_detail():
            return
        browser = self.page.browser
        row = browser.model.row_of(memory_id)
        if row >= 0:
            browser.table.selectRow(row)
            browser.table.scrollTo(browser.model.index(row, 0))
            self.detail.show_record(browser.model.record(row))
            return
        self.tasks.start("Opening a memory", self._show_stored(memory_id))

    async def _show_stored(self, memory_id: str) -> None:
        found = await self.page.memory.get([memory_id])
        if not found:
            messages.warning("That memory is no longer stored (it was deleted or moved).")
            return
        self.page.browser.table.clearSelection()
        self.detail.show_record(found[0])
        self.page.map.mark([memory_id])

    # -- edit, pin, new ---------------------------------------------------------------------

    def new_memory(self) -> None:
        if not self.may_leave_detail():
            return
        browser = self.page.browser
        browser.table.clearSelection()
        self.detail.new_note(browser.characters, browser.filters.character.currentData())

    def _on_detail_save_requested(self, record: MemoryRecord) -> None:
        self.tasks.start(
            "Saving the memory", self.save(record, self.detail.is_new), busy=[self.detail]
        )

    async def save(self, record: MemoryRecord, new: bool) -> None:
        model = self.page.browser.model
        if new:
            await self.page.memory.remember([record])
            model.restore([record])
            self.page.browser.refresh_count()
            self.page.tell_store_changed()
        else:
            await self.page.memory.update(record)  # re-embeds when the content changed
            model.replace(record)
        self.detail.stored(record)
        self.page.map_pane.redraw_soon()
        messages.info("Memory saved.")

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
            await self.save(record, self.detail.is_new)
        except CarrierError as exc:
            messages.error(f"The memory was not saved: {exc}")
            return False
        return True

    def _on_detail_pin_requested(self, record: MemoryRecord) -> None:
        self.tasks.start("Pinning the memory", self._pin(record), busy=[self.detail])

    async def _pin(self, record: MemoryRecord) -> None:
        await self.page.memory.update(record)
        self.page.browser.model.replace(record)
        self.detail.stored(record, keep_edits=True)

    # -- delete and undo --------------------------------------------------------------------

    def delete_selected(self) -> None:
        ids = self.page.browser.selected_ids()
        if not ids and self.detail.record is not None and not self.detail.is_new:
            ids = [self.detail.record.id]
        self.delete_memories(ids)

    def delete_memories(self, ids: Sequence[str]) -> None:
        if not ids:
            return
        if len(ids) > CONFIRM_DELETE_OVER and not self.page.ask.confirm(
            self.page,
            "Delete memories",
            f"Delete {len(ids):,} memories? You can bring them back with Undo until you "
            "leave the studio.",
        ):
            return
        self.tasks.start("Deleting memories", self._delete(list(ids)), busy=[self.delete_button])

    async def _delete(self, ids: list[str]) -> None:
        removed = await self.page.memory.delete(ids)
        gone = [s.record.id for s in removed]
        self.page.browser.model.remove(gone)
        self.page.map.remove(gone)
        self.page.map_pane.redraw_soon()
        if self.detail.record is not None and self.detail.record.id in gone:
            self.detail.clear()
        if removed:
            self.undo_stack.append(removed)
            self._show_undo_bar()
        self._recount()
        self.page.tell_store_changed()

    def _recount(self) -> None:
        browser = self.page.browser
        if browser.model.searching:  # "N found" counts the hits shown
            browser.count_label.setText(f"{browser.model.rowCount()} found")
        else:
            browser.refresh_count()

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
        await self.page.memory.undo_delete(removed)
        self.undo_stack.pop()
        if self.page.browser.model.searching:
            # The hits were scored for the query: search again so the memories brought back
            # show where they rank (the model cannot place them; before, they stayed missing).
            self.page.browser.refresh()
        else:
            self.page.browser.model.restore([s.record for s in removed])
            self.page.browser.refresh_count()
        self._show_undo_bar()
        self.page.tell_store_changed()
        self.page.map_pane.redraw_soon()
        n = len(removed)
        messages.info(f"Restored {n:,} memor{'y' if n == 1 else 'ies'}.")
