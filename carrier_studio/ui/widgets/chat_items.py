"""The pieces of a chat transcript: messages, tool cards, handoff notices, approvals, errors."""

from __future__ import annotations

import json

from PySide6.QtCore import QEvent, QObject, Qt, QTimer, Signal
from PySide6.QtGui import QColor, QFontDatabase, QPalette, QResizeEvent, QTextCursor
from PySide6.QtWidgets import (
    QApplication,
    QBoxLayout,
    QFrame,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from carrier_studio.ui.markdown import to_html
from carrier_studio.ui.widgets import chat_elide
from carrier_studio.ui.widgets.attachment_strip import AttachmentStrip
from carrier_studio.ui.widgets.branch_switch import BranchSwitch
from carrier_studio.ui.widgets.fitted_text import FittedText
from carrier_studio.ui.widgets.memory_card import MemoryCard, card_toggle

__all__ = [
    "ApprovalCard",
    "ErrorCard",
    "MemoryCard",  # it lives in memory_card.py; the chat page takes every card from here
    "MessageBubble",
    "MessageView",
    "Notice",
    "ToolCard",
]

#: Add streamed text to a message at most this often (ms): 30 fps is smooth and cheap.
RENDER_INTERVAL_MS = 33
#: A tool result longer than this is cut short on its card until "Show all".
ELIDE_LINES = 12
ELIDE_CHARS = 1200


def _pretty_json(text: str) -> str:
    try:
        return json.dumps(json.loads(text), indent=2, ensure_ascii=False)
    except (ValueError, TypeError):
        return text


class MessageView(FittedText):
    """A message's text: as tall as its content, appended to cheaply while it streams."""

    def __init__(self) -> None:
        super().__init__()
        self.setObjectName("bubbleBody")

    def append_plain(self, text: str) -> None:
        cursor = QTextCursor(self.document())
        cursor.movePosition(QTextCursor.MoveOperation.End)
        cursor.insertText(text)


def _app_window_color() -> str:
    return QApplication.palette().color(QPalette.ColorRole.Window).name()


class MessageBubble(QFrame):
    """A user or assistant message. Streaming text is appended as it arrives (cheap) and the
    message is rendered as markdown when it is complete."""

    copy_requested = Signal(str)
    retry_requested = Signal()
    #: Edit this (user) message and send it again as a new branch.
    edit_requested = Signal()
    #: The first text of this message has been painted (bench/chat.py measures it).
    first_text_painted = Signal()

    def __init__(self, role: str, agent: str, text: str = "", dark: bool = False) -> None:
        super().__init__()
        self.role = role
        self.agent = agent
        self._text = text
        self._pending: list[str] = []
        self._dark = dark
        #: The text is shown as rendered markdown (not streaming plain text).
        self._rendered = False
        self._app_window = _app_window_color()
        self._painted_text = False
        #: The stored message this bubble shows (None: not known yet, e.g. still streaming).
        self.message_id: int | None = None
        self.setObjectName("userBubble" if role == "user" else "assistantBubble")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(12, 8, 12, 8)
        if role != "user":
            who = QLabel(agent)
            who.setObjectName("bubbleAuthor")
            layout.addWidget(who)
        #: The message's images and text files (hidden when it has none).
        self.attachments = AttachmentStrip()
        layout.addWidget(self.attachments)
        self.body = MessageView()
        self.body.viewport().installEventFilter(self)
        layout.addWidget(self.body)
        footer = QHBoxLayout()
        self.info = QLabel()
        self.info.setObjectName("bubbleInfo")
        self.info.setProperty("muted", True)
        footer.addWidget(self.info)
        footer.addStretch(1)
        self.branches = BranchSwitch()
        footer.addWidget(self.branches)
        self.edit_button = QToolButton()
        self.edit_button.setText("Edit")
        self.edit_button.setAutoRaise(True)
        self.edit_button.setToolTip("Edit and send again; this version stays as an alternative")
        self.edit_button.clicked.connect(self.edit_requested)
        self.edit_button.hide()
        footer.addWidget(self.edit_button)
        self.copy_button = QToolButton()
        self.copy_button.setText("Copy")
        self.copy_button.setAutoRaise(True)
        self.copy_button.clicked.connect(self._on_copy_clicked)
        footer.addWidget(self.copy_button)
        self.retry_button = QToolButton()
        self.retry_button.setText("Retry")
        self.retry_button.setAutoRaise(True)
        self.retry_button.clicked.connect(self.retry_requested)
        self.retry_button.hide()
        footer.addWidget(self.retry_button)
        layout.addLayout(footer)
        self._flush_timer = QTimer(self, singleShot=True, interval=RENDER_INTERVAL_MS)
        self._flush_timer.timeout.connect(self._flush)
        if text:
            self._render_markdown()

    @property
    def text(self) -> str:
        return self._text

    def html(self) -> str:
        return self.body.toHtml()

    def append(self, delta: str) -> None:
        first = not self._text
        self._text += delta
        self._pending.append(delta)
        if first:
            self._flush()  # the first words appear at once
        elif not self._flush_timer.isActive():
            self._flush_timer.start()

    def _flush(self) -> None:
        if self._pending:
            self.body.append_plain("".join(self._pending))
            self._pending.clear()

    def finish(self, info: str = "") -> None:
        self._flush_timer.stop()
        self._pending.clear()
        self._render_markdown()
        self.info.setText(info)

    def _render_markdown(self) -> None:
        self._rendered = True
        self.body.setHtml(to_html(self._text, self._dark))

    def set_dark(self, dark: bool) -> None:
        """Highlight code for the dark or light theme (a message shown before a theme switch
        would otherwise keep the old theme's code colours: light text on a light block)."""
        if dark == self._dark:
            return
        self._dark = dark
        if self._rendered:
            self._render_markdown()

    def changeEvent(self, event: QEvent) -> None:  # noqa: N802 - Qt override
        # The theme manager sets the application's palette on every theme switch; a palette
        # change for any other reason (a new parent) leaves the chosen colours alone.
        if event.type() == QEvent.Type.PaletteChange:
            window = _app_window_color()
            if window != self._app_window:
                self._app_window = window
                self.set_dark(QColor(window).lightness() < 128)
        super().changeEvent(event)

    def _on_copy_clicked(self) -> None:
        QApplication.clipboard().setText(self._text)
        self.copy_requested.emit(self._text)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 - Qt override
        if (
            watched is self.body.viewport()
            and event.type() == QEvent.Type.Paint
            and self._text
            and not self._painted_text
        ):
            self._painted_text = True
            QTimer.singleShot(0, self.first_text_painted.emit)
        return False


def _duration(seconds: float) -> str:
    return f"{seconds * 1000:.0f} ms" if seconds < 1 else f"{seconds:.1f} s"


def elided(text: str, lines: int = ELIDE_LINES, chars: int = ELIDE_CHARS) -> tuple[str, bool]:
    """The start of ``text`` a card shows until "Show all", and whether anything was left out."""
    kept = "\n".join(text.splitlines()[:lines])[:chars]
    if len(kept) >= len(text.rstrip()):
        return text, False
    return kept.rstrip() + "\n…", True


class _CodeText(FittedText):
    """Arguments or a result, in full height and wrapped (no inner scroll box)."""

    def __init__(self) -> None:
        super().__init__()
        self.setObjectName("toolText")
        self.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))


class ToolCard(QFrame):
    """A tool call: name, run time and approval wait in one line; arguments and result when
    expanded, a long result cut short until "Show all"."""

    def __init__(self, name: str, arguments: str, agent: str) -> None:
        super().__init__()
        self.setObjectName("toolCard")
        self.name = name
        layout = QVBoxLayout(self)
        layout.setContentsMargins(10, 6, 10, 6)
        self.toggle = card_toggle("toolToggle")
        self.toggle.toggled.connect(self._on_toggle_toggled)
        layout.addWidget(self.toggle, 0, Qt.AlignmentFlag.AlignLeft)
        #: The wait for the user's approval, under the header (shown even when collapsed).
        self.waited = QLabel()
        self.waited.setObjectName("toolWaited")
        self.waited.setProperty("muted", True)
        self.waited.setWordWrap(True)
        self.waited.hide()
        layout.addWidget(self.waited)
        #: A running call's progress as its MCP server reports it (#19), gone when it ends.
        self.progress = QProgressBar()
        self.progress.setObjectName("toolProgress")
        self.progress.setTextVisible(False)
        self.progress.setMaximumHeight(8)
        self.progress.hide()
        layout.addWidget(self.progress)
        self.progress_text = QLabel()
        self.progress_text.setObjectName("toolProgressText")
        self.progress_text.setProperty("muted", True)
        self.progress_text.setWordWrap(True)
        self.progress_text.hide()
        layout.addWidget(self.progress_text)
        self.details = QWidget()
        details = QVBoxLayout(self.details)
        details.setContentsMargins(4, 0, 0, 0)
        details.setSpacing(2)
        for title in ("Arguments", "Result"):
            label = QLabel(title)
            label.setProperty("muted", True)
            details.addWidget(label)
            text = _CodeText()
            details.addWidget(text)
            if title == "Arguments":
                self.arguments_view = text
            else:
                self.result_view = text
        self.show_all_button = QToolButton()
        self.show_all_button.setAutoRaise(True)
        self.show_all_button.setCheckable(True)
        self.show_all_button.toggled.connect(self._show_result)
        self.show_all_button.hide()
        details.addWidget(self.show_all_button, 0, Qt.AlignmentFlag.AlignLeft)
        self.details.hide()
        layout.addWidget(self.details)
        self._arguments = _pretty_json(arguments)
        self.arguments_view.setPlainText(self._arguments)
        self._result: str | None = None
        self._agent = agent
        self._status = "running…"
        #: A line the header's tooltip adds to its text.
        self._note = ""
        self._update()

    def show_progress(self, progress: float, total: float | None, message: str = "") -> None:
        """The server's latest progress report: a bar when it knows the total ("3 of 5"),
        a moving one when it does not ("3 done"), and its message."""
        if self._result is not None:
            return  # a late report after the result: the call is over
        if total:
            self.progress.setRange(0, 1000)
            self.progress.setValue(round(1000 * max(0.0, min(1.0, progress / total))))
            done = f"{progress:g} of {total:g}"
        else:
            self.progress.setRange(0, 0)
            done = f"{progress:g} done"
        self.progress_text.setText(f"{done} — {message}" if message else done)
        self.progress.show()
        self.progress_text.show()

    def finish(self, result: str, duration_s: float, waited_s: float | None = 0.0) -> None:
        """The call's result, its own run time and how long it waited for the user's approval
        (0: it did not ask; None: not recorded apart, as in conversations stored before)."""
        self.progress.hide()
        self.progress_text.hide()
        self._result = _pretty_json(result)
        if waited_s is None:
            self._status = f"took {_duration(duration_s)}"
            # Stored before waits were recorded apart (the time may include one), or approved
            # after a restart (the wait went unseen).
            self._note = "\nHow long this call waited for your approval is not known."
        else:
            self._status = f"ran {_duration(duration_s)}"
            if waited_s > 0:
                waited = _duration(waited_s)
                self.waited.setText(f"Waited {waited} for your approval before it ran.")
                self.waited.show()
        self._show_result(self.show_all_button.isChecked())
        self._update()

    @property
    def status(self) -> str:
        return self._status

    def _show_result(self, everything: bool) -> None:
        if self._result is None:
            self.result_view.setPlainText("(running)")
            return
        shown, cut = elided(self._result)
        self.show_all_button.setVisible(cut)
        lines = len(self._result.splitlines())
        self.show_all_button.setText("Show less" if everything else f"Show all ({lines} lines)")
        self.result_view.setPlainText(self._result if everything else shown)

    def _update(self) -> None:
        arrow = "▾" if self.toggle.isChecked() else "▸"
        self.toggle.setText(f"{arrow}  {self.name} · {self._status}")
        self.toggle.setToolTip(f"{self.name} · {self._status}{self._note}")

    def _on_toggle_toggled(self, checked: bool) -> None:
        self.details.setVisible(checked)
        self._update()


class Notice(QLabel):
    """A one-line event in the transcript, such as a handoff."""

    def __init__(self, text: str) -> None:
        super().__init__(text)
        self.setObjectName("chatNotice")
        self.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.setProperty("muted", True)


class ApprovalCard(QFrame):
    """A tool call waiting for the user: approve or reject, optionally remembered."""

    decided = Signal(str, bool, bool)  # approval id, approved, remember

    def __init__(self, approval_id: str, tool: str, arguments: str, agent: str) -> None:
        super().__init__()
        self.setObjectName("approvalCard")
        self.approval_id = approval_id
        self.tool = tool
        layout = QVBoxLayout(self)
        layout.setContentsMargins(12, 8, 12, 8)
        layout.addWidget(chat_elide.run_title(agent, tool))
        # All of it, however long: the user is deciding whether it may run.
        args = _CodeText()
        args.setPlainText(_pretty_json(arguments))
        layout.addWidget(args)
        #: Beside the buttons, or above them when a long tool name does not fit (`resizeEvent`).
        self._row = QBoxLayout(QBoxLayout.Direction.LeftToRight)
        self.remember = chat_elide.ElidedCheckBox(f"Remember for {tool}")
        self._row.addWidget(self.remember, 1)
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        self.reject_button = QPushButton("Reject")
        self.reject_button.clicked.connect(lambda: self._decide(False))
        self.approve_button = QPushButton("Approve")
        self.approve_button.setProperty("primary", True)
        self.approve_button.clicked.connect(lambda: self._decide(True))
        buttons.addWidget(self.reject_button)
        buttons.addWidget(self.approve_button)
        self._row.addLayout(buttons)
        layout.addLayout(self._row)
        self.verdict = QLabel()
        self.verdict.hide()
        layout.addWidget(self.verdict)

    def resizeEvent(self, event: QResizeEvent) -> None:  # noqa: N802 - Qt override
        super().resizeEvent(event)
        inner = self.layout().contentsMargins()
        chat_elide.fit_beside(self._row, self.contentsRect().width() - inner.left() - inner.right())

    def _decide(self, approved: bool) -> None:
        for widget in (self.approve_button, self.reject_button, self.remember):
            widget.setEnabled(False)
        self.show_verdict("approved" if approved else "rejected")
        self.decided.emit(self.approval_id, approved, self.remember.isChecked())

    def show_verdict(self, verdict: str) -> None:
        for widget in (self.approve_button, self.reject_button, self.remember):
            widget.setEnabled(False)
        self.verdict.setText(f"You {verdict} this call.")
        self.verdict.show()


class ErrorCard(QFrame):
    """A failed turn: what went wrong, what to do, and Retry (after any wait asked for)."""

    retry_requested = Signal()

    def __init__(self, message: str, hint: str = "", retry_after: float | None = None) -> None:
        super().__init__()
        self.setObjectName("errorCard")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(12, 8, 12, 8)
        self.message = QLabel(f"<b>{message}</b>")
        self.message.setWordWrap(True)
        self.message.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        layout.addWidget(self.message)
        if hint:
            tip = QLabel(hint)
            tip.setWordWrap(True)
            layout.addWidget(tip)
        row = QHBoxLayout()
        row.addStretch(1)
        self.retry_button = QPushButton("Retry")
        self.retry_button.clicked.connect(self.retry_requested)
        row.addWidget(self.retry_button)
        layout.addLayout(row)
        self._wait = int(retry_after or 0)
        self._countdown = QTimer(self, interval=1000)
        self._countdown.timeout.connect(self._tick)
        if self._wait > 0:
            self.retry_button.setEnabled(False)
            self._countdown.start()
            self._tick(first=True)

    def _tick(self, first: bool = False) -> None:
        if not first:
            self._wait -= 1
        if self._wait <= 0:
            self._countdown.stop()
            self.retry_button.setEnabled(True)
            self.retry_button.setText("Retry")
        else:
            self.retry_button.setText(f"Retry in {self._wait} s")
