"""A real OAuth 2.1 authorization server and a protected MCP server, for the sign-in tests.

One Starlette app from the `mcp` package's own server-side auth (`mcp.server.auth`: protected
resource metadata, authorization server metadata, dynamic client registration, the authorize
and token endpoints with PKCE, bearer-token checks) on a real uvicorn socket, in a thread with
its own event loop. The authorization server's decisions are the test's: `OAuthServer.refuse`
makes the "person" say no; there is no login page, so a test's "browser" is an httpx GET that
follows the authorize URL's redirect to the studio's loopback listener.
"""

from __future__ import annotations

import asyncio
import secrets
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import uvicorn
from mcp.server.auth.provider import (
    AccessToken,
    AuthorizationCode,
    AuthorizationParams,
    RefreshToken,
    construct_redirect_uri,
)
from mcp.server.auth.settings import AuthSettings, ClientRegistrationOptions
from mcp.server.mcpserver import MCPServer
from mcp.shared.auth import OAuthClientInformationFull, OAuthToken

from tests.mcp.servers import free_port

SCOPE = "tools"


class MemoryAuthority:
    """The authorization server's state: clients, codes and tokens, in memory."""

    def __init__(self) -> None:
        self.clients: dict[str, OAuthClientInformationFull] = {}
        self.codes: dict[str, AuthorizationCode] = {}
        self.access: dict[str, AccessToken] = {}
        self.refresh: dict[str, RefreshToken] = {}
        #: The grants the token endpoint served, in order ("authorization_code", "refresh_token").
        self.grants: list[str] = []
        #: When set, the authorize step answers with this OAuth error (the person said no).
        self.refuse: str | None = None

    async def get_client(self, client_id: str) -> OAuthClientInformationFull | None:
        return self.clients.get(client_id)

    async def register_client(self, client_info: OAuthClientInformationFull) -> None:
        assert client_info.client_id is not None
        self.clients[client_info.client_id] = client_info

    async def authorize(
        self, client: OAuthClientInformationFull, params: AuthorizationParams
    ) -> str:
        if self.refuse:
            return construct_redirect_uri(
                str(params.redirect_uri),
                error=self.refuse,
                error_description="the test user declined",
                state=params.state,
            )
        code = secrets.token_urlsafe(16)
        self.codes[code] = AuthorizationCode(
            code=code,
            scopes=params.scopes or [SCOPE],
            expires_at=time.time() + 300,
            client_id=client.client_id or "",
            code_challenge=params.code_challenge,
            redirect_uri=params.redirect_uri,
            redirect_uri_provided_explicitly=params.redirect_uri_provided_explicitly,
            resource=params.resource,
        )
        return construct_redirect_uri(str(params.redirect_uri), code=code, state=params.state)

    async def load_authorization_code(
        self, client: OAuthClientInformationFull, authorization_code: str
    ) -> AuthorizationCode | None:
        return self.codes.get(authorization_code)

    async def exchange_authorization_code(
        self, client: OAuthClientInformationFull, authorization_code: AuthorizationCode
    ) -> OAuthToken:
        self.codes.pop(authorization_code.code, None)
        self.grants.append("authorization_code")
        return self._issue(client.client_id or "", authorization_code.scopes)

    async def load_refresh_token(
        self, client: OAuthClientInformationFull, refresh_token: str
    ) -> RefreshToken | None:
        return self.refresh.get(refresh_token)

    async def exchange_refresh_token(
        self, client: OAuthClientInformationFull, refresh_token: RefreshToken, scopes: list[str]
    ) -> OAuthToken:
        self.refresh.pop(refresh_token.token, None)
        self.grants.append("refresh_token")
        return self._issue(client.client_id or "", scopes or refresh_token.scopes)

    async def load_access_token(self, token: str) -> AccessToken | None:
        return self.access.get(token)

    async def revoke_token(self, token: Any) -> None:
        self.access.pop(getattr(token, "token", ""), None)

    def _issue(self, client_id: str, scopes: list[str]) -> OAuthToken:
        access, refresh = secrets.token_urlsafe(24), secrets.token_urlsafe(24)
        expires = int(time.time()) + 3600
        self.access[access] = AccessToken(
            token=access, client_id=client_id, scopes=scopes, expires_at=expires
        )
        self.refresh[refresh] = RefreshToken(token=refresh, client_id=client_id, scopes=scopes)
        return OAuthToken(
            access_token=access, expires_in=3600, scope=" ".join(scopes), refresh_token=refresh
        )

    def expire_access_tokens(self) -> None:
        """Every access token issued so far expires now (as if an hour had passed)."""
        for token in self.access.values():
            token.expires_at = int(time.time()) - 10


class OAuthServer:
    """The running servers: `url` is the protected MCP endpoint."""

    def __init__(self, port: int, transport: str = "streamable-http") -> None:
        self.port = port
        self.transport = transport
        self.base = f"http://127.0.0.1:{port}"
        self.url = f"{self.base}/sse" if transport == "sse" else f"{self.base}/mcp"
        self.authority = MemoryAuthority()
        #: The paths every request asked for, in order (discovery shows here).
        self.paths: list[str] = []


def _app(server: OAuthServer) -> Any:
    mcp = MCPServer(
        "oauth-test",
        auth_server_provider=server.authority,
        auth=AuthSettings(
            issuer_url=server.base,  # type: ignore[arg-type]
            resource_server_url=server.url,  # type: ignore[arg-type]
            client_registration_options=ClientRegistrationOptions(
                enabled=True, valid_scopes=[SCOPE], default_scopes=[SCOPE]
            ),
            required_scopes=[SCOPE],
            validate_token_resource=False,
        ),
    )

    @mcp.tool()
    def whoami() -> str:
        """Says that the caller got through."""
        return "signed in"

    app = mcp.sse_app() if server.transport == "sse" else mcp.streamable_http_app()

    async def recorded(scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            server.paths.append(scope["path"])
        await app(scope, receive, send)

    return recorded


@contextmanager
def running_oauth_server(transport: str = "streamable-http") -> Iterator[OAuthServer]:
    """Start the servers (the MCP one on ``transport``: streamable-http or sse) on a free port
    in a thread; stop them afterwards."""
    server = OAuthServer(free_port(), transport)
    config = uvicorn.Config(
        _app(server), host="127.0.0.1", port=server.port, log_level="warning", lifespan="on"
    )
    web = uvicorn.Server(config)
    thread = threading.Thread(target=lambda: asyncio.run(web.serve()), daemon=True)
    thread.start()
    try:
        # uvicorn sets `started` once its socket listens: waiting on that state, not a delay.
        deadline = time.monotonic() + 20
        while not web.started:
            if not thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the OAuth test server did not start")
            time.sleep(0.01)
        yield server
    finally:
        web.should_exit = True
        thread.join(10)
