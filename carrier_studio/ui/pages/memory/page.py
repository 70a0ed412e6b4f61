"""The Memory page: browse, search, edit and maintain what the characters remember.

Everything that touches the store is one owned task on the asyncio loop, through the
`MemoryService` the page is given; long jobs (import, export, moving to Supabase,
re-embedding) show progress and can be cancelled.

The page is the composition root of its parts and lays out what they build: the browser
(filters, search, the table; browser.py), the detail pane with its edits and Undo (edits.py),
the map (map.py) and the long jobs (jobs.py). It opens the memory service, enables the parts
once it is there, and wires what one part's change means for the others. The widgets it names
(``page.table``, ``page.detail``, ``page.jobs`` the job bar …) are its parts', under short
names for tests and the bench.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from html import escape
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QKeySequence, QShortcut, QShowEvent
from PySide6.QtWidgets import (
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QMessageBox,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from carrier_studio.core.errors import CarrierError
from carrier_studio.core.memory.model import MemoryRecord
from carrier_studio.ui.pages.memory.browser import MemoryBrowser
from carrier_studio.ui.pages.memory.edits import MemoryEdits
from carrier_studio.ui.pages.memory.jobs import MemoryJobs
from carrier_studio.ui.pages.memory.map import MapPane
from carrier_studio.ui.tasks import TaskOwner
from carrier_studio.ui.widgets.page import Page, page_shortcut

if TYPE_CHECKING:
    from carrier_studio.core.memory.protocols import MemoryStore
    from carrier_studio.services.memory.service import MemoryService, Progress


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
    #: Subscribes to "the service was opened, replaced or failed" (``MemoryController.changed``);
    #: returns the unsubscribe function.
    on_service_changed: Callable[[Callable[[object], None]], Callable[[], None]] | None = None
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
        self._pending_memory: str | None = None

        self.browser = MemoryBrowser(self)
        self.edits = MemoryEdits(self)
        self.bulk_jobs = MemoryJobs(self)
        self.map_pane = MapPane(self)
        self._name_widgets()
        self._lay_out()
        self.browser.filters_changed.connect(self.map_pane.redraw_soon)
        self.browser.selection_changed.connect(self._on_browser_selection_changed)
        self.map.point_clicked.connect(self.show_memory)
        self.map.region_selected.connect(self._on_map_region_selected)
        self._add_shortcuts()
        self._set_ready(False)
        self._unsubscribe = (
            deps.on_service_changed(self._on_service_changed) if deps.on_service_changed else None
        )
        # A re-embedding the session started elsewhere (a new embedder in Settings) shows here
        # as soon as it reports.
        self._unsubscribe_reembed = (
            deps.on_reembed_progress(self.bulk_jobs.on_session_reembed)
            if deps.on_reembed_progress
            else None
        )
        self.tasks.start("Opening memories", self._open())

    # -- building ---------------------------------------------------------------------------

    def _name_widgets(self) -> None:
        """Short names for the parts' widgets (tests and the bench use them)."""
        browser, edits, jobs = self.browser, self.edits, self.bulk_jobs
        self.filters = browser.filters
        self.character_filter = browser.filters.character
        self.kind_filter = browser.filters.kind
        self.client_filter = browser.filters.client
        self.since_filter = browser.filters.since
        self.until_filter = browser.filters.until
        self.pinned_filter = browser.filters.pinned
        self.search = browser.search
        self.mode = browser.mode
        self.count_label = browser.count_label
        self.model = browser.model
        self.table = browser.table
        self.detail = edits.detail
        self.new_button = edits.new_button
        self.delete_button = edits.delete_button
        self.undo_bar = edits.undo_bar
        self.undo_label = edits.undo_label
        self.undo_button = edits.undo_button
        self.import_button = jobs.import_button
        self.export_button = jobs.export_button
        self.move_button = jobs.move_button
        self.jobs = self.job_bar = jobs.bar
        self.job_progress = jobs.bar.progress
        self.job_cancel = jobs.bar.cancel_button
        self.reembed_bar = jobs.reembed_bar
        self.reembed_label = jobs.reembed_label
        self.reembed_button = jobs.reembed_button
        self.import_problems = jobs.import_problems
        self.map = self.map_pane.map

    def _lay_out(self) -> None:
        self.body.addWidget(self.filters)
        row = QHBoxLayout()
        row.addWidget(self.search, 1)
        row.addWidget(self.mode)
        row.addWidget(self.count_label)
        self.body.addLayout(row)
        self.body.addWidget(self._banners())
        # The actions sit under the table: beside the search box, at 1024x700, they squeezed
        # it to a sliver and cut the Supabase button short.
        actions = QHBoxLayout()
        actions.setContentsMargins(0, 0, 0, 0)
        actions.addWidget(self.new_button)
        actions.addWidget(self.delete_button)
        actions.addStretch(1)
        for button in (self.import_button, self.export_button, self.move_button):
            actions.addWidget(button)
        left = QWidget()
        column = QVBoxLayout(left)
        column.setContentsMargins(0, 0, 0, 0)
        column.addWidget(self.table, 1)
        column.addLayout(actions)
        splitter = QSplitter()
        splitter.addWidget(left)
        right = QSplitter(Qt.Orientation.Vertical)
        right.setChildrenCollapsible(False)
        right.addWidget(self.detail)  # its fields scroll when the window is small
        right.addWidget(self.map)
        # The form comes first: the map gives way to it (a 1024x700 window leaves both
        # ~410 px, less than the two want).
        right.setStretchFactor(0, 3)
        right.setStretchFactor(1, 1)
        right.setSizes([520, 260])
        splitter.addWidget(right)
        # The table gets most of the width: its content column takes what the others leave.
        splitter.setStretchFactor(0, 5)
        splitter.setStretchFactor(1, 2)
        splitter.setSizes([1000, 380])
        self.body.addWidget(splitter, 1)

    def _banners(self) -> QWidget:
        box = QWidget()
        layout = QVBoxLayout(box)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(4)
        layout.addWidget(self.job_bar)
        layout.addWidget(self.reembed_bar)
        layout.addWidget(self.undo_bar)
        # The memory could not open.
        self.unavailable = QLabel()
        self.unavailable.setObjectName("memoryUnavailable")
        self.unavailable.setWordWrap(True)
        self.unavailable.hide()
        layout.addWidget(self.unavailable)
        layout.addWidget(self.import_problems)
        return box

    def _add_shortcuts(self) -> None:
        page_shortcut(QKeySequence.StandardKey.Find, self, self.browser.focus_search)
        page_shortcut(QKeySequence.StandardKey.New, self, self.edits.new_memory)
        # Undo stays with the page's own widgets: in the sidebar it would undo unseen.
        QShortcut(QKeySequence.StandardKey.Undo, self, self.edits.undo_delete).setContext(
            Qt.ShortcutContext.WidgetWithChildrenShortcut
        )
        # Delete acts on the table (and the map), not on text being edited in the detail pane.
        for widget in (self.table, self.map.view):
            QShortcut(
                QKeySequence.StandardKey.Delete, widget, self.edits.delete_selected
            ).setContext(Qt.ShortcutContext.WidgetShortcut)

    # -- the service ------------------------------------------------------------------------

    async def _open(self) -> None:
        self.service = None
        self._set_ready(False)
        self.unavailable.hide()
        try:
            self.service = await self.deps.service()
        except CarrierError as exc:
            self.unavailable.setText(
                f"The memory is not available: {escape(str(exc), quote=False)}"
            )
            self.unavailable.show()
            return
        names = await self.deps.characters()
        self.browser.set_characters(names)
        self._set_ready(True)
        self.browser.refresh()
        self.map_pane.redraw_soon()
        if self._pending_memory is not None and not self.detail.dirty:
            self.show_memory(self._pending_memory)
        self._pending_memory = None
        await self.bulk_jobs.check_embeddings()

    def _on_service_changed(self, _service: object) -> None:
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
        self.bulk_jobs.update_move_button(ready)

    def showEvent(self, event: QShowEvent) -> None:  # noqa: N802 - Qt override
        super().showEvent(event)
        self.bulk_jobs.update_move_button(self.service is not None)

    @property
    def memory(self) -> MemoryService:
        """The open service (the page's actions are disabled until there is one)."""
        if self.service is None:
            raise CarrierError("the memory is not open yet", hint="Wait a moment and try again.")
        return self.service

    def tell_store_changed(self) -> None:
        """Let the rest of the studio know (the status bar's memory count)."""
        if self.deps.changed is not None:
            self.tasks.start("Updating the memory status", self.deps.changed())

    # -- between the parts ------------------------------------------------------------------

    def _on_browser_selection_changed(self, ids: list[str]) -> None:
        self.map.mark(ids)
        if len(ids) == 1:
            self.edits.open_in_detail(self.model.record(self.model.row_of(ids[0])))

    def _on_map_region_selected(self, ids: list[str]) -> None:
        self.tasks.start("Selecting memories", self.select_memories(ids))

    async def select_memories(self, ids: Sequence[str]) -> None:
        """Select these memories' rows (loading pages until they are listed); open the one
        memory in the detail pane when there is one."""
        record = await self.browser.select(ids, self.map_pane.records)
        if record is not None and not self.detail.dirty:  # no question from inside a task
            self.detail.show_record(record)

    # -- what the window, tests and the bench call ------------------------------------------

    def show_memory(self, memory_id: str) -> None:
        """Open one memory in the detail pane (the chat links recalled memories here)."""
        if self.service is None:
            self._pending_memory = memory_id  # opened as soon as the memory is
            return
        self.edits.show_memory(memory_id)

    # What the window asks before it closes (Studio.confirm_close).
    unsaved_label = "The open memory"

    @property
    def dirty(self) -> bool:
        return self.detail.dirty

    async def save_now(self) -> bool:
        """Save the open memory if it has changes; False when it could not be saved."""
        return await self.edits.save_now()

    @property
    def map_records(self) -> list[MemoryRecord]:
        """The memories the map shows now."""
        return self.map_pane.records

    def refresh(self) -> None:
        """List (or search) again with what the filters and the search box say now."""
        self.browser.refresh()

    def selected_ids(self) -> list[str]:
        return self.browser.selected_ids()

    def delete_selected(self) -> None:
        self.edits.delete_selected()

    def import_jsonl(self, path: Path) -> None:
        self.bulk_jobs.import_jsonl(path)

    def export_jsonl(self, path: Path, character: str | None) -> None:
        self.bulk_jobs.export_jsonl(path, character)

    def cancel_job(self) -> None:
        self.bulk_jobs.cancel()

    async def shutdown(self) -> None:
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None
        if self._unsubscribe_reembed is not None:
            self._unsubscribe_reembed()
            self._unsubscribe_reembed = None
        self.cancel_job()
