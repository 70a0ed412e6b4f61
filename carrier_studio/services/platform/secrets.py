"""Credentials: the OS keyring (service ``carrier-studio``), never a silent plaintext file.

Where no keyring works (a headless Linux has no Secret Service), `SecretStore.keyring_available`
is False and the UI says so plainly; the user may then keep secrets for this session only or
write them, knowingly, to the workspace ``.env``. A ``.env`` in the workspace is always read and
can be imported into the keyring.

Keyring calls may block (D-Bus, a locked keychain): callers on the event loop run them in a
thread. The keyring package itself is imported on first use (it costs ≈0.14 s, and choosing a
backend reads entry points), so building a store costs nothing at start-up.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from carrier_studio.core.errors import SecretStoreError
from carrier_studio.core.redaction import Redactor, looks_like_credential
from carrier_studio.core.secret_names import KNOWN_SECRETS

if TYPE_CHECKING:
    from keyring.backend import KeyringBackend

    from carrier_studio.core.mcp import ServerConfig

SERVICE = "carrier-studio"
Storage = Literal["keyring", "session", "dotenv"]
Source = Literal["session", "keyring", ".env", "environment"]

_SECRET_SUFFIXES = ("_KEY", "_TOKEN", "_PASSWORD", "_SECRET")


def looks_secret(name: str) -> bool:
    return name in KNOWN_SECRETS or name.upper().endswith(_SECRET_SUFFIXES)


def worth_redacting(name: str, value: str) -> bool:
    """Whether a named value from a file the studio reads (.env, an MCP server's ``env``)
    should be registered with the redactor: its name says secret, or it looks like a key.
    Plain settings ("production", a path) are not, or their words would be redacted too."""
    return bool(value) and (looks_secret(name) or looks_like_credential(value))


def character_secret_values(data: Mapping[str, Any]) -> list[str]:
    """The secret values a character file holds (``settings.secrets``, ElizaOS ``secrets``,
    settings named like credentials), leaving out placeholders such as ``YOUR_KEY_HERE``."""
    from carrier_studio.core.characters.formats.base import without_secrets
    from carrier_studio.core.characters.validation import is_placeholder

    _clean, found = without_secrets(dict(data))
    return [value for _path, value in found.found if not is_placeholder(value)]


#: Header names whose values are credentials even when their name does not say so.
_CREDENTIAL_HEADERS = {"authorization", "proxy-authorization", "cookie", "x-api-key", "api-key"}


def mcp_secret_values(config: ServerConfig) -> Iterator[str]:
    """The values in a server's env and headers that the redactor should know (a ``${VAR}``
    not yet filled is a name, not a secret: its value joins when it is looked up)."""
    for name, value in config.env.items():
        if worth_redacting(name, value) and "${" not in value:
            yield value
    for name, value in config.headers.items():
        if "${" in value:
            continue
        if name.lower() in _CREDENTIAL_HEADERS or worth_redacting(name, value):
            yield value
            # "Bearer <token>": the token alone may be echoed too.
            yield value.split(None, 1)[-1]


def _is_insecure(backend: KeyringBackend) -> bool:
    # keyrings.alt's "plaintext" backends only base64-encode: that is a plaintext file.
    return type(backend).__module__.startswith("keyrings.alt")


#: Where secrets are kept, as Settings and doctor say it.
STORAGE_WORDS: dict[str, str] = {
    "keyring": "the system keyring",
    "session": "this session only (forgotten when the studio quits)",
    "dotenv": "the workspace .env file (plain text)",
}


class SecretStore:
    def __init__(
        self,
        storage: Storage,
        env_file: Path,
        *,
        backend: KeyringBackend | None = None,
        redactor: Redactor | None = None,
        environ: Mapping[str, str] = os.environ,
    ) -> None:
        self.storage: Storage = storage
        self.env_file = env_file
        self._backend = backend
        self._available: bool | None = None
        self.redactor = redactor or Redactor()
        self._environ = environ
        self._session: dict[str, str] = {}

    @property
    def backend(self) -> KeyringBackend:
        if self._backend is None:
            import keyring

            self._backend = keyring.get_keyring()
        return self._backend

    @property
    def backend_name(self) -> str:
        cls = type(self.backend)
        return f"{cls.__module__}.{cls.__name__}"

    @property
    def keyring_available(self) -> bool:
        # Asked once: the backend does not change while the studio runs, and asking may open
        # a D-Bus connection (the Secret Service), which the GUI thread must not wait for.
        if self._available is None:
            import keyring.backends.fail

            self._available = (
                not isinstance(self.backend, keyring.backends.fail.Keyring)
                and self.backend.priority > 0
                and not _is_insecure(self.backend)
            )
        return self._available

    @property
    def needs_choice(self) -> bool:
        """True when secrets should go to the keyring but there is none to go to."""
        return self.storage == "keyring" and not self.keyring_available

    @property
    def effective_storage(self) -> Storage:
        """Where a secret set now goes. Asked for the keyring where there is none, it is this
        session only: a typed key still works at once, and nothing lands in a plaintext file
        the user did not choose (Settings and doctor say so)."""
        return "session" if self.needs_choice else self.storage

    @property
    def storage_words(self) -> str:
        """`effective_storage` in words, for Settings and doctor."""
        words = STORAGE_WORDS[self.effective_storage]
        return f"{words}: there is no system keyring" if self.needs_choice else words

    def _env_file_values(self) -> dict[str, str]:
        if not self.env_file.is_file():
            return {}
        import dotenv

        return {k: v for k, v in dotenv.dotenv_values(self.env_file).items() if v is not None}

    def lookup(self, name: str) -> tuple[str, Source] | None:
        """The value of a secret and where it came from: session, keyring, .env, environment."""
        found: tuple[str, Source] | None = None
        if name in self._session:
            found = (self._session[name], "session")
        elif self.keyring_available and (value := self._keyring_get(name)):
            found = (value, "keyring")
        elif value := self._env_file_values().get(name):
            found = (value, ".env")
        elif value := self._environ.get(name):
            found = (value, "environment")
        if found:
            self.redactor.add(found[0])
        return found

    def get(self, name: str) -> str | None:
        found = self.lookup(name)
        return found[0] if found else None

    def source(self, name: str) -> Source | None:
        found = self.lookup(name)
        return found[1] if found else None

    def set(self, name: str, value: str) -> None:
        """Store ``value`` where secrets go now, and forget any older copy elsewhere (lookup
        would otherwise keep finding the stale one first)."""
        self.redactor.add(value)
        self._forget_elsewhere(name)
        if self.effective_storage == "session":
            self._session[name] = value
        elif self.effective_storage == "dotenv":
            import dotenv

            self.env_file.parent.mkdir(parents=True, exist_ok=True)
            self.env_file.touch(mode=0o600, exist_ok=True)
            dotenv.set_key(self.env_file, name, value, quote_mode="always")
        else:
            self._require_keyring()
            from keyring.errors import KeyringError

            try:
                self.backend.set_password(SERVICE, name, value)
            except KeyringError as exc:
                raise SecretStoreError(f"the keyring refused to store {name}: {exc}") from exc

    def delete(self, name: str) -> None:
        """Remove the secret from every store the studio writes (session, keyring, .env)."""
        self._session.pop(name, None)
        if name in self._env_file_values():
            import dotenv

            dotenv.unset_key(self.env_file, name)
        self._keyring_delete(name)

    def _forget_elsewhere(self, name: str) -> None:
        # Lookup goes session → keyring → .env, so only copies that would win over the new
        # one are stale. The user's .env is left alone: the new copy is looked up before it.
        if self.effective_storage != "session":
            self._session.pop(name, None)
        if self.effective_storage == "dotenv":
            self._keyring_delete(name)

    def _keyring_delete(self, name: str) -> None:
        if not self.keyring_available:
            return
        from keyring.errors import KeyringError, PasswordDeleteError

        try:
            self.backend.delete_password(SERVICE, name)
        except (PasswordDeleteError, KeyringError):
            pass

    def register_all(self) -> None:
        """Tell the redactor every secret this store can see now: each known name wherever
        it is kept, and the secret-looking entries of the workspace .env (read or not yet).

        It may block (keyring): call it in a thread from the event loop."""
        for name in KNOWN_SECRETS:
            self.lookup(name)  # a found value joins the redactor
        for name, value in self._env_file_values().items():
            if worth_redacting(name, value):
                self.redactor.add(value)

    def import_env_file(self) -> list[str]:
        """Copy the secret-looking entries of the workspace .env into the keyring.

        The .env itself is left as it is: it is the user's file to delete.
        """
        self._require_keyring()
        imported = []
        for name, value in self._env_file_values().items():
            if looks_secret(name) and value:
                self.redactor.add(value)
                self.backend.set_password(SERVICE, name, value)
                imported.append(name)
        return imported

    # Async forms for the event loop: keyring back ends may block on D-Bus or a locked keychain.

    async def sources(self, names: list[str]) -> dict[str, Source | None]:
        return await asyncio.to_thread(lambda: {name: self.source(name) for name in names})

    async def probe(self) -> bool:
        """Load the keyring backend off the loop; True when a usable keyring exists."""
        return await asyncio.to_thread(lambda: self.keyring_available)

    async def store(self, values: dict[str, str]) -> None:
        await asyncio.to_thread(lambda: [self.set(k, v) for k, v in values.items()])

    async def remove(self, name: str) -> None:
        await asyncio.to_thread(self.delete, name)

    async def import_env_file_async(self) -> list[str]:
        return await asyncio.to_thread(self.import_env_file)

    def _keyring_get(self, name: str) -> str | None:
        from keyring.errors import KeyringError

        try:
            return self.backend.get_password(SERVICE, name)
        except KeyringError:
            return None

    def _require_keyring(self) -> None:
        if not self.keyring_available:
            raise SecretStoreError(
                f"no system keyring is available (backend: {self.backend_name})",
                hint="In Settings, choose to keep secrets for this session only or in the "
                "workspace .env file.",
            )
