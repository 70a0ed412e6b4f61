from __future__ import annotations

import stat

import keyring.backends.fail
import pytest

from carrier_studio.core.errors import SecretStoreError
from carrier_studio.services.platform.logs import Redactor
from carrier_studio.services.platform.secrets import SERVICE, SecretStore, character_secret_values

KEY = "sk-test-0123456789abcdefghijkl"


def test_secrets_go_to_the_keyring_under_the_studio_service(tmp_path, keyring_backend):
    store = SecretStore("keyring", tmp_path / ".env", backend=keyring_backend, environ={})
    assert store.keyring_available and not store.needs_choice
    store.set("OPENAI_API_KEY", KEY)
    assert keyring_backend.entries == {(SERVICE, "OPENAI_API_KEY"): KEY}
    assert store.lookup("OPENAI_API_KEY") == (KEY, "keyring")
    store.delete("OPENAI_API_KEY")
    assert store.get("OPENAI_API_KEY") is None
    assert not (tmp_path / ".env").exists()


def test_without_a_keyring_a_key_is_kept_for_the_session_and_nothing_is_written(tmp_path):
    store = SecretStore(
        "keyring", tmp_path / ".env", backend=keyring.backends.fail.Keyring(), environ={}
    )
    assert not store.keyring_available
    assert store.needs_choice and store.effective_storage == "session"
    assert store.storage_words.startswith("this session only")
    assert "no system keyring" in store.storage_words
    store.set("OPENAI_API_KEY", KEY)
    assert store.lookup("OPENAI_API_KEY") == (KEY, "session")
    assert list(tmp_path.iterdir()) == []
    with pytest.raises(SecretStoreError, match="no system keyring"):
        store.import_env_file()  # moving keys into a keyring still needs one


def test_session_storage_forgets_on_a_new_store(tmp_path):
    fail = keyring.backends.fail.Keyring()
    store = SecretStore("session", tmp_path / ".env", backend=fail, environ={})
    store.set("DISCORD_BOT_TOKEN", "discord-token-value")
    assert store.lookup("DISCORD_BOT_TOKEN") == ("discord-token-value", "session")
    assert list(tmp_path.iterdir()) == []
    assert (
        SecretStore("session", tmp_path / ".env", backend=fail, environ={}).get("DISCORD_BOT_TOKEN")
        is None
    )


def test_dotenv_storage_is_explicit_and_private(tmp_path):
    env = tmp_path / ".env"
    store = SecretStore("dotenv", env, backend=keyring.backends.fail.Keyring(), environ={})
    store.set("FTP_PASSWORD", "hunter2-but-longer")
    assert stat.S_IMODE(env.stat().st_mode) == 0o600
    assert store.lookup("FTP_PASSWORD") == ("hunter2-but-longer", ".env")
    store.delete("FTP_PASSWORD")
    assert "FTP_PASSWORD" not in env.read_text()


def test_lookup_order_is_session_keyring_dotenv_environment(tmp_path, keyring_backend):
    env = tmp_path / ".env"
    env.write_text("ANTHROPIC_API_KEY=from-dotenv-file\n")
    environ = {"ANTHROPIC_API_KEY": "from-environment"}
    store = SecretStore("keyring", env, backend=keyring_backend, environ=environ)
    assert store.lookup("ANTHROPIC_API_KEY") == ("from-dotenv-file", ".env")
    store.set("ANTHROPIC_API_KEY", "from-the-keyring")
    assert store.lookup("ANTHROPIC_API_KEY") == ("from-the-keyring", "keyring")
    env.unlink()
    store.delete("ANTHROPIC_API_KEY")
    assert store.lookup("ANTHROPIC_API_KEY") == ("from-environment", "environment")


def test_dotenv_secrets_can_be_imported_into_the_keyring(tmp_path, keyring_backend):
    env = tmp_path / ".env"
    env.write_text(f"OPENAI_API_KEY={KEY}\nLOG_LEVEL=debug\nMY_SERVICE_TOKEN='tok-123456'\n")
    store = SecretStore("keyring", env, backend=keyring_backend, environ={})
    assert sorted(store.import_env_file()) == ["MY_SERVICE_TOKEN", "OPENAI_API_KEY"]
    assert keyring_backend.entries[(SERVICE, "MY_SERVICE_TOKEN")] == "tok-123456"
    assert (SERVICE, "LOG_LEVEL") not in keyring_backend.entries
    assert env.read_text().startswith("OPENAI_API_KEY=")  # the user's file is left alone


def test_every_secret_read_or_written_is_known_to_the_redactor(tmp_path, keyring_backend):
    redactor = Redactor()
    env = tmp_path / ".env"
    env.write_text("GITHUB_PERSONAL_ACCESS_TOKEN=plain-github-value\n")
    store = SecretStore("keyring", env, backend=keyring_backend, redactor=redactor, environ={})
    store.set("FTP_PASSWORD", "ftp-password-value")
    store.get("GITHUB_PERSONAL_ACCESS_TOKEN")
    text = redactor.redact("ftp-password-value and plain-github-value")
    assert "ftp-password-value" not in text and "plain-github-value" not in text


def test_a_new_copy_in_another_store_wins_over_the_old_one(tmp_path, keyring_backend):
    store = SecretStore("keyring", tmp_path / ".env", backend=keyring_backend, environ={})
    store.set("OPENAI_API_KEY", "old-keyring-value")
    store.storage = "dotenv"
    store.set("OPENAI_API_KEY", "new-dotenv-value")
    assert store.lookup("OPENAI_API_KEY") == ("new-dotenv-value", ".env")
    store.storage = "session"
    store.set("OPENAI_API_KEY", "session-value")
    store.storage = "keyring"
    store.set("OPENAI_API_KEY", "keyring-again")
    assert store.lookup("OPENAI_API_KEY") == ("keyring-again", "keyring")
    store.delete("OPENAI_API_KEY")
    assert store.get("OPENAI_API_KEY") is None


def test_register_all_tells_the_redactor_every_secret_before_it_is_read(tmp_path, keyring_backend):
    redactor = Redactor()
    env = tmp_path / ".env"
    env.write_text(
        "MY_SERVICE_TOKEN=env-token-value-1\nUNNAMED=Zq9Zq9Zq9Zq9Zq9Zq9Zq9\nAPP_ENV=production\n"
    )
    keyring_backend.set_password(SERVICE, "DISCORD_BOT_TOKEN", "keyring-bot-token-2")
    store = SecretStore("keyring", env, backend=keyring_backend, redactor=redactor, environ={})
    store.register_all()
    text = redactor.redact(
        "env-token-value-1 keyring-bot-token-2 Zq9Zq9Zq9Zq9Zq9Zq9Zq9 in production"
    )
    assert text == "[redacted] [redacted] [redacted] in production"


def test_a_characters_secret_values_are_found_and_placeholders_left_out():
    data = {
        "name": "Ada",
        "settings": {
            "secrets": {"OPENAI_API_KEY": "char-secret-value", "OTHER": "YOUR_KEY_HERE"},
            "DISCORD_API_TOKEN": "setting-token-value",
            "voice": "calm",
        },
        "secrets": {"ELIZA": "eliza-secret-value"},
        "bio": "not a secret",
    }
    assert sorted(character_secret_values(data)) == [
        "char-secret-value",
        "eliza-secret-value",
        "setting-token-value",
    ]
