"""The Memory page's detail pane: one memory in full, editable, with where it came from.

The pane only edits a copy: Save, Pin and Delete are requests the page carries out through the
memory service, and the pane shows the stored result afterwards.
"""

from __future__ import annotations

import json
from dataclasses import replace

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QScrollArea,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from carrier_studio.core.memory.model import KINDS, MemoryRecord, Provenance


class MetadataError(ValueError):
    """The metadata box does not hold a JSON object; says where."""


def provenance_text(record: MemoryRecord) -> str:
    p = record.provenance
    parts = [f"from {p.client}"]
    if p.room:
        parts.append(f"room {p.room}")
    if p.message_id:
        parts.append(f"message {p.message_id}")
    if p.speaker:
        parts.append(f"said by {p.speaker}")
    return " · ".join(parts)


class MemoryDetail(QWidget):
    #: Save this record (new or edited).
    save_requested = Signal(object)
    #: Store this record with its pinned flag flipped (other edits stay unsaved in the pane).
    pin_requested = Signal(object)
    #: Delete the memory with this id.
    delete_requested = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("memoryDetail")
        self.record: MemoryRecord | None = None
        self.is_new = False
        self._loading = False
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        self.heading = QLabel()
        self.heading.setObjectName("memoryDetailHeading")
        self.heading.setWordWrap(True)
        self.heading.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
        layout.addWidget(self.heading)
        # Everything below the heading: hidden while no memory is open.
        self.editor = QWidget()
        outer = layout
        editor_layout = QVBoxLayout(self.editor)
        editor_layout.setContentsMargins(0, 0, 0, 0)
        outer.addWidget(self.editor, 1)
        # The fields scroll, the buttons stay in view: at 1024x700 the pane has ~250 px, and
        # squeezed into them the Character, Kind and Importance boxes were 6 px tall.
        self.fields = QScrollArea()
        self.fields.setObjectName("memoryFields")
        self.fields.setWidgetResizable(True)
        self.fields.setFrameShape(QScrollArea.Shape.NoFrame)
        self.fields.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        inside = QWidget()
        self.fields.setWidget(inside)
        editor_layout.addWidget(self.fields, 1)
        layout = QVBoxLayout(inside)
        layout.setContentsMargins(0, 0, 0, 0)
        self.content = QPlainTextEdit()
        self.content.setObjectName("memoryContent")
        self.content.setPlaceholderText("What the character should remember")
        # It takes the height left over (its own wish, ~190 px, pushed the fields out of view).
        self.content.setMinimumHeight(72)
        self.content.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Ignored)
        layout.addWidget(self.content, 2)
        form = QFormLayout()
        self.character = QComboBox()
        self.character.setEditable(True)
        self.character.setObjectName("memoryCharacter")
        form.addRow("Character", self.character)
        self.kind = QComboBox()
        self.kind.addItems(list(KINDS))
        form.addRow("Kind", self.kind)
        self.importance = QDoubleSpinBox()
        self.importance.setRange(0.0, 1.0)
        self.importance.setSingleStep(0.05)
        self.importance.setDecimals(2)
        form.addRow("Importance", self.importance)
        self.pinned = QCheckBox("Pinned (always worth recalling)")
        form.addRow("", self.pinned)
        self.provenance = QLabel()
        self.provenance.setWordWrap(True)
        self.provenance.setObjectName("memoryProvenance")
        form.addRow("Source", self.provenance)
        self.created = QLabel()
        form.addRow("Created", self.created)
        self.metadata = QPlainTextEdit()
        self.metadata.setObjectName("memoryMetadata")
        self.metadata.setFixedHeight(64)
        form.addRow("Metadata", self.metadata)
        layout.addLayout(form)
        self.error = QLabel()
        self.error.setObjectName("memoryDetailError")
        self.error.setWordWrap(True)
        self.error.hide()
        editor_layout.addWidget(self.error)  # beside Save, in view
        buttons = QHBoxLayout()
        self.save_button = QPushButton("Save")
        self.save_button.clicked.connect(self._on_save_clicked)
        self.pin_button = QPushButton("Pin")
        self.pin_button.clicked.connect(self._on_pin_clicked)
        self.delete_button = QPushButton("Delete")
        self.delete_button.clicked.connect(self._on_delete_clicked)
        for button in (self.save_button, self.pin_button, self.delete_button):
            buttons.addWidget(button)
        buttons.addStretch(1)
        editor_layout.addLayout(buttons)
        # Never narrower than its fields and the scrollbar: it cut the boxes' right edges off.
        bar = self.fields.verticalScrollBar().sizeHint().width()
        self.fields.setMinimumWidth(inside.minimumSizeHint().width() + bar)
        for signal in (
            self.content.textChanged,
            self.kind.currentTextChanged,
            self.importance.valueChanged,
            self.pinned.toggled,
            self.metadata.textChanged,
            self.character.currentTextChanged,
        ):
            signal.connect(self._on_edited)
        self.clear()

    # -- showing ----------------------------------------------------------------------------

    def clear(self) -> None:
        self.record = None
        self.is_new = False
        self._fill(None)
        self.heading.setText("Select a memory to see it in full, or add one (Ctrl+N).")
        self._set_enabled(False)
        self.editor.hide()

    def show_record(self, record: MemoryRecord) -> None:
        self.record = record
        self.is_new = False
        self._fill(record)
        self.heading.setText(f"<b>{record.kind.capitalize()}</b> of {record.character}")
        self.heading.setToolTip(f"id {record.id}")
        self._set_enabled(True)
        self.editor.show()

    def new_note(self, characters: list[str], character: str | None) -> None:
        """An empty note to write; Save stores it for the chosen character."""
        record = MemoryRecord(
            character=character or (characters[0] if characters else ""),
            content="",
            kind="note",
            provenance=Provenance(client="user"),
        )
        self.record = record
        self.is_new = True
        self._fill(record, characters)
        self.heading.setText("<b>New memory</b>")
        self._set_enabled(True)
        self.editor.show()
        self.pin_button.setEnabled(False)
        self.delete_button.setEnabled(False)
        self.content.setFocus()

    def _fill(self, record: MemoryRecord | None, characters: list[str] | None = None) -> None:
        self._loading = True
        try:
            self.character.clear()
            if characters:
                self.character.addItems(characters)
            self.character.setCurrentText(record.character if record else "")
            self.character.setEnabled(bool(record) and self.is_new)
            self.content.setPlainText(record.content if record else "")
            self.kind.setCurrentText(record.kind if record else "note")
            self.importance.setValue(record.importance if record else 0.5)
            self.pinned.setChecked(bool(record and record.pinned))
            self.pin_button.setText("Unpin" if record and record.pinned else "Pin")
            self.provenance.setText(provenance_text(record) if record else "")
            self.created.setText(
                record.created_at.astimezone().strftime("%Y-%m-%d %H:%M:%S") if record else ""
            )
            meta = dict(record.metadata) if record else {}
            self.metadata.setPlainText(json.dumps(meta, ensure_ascii=False) if meta else "")
            self.error.hide()
            self._set_save_enabled(False)
        finally:
            self._loading = False

    def _set_enabled(self, enabled: bool) -> None:
        for widget in (
            self.content,
            self.kind,
            self.importance,
            self.pinned,
            self.metadata,
            self.pin_button,
            self.delete_button,
        ):
            widget.setEnabled(enabled)

    # -- editing ----------------------------------------------------------------------------

    @property
    def dirty(self) -> bool:
        if self.record is None:
            return False
        try:
            # A new memory left blank holds nothing to lose: counted unsaved, a New then a
            # quit asked "The open memory has unsaved changes." of an empty form.
            return self.edited() != self.record
        except MetadataError:
            return True

    def _on_edited(self, *_args: object) -> None:
        if not self._loading:
            self.error.hide()
            self._set_save_enabled(self.record is not None and self.dirty)

    def _set_save_enabled(self, enabled: bool) -> None:
        self.save_button.setEnabled(enabled)
        # The theme has no disabled look for a primary button: only an active Save is one.
        if self.save_button.property("primary") != enabled:
            self.save_button.setProperty("primary", enabled)
            self.save_button.style().unpolish(self.save_button)
            self.save_button.style().polish(self.save_button)

    def edited(self) -> MemoryRecord:
        """The shown memory with the pane's edits; MetadataError if the metadata is not JSON."""
        assert self.record is not None
        text = self.metadata.toPlainText().strip()
        try:
            metadata = json.loads(text) if text else {}
        except ValueError as exc:
            raise MetadataError(
                f"Metadata (line {exc.lineno}, column {exc.colno}): not valid JSON — {exc.msg}"
            ) from None
        if not isinstance(metadata, dict):
            raise MetadataError('Metadata must be a JSON object, like {"topic": "music"}')
        return replace(
            self.record,
            character=self.character.currentText().strip()
            if self.is_new
            else self.record.character,
            content=self.content.toPlainText(),
            kind=self.kind.currentText(),  # type: ignore[arg-type]
            importance=round(self.importance.value(), 2)
            if self.importance.value() != round(self.record.importance, 2)
            else self.record.importance,
            pinned=self.pinned.isChecked(),
            metadata=metadata if metadata != dict(self.record.metadata) else self.record.metadata,
        )

    def show_error(self, text: str) -> None:
        self.error.setText(f"<span style='color:#D0393E'>{text}</span>")
        self.error.show()

    def validated(self) -> MemoryRecord:
        """The edited memory, ready to store; ValueError says what to fix."""
        record = self.edited()
        if not record.content.strip():
            raise ValueError("A memory needs some content.")
        if not record.character:
            raise ValueError("Choose the character this memory belongs to.")
        return record

    def _on_save_clicked(self) -> None:
        try:
            record = self.validated()
        except ValueError as exc:
            self.show_error(str(exc))
            return
        self.save_requested.emit(record)

    def _on_pin_clicked(self) -> None:
        if self.record is not None and not self.is_new:
            self.pin_requested.emit(replace(self.record, pinned=not self.record.pinned))

    def _on_delete_clicked(self) -> None:
        if self.record is not None and not self.is_new:
            self.delete_requested.emit(self.record.id)

    def stored(self, record: MemoryRecord, *, keep_edits: bool = False) -> None:
        """The store now holds ``record``: show it (keeping unsaved edits when asked)."""
        if not keep_edits:
            self.show_record(record)
            return
        self.record = record
        self.is_new = False
        self._loading = True
        try:
            self.pinned.setChecked(record.pinned)
            self.pin_button.setText("Unpin" if record.pinned else "Pin")
        finally:
            self._loading = False
        self._on_edited()
