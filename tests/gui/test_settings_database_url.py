"""Settings → Memory: the Supabase database URL (#21) is a secret like the service key: typed
there it goes to the keyring, never to the settings file or the log, and the memory store the
studio opens for a move gets it."""

from __future__ import annotations

import logging

from PySide6.QtCore import Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QScrollArea

from carrier_studio.services.platform.secrets import SERVICE

URL = "postgresql://postgres:Db-Pass-Setting-77@db.example.supabase.co:5432/postgres"


def _settings_page(studio):
    studio.window.show_page("settings")
    page = studio.window.page("settings")
    studio.qapp_loop.run_until_complete(studio.tasks.wait_idle())
    return page


def test_the_database_url_goes_to_the_keyring_only(
    make_studio, loop, app_paths, keyring_backend, caplog
):
    caplog.set_level(logging.DEBUG)
    studio = make_studio()
    studio.window.resize(1008, 660)
    page = _settings_page(studio)
    field = page.secret_fields["SUPABASE_DB_URL"]
    area = page.findChild(QScrollArea)
    area.ensureWidgetVisible(field)
    assert "connection string" in field.toolTip()
    field.edit.setFocus()
    QTest.keyClicks(field.edit, URL)
    assert page.dirty
    QTest.mouseClick(page.save_button, Qt.MouseButton.LeftButton)
    loop.run_until_complete(studio.tasks.wait_idle())

    assert page.error_label.isHidden()
    assert keyring_backend.entries[(SERVICE, "SUPABASE_DB_URL")] == URL
    assert field.source == "keyring" and field.edit.text() == ""
    for path in app_paths.config_dir.rglob("*"):
        assert "Db-Pass-Setting-77" not in path.read_text(errors="replace")
    assert "Db-Pass-Setting-77" not in caplog.text
