"""The message-examples editor: conversations on the left, their turns on the right.

Edits touch only the speaker and text of each message, so any other keys a message carries
(``action``, attachments, a v2 group's title) are kept.
"""

from __future__ import annotations

import copy
from typing import Any

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QHeaderView,
    QListWidget,
    QPushButton,
    QSplitter,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

USER = "{{user1}}"


def _messages(conversation: Any) -> list[Any]:
    if isinstance(conversation, dict):
        examples = conversation.get("examples")
        return examples if isinstance(examples, list) else []
    return conversation if isinstance(conversation, list) else []


def _speaker_key(message: dict[str, Any]) -> str:
    return "name" if "name" in message and "user" not in message else "user"


def _speaks(message: Any, name: str) -> bool:
    return isinstance(message, dict) and message.get(_speaker_key(message)) == name


def count_speaker(examples: Any, name: str) -> int:
    """How many conversations in ``messageExamples`` have ``name`` as a speaker."""
    if not isinstance(examples, list) or not name:
        return 0
    return sum(any(_speaks(m, name) for m in _messages(c)) for c in examples)


def rename_speaker(examples: Any, old: str, new: str) -> Any:
    """A copy of ``messageExamples`` with the speaker ``old`` renamed ``new`` (only the
    speaker key; the text and other keys are kept)."""
    result = copy.deepcopy(examples)
    if isinstance(result, list):
        for conversation in result:
            for message in _messages(conversation):
                if _speaks(message, old):
                    message[_speaker_key(message)] = new
    return result


class MessageExamplesEditor(QWidget):
    changed = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._conversations: list[Any] = []
        self._character = ""
        self._loading = False
        splitter = QSplitter()
        left = QWidget()
        left_layout = QVBoxLayout(left)
        left_layout.setContentsMargins(0, 0, 0, 0)
        self.conversations = QListWidget()
        self.conversations.setObjectName("conversationList")
        self.conversations.currentRowChanged.connect(self._show_conversation)
        left_layout.addWidget(self.conversations)
        row = QHBoxLayout()
        add = QPushButton("New conversation")
        add.clicked.connect(self.add_conversation)
        remove = QPushButton("Remove")
        remove.clicked.connect(self.remove_conversation)
        row.addWidget(add)
        row.addWidget(remove)
        left_layout.addLayout(row)
        splitter.addWidget(left)

        right = QWidget()
        right_layout = QVBoxLayout(right)
        right_layout.setContentsMargins(0, 0, 0, 0)
        self.turns = QTableWidget(0, 2)
        self.turns.setObjectName("turnsTable")
        self.turns.setHorizontalHeaderLabels(["Speaker", "Text"])
        self.turns.horizontalHeader().setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        self.turns.setColumnWidth(0, 150)
        self.turns.setWordWrap(True)
        self.turns.verticalHeader().hide()
        self.turns.itemChanged.connect(self._on_turn_text_changed)
        right_layout.addWidget(self.turns)
        row = QHBoxLayout()
        self.add_turn_button = QPushButton("Add turn")
        self.add_turn_button.clicked.connect(self.add_turn)
        remove_turn = QPushButton("Remove turn")
        remove_turn.clicked.connect(self.remove_turn)
        row.addWidget(self.add_turn_button)
        row.addWidget(remove_turn)
        row.addStretch(1)
        right_layout.addLayout(row)
        splitter.addWidget(right)
        splitter.setSizes([200, 600])
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(splitter)

    # -- data ---------------------------------------------------------------------------------

    def set_examples(self, examples: Any, character: str) -> None:
        self._conversations = copy.deepcopy(examples) if isinstance(examples, list) else []
        self._character = character
        current = max(self.conversations.currentRow(), 0)
        self._refresh_list()
        row = min(current, len(self._conversations) - 1)
        self.conversations.blockSignals(True)
        self.conversations.setCurrentRow(row)
        self.conversations.blockSignals(False)
        # Always redraw the turns: the row number may be unchanged while the data is new.
        self._show_conversation(row)

    def examples(self) -> list[Any]:
        return copy.deepcopy(self._conversations)

    def _refresh_list(self) -> None:
        self.conversations.blockSignals(True)
        row = self.conversations.currentRow()
        self.conversations.clear()
        for index, conversation in enumerate(self._conversations):
            title = conversation.get("name") if isinstance(conversation, dict) else None
            turns = len(_messages(conversation))
            label = f"{title or f'Conversation {index + 1}'} ({turns} turns)"
            self.conversations.addItem(label)
        self.conversations.setCurrentRow(min(row, self.conversations.count() - 1))
        self.conversations.blockSignals(False)

    def _speakers(self) -> list[str]:
        return [USER, "{{user2}}", self._character or "{{char}}"]

    def _show_conversation(self, row: int) -> None:
        self._loading = True
        self.turns.setRowCount(0)
        if 0 <= row < len(self._conversations):
            for message in _messages(self._conversations[row]):
                self._append_turn_row(message if isinstance(message, dict) else {})
        self.add_turn_button.setEnabled(0 <= row < len(self._conversations))
        self._loading = False

    def _append_turn_row(self, message: dict[str, Any]) -> None:
        index = self.turns.rowCount()
        self.turns.insertRow(index)
        speaker = QComboBox()
        speaker.setEditable(True)
        speaker.addItems(self._speakers())
        speaker.setCurrentText(str(message.get(_speaker_key(message), USER)))
        speaker.currentTextChanged.connect(lambda text, r=index: self._on_speaker_changed(r, text))
        self.turns.setCellWidget(index, 0, speaker)
        content = message.get("content")
        text = content.get("text", "") if isinstance(content, dict) else ""
        self.turns.setItem(index, 1, QTableWidgetItem(text))

    def _current_messages(self) -> list[Any]:
        row = self.conversations.currentRow()
        return _messages(self._conversations[row]) if 0 <= row < len(self._conversations) else []

    def _on_speaker_changed(self, row: int, text: str) -> None:
        messages = self._current_messages()
        if self._loading or not 0 <= row < len(messages) or not isinstance(messages[row], dict):
            return
        messages[row][_speaker_key(messages[row])] = text
        self.changed.emit()

    def _on_turn_text_changed(self, item: QTableWidgetItem) -> None:
        messages = self._current_messages()
        row = item.row()
        if self._loading or item.column() != 1 or not 0 <= row < len(messages):
            return
        message = messages[row]
        if not isinstance(message, dict):
            return
        content = message.get("content")
        if not isinstance(content, dict):
            content = {}
            message["content"] = content
        content["text"] = item.text()
        self.changed.emit()

    # -- actions ----------------------------------------------------------------------------

    def add_conversation(self) -> None:
        self._conversations.append(
            [
                {"user": USER, "content": {"text": ""}},
                {"user": self._character or "{{char}}", "content": {"text": ""}},
            ]
        )
        self._refresh_list()
        self.conversations.setCurrentRow(len(self._conversations) - 1)
        self._show_conversation(len(self._conversations) - 1)
        self.changed.emit()

    def remove_conversation(self) -> None:
        row = self.conversations.currentRow()
        if 0 <= row < len(self._conversations):
            del self._conversations[row]
            self._refresh_list()
            self._show_conversation(self.conversations.currentRow())
            self.changed.emit()

    def add_turn(self) -> None:
        row = self.conversations.currentRow()
        if not 0 <= row < len(self._conversations):
            return
        messages = self._current_messages()
        last = messages[-1] if messages and isinstance(messages[-1], dict) else {}
        speaker = USER if last.get(_speaker_key(last)) != USER else self._character
        key = _speaker_key(last) if last else "user"
        messages.append({key: speaker, "content": {"text": ""}})
        self._refresh_list()
        self._show_conversation(row)
        self.changed.emit()

    def remove_turn(self) -> None:
        messages = self._current_messages()
        row = self.turns.currentRow()
        if 0 <= row < len(messages):
            del messages[row]
            self._refresh_list()
            self._show_conversation(self.conversations.currentRow())
            self.changed.emit()
