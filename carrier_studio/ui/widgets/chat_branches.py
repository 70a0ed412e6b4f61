"""Edit and branch on the Chat page: which bubble shows which stored message and its
alternatives, and the bar that says a message is being edited."""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QWidget

from carrier_studio.core.runtime.transcript import AssistantText, Stored, UserText
from carrier_studio.ui.widgets.chat_items import MessageBubble


def mark_branches(bubbles: Sequence[MessageBubble], stored: Sequence[Stored], idle: bool) -> None:
    """Give each bubble its stored message and ``< 2/3 >`` where there are alternatives.

    The bubbles are the messages of the branch shown, in order, as the stored branch has them
    (both come from the same transcript items). An alternative that starts with something
    other than a message (a memory card, a tool call) shows on the next message of its turn.
    When the two do not line up (the view is behind the store), nothing is marked: no edit or
    switch can then name the wrong message.
    """
    texts = [s for s in stored if isinstance(s.item, UserText | AssistantText)]
    if len(texts) != len(bubbles):
        for bubble in bubbles:
            bubble.edit_button.hide()
            bubble.branches.setEnabled(False)
        return
    switches: dict[int, tuple[tuple[int, ...], int]] = {}
    waiting: tuple[tuple[int, ...], int] | None = None
    for entry in stored:
        if entry.siblings:
            waiting = (entry.siblings, entry.id)
        if isinstance(entry.item, UserText | AssistantText) and waiting is not None:
            switches[entry.id] = waiting
            waiting = None
        elif isinstance(entry.item, UserText):
            waiting = None
    for bubble, entry in zip(bubbles, texts, strict=True):
        bubble.message_id = entry.id
        bubble.edit_button.setVisible(idle and bubble.role == "user")
        bubble.branches.setEnabled(idle)
        siblings, current = switches.get(entry.id, ((), entry.id))
        bubble.branches.show_alternatives(siblings, current)


class EditBar(QWidget):
    """Above the message box while a sent message is edited: Send makes a new branch."""

    cancelled = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("editBar")
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        self.label = QLabel(
            "Editing a message: Send replaces it and what followed; the old version stays "
            "as an alternative (< 1/2 >)."
        )
        self.label.setWordWrap(True)
        self.label.setProperty("muted", True)
        layout.addWidget(self.label, 1)
        self.cancel_button = QPushButton("Cancel edit")
        self.cancel_button.clicked.connect(self.cancelled)
        layout.addWidget(self.cancel_button)
        self.hide()
