from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication

from carrier_studio.core.redaction import Redactor
from carrier_studio.ui.crash import CrashDialog, CrashHandler
from carrier_studio.ui.theme import palettes


def test_theme_choice_applies_the_palette(make_studio, qapp):
    studio = make_studio()
    studio.theme.set_choice("dark")
    assert studio.theme.scheme == "dark"
    assert palettes()["dark"]["window"] in qapp.styleSheet()
    studio.theme.set_choice("light")
    assert palettes()["light"]["window"] in qapp.styleSheet()
    assert palettes()["dark"]["window"] not in qapp.styleSheet()


def test_crash_dialog_shows_redacted_details_and_copies_them(qapp, qtbot):
    redactor = Redactor()
    redactor.add("crash-secret-value-123")
    handler = CrashHandler(redactor)
    try:
        raise RuntimeError("bad thing with crash-secret-value-123")
    except RuntimeError as exc:
        handler.handle(type(exc), exc, exc.__traceback__)
    (dialog,) = handler.dialogs
    assert isinstance(dialog, CrashDialog)
    assert dialog.isVisible()
    assert "RuntimeError" in dialog.details
    assert "crash-secret-value-123" not in dialog.details
    dialog.copy_button.click()
    assert QApplication.clipboard().text() == dialog.details
    dialog.reject()
    assert handler.dialogs == []


def test_the_crash_summary_is_redacted_plain_text(qapp, qtbot):
    from PySide6.QtWidgets import QLabel

    handler = CrashHandler(Redactor())
    token = "ghp_" + "Ab1" * 12
    try:
        raise ValueError(f"<i>bad</i> token {token}")
    except ValueError as exc:
        handler.handle(type(exc), exc, exc.__traceback__)
    (dialog,) = handler.dialogs
    shown = [label.text() for label in dialog.findChildren(QLabel)]
    assert "ValueError: <i>bad</i> token [redacted]" in shown
    assert token not in dialog.details and token not in "".join(shown)
    label = next(label for label in dialog.findChildren(QLabel) if "ValueError" in label.text())
    assert label.textFormat() == Qt.TextFormat.PlainText
    dialog.reject()


def test_crash_handler_owns_excepthook_until_uninstalled(qapp):
    import sys

    before = sys.excepthook
    handler = CrashHandler(Redactor())
    handler.install()
    assert sys.excepthook == handler.handle
    handler.uninstall()
    assert sys.excepthook is before


def test_system_theme_follows_the_os_switching(make_studio, qapp):
    from PySide6.QtCore import Qt

    studio = make_studio()
    studio.theme.set_choice("system")
    hints = qapp.styleHints()
    hints.colorSchemeChanged.emit(Qt.ColorScheme.Dark)
    assert studio.theme.scheme == "dark"
    assert palettes()["dark"]["window"] in qapp.styleSheet()
    hints.colorSchemeChanged.emit(Qt.ColorScheme.Light)
    assert studio.theme.scheme == "light"
    # A theme the user picked is kept whatever the OS does.
    studio.theme.set_choice("dark")
    hints.colorSchemeChanged.emit(Qt.ColorScheme.Light)
    assert studio.theme.scheme == "dark"
