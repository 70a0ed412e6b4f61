from __future__ import annotations

import json

import pytest

from carrier_studio.core.errors import ConfigError
from carrier_studio.core.messages import Level
from carrier_studio.core.settings import SETTINGS_VERSION, Settings, dump_settings, parse_settings
from carrier_studio.services.platform.settings_store import SettingsStore, read_settings


def test_defaults_round_trip_through_the_file(tmp_path):
    store = SettingsStore.load(tmp_path / "settings.json")
    store.settings.providers.default.model = "llama3.2"
    store.save()
    again = read_settings(tmp_path / "settings.json")
    assert again == store.settings
    assert again.version == SETTINGS_VERSION


def test_unknown_keys_survive_a_round_trip():
    raw = dump_settings(Settings())
    raw["from_a_newer_studio"] = {"x": 1}
    raw["ftp"]["passive_range"] = [6000, 6010]
    assert dump_settings(parse_settings(raw))["from_a_newer_studio"] == {"x": 1}
    assert dump_settings(parse_settings(raw))["ftp"]["passive_range"] == [6000, 6010]


def test_version_1_is_migrated_and_keeps_its_theme():
    settings = parse_settings({"version": 1, "theme": "dark", "ftp": {"host": "ftp.example"}})
    assert settings.version == SETTINGS_VERSION
    assert settings.ui.theme == "dark"
    assert settings.ftp.host == "ftp.example"


def test_a_newer_version_is_refused_with_a_hint():
    with pytest.raises(ConfigError) as info:
        parse_settings({"version": SETTINGS_VERSION + 1})
    assert info.value.where == "version"
    assert "newer Carrier Studio" in str(info.value)


@pytest.mark.parametrize(
    ("raw", "where"),
    [
        ({"ftp": {"port": "twenty-one"}}, "ftp.port"),
        ({"ftp": {"port": 70000}}, "ftp.port"),
        ({"providers": {"endpoints": [{"name": "x", "base_url": "ftp://nope"}]}}, None),
        ({"ui": {"theme": "purple"}}, "ui.theme"),
    ],
)
def test_invalid_values_name_the_field(raw, where):
    with pytest.raises(ConfigError) as info:
        parse_settings(raw)
    expected = where or "providers.endpoints.0.base_url"
    assert info.value.where == expected


def test_malformed_json_names_line_and_column(tmp_path):
    path = tmp_path / "settings.json"
    path.write_text('{\n  "version": 2,\n  "ui": {,}\n}\n', encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        read_settings(path)
    assert info.value.path == path
    assert info.value.where == "line 3, column 10"


def test_a_corrupt_file_is_backed_up_and_the_user_told(tmp_path, message_bus):
    path = tmp_path / "settings.json"
    damaged = b'{"version": 2, "providers": {"default": '
    path.write_bytes(damaged)
    store = SettingsStore.load(path)
    assert store.settings == Settings()
    backups = list(tmp_path.glob("settings.json.corrupt-*"))
    assert len(backups) == 1
    assert backups[0].read_bytes() == damaged
    (held,) = message_bus.held()
    assert held.level is Level.WARNING
    assert backups[0].name in held.text
    assert "line 1" in held.details


def test_non_utf8_settings_are_backed_up(tmp_path, message_bus):
    path = tmp_path / "settings.json"
    path.write_bytes(b'{"ui": {"theme": "\xff\xfe"}}')
    SettingsStore.load(path)
    assert not path.exists()
    assert "not UTF-8" in message_bus.held()[0].details


def test_save_is_atomic_and_tells_listeners(tmp_path):
    store = SettingsStore.load(tmp_path / "settings.json")
    seen = []
    store.changed.subscribe(lambda change: seen.append(change.settings))
    store.save(store.settings.model_copy(update={"version": SETTINGS_VERSION}))
    assert seen == [store.settings]
    assert json.loads((tmp_path / "settings.json").read_text())["version"] == SETTINGS_VERSION
    assert not list(tmp_path.glob(".settings.json.*.tmp"))


def test_provider_base_urls_are_checked():
    with pytest.raises(ConfigError) as info:
        parse_settings({"providers": {"openai_base_url": "api.example.com"}})
    assert info.value.where == "providers.openai_base_url"
    ok = parse_settings({"providers": {"anthropic_base_url": "https://gw.example.com/"}})
    assert ok.providers.anthropic_base_url == "https://gw.example.com"


def test_a_newer_file_is_used_as_defaults_and_never_overwritten(tmp_path, message_bus):
    path = tmp_path / "settings.json"
    text = json.dumps({"version": SETTINGS_VERSION + 1, "future": True})
    path.write_text(text)
    store = SettingsStore.load(path)
    assert store.read_only and store.settings == Settings()
    store.save()
    assert path.read_text() == text
    assert not list(tmp_path.glob("*.corrupt-*"))
    assert "newer Carrier Studio" in message_bus.held()[0].text


def test_the_instagram_section_names_its_graph_root_and_says_when_it_is_configured():
    from carrier_studio.core.instagram.setup import publishing_wanted, setup_problem

    settings = Settings()
    assert settings.instagram.base_url == "https://graph.facebook.com/v23.0"
    assert "account id, an access token, an FTP host and" in setup_problem(settings, False)
    raw = dump_settings(settings)
    raw["instagram"].update(user_id="1784", graph_base_url="http://127.0.0.1:9/v23.0/")
    raw["ftp"].update(host="ftp.example.org", public_base_url="https://cdn.example.org/ig/")
    parsed = parse_settings(raw)
    assert parsed.instagram.base_url == "http://127.0.0.1:9/v23.0"
    assert parsed.ftp.public_base_url == "https://cdn.example.org/ig"
    assert setup_problem(parsed, token_set=True) is None
    assert publishing_wanted(parsed, token_set=True)
    assert setup_problem(parsed, token_set=False).startswith("Publishing is not set up: an access")
    assert not publishing_wanted(parsed, token_set=False)  # the token decides too
    raw["ftp"]["public_base_url"] = "cdn.example.org"
    with pytest.raises(ConfigError) as bad:
        parse_settings(raw)
    assert bad.value.where == "ftp.public_base_url"
