"""Sign-ins with no browser: an ``oauth`` entry's ``"grant": "client_credentials"``.

A machine client proves who it is to the authorization server's token endpoint by itself, so a
background connection gets (and renews) its token alone. The flow is the `mcp` package's
`ClientCredentialsOAuthProvider` (client_secret_basic) or `PrivateKeyJWTOAuthProvider` (an
RFC 7523 assertion signed with the entry's ``private_key``); this module gives them the studio's
token storage and reads the secret or the key only when a token is asked for (the keyring or
the disk may block: off the loop).
"""

from __future__ import annotations

import asyncio
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

from carrier_studio.core.mcp import ServerConfig
from carrier_studio.services.mcp.loopback import SignInError

#: Reads one ``oauth`` field with its ``${VAR}`` filled (None when the entry has none).
ReadSecret = Callable[[str], str | None]


def grant_provider(config: ServerConfig, storage: Any, read: ReadSecret) -> Any:
    """The httpx2 ``Auth`` that signs ``config`` in with the client_credentials grant."""
    from mcp.client.auth.extensions.client_credentials import (
        ClientCredentialsOAuthProvider,
        PrivateKeyJWTOAuthProvider,
        SignedJWTParameters,
    )
    from mcp.shared.exceptions import MCPDeprecationWarning

    settings = config.oauth
    assert settings is not None and settings.client_id
    client_id = settings.client_id
    name = config.name

    async def initialize(provider: Any) -> None:
        # The SDK's own reads the tokens but forgets their expiry (so it would wait for a 401).
        provider.context.current_tokens = await storage.get_tokens()
        provider.context.token_expiry_time = storage.expires_at
        provider._initialized = True

    if settings.private_key is not None:

        async def assertion(audience: str) -> str:
            pem = await asyncio.to_thread(_private_key, name, read)
            signer = SignedJWTParameters(
                issuer=client_id,
                subject=client_id,
                signing_key=pem,
                signing_algorithm=_algorithm(name, pem),
            )
            return await signer.create_assertion_provider()(audience)

        class KeyProvider(PrivateKeyJWTOAuthProvider):
            async def _initialize(self) -> None:
                await initialize(self)
                self.context.client_info = self._fixed_client_info

        with warnings.catch_warnings():
            # Without an issuer the server's advertised authorization server is used, as for a
            # browser sign-in; the catalogue names none yet.
            warnings.simplefilter("ignore", MCPDeprecationWarning)
            return KeyProvider(
                server_url=config.url or "",
                storage=storage,
                client_id=client_id,
                assertion_provider=assertion,
                scope=settings.scope,
            )

    class SecretProvider(ClientCredentialsOAuthProvider):
        async def _initialize(self) -> None:
            await initialize(self)
            secret = await asyncio.to_thread(read, "client_secret")
            self.context.client_info = self._fixed_client_info.model_copy(
                update={"client_secret": secret}
            )

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", MCPDeprecationWarning)
        return SecretProvider(
            server_url=config.url or "",
            storage=storage,
            client_id=client_id,
            client_secret="",  # read when a token is asked for (it may be ${VAR})
            scope=settings.scope,
        )


def _private_key(name: str, read: ReadSecret) -> str:
    """The PEM the entry names: its text (from a ``${VAR}``) or the file at its path."""
    value = (read("private_key") or "").strip()
    if value.startswith("-----BEGIN"):
        return value
    path = Path(value).expanduser()
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise SignInError(f"{name}: cannot read the private key {str(path)!r}: {exc}") from exc


def _algorithm(name: str, pem: str) -> str:
    """The JWS algorithm the key signs with (RS256 for RSA, ES256/384/512 by the EC curve)."""
    from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
    from cryptography.hazmat.primitives.serialization import load_pem_private_key

    try:
        key = load_pem_private_key(pem.encode(), password=None)
    except (ValueError, TypeError) as exc:
        raise SignInError(f"{name}: the private key is not an unencrypted PEM key: {exc}") from exc
    if isinstance(key, rsa.RSAPrivateKey):
        return "RS256"
    if isinstance(key, ed25519.Ed25519PrivateKey):
        return "EdDSA"
    if isinstance(key, ec.EllipticCurvePrivateKey):
        by_curve = {"secp256r1": "ES256", "secp384r1": "ES384", "secp521r1": "ES512"}
        if key.curve.name in by_curve:
            return by_curve[key.curve.name]
    raise SignInError(f"{name}: the private key must be RSA, P-256/384/521 EC or Ed25519")
