"""OAuth 2.1 sign-in for remote MCP servers (an ``"oauth"`` entry in mcp_servers.json).

The flow itself is the `mcp` package's `OAuthClientProvider` (an httpx2 ``Auth``): discovery
of the protected resource's and the authorization server's metadata, dynamic client
registration, the authorization code with PKCE, and refreshing an expired token. This module
gives it what the studio decides:

- where the tokens live (`_Vault`): the system keyring, one entry per server
  (``mcp-oauth:<name>``, service ``carrier-studio``) holding the tokens, their expiry and the
  client registration. Without a keyring, or when secrets are kept in the workspace ``.env``,
  they live in memory for this session: never in a file, a log or an export. Every token read
  or written joins the redactor.
- how the browser comes back (`loopback.Callback`): a listener on 127.0.0.1 at a port chosen
  once per client registration (the authorization server matches the redirect URI exactly,
  port included), answering one ``/callback``.
- when a sign-in may start: a connection (`connection_auth`, which the transports pass to the
  SDK) never opens a browser on its own. It refreshes a token by itself, and stops with
  `SignInNeededError` when a person must sign in; the MCP page's "Sign in…" runs `McpOAuth.sign_in`
  with a callback that opens the browser. A headless runner (the conformance adapter) may let
  connections sign in when needed (``sign_in_when_needed``).

The session installs one `McpOAuth` for the process (`install`): the transports build a
server from its settings alone, so this is where they find it.
"""

# Long: the token vault and the provider glue are one flow, read together (the loopback
# listener is in `loopback`); the next cut moves `_Vault` and `_Storage` to their own module.

from __future__ import annotations

import asyncio
import contextlib
import functools
import inspect
import json
import logging
import time
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from carrier_studio.core.mcp import ServerConfig
from carrier_studio.services.mcp.loopback import (
    Callback,
    SignInError,
    free_port,
    redirect_uri,
)

if TYPE_CHECKING:
    from carrier_studio.services.platform.secrets import SecretStore

log = logging.getLogger(__name__)

#: The keyring entry of a server's sign-in: this prefix and the server's name.
KEY_PREFIX = "mcp-oauth:"
#: Seconds a person has to finish signing in the browser.
SIGN_IN_TIMEOUT = 300.0
CLIENT_NAME = "Carrier Studio"
#: Sent with the request that starts a sign-in; newer versions make the token name the resource.
_PROTOCOL_VERSION = "2025-11-25"

#: Opens the authorization URL in a browser (the UI's callback; a test follows it with httpx).
OpenBrowser = Callable[[str], Awaitable[None] | None]


class SignInNeededError(SignInError):
    """A server asks for a sign-in that a connection may not start by itself."""


class SignInRefusedError(SignInError):
    """The authorization server (or the person) said no."""


class _Vault:
    """Sign-in records by server name: the keyring where secrets go there, memory otherwise."""

    def __init__(self, secrets: SecretStore | None) -> None:
        self._secrets = secrets
        self._memory: dict[str, str] = {}
        #: Counts the changes made through this vault: a connection's provider reads its
        #: server's record again after one (a sign-in or sign-out from the MCP page).
        self.generation = 0

    def _in_keyring(self) -> bool:
        store = self._secrets
        return store is not None and store.effective_storage == "keyring"

    def _read(self, name: str) -> dict[str, Any] | None:
        text = self._memory.get(name)
        if text is None and self._in_keyring():
            assert self._secrets is not None
            from keyring.errors import KeyringError

            try:
                text = self._secrets.backend.get_password(_service(), KEY_PREFIX + name)
            except KeyringError:
                text = None
        if not text:
            return None
        try:
            record = json.loads(text)
        except ValueError:
            return None
        self._remember(record)
        return record if isinstance(record, dict) else None

    def _write(self, name: str, record: dict[str, Any]) -> None:
        self.generation += 1
        self._remember(record)
        text = json.dumps(record)
        if self._in_keyring():
            assert self._secrets is not None
            from keyring.errors import KeyringError

            try:
                self._secrets.backend.set_password(_service(), KEY_PREFIX + name, text)
            except KeyringError as exc:
                raise SignInError(f"the keyring refused to keep the sign-in: {exc}") from exc
            self._memory.pop(name, None)
        else:
            self._memory[name] = text

    def _delete(self, name: str) -> None:
        self.generation += 1
        self._memory.pop(name, None)
        if self._secrets is not None and self._secrets.keyring_available:
            from keyring.errors import KeyringError, PasswordDeleteError

            with contextlib.suppress(PasswordDeleteError, KeyringError):
                self._secrets.backend.delete_password(_service(), KEY_PREFIX + name)

    def _remember(self, record: Any) -> None:
        """Teach the redactor the record's secrets, so no log or export carries them."""
        if self._secrets is None or not isinstance(record, dict):
            return
        tokens = record.get("tokens") or {}
        client = record.get("client") or {}
        for value in (
            tokens.get("access_token"),
            tokens.get("refresh_token"),
            client.get("client_secret"),
        ):
            if isinstance(value, str) and value:
                self._secrets.redactor.add(value)

    # The keyring may block (D-Bus, a locked keychain): the loop calls these.

    async def read(self, name: str) -> dict[str, Any] | None:
        return await asyncio.to_thread(self._read, name)

    async def update(self, name: str, **changes: Any) -> None:
        def change() -> None:
            record = self._read(name) or {}
            record.update(changes)
            self._write(name, record)

        await asyncio.to_thread(change)

    async def delete(self, name: str) -> None:
        await asyncio.to_thread(self._delete, name)


def _service() -> str:
    from carrier_studio.services.platform.secrets import SERVICE

    return SERVICE


class _Storage:
    """The SDK's `TokenStorage` for one server, over the vault. A record made for another URL
    is not used (the tokens belong to that resource)."""

    def __init__(
        self,
        vault: _Vault,
        config: ServerConfig,
        client_secret: Callable[[], str | None],
        *,
        fresh: bool,
    ) -> None:
        self._vault = vault
        self._name = config.name
        self._url = config.url or ""
        self._settings = config.oauth
        #: A hand-registered client's secret; it may read the keyring, so off the loop.
        self._client_secret = client_secret
        # A sign-in the person asked for ignores the tokens kept so far (so "Sign in again…"
        # does open the browser); they are replaced only when the new ones come.
        self._fresh = fresh
        #: When the stored access token expires (epoch seconds), read with the tokens.
        self.expires_at: float | None = None

    @property
    def generation(self) -> int:
        return self._vault.generation

    async def _record(self) -> dict[str, Any]:
        record = await self._vault.read(self._name)
        return record if record and record.get("url") == self._url else {}

    async def get_tokens(self) -> Any:
        from mcp.shared.auth import OAuthToken

        record = await self._record()
        if self._fresh or not record.get("tokens"):
            return None
        self.expires_at = record.get("expires_at")
        return OAuthToken.model_validate(record["tokens"])

    async def set_tokens(self, tokens: Any) -> None:
        expires = time.time() + int(tokens.expires_in) if tokens.expires_in is not None else None
        self.expires_at = expires
        self._fresh = False
        await self._vault.update(
            self._name,
            url=self._url,
            tokens=tokens.model_dump(mode="json", exclude_none=True),
            expires_at=expires,
        )

    async def get_client_info(self) -> Any:
        from mcp.shared.auth import OAuthClientInformationFull

        settings = self._settings
        if settings is not None and settings.client_id:
            # Registered by hand: the secret goes as HTTP Basic (RFC 6749's default).
            secret = await asyncio.to_thread(self._client_secret)
            return OAuthClientInformationFull(
                client_id=settings.client_id,
                client_secret=secret,
                redirect_uris=[redirect_uri(settings.callback_port or free_port())],
                token_endpoint_auth_method="client_secret_basic" if secret else "none",
            )
        client = (await self._record()).get("client")
        return OAuthClientInformationFull.model_validate(client) if client else None

    async def set_client_info(self, client_info: Any) -> None:
        await self._vault.update(
            self._name, url=self._url, client=client_info.model_dump(mode="json", exclude_none=True)
        )


class McpOAuth:
    """Sign-ins of the catalogue's OAuth servers.

    Args:
        secrets: The studio's secret store: its keyring backend keeps the tokens, its redactor
            learns them, and ``${VAR}`` in a hand-registered ``client_secret`` is filled from
            it. None keeps everything in memory.
        sign_in_when_needed: Lets connections sign in by themselves with this browser opener
            (for runs without a person to press "Sign in…"); None makes them stop with
            `SignInNeededError`.
        timeout: Seconds a person has to finish a sign-in.
    """

    def __init__(
        self,
        secrets: SecretStore | None = None,
        *,
        sign_in_when_needed: OpenBrowser | None = None,
        timeout: float = SIGN_IN_TIMEOUT,
    ) -> None:
        self._secrets = secrets
        self._vault = _Vault(secrets)
        self._auto_browser = sign_in_when_needed
        self.timeout = timeout

    # -- reads ----------------------------------------------------------------------------------

    async def signed_in(self, config: ServerConfig) -> bool:
        """Whether tokens for this server (at its URL) are kept."""
        config = await self._filled(config)
        record = await self._vault.read(config.name)
        return bool(record and record.get("tokens") and record.get("url") == config.url)

    # -- actions --------------------------------------------------------------------------------

    def connection_auth(self, config: ServerConfig) -> Any:
        """The httpx2 ``Auth`` for a connection to ``config`` (its variables filled)."""
        return self._provider(config, self._auto_browser)

    async def sign_in(self, config: ServerConfig, open_browser: OpenBrowser) -> None:
        """Sign in now: the flow starts with a request to the server, the authorization page
        opens through ``open_browser``, and the tokens are kept once the browser comes back.

        Raises:
            SignInRefusedError: The person or the authorization server said no.
            SignInError: Anything else that stopped it, in words.
        """
        import httpx2
        from mcp.client.auth import OAuthFlowError, OAuthRegistrationError, OAuthTokenError

        config = await self._filled(config)
        provider = self._provider(config, open_browser, fresh=True)
        url = config.url or ""
        try:
            async with httpx2.AsyncClient(
                auth=provider, timeout=httpx2.Timeout(30.0), headers=dict(config.headers)
            ) as client:
                status = await _knock(client, config)
        except SignInError:
            raise
        except (OAuthFlowError, OAuthRegistrationError, OAuthTokenError) as exc:
            raise SignInError(f"the sign-in of {config.name} failed: {exc}") from exc
        except httpx2.HTTPError as exc:
            raise SignInError(f"could not reach {url}: {exc}") from exc
        if not await self.signed_in(config):
            raise SignInError(
                f"{url} answered {status} without asking to sign in: check the server's URL, "
                'or remove "oauth" from its settings'
            )
        if status in (401, 403):
            raise SignInError(f"{url} still refuses the new sign-in (HTTP {status})")

    async def _filled(self, config: ServerConfig) -> ServerConfig:
        """``config`` with the ``${VAR}`` of its URL and headers filled, as a connection has
        it (the page knows the entry as written; the record names the URL as connected)."""
        texts = [config.url or "", *config.headers.values()]
        if self._secrets is None or not any("${" in text for text in texts):
            return config
        from carrier_studio.core.mcp import resolve

        return await asyncio.to_thread(resolve, config, self._secrets.get)

    async def sign_out(self, config: ServerConfig) -> None:
        """Forget the server's tokens and client registration (the next use signs in anew)."""
        await self._vault.delete(config.name)

    # -- the provider -----------------------------------------------------------------------------

    def _provider(
        self, config: ServerConfig, open_browser: OpenBrowser | None, *, fresh: bool = False
    ) -> Any:
        from mcp.shared.auth import OAuthClientMetadata

        settings = config.oauth
        if settings is not None and settings.grant == "client_credentials":
            from carrier_studio.services.mcp.oauth_grants import grant_provider

            read = functools.partial(self._secret, config)
            storage = _Storage(self._vault, config, read, fresh=fresh)
            return grant_provider(config, storage, read)
        port = (settings.callback_port if settings else None) or free_port()
        metadata = OAuthClientMetadata(
            client_name=CLIENT_NAME,
            redirect_uris=[redirect_uri(port)],  # type: ignore[list-item]
            scope=settings.scope if settings else None,
        )
        secret = functools.partial(self._client_secret, config)
        storage = _Storage(self._vault, config, secret, fresh=fresh)
        callback = Callback(config.name)
        name = config.name

        async def redirect(authorization_url: str) -> None:
            if open_browser is None:
                raise SignInNeededError(
                    f"{name} asks you to sign in: choose it on the MCP Servers page and press "
                    "Sign in…"
                )
            target = urlsplit(str(provider.context.client_metadata.redirect_uris[0]))
            await callback.listen(target.port or 80)
            try:
                opened = open_browser(authorization_url)
                if inspect.isawaitable(opened):
                    await opened
            except Exception:
                await callback.close()
                raise

        async def returned() -> Any:
            from mcp.shared.auth import AuthorizationCodeResult

            query = await callback.answer(self.timeout)
            if "error" in query:
                reason = query.get("error_description") or query["error"]
                raise SignInRefusedError(f"the sign-in of {name} was refused: {reason}")
            if not query.get("code"):
                raise SignInError(f"the sign-in of {name} came back without a code")
            return AuthorizationCodeResult(
                code=query["code"], state=query.get("state"), iss=query.get("iss")
            )

        provider = _provider_class()(
            server_url=config.url or "",
            client_metadata=metadata,
            storage=storage,  # type: ignore[arg-type]
            redirect_handler=redirect,
            callback_handler=returned,
            client_metadata_url=settings.client_metadata_url if settings else None,
        )
        return provider

    def _client_secret(self, config: ServerConfig) -> str | None:
        return self._secret(config, "client_secret")

    def _secret(self, config: ServerConfig, key: str) -> str | None:
        """The ``oauth`` entry's ``key`` (client_secret, private_key), ``${VAR}`` filled."""
        written = getattr(config.oauth, key, None) if config.oauth else None
        if not written:
            return None
        if "${" not in written or self._secrets is None:
            if self._secrets is not None and key == "client_secret":  # a secret all the same
                self._secrets.redactor.add(written)
            return written
        from carrier_studio.core.mcp.variables import substitute

        missing: dict[str, list[str]] = {}
        value = substitute(written, self._secrets.get, f"oauth.{key}", missing)
        if missing:
            what = key.replace("_", " ")
            raise SignInError(
                f"{config.name}: the {what} needs {', '.join(sorted(missing))}, which is "
                "not set (add it under the server's Configuration tab)"
            )
        self._secrets.redactor.add(value)
        return value


async def _knock(client: Any, config: ServerConfig) -> int:
    """Send the server the request a connection starts with; the auth flow runs on its 401.
    Returns the final HTTP status."""
    url = config.url or ""
    if config.type == "sse":
        async with client.stream("GET", url, headers={"Accept": "text/event-stream"}) as reply:
            return int(reply.status_code)
    hello = {
        "jsonrpc": "2.0",
        "id": 0,
        "method": "initialize",
        "params": {
            "protocolVersion": _PROTOCOL_VERSION,
            "capabilities": {},
            "clientInfo": {"name": CLIENT_NAME, "version": "sign-in"},
        },
    }
    headers = {
        "Accept": "application/json, text/event-stream",
        "MCP-Protocol-Version": _PROTOCOL_VERSION,
    }
    async with client.stream("POST", url, json=hello, headers=headers) as reply:
        status = int(reply.status_code)
        session = reply.headers.get("mcp-session-id")
    if session:
        headers["mcp-session-id"] = session
    if status < 300:
        # Some servers let anyone initialize and ask for a sign-in from the first real request.
        ready = {"jsonrpc": "2.0", "method": "notifications/initialized"}
        tools = {"jsonrpc": "2.0", "id": 1, "method": "tools/list"}
        for message in (ready, tools):
            async with client.stream("POST", url, json=message, headers=headers) as reply:
                status = int(reply.status_code)
    if session:  # end the session the knock opened; the connection makes its own
        with contextlib.suppress(Exception):
            await client.delete(url, headers=headers)
    return status


_PROVIDER: type | None = None


def _provider_class() -> type:
    """`OAuthClientProvider` that knows a stored token's expiry after a restart (the SDK's
    forgets it, and would then wait for a 401 and ask for a new sign-in instead of refreshing),
    reads the stored record again once it changed (a server object outlives a sign-in: the
    supervisor reconnects the same one), and whose redirect URI is the one the stored client
    was registered with."""
    global _PROVIDER
    if _PROVIDER is not None:
        return _PROVIDER
    from mcp.client.auth import OAuthClientProvider

    class StudioOAuthProvider(OAuthClientProvider):
        _read_at = -1  # the vault's generation when the record was last read

        @property
        def _initialized(self) -> bool:  # type: ignore[override]
            return self._read_at == self.context.storage.generation  # type: ignore[attr-defined]

        @_initialized.setter
        def _initialized(self, value: bool) -> None:
            if not value:
                self._read_at = -1

        async def _initialize(self) -> None:
            storage: Any = self.context.storage
            generation = storage.generation
            await super()._initialize()
            self._read_at = generation
            self.context.token_expiry_time = storage.expires_at
            client = self.context.client_info
            if client is not None and client.redirect_uris:
                self.context.client_metadata.redirect_uris = [client.redirect_uris[0]]

    _PROVIDER = StudioOAuthProvider
    return _PROVIDER


# -- the process's sign-ins ---------------------------------------------------------------------

_active: McpOAuth | None = None


def install(oauth: McpOAuth | None) -> None:
    """Make ``oauth`` the sign-ins connections use (the session does, once it is built)."""
    global _active
    _active = oauth


def installed() -> McpOAuth:
    """The installed sign-ins; one that keeps tokens in memory when none was installed."""
    global _active
    if _active is None:
        _active = McpOAuth()
    return _active


def connection_auth(config: ServerConfig) -> Any:
    """The httpx2 ``Auth`` the transports pass for ``config``, or None without ``oauth``."""
    if config.oauth is None or config.type == "stdio":
        return None
    return installed().connection_auth(config)
