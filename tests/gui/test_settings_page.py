from __future__ import annotations

import json
import socket
from functools import partial
from urllib.parse import urlsplit

import keyring.backends.fail
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QScrollArea

from carrier_studio.services.platform.secrets import SERVICE
from carrier_studio.services.platform.settings_store import read_settings
from carrier_studio.services.providers import find_local_servers, list_models
from carrier_studio.ui.pages.settings import ModelProbe
from tests.fakes import DEFAULT_MODELS, running_server

KEY = "sk-settings-page-secret-0123456789"


def _settings_page(studio):
    """Show the settings page and let it finish reading the keyring."""
    studio.window.show_page("settings")
    page = studio.window.page("settings")
    studio.qapp_loop.run_until_complete(studio.tasks.wait_idle())
    return page


def _save(page, loop, studio):
    QTest.mouseClick(page.save_button, Qt.MouseButton.LeftButton)
    loop.run_until_complete(studio.tasks.wait_idle())


def test_settings_round_trip_and_the_key_goes_to_the_keyring(
    make_studio, loop, app_paths, keyring_backend
):
    studio = make_studio()
    page = _settings_page(studio)
    QTest.keyClicks(page.secret_fields["OPENAI_API_KEY"].edit, KEY)
    page.model.clear()
    QTest.keyClicks(page.model, "llama3.2")
    page.provider.setCurrentIndex(page.provider.findData("openai-compatible"))
    page._on_add_endpoint_clicked()
    page.endpoints.item(0, 0).setText("ollama")
    page.endpoints.item(0, 2).setText("llama3.2, qwen3")
    page.endpoint.setCurrentIndex(page.endpoint.findData("ollama"))
    QTest.keyClicks(page.ftp_host, "ftp.example.net")
    assert page.dirty
    _save(page, loop, studio)

    assert not page.dirty
    assert page.error_label.isHidden()
    assert keyring_backend.entries[(SERVICE, "OPENAI_API_KEY")] == KEY
    saved = read_settings(app_paths.settings_file)
    assert saved.providers.default.provider == "openai-compatible"
    assert saved.providers.default.model == "llama3.2"
    assert saved.providers.default.endpoint == "ollama"
    assert saved.providers.endpoints[0].models == ["llama3.2", "qwen3"]
    assert saved.ftp.host == "ftp.example.net"
    assert page.secret_fields["OPENAI_API_KEY"].edit.text() == ""
    assert page.secret_fields["OPENAI_API_KEY"].source == "keyring"

    # The secret is in no settings or config file (the log: see the test below).
    assert KEY not in app_paths.settings_file.read_text()
    for path in app_paths.config_dir.rglob("*"):
        assert KEY not in path.read_text(errors="replace")

    # A restart shows what was saved.
    loop.run_until_complete(studio.shutdown())
    again = _settings_page(make_studio())
    assert again.model.text() == "llama3.2"
    assert again.endpoint.currentData() == "ollama"
    assert again.ftp_host.text() == "ftp.example.net"


def test_invalid_endpoint_is_explained_and_nothing_saved(make_studio, loop, app_paths):
    studio = make_studio()
    page = _settings_page(studio)
    page._on_add_endpoint_clicked()
    page.endpoints.item(0, 1).setText("localhost:11434")
    before = app_paths.settings_file.read_bytes() if app_paths.settings_file.exists() else None
    _save(page, loop, studio)
    assert page.error_label.isVisible()
    assert page.error_label.text().startswith("Endpoint row 1, base URL:")
    assert "http://" in page.error_label.text()
    after = app_paths.settings_file.read_bytes() if app_paths.settings_file.exists() else None
    assert after == before
    assert page.dirty


def test_without_a_keyring_a_typed_key_works_for_the_session(
    make_studio, loop, app_paths, tmp_path
):
    studio = make_studio(backend=keyring.backends.fail.Keyring())
    page = _settings_page(studio)
    assert page.keyring_banner.property("severity") == "warning"
    banner = page.keyring_banner.text()
    assert "No system keyring" in banner and "session only" in banner
    assert "backend" not in banner and "keyring.backends" not in banner  # no class names
    # What is not there is not offered, and the box shows what is used instead.
    keyring_item = page.storage.model().item(page.storage.findData("keyring"))
    assert not keyring_item.isEnabled() and "not available" in keyring_item.text()
    assert page.storage.currentData() == "session" and not page.dirty
    QTest.keyClicks(page.secret_fields["ANTHROPIC_API_KEY"].edit, KEY)
    _save(page, loop, studio)
    assert page.error_label.isHidden()
    assert studio.session.secrets.lookup("ANTHROPIC_API_KEY") == (KEY, "session")
    assert page.secret_fields["ANTHROPIC_API_KEY"].source == "session"
    assert not studio.session.workspace.paths.env_file.exists()
    assert KEY not in app_paths.settings_file.read_text()
    assert json.loads(app_paths.settings_file.read_text())["secrets"]["storage"] == "session"


def test_clear_removes_a_stored_secret(make_studio, loop, keyring_backend):
    keyring_backend.set_password(SERVICE, "DISCORD_BOT_TOKEN", "a-discord-token-value")
    studio = make_studio()
    page = _settings_page(studio)
    field = page.secret_fields["DISCORD_BOT_TOKEN"]
    assert field.source == "keyring"
    assert field.clear_button.isEnabled()
    asked = []

    def confirm(_parent, title, text, action):
        asked.append((title, text, action))
        return len(asked) > 1  # Cancel the first time, Remove the second

    page.ask = type("A", (), {"confirm": staticmethod(confirm)})
    field.clear_button.click()
    loop.run_until_complete(studio.tasks.wait_idle())
    assert keyring_backend.entries[(SERVICE, "DISCORD_BOT_TOKEN")] == "a-discord-token-value"
    assert "DISCORD_BOT_TOKEN" in asked[0][0] and "system keyring" in asked[0][1]
    field.clear_button.click()
    loop.run_until_complete(studio.tasks.wait_idle())
    assert (SERVICE, "DISCORD_BOT_TOKEN") not in keyring_backend.entries
    assert field.source is None


def test_dotenv_import_moves_keys_into_the_keyring(make_studio, loop, keyring_backend, tmp_path):
    workspace = tmp_path / "with-env"
    workspace.mkdir()
    (workspace / ".env").write_text(f"OPENAI_API_KEY={KEY}\nDEBUG=1\n")
    studio = make_studio(str(workspace))
    page = _settings_page(studio)
    assert page.import_env_button.isEnabled()
    page.import_env_button.click()
    loop.run_until_complete(studio.tasks.wait_idle())
    assert keyring_backend.entries == {(SERVICE, "OPENAI_API_KEY"): KEY}
    info = studio.messages.history[-1].text
    assert "Imported OPENAI_API_KEY" in info


def test_ctrl_s_saves_the_settings_page(make_studio, loop, app_paths, qtbot):
    studio = make_studio()
    page = _settings_page(studio)
    QTest.keyClicks(page.ftp_user, "creator")
    studio.window.activateWindow()
    page.ftp_user.setFocus()
    qtbot.waitUntil(page.ftp_user.hasFocus)
    with qtbot.waitSignal(page.saved, timeout=5000):
        QTest.keyClick(page.ftp_user, Qt.Key.Key_S, Qt.KeyboardModifier.ControlModifier)
        loop.run_until_complete(studio.tasks.wait_idle())
    assert read_settings(app_paths.settings_file).ftp.user == "creator"


def test_keys_typed_in_settings_never_reach_the_log(make_studio, loop, app_paths):
    import logging

    from carrier_studio.services.platform.logs import remove_handlers, setup_logging

    studio = make_studio()
    handlers = setup_logging(app_paths.log_file, studio.session.redactor)
    try:
        page = _settings_page(studio)
        QTest.keyClicks(page.secret_fields["ANTHROPIC_API_KEY"].edit, "plain-looking-secret-99")
        _save(page, loop, studio)
        # Even a careless log line with the key in it is redacted.
        logging.getLogger("carrier_studio.test").warning("key was %s", "plain-looking-secret-99")
    finally:
        remove_handlers(handlers)
    text = app_paths.log_file.read_text()
    assert "settings saved" in text
    assert "key was [redacted]" in text
    assert "plain-looking-secret-99" not in text


def test_the_page_shows_others_saves_and_skips_the_echo_of_its_own(make_studio, loop):
    studio = make_studio()
    page = _settings_page(studio)
    store = studio.session.settings
    reloads = []
    original = page.load_from_store
    page.load_from_store = lambda: (reloads.append(True), original())[1]

    page.ftp_user.setText("creator")
    _save(page, loop, studio)
    assert reloads == [], "its own save is not read back over the form"

    # Another page (the Discord page, the window state) saves: the form shows it.
    other = store.settings.model_copy(deep=True)
    other.ftp.user = "someone-else"
    loop.run_until_complete(store.save_async(other))
    assert reloads == [True] and page.ftp_user.text() == "someone-else"


# -- "Test connection" and "Find local servers" (#15) ----------------------------------------


def _click(button, loop, studio):
    QTest.mouseClick(button, Qt.MouseButton.LeftButton)
    loop.run_until_complete(studio.tasks.wait_idle())


def _endpoint_row(page, name, url):
    page._on_add_endpoint_clicked()
    row = page.endpoints.rowCount() - 1
    page.endpoints.item(row, 0).setText(name)
    page.endpoints.item(row, 1).setText(url)
    return row


def test_test_connection_fills_the_models_and_the_model_box_offers_them(
    make_studio, loop, app_paths
):
    studio = make_studio()
    page = _settings_page(studio)
    with running_server(models=("llama3.2", "qwen3")) as server:
        page.provider.setCurrentIndex(page.provider.findData("openai-compatible"))
        row = _endpoint_row(page, "ollama", server.openai_base_url)
        page.endpoint.setCurrentIndex(page.endpoint.findData("ollama"))
        page.endpoints.setCurrentCell(row, 0)
        _click(page.test_endpoint_button, loop, studio)
        assert [(r.method, r.path) for r in server.requests] == [("GET", "/v1/models")]

    assert page.endpoints.item(row, 2).text() == "llama3.2, qwen3"
    status = page.endpoint_status.text()
    assert "ollama answers" in status and "offers 2 models: llama3.2, qwen3" in status
    assert page.model.offered() == ["llama3.2", "qwen3"]
    # Picking a listed model is an edit; what is typed stays free text too.
    page.model.setCurrentIndex(page.model.findText("qwen3"))
    page.model.activated.emit(page.model.currentIndex())
    assert page.model.text() == "qwen3" and page.dirty
    _save(page, loop, studio)
    saved = read_settings(app_paths.settings_file)
    assert saved.providers.default.model == "qwen3"
    assert saved.providers.endpoints[0].models == ["llama3.2", "qwen3"]
    # After a reload the box still offers the endpoint's models.
    page.load_from_store()
    assert page.model.offered() == ["llama3.2", "qwen3"] and page.model.text() == "qwen3"
    # The row's own list comes first: edited, the box offers it at once.
    page.endpoints.item(0, 2).setText("mistral")
    assert page.model.offered() == ["mistral", "llama3.2", "qwen3"]


def test_the_default_providers_test_uses_the_typed_key_and_its_base_url(make_studio, loop):
    studio = make_studio()
    page = _settings_page(studio)
    with running_server() as server:
        page.provider.setCurrentIndex(page.provider.findData("openai"))
        page.openai_url.setText(server.openai_base_url)
        QTest.keyClicks(page.secret_fields["OPENAI_API_KEY"].edit, KEY)
        _click(page.test_default_button, loop, studio)
        assert server.requests[0].headers["authorization"] == f"Bearer {KEY}"
    assert page.model.offered() == list(DEFAULT_MODELS)
    assert "OpenAI answers and offers 3 models" in page.default_status.text()
    assert KEY not in page.default_status.text()


def test_a_failed_test_says_what_is_wrong_and_changes_nothing(make_studio, loop, message_bus):
    studio = make_studio()
    page = _settings_page(studio)
    page.provider.setCurrentIndex(page.provider.findData("openai-compatible"))
    with socket.socket() as closed:  # bound but not listening: connections are refused
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
        _endpoint_row(page, "lm", f"http://127.0.0.1:{port}/v1")
        page.endpoint.setCurrentIndex(page.endpoint.findData("lm"))
        _click(page.test_default_button, loop, studio)
    status = page.default_status.text()
    assert status.startswith(
        f"lm: nothing is listening at http://127.0.0.1:{port}: is the server running?"
    )
    assert page.endpoints.item(0, 2).text() == ""
    assert page.model.offered() == []
    # The words are beside the button and in the status bar, not in an error dialog.
    assert [m.level.name for m in studio.messages.history][-1:] == ["WARNING"]

    with running_server() as server:  # a base URL without /v1
        page.endpoints.item(0, 1).setText(server.base_url)
        page.endpoints.setCurrentCell(0, 0)
        _click(page.test_endpoint_button, loop, studio)
    assert f"{server.base_url}/models was not found: does the URL end in /v1?" in (
        page.endpoint_status.text()
    )


def test_find_local_servers_adds_each_one_not_already_listed(make_studio, loop, app_paths):
    studio = make_studio()
    page = _settings_page(studio)
    with running_server(models=("llama3.2",)) as server, socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        port = urlsplit(server.base_url).port
        ports = [("ollama", port), ("vllm", closed.getsockname()[1])]
        page.probe = ModelProbe(list_models, partial(find_local_servers, ports))
        _click(page.find_local_button, loop, studio)
        url = f"http://127.0.0.1:{port}/v1"
        assert page._endpoint_rows() == [
            {"name": "ollama", "base_url": url, "models": ["llama3.2"]}
        ]
        assert f"Added ollama at {url} (1 model)" in page.endpoint_status.text()
        assert page.endpoint.currentData() == "ollama" and page.dirty
        # Choosing the endpoint as the default provider replaces OpenAI's usual model.
        assert page.model.text() == "gpt-4.1-mini"
        page.provider.setCurrentIndex(page.provider.findData("openai-compatible"))
        assert page.model.text() == "llama3.2" and page.model.offered() == ["llama3.2"]
        # Looking again adds nothing: the same server written as localhost is already listed.
        page.endpoints.item(0, 1).setText(f"http://localhost:{port}/v1/")
        _click(page.find_local_button, loop, studio)
        assert page.endpoints.rowCount() == 1
        assert "Ollama (" in page.endpoint_status.text()
        assert "is already listed" in page.endpoint_status.text()
    _save(page, loop, studio)
    saved = read_settings(app_paths.settings_file).providers
    assert saved.endpoints[0].name == "ollama"
    assert (saved.default.provider, saved.default.endpoint) == ("openai-compatible", "ollama")
    assert saved.default.model == "llama3.2"


def test_find_local_servers_says_when_none_answers(make_studio, loop):
    studio = make_studio()
    page = _settings_page(studio)
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        ports = [("ollama", closed.getsockname()[1])]
        page.probe = ModelProbe(list_models, partial(find_local_servers, ports))
        _click(page.find_local_button, loop, studio)
    assert page.endpoints.rowCount() == 0 and not page.dirty
    assert page.endpoint_status.text().startswith("No Ollama, LM Studio, llama.cpp or vLLM")


def test_the_form_fits_a_1024x700_screen_without_a_sideways_scrollbar(make_studio):
    # 1008x660 is the window the studio opens on a 1024x700 screen (MainWindow._fitting).
    studio = make_studio()
    studio.window.resize(1008, 660)
    page = _settings_page(studio)
    area = page.findChild(QScrollArea)
    assert area.widget().minimumSizeHint().width() <= area.viewport().width()


def test_every_secret_an_mcp_server_uses_gets_its_field(make_studio, loop, keyring_backend):
    """#15: the GitHub server's error said "add it in Settings (secrets)", where no field was."""
    studio = make_studio()
    workspace = studio.session.workspace.root
    catalogue = json.loads((workspace / "mcp_servers.json").read_text())
    catalogue["mcpServers"]["notes"] = {
        "command": "notes-server",
        "args": ["--root", "${WORKSPACE}"],
        "headers": {},
        "env": {"NOTES_API_TOKEN": "${NOTES_API_TOKEN}", "GH": "${GITHUB_PERSONAL_ACCESS_TOKEN}"},
    }
    (workspace / "mcp_servers.json").write_text(json.dumps(catalogue))
    loop.run_until_complete(studio.shutdown())
    studio = make_studio(str(workspace))
    page = _settings_page(studio)
    field = page.secret_fields["GITHUB_PERSONAL_ACCESS_TOKEN"]
    assert "github" in field.toolTip() and "notes" in field.toolTip(), "both servers named"
    assert "NOTES_API_TOKEN" in page.secret_fields
    assert "WORKSPACE" not in page.secret_fields, "the studio fills that one itself"
    QTest.keyClicks(field.edit, "ghp_0123456789abcdefghijklmnopqrstuvwxyz")
    _save(page, loop, studio)
    stored = keyring_backend.entries[(SERVICE, "GITHUB_PERSONAL_ACCESS_TOKEN")]
    assert stored == "ghp_0123456789abcdefghijklmnopqrstuvwxyz"
