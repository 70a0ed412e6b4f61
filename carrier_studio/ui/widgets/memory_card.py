"""The chat's recall card: the memories recalled for one reply, why, and what to do with them.

Each memory is rendered as markdown in the UI font, with its score said in words (how the
meaning and the shared words combine, `core.memory.search`), and can be pinned, edited or
forgotten right there. The card only asks (signals); `MemoryCardActions` carries the requests
out through the memory service, one owned task each, the way the Memory page does.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import replace
from typing import Any

from PySide6.QtCore import QEvent, QObject, Qt, Signal
from PySide6.QtGui import QPalette
from PySide6.QtWidgets import (
    QApplication,
    QFrame,
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QSizePolicy,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from carrier_studio.core import messages
from carrier_studio.core.memory.search import KEYWORD_WEIGHT, SEMANTIC_WEIGHT
from carrier_studio.ui.markdown import to_html
from carrier_studio.ui.widgets.fitted_text import FittedText

#: How the score is made, said once at the top of an opened card.
SCORE_EXPLAINED = (
    f"Each score runs from 0 to 1: {SEMANTIC_WEIGHT:.0%} from how close the memory's meaning is "
    f"to your message, {KEYWORD_WEIGHT:.0%} from the words they share. Memories scoring under "
    "the character's minimum match score (character editor, Clients tab) are not sent."
)


def score_words(memory: dict[str, Any]) -> str:
    """A memory's score and how its parts made it, e.g. ``0.24 = 70% of meaning 0.18 + 30% of
    words 0.38`` (importance moves a score by at most 0.02, so the sum is approximate)."""
    score = float(memory.get("score") or 0.0)
    semantic, keyword = memory.get("semantic"), memory.get("keyword")
    if semantic is None and keyword is None:
        return f"{score:.2f}"
    if semantic is None:
        return f"{score:.2f}, from shared words alone (meaning was not compared)"
    meaning = f"{score:.2f} ≈ {SEMANTIC_WEIGHT:.0%} of meaning {semantic:.2f}"
    if keyword is None:
        return f"{meaning} (no words in common)"
    if keyword < 0.005:
        # bm25 gives ~0 to words found in most memories: say so, not "words 0.00".
        return f"{meaning} (shared words too common to count)"
    return f"{meaning} + {KEYWORD_WEIGHT:.0%} of words {keyword:.2f}"


def card_toggle(object_name: str) -> QToolButton:
    """The one-line header of a collapsible transcript card (recalled memories, tool calls)."""
    toggle = QToolButton()
    toggle.setObjectName(object_name)
    toggle.setCheckable(True)
    toggle.setAutoRaise(True)
    toggle.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextOnly)
    # A long header must not widen the transcript (a sideways scroll bar): it is cut instead,
    # and the tooltip has all of it.
    toggle.setSizePolicy(QSizePolicy.Policy.Maximum, QSizePolicy.Policy.Fixed)
    toggle.setMinimumWidth(1)
    return toggle


def _link_button(text: str, tip: str) -> QToolButton:
    button = QToolButton()
    button.setText(text)
    button.setToolTip(tip)
    button.setAutoRaise(True)
    return button


class MemoryRow(QFrame):
    """One recalled memory: its text, where it came from, its score, and its actions."""

    def __init__(self, memory: dict[str, Any], dark: bool) -> None:
        super().__init__()
        self.setObjectName("memoryRow")
        self.memory = dict(memory)
        self.memory_id = str(memory.get("memory_id", ""))
        self._dark = dark
        #: Pin, edit and forget are offered (not when the studio has no memory service).
        self.actions_available = True
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 4, 0, 4)
        layout.setSpacing(2)
        self.body = FittedText()
        self.body.setObjectName("memoryBody")
        layout.addWidget(self.body)
        self.editor = QPlainTextEdit()
        self.editor.setObjectName("memoryEditor")
        self.editor.setMaximumHeight(140)
        self.editor.hide()
        layout.addWidget(self.editor)
        self.about = QLabel()
        self.about.setObjectName("memoryAbout")
        self.about.setWordWrap(True)
        self.about.setProperty("muted", True)
        layout.addWidget(self.about)
        row = QHBoxLayout()
        row.setContentsMargins(0, 0, 0, 0)
        self.pin_button = _link_button("Pin", "Pinned memories are kept and worth recalling")
        self.edit_button = _link_button("Edit", "Change what the character remembers")
        self.forget_button = _link_button("Forget", "Delete this memory (Undo brings it back)")
        self.open_button = _link_button("Open", "Show it on the Memory page")
        self.save_button = _link_button("Save", "Store the edited memory")
        self.cancel_button = _link_button("Cancel", "Keep the memory as it was")
        self.undo_button = _link_button("Undo", "Bring the memory back")
        self.forgotten = QLabel("Forgotten.")
        self.forgotten.setProperty("muted", True)
        for widget in (
            self.forgotten,
            self.pin_button,
            self.edit_button,
            self.forget_button,
            self.open_button,
            self.save_button,
            self.cancel_button,
            self.undo_button,
        ):
            row.addWidget(widget)
        row.addStretch(1)
        layout.addLayout(row)
        self.edit_button.clicked.connect(self.start_editing)
        self.cancel_button.clicked.connect(self.stop_editing)
        self._show_state()
        self._render()

    @property
    def content(self) -> str:
        return str(self.memory.get("content", ""))

    @property
    def pinned(self) -> bool:
        return bool(self.memory.get("pinned"))

    @property
    def is_forgotten(self) -> bool:
        return bool(self.memory.get("forgotten"))

    def _render(self) -> None:
        self.body.setHtml(to_html(self.content, self._dark))
        kind = self.memory.get("kind", "")
        client = self.memory.get("client", "")
        when = str(self.memory.get("created_at", ""))[:10]
        pin = "📌 pinned · " if self.pinned else ""
        self.about.setText(f"{pin}{kind} from {client}, {when} · score {score_words(self.memory)}")
        self.pin_button.setText("Unpin" if self.pinned else "Pin")

    def _show_state(self, editing: bool = False) -> None:
        gone = self.is_forgotten
        self.body.setVisible(not editing)
        self.body.setEnabled(not gone)
        self.editor.setVisible(editing)
        for button in (self.pin_button, self.edit_button, self.forget_button):
            button.setVisible(self.actions_available and not editing and not gone)
        self.open_button.setVisible(not editing and not gone)
        self.save_button.setVisible(editing)
        self.cancel_button.setVisible(editing)
        self.forgotten.setVisible(gone)
        self.undo_button.setVisible(gone)

    def start_editing(self) -> None:
        self.editor.setPlainText(self.content)
        self._show_state(editing=True)
        self.editor.setFocus()

    def stop_editing(self) -> None:
        self._show_state()

    def edited_text(self) -> str:
        return self.editor.toPlainText().strip()

    def set_pinned(self, pinned: bool) -> None:
        self.memory["pinned"] = pinned
        self._render()

    def set_content(self, content: str) -> None:
        self.memory["content"] = content
        self._render()
        self._show_state()

    def set_forgotten(self, forgotten: bool) -> None:
        self.memory["forgotten"] = forgotten
        self._show_state()

    def set_dark(self, dark: bool) -> None:
        if dark != self._dark:
            self._dark = dark
            self._render()


class MemoryCard(QFrame):
    """The memories recalled for one reply, and why: collapsed to one line until opened."""

    open_memory = Signal(str)  # memory id
    pin_requested = Signal(str, bool)  # memory id, pinned
    edit_requested = Signal(str, str)  # memory id, new content
    forget_requested = Signal(str)  # memory id
    undo_requested = Signal(str)  # memory id

    def __init__(self, memories: list[dict[str, Any]], dark: bool = False) -> None:
        super().__init__()
        self.setObjectName("memoryCard")
        self.memories = memories
        layout = QVBoxLayout(self)
        layout.setContentsMargins(10, 4, 10, 4)
        self.toggle = card_toggle("memoryToggle")
        self.toggle.toggled.connect(self._on_toggle_toggled)
        layout.addWidget(self.toggle, 0, Qt.AlignmentFlag.AlignLeft)
        self.details = QWidget()
        self.details.setObjectName("memoryDetails")
        details = QVBoxLayout(self.details)
        details.setContentsMargins(0, 0, 0, 0)
        self.explained = QLabel(SCORE_EXPLAINED)
        self.explained.setWordWrap(True)
        self.explained.setProperty("muted", True)
        details.addWidget(self.explained)
        #: One row per memory, built when the card is first opened: the card arrives just
        #: before the model's request goes out, and five rows cost ~20 ms of the event loop.
        self.rows: list[MemoryRow] = []
        self._dark = dark
        self._actions_available = True
        self.details.hide()
        layout.addWidget(self.details)
        self._update()

    def _build_rows(self) -> None:
        details = self.details.layout()
        for memory in self.memories:
            row = MemoryRow(memory, self._dark)
            self._wire(row)
            row.actions_available = self._actions_available
            row.stop_editing()
            self.rows.append(row)
            details.addWidget(row)

    def _wire(self, row: MemoryRow) -> None:
        mid = row.memory_id
        row.pin_button.clicked.connect(lambda: self.pin_requested.emit(mid, not row.pinned))
        row.save_button.clicked.connect(lambda: self._on_row_save(row))
        row.forget_button.clicked.connect(lambda: self.forget_requested.emit(mid))
        row.undo_button.clicked.connect(lambda: self.undo_requested.emit(mid))
        row.open_button.clicked.connect(lambda: self.open_memory.emit(mid))

    def _on_row_save(self, row: MemoryRow) -> None:
        text = row.edited_text()
        if not text:
            messages.warning("A memory cannot be empty; use Forget to delete it.")
            return
        if text == row.content:
            row.stop_editing()
            return
        self.edit_requested.emit(row.memory_id, text)

    def row(self, memory_id: str) -> MemoryRow | None:
        return next((r for r in self.rows if r.memory_id == memory_id), None)

    def set_actions_available(self, available: bool) -> None:
        """Hide pin, edit and forget when there is no memory service to carry them out."""
        self._actions_available = available
        for row in self.rows:
            row.actions_available = available
            row.stop_editing()

    def set_dark(self, dark: bool) -> None:
        self._dark = dark
        for row in self.rows:
            row.set_dark(dark)

    def changeEvent(self, event: QEvent) -> None:  # noqa: N802 - Qt override
        # A theme switch sets the application's palette: code in a memory takes its colours.
        if event.type() == QEvent.Type.PaletteChange:
            window = QApplication.palette().color(QPalette.ColorRole.Window)
            self.set_dark(window.lightness() < 128)
        super().changeEvent(event)

    def _update(self) -> None:
        arrow = "▾" if self.toggle.isChecked() else "▸"
        count = len(self.memories)
        if count:
            label = "Recalled 1 memory" if count == 1 else f"Recalled {count} memories"
            best = float(self.memories[0].get("score") or 0.0)
            label += f" · best match {best:.2f} of 1"
        else:
            label = "No memories matched this message"
        self.toggle.setText(f"{arrow}  {label}")
        self.toggle.setToolTip(SCORE_EXPLAINED)
        self.toggle.setEnabled(bool(count))

    def _on_toggle_toggled(self, checked: bool) -> None:
        if checked and not self.rows:
            self._build_rows()
        self.details.setVisible(checked)
        self._update()


MemoryServiceGetter = Callable[[], Awaitable[Any]]


class MemoryCardActions(QObject):
    """Carries out what recall cards ask (pin, edit, forget, undo) through the memory service.

    Args:
        memory: Returns the open `MemoryService` (raises with the reason when it cannot open);
            None when the studio has no memory (the cards then offer no actions).
        tasks: The page's `TaskOwner`: one owned task per request.
    """

    def __init__(self, memory: MemoryServiceGetter | None, tasks: Any, parent: QObject) -> None:
        super().__init__(parent)
        self._memory = memory
        self._tasks = tasks
        #: Forgotten memories, by id, as the service returned them (for Undo).
        self._forgotten: dict[str, Any] = {}

    def attach(self, card: MemoryCard) -> None:
        card.set_actions_available(self._memory is not None)
        if self._memory is None:
            return
        card.pin_requested.connect(lambda mid, pinned: self._start(card, mid, "pin", pinned))
        card.edit_requested.connect(lambda mid, text: self._start(card, mid, "edit", text))
        card.forget_requested.connect(lambda mid: self._start(card, mid, "forget", None))
        card.undo_requested.connect(lambda mid: self._start(card, mid, "undo", None))

    def _start(self, card: MemoryCard, memory_id: str, action: str, value: Any) -> None:
        row = card.row(memory_id)
        if row is None:
            return
        work = {"pin": self._pin, "edit": self._edit, "forget": self._forget, "undo": self._undo}
        self._tasks.start(
            f"Memory {action} {memory_id}",
            work[action](row, value),
            busy=[row],
            failure=f"could not {action} the memory",
        )

    async def _record(self, service: Any, row: MemoryRow) -> Any:
        found = await service.get([row.memory_id])
        if not found:
            messages.warning("That memory is no longer stored (it was deleted or moved).")
            return None
        return found[0]

    async def _pin(self, row: MemoryRow, pinned: bool) -> None:
        service = await self._memory()
        record = await self._record(service, row)
        if record is not None:
            await service.update(replace(record, pinned=pinned))
            row.set_pinned(pinned)

    async def _edit(self, row: MemoryRow, text: str) -> None:
        service = await self._memory()
        record = await self._record(service, row)
        if record is not None:
            await service.update(replace(record, content=text))  # re-embedded by the service
            row.set_content(text)
            messages.info("Memory saved.")

    async def _forget(self, row: MemoryRow, _value: None) -> None:
        service = await self._memory()
        removed = await service.delete([row.memory_id])
        if removed:
            self._forgotten[row.memory_id] = removed
        row.set_forgotten(True)

    async def _undo(self, row: MemoryRow, _value: None) -> None:
        removed = self._forgotten.pop(row.memory_id, None)
        if removed is not None:
            service = await self._memory()
            await service.undo_delete(removed)
        row.set_forgotten(False)
