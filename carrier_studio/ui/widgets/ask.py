"""The questions pages ask the user, in one place; tests replace these instead of driving
modal dialogs."""

from __future__ import annotations

import asyncio
from typing import Any

from PySide6.QtWidgets import QDialog, QFileDialog, QInputDialog, QLineEdit, QMessageBox, QWidget


async def accepted(dialog: QDialog) -> bool:
    """Open ``dialog`` window-modal and wait until it closes; True when accepted. Awaited rather
    than exec()'d: a nested event loop inside a task would run other tasks re-entrantly."""
    done: asyncio.Future[int] = asyncio.get_running_loop().create_future()

    def finished(code: int) -> None:
        if not done.done():
            done.set_result(code)

    dialog.finished.connect(finished)
    dialog.open()
    try:
        return await done == QDialog.DialogCode.Accepted.value
    finally:
        dialog.finished.disconnect(finished)


class Ask:
    """The page's questions to the user; tests replace these instead of driving dialogs."""

    @staticmethod
    def unsaved(parent: QWidget, name: str) -> str:
        box = QMessageBox(parent)
        box.setWindowTitle("Unsaved changes")
        box.setText(f"{name} has unsaved changes.")
        box.setStandardButtons(
            QMessageBox.StandardButton.Save
            | QMessageBox.StandardButton.Discard
            | QMessageBox.StandardButton.Cancel
        )
        answer = box.exec()
        return {
            QMessageBox.StandardButton.Save: "save",
            QMessageBox.StandardButton.Discard: "discard",
        }.get(QMessageBox.StandardButton(answer), "cancel")

    @staticmethod
    async def unsaved_async(parent: QWidget, name: str) -> str:
        """`unsaved` for code running in an asyncio task: a nested exec() there would stop
        every other task (qasync cannot enter one task from inside another)."""
        box = QMessageBox(parent)
        box.setWindowTitle("Unsaved changes")
        box.setText(f"{name} has unsaved changes.")
        box.setStandardButtons(
            QMessageBox.StandardButton.Save
            | QMessageBox.StandardButton.Discard
            | QMessageBox.StandardButton.Cancel
        )
        answer: asyncio.Future[str] = asyncio.get_running_loop().create_future()

        def on_clicked(button: Any) -> None:
            role = box.standardButton(button)
            choice = {
                QMessageBox.StandardButton.Save: "save",
                QMessageBox.StandardButton.Discard: "discard",
            }.get(role, "cancel")
            if not answer.done():
                answer.set_result(choice)

        box.buttonClicked.connect(on_clicked)
        box.rejected.connect(lambda: answer.done() or answer.set_result("cancel"))
        box.open()
        try:
            return await answer
        finally:
            box.deleteLater()

    @staticmethod
    def confirm(parent: QWidget, title: str, text: str, action: str) -> bool:
        """Yes/no before something that cannot be undone; ``action`` names the button."""
        box = QMessageBox(QMessageBox.Icon.Question, title, text, parent=parent)
        yes = box.addButton(action, QMessageBox.ButtonRole.DestructiveRole)
        box.addButton(QMessageBox.StandardButton.Cancel)
        box.setDefaultButton(QMessageBox.StandardButton.Cancel)
        box.exec()
        return box.clickedButton() is yes

    @staticmethod
    def text(parent: QWidget, title: str, label: str, value: str) -> str | None:
        text, ok = QInputDialog.getText(parent, title, label, QLineEdit.EchoMode.Normal, value)
        return text if ok else None

    @staticmethod
    def open_file(parent: QWidget) -> list[str]:
        paths, _ = QFileDialog.getOpenFileNames(
            parent, "Import characters", "", "Character files (*.json);;All files (*)"
        )
        return paths

    @staticmethod
    def save_file(parent: QWidget, suggested: str) -> str | None:
        path, _ = QFileDialog.getSaveFileName(
            parent, "Export character", suggested, "JSON (*.json)"
        )
        return path or None
