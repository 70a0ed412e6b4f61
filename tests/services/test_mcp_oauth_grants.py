"""The client_credentials grant's secrets: a key or a secret read where the entry says, when a
token is asked for. The token exchange itself runs against the conformance suite's authorization
server (tests/conformance, auth/client-credentials-basic and -jwt)."""

from __future__ import annotations

import asyncio

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from carrier_studio.core.mcp.config import check_server
from carrier_studio.core.redaction import REDACTED, Redactor
from carrier_studio.services.mcp.loopback import SignInError
from carrier_studio.services.mcp.oauth import McpOAuth
from carrier_studio.services.platform.secrets import SecretStore

AUDIENCE = "http://127.0.0.1:9/"


def pem(key) -> str:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()


def provider(oauth: dict, secrets: SecretStore | None = None):
    entry = {"grant": "client_credentials", "client_id": "bot", **oauth}
    config = check_server("robot", {"url": "http://127.0.0.1:9/mcp", "oauth": entry})
    assert not isinstance(config, list), config
    return McpOAuth(secrets).connection_auth(config)


def test_a_key_in_a_variable_signs_the_assertion_and_is_redacted(tmp_path):
    key = ec.generate_private_key(ec.SECP256R1())
    secrets = SecretStore("dotenv", tmp_path / ".env", redactor=Redactor())
    secrets.set("BOT_KEY", pem(key))
    auth = provider({"private_key": "${BOT_KEY}"}, secrets)
    signed = asyncio.run(auth._assertion_provider(AUDIENCE))
    assert jwt.get_unverified_header(signed)["alg"] == "ES256"
    claims = jwt.decode(signed, key.public_key(), algorithms=["ES256"], audience=AUDIENCE)
    assert (claims["iss"], claims["sub"]) == ("bot", "bot")
    assert secrets.redactor.redact(f"key: {pem(key).strip()}") == f"key: {REDACTED}"


def test_a_key_file_signs_with_its_own_algorithm(tmp_path):
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    path = tmp_path / "bot.pem"
    path.write_text(pem(key))
    signed = asyncio.run(provider({"private_key": str(path)})._assertion_provider(AUDIENCE))
    claims = jwt.decode(signed, key.public_key(), algorithms=["RS256"], audience=AUDIENCE)
    assert claims["iss"] == "bot"


def test_a_missing_key_or_secret_says_which(tmp_path):
    missing = tmp_path / "nowhere.pem"
    with pytest.raises(SignInError, match="cannot read the private key .*nowhere.pem"):
        asyncio.run(provider({"private_key": str(missing)})._assertion_provider(AUDIENCE))
    secrets = SecretStore("dotenv", tmp_path / ".env", redactor=Redactor())
    auth = provider({"client_secret": "${BOT_SECRET}"}, secrets)
    with pytest.raises(SignInError, match="robot: the client secret needs BOT_SECRET"):
        asyncio.run(auth._initialize())
    secrets.set("BOT_SECRET", "s3cret")
    asyncio.run(auth._initialize())
    assert auth.context.client_info.client_secret == "s3cret"
    assert auth.context.client_info.token_endpoint_auth_method == "client_secret_basic"
