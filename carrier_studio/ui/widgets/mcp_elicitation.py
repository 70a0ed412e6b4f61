"""An MCP server asks the user something: a form built from its schema, or a page to open.

The form has a field per property (text, number, yes/no, a choice, several choices), filled
with the schema's defaults, required ones marked with *; Submit checks the values and names
the field that does not fit. Decline says no; Cancel (or closing) answers nothing. In URL
mode the dialog shows the address and opens it in the browser only when the user says so.
`ElicitationDialog.ask` is what the studio calls (tests replace it).
"""

from __future__ import annotations

import html
from typing import Any

from PySide6.QtCore import Qt, QUrl
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QScrollArea,
    QVBoxLayout,
    QWidget,
)

from carrier_studio.core.mcp.elicitation import FormField, coerce, problems
from carrier_studio.core.mcp.requests import Action, ElicitationAnswer, ElicitationRequest
from carrier_studio.ui.widgets.ask import accepted


class ElicitationDialog(QDialog):
    def __init__(self, request: ElicitationRequest, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("mcpElicitation")
        self.request = request
        #: What the user chose; Cancel until a button says otherwise.
        self.action: Action = "cancel"
        self.setWindowTitle(f"{request.server} asks")
        self.setMinimumWidth(420)
        self.setMaximumHeight(640)  # fits 1024x700 with the title bar
        layout = QVBoxLayout(self)
        asker = QLabel(f"The MCP server <b>{html.escape(request.server)}</b> asks:")
        layout.addWidget(asker)
        message = QLabel(request.message)
        message.setObjectName("elicitationMessage")
        message.setWordWrap(True)
        message.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        layout.addWidget(message)
        self.widgets: dict[str, QWidget] = {}
        buttons = QDialogButtonBox()
        if request.mode == "url":
            self._url_part(layout)
            self.submit = QPushButton("Open in browser")
        else:
            self._form_part(layout)
            self.submit = QPushButton("Submit")
        self.submit.setObjectName("elicitationSubmit")
        self.submit.setDefault(True)
        self.decline = QPushButton("Decline")
        self.decline.setObjectName("elicitationDecline")
        self.cancel = QPushButton("Cancel")
        self.cancel.setObjectName("elicitationCancel")
        buttons.addButton(self.submit, QDialogButtonBox.ButtonRole.AcceptRole)
        buttons.addButton(self.decline, QDialogButtonBox.ButtonRole.DestructiveRole)
        buttons.addButton(self.cancel, QDialogButtonBox.ButtonRole.RejectRole)
        self.submit.clicked.connect(self._on_submit)
        self.decline.clicked.connect(lambda: self._finish("decline"))
        self.cancel.clicked.connect(self.reject)
        self.error = QLabel()
        self.error.setObjectName("elicitationError")
        self.error.setStyleSheet("color: #D0393E")
        self.error.setWordWrap(True)
        self.error.hide()
        layout.addWidget(self.error)
        layout.addWidget(buttons)

    # -- building ------------------------------------------------------------------------------

    def _url_part(self, layout: QVBoxLayout) -> None:
        self.url = QLabel(self.request.url)
        self.url.setObjectName("elicitationUrl")
        self.url.setWordWrap(True)
        self.url.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        note = QLabel("It wants you to open this page in your browser:")
        note.setProperty("muted", True)
        layout.addWidget(note)
        layout.addWidget(self.url)

    def _form_part(self, layout: QVBoxLayout) -> None:
        body = QWidget()
        form = QFormLayout(body)
        for field in self.request.fields:
            widget = _widget_for(field)
            widget.setObjectName(f"elicit_{field.name}")
            if field.description:
                widget.setToolTip(field.description)
            label = QLabel(f"{field.title} *" if field.required else field.title)
            label.setBuddy(widget)
            form.addRow(label, widget)
            self.widgets[field.name] = widget
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QScrollArea.Shape.NoFrame)
        scroll.setWidget(body)
        layout.addWidget(scroll, 1)
        if any(field.required for field in self.request.fields):
            note = QLabel("* required")
            note.setProperty("muted", True)
            layout.addWidget(note)
        if self.request.fields:
            first = self.widgets[self.request.fields[0].name]
            first.setFocus()

    # -- answering -----------------------------------------------------------------------------

    def values(self) -> dict[str, Any]:
        """The form's values by field name (empty optional fields left out)."""
        values: dict[str, Any] = {}
        for field in self.request.fields:
            value = _value_of(field, self.widgets[field.name])
            if value is not None and value != "" and value != []:
                values[field.name] = coerce(field, value)
        return values

    def _on_submit(self) -> None:
        if self.request.mode == "url":
            self._finish("accept")
            return
        found = problems(self.request.fields, self.values())
        if found:
            self.error.setText("\n".join(found.values()))
            self.error.show()
            self._fit()
            self.widgets[next(iter(found))].setFocus()
            return
        self._finish("accept")

    def _fit(self) -> None:
        """Grow to hold the form and the error lines (up to the screen): they took their room
        from the form otherwise, which scrolled with a field cut in half."""
        wanted = min(self.sizeHint().height(), self.maximumHeight())
        screen = self.screen().availableGeometry()
        frame = self.frameGeometry().height() - self.height()
        wanted = min(wanted, screen.height() - frame)
        if wanted <= self.height():
            return
        self.resize(self.width(), wanted)
        # Kept on the screen: it grows downwards from where it is.
        bottom = self.frameGeometry().bottom()
        if bottom > screen.bottom():
            self.move(self.x(), max(screen.top(), self.y() - (bottom - screen.bottom())))

    def _finish(self, action: Action) -> None:
        self.action = action
        self.accept()

    @classmethod
    async def ask(cls, parent: QWidget | None, request: ElicitationRequest) -> ElicitationAnswer:
        """Show the dialog window-modal and wait for the answer. In URL mode, Open in browser
        opens the page (QDesktopServices) and answers accept."""
        dialog = cls(request, parent)
        try:
            await accepted(dialog)
            if dialog.action != "accept":
                return ElicitationAnswer(dialog.action)
            if request.mode == "url":
                QDesktopServices.openUrl(QUrl(request.url))
                return ElicitationAnswer("accept")
            return ElicitationAnswer("accept", dialog.values())
        finally:
            dialog.deleteLater()


def _widget_for(field: FormField) -> QWidget:
    if field.kind == "boolean":
        box = QCheckBox()
        box.setChecked(bool(field.default))
        return box
    if field.kind == "choice":
        combo = QComboBox()
        if not field.required or field.default is None:
            combo.addItem("", None)  # no choice yet
        for value, label in field.options:
            combo.addItem(label, value)
        if field.default is not None:
            combo.setCurrentIndex(max(0, combo.findData(field.default)))
        return combo
    if field.kind == "choices":
        chosen = set(field.default or ())
        listing = QListWidget()
        listing.setMaximumHeight(120)
        for value, label in field.options:
            item = QListWidgetItem(label)
            item.setData(Qt.ItemDataRole.UserRole, value)
            item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
            checked = value in chosen
            item.setCheckState(Qt.CheckState.Checked if checked else Qt.CheckState.Unchecked)
            listing.addItem(item)
        return listing
    line = QLineEdit("" if field.default is None else _text(field.default))
    placeholder = {
        "email": "name@example.com",
        "uri": "https://…",
        "date": "YYYY-MM-DD",
        "date-time": "YYYY-MM-DDTHH:MM",
    }
    if field.kind in ("number", "integer"):
        line.setPlaceholderText("a whole number" if field.kind == "integer" else "a number")
    else:
        line.setPlaceholderText(placeholder.get(field.format, ""))
    return line


def _text(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _value_of(field: FormField, widget: QWidget) -> Any:
    if isinstance(widget, QCheckBox):
        return widget.isChecked()
    if isinstance(widget, QComboBox):
        return widget.currentData()
    if isinstance(widget, QListWidget):
        items = (widget.item(i) for i in range(widget.count()))
        return [
            i.data(Qt.ItemDataRole.UserRole)
            for i in items
            if i.checkState() == Qt.CheckState.Checked
        ]
    assert isinstance(widget, QLineEdit)
    text = widget.text().strip()
    if field.kind in ("number", "integer") and text:
        try:
            return float(text) if field.kind == "number" else _whole(text)
        except ValueError:
            return text  # `problems` says it is not a number
    return text


def _whole(text: str) -> int | float:
    number = float(text)
    return int(number) if number.is_integer() else number
