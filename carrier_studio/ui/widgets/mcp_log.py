"""An MCP server's log on the MCP page: what it wrote to stderr and the log messages it sent
over MCP (``notifications/message``, kept as ``[level] text`` lines by the supervisor), each
MCP message coloured by its level, with a filter (#19 item 4)."""

from __future__ import annotations

import re
from html import escape

from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QPlainTextEdit, QVBoxLayout, QWidget

#: MCP's log levels (RFC 5424's), least severe first.
LEVELS = ("debug", "info", "notice", "warning", "error", "critical", "alert", "emergency")
_LEVEL_LINE = re.compile(r"\[(" + "|".join(LEVELS) + r")\] ")
#: The filter's choices: (label, what it keeps).
FILTERS = (
    ("Everything", "all"),
    ("MCP messages", "mcp"),
    ("MCP warnings and errors", "warning"),
    ("stderr only", "stderr"),
)


def level_of(line: str) -> str | None:
    """The MCP level of a ``[level] text`` line; None for a line the server wrote to stderr."""
    match = _LEVEL_LINE.match(line)
    return match.group(1) if match else None


def keep(line: str, choice: str) -> bool:
    level = level_of(line)
    if choice == "mcp":
        return level is not None
    if choice == "warning":
        return level is not None and LEVELS.index(level) >= LEVELS.index("warning")
    if choice == "stderr":
        return level is None
    return True


def colour_key(level: str | None) -> str:
    """The palette colour of a line (core palette keys: text, text_muted, warn, error)."""
    if level is None:
        return "text"
    rank = LEVELS.index(level)
    if rank >= LEVELS.index("error"):
        return "error"
    if level == "warning":
        return "warn"
    return "text_muted" if level == "debug" else "text"


class ServerLogView(QWidget):
    """The Log tab: a filter above the lines."""

    def __init__(self, colors: dict[str, str], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._colors = colors
        self._lines: list[str] = []
        self._error = ""
        column = QVBoxLayout(self)  # the tab's usual margins, like the Tools tab's
        row = QHBoxLayout()
        row.addWidget(QLabel("Show:"))
        self.filter = QComboBox()
        self.filter.setObjectName("serverLogFilter")
        for label, value in FILTERS:
            self.filter.addItem(label, value)
        self.filter.currentIndexChanged.connect(lambda _i: self._draw())
        row.addWidget(self.filter)
        row.addStretch(1)
        column.addLayout(row)
        self.text = QPlainTextEdit()
        self.text.setObjectName("serverLog")
        self.text.setReadOnly(True)
        column.addWidget(self.text, 1)

    def set_colors(self, colors: dict[str, str]) -> None:
        self._colors = colors
        self._draw()

    def show_lines(self, lines: list[str], error: str = "") -> None:
        """The server's log lines (oldest first) and its last error, if any."""
        if lines == self._lines and error == self._error:
            return  # a status change that is not about the log: keep the scroll position
        self._lines, self._error = list(lines), error
        self._draw()

    def _draw(self) -> None:
        choice = self.filter.currentData()
        shown = [line for line in self._lines if keep(line, choice)]
        bar = self.text.verticalScrollBar()
        at_end = bar.value() >= bar.maximum() - 4
        self.text.clear()
        if not shown and not self._error:
            empty = (
                "(nothing written to stderr yet)"
                if choice in ("all", "stderr")
                else ("(no MCP log messages of these levels yet)")
            )
            self.text.appendHtml(self._html(empty, "text_muted"))
        for line in shown:
            self.text.appendHtml(self._html(line, colour_key(level_of(line))))
        if self._error:
            self.text.appendHtml(self._html("", "text"))
            self.text.appendHtml(self._html(f"Last error: {self._error}", "error"))
        if at_end:
            bar.setValue(bar.maximum())

    def _html(self, text: str, key: str) -> str:
        colour = self._colors.get(key, self._colors.get("text", "#888888"))
        # <pre>-like spacing, so an indented traceback keeps its shape.
        return f"<span style='color:{colour}; white-space:pre-wrap'>{escape(text)}</span>"

    def plain(self) -> str:
        return self.text.toPlainText()
