"""The ``oauth`` entry of a server in mcp_servers.json."""

from __future__ import annotations

from carrier_studio.core.mcp.config import OAuthSettings, check_server


def test_oauth_true_or_an_object_opts_an_http_server_in():
    assert check_server("a", {"url": "https://x/mcp"}).oauth is None  # type: ignore[union-attr]
    assert check_server("a", {"url": "https://x/mcp", "oauth": False}).oauth is None  # type: ignore[union-attr]
    plain = check_server("a", {"url": "https://x/mcp", "oauth": True})
    assert plain.oauth == OAuthSettings()  # type: ignore[union-attr]
    raw = {"scope": "read", "client_id": "id", "client_secret": "${S}", "callback_port": 8765}
    full = check_server("a", {"type": "sse", "url": "https://x/sse", "oauth": raw})
    assert full.oauth == OAuthSettings("read", "id", "${S}", 8765)  # type: ignore[union-attr]
    assert full.raw["oauth"] == raw  # type: ignore[union-attr]


def test_a_bad_oauth_entry_is_named_with_its_path():
    problems = check_server("a", {"url": "https://x/mcp", "oauth": {"callback_port": 0}})
    assert [(p.where, p.message) for p in problems] == [  # type: ignore[union-attr]
        ("$.mcpServers.a.oauth.callback_port", "must be a port number (1-65535)")
    ]
    document = {"client_metadata_url": "http://x/client.json"}
    problems = check_server("a", {"url": "https://x/mcp", "oauth": document})
    assert [(p.where, p.message) for p in problems] == [  # type: ignore[union-attr]
        (
            "$.mcpServers.a.oauth.client_metadata_url",
            "must be an https:// URL: 'http://x/client.json'",
        )
    ]
    problems = check_server("a", {"url": "https://x/mcp", "oauth": "yes"})
    assert [p.where for p in problems] == ["$.mcpServers.a.oauth"]  # type: ignore[union-attr]
    problems = check_server("a", {"command": "x", "oauth": True})
    assert [p.message for p in problems] == [  # type: ignore[union-attr]
        "only an sse or streamable-http server signs in"
    ]


def test_a_client_credentials_grant_names_its_client_and_one_proof():
    secret = {"grant": "client_credentials", "client_id": "bot", "client_secret": "${S}"}
    plain = check_server("a", {"url": "https://x/mcp", "oauth": secret})
    assert plain.oauth == OAuthSettings(  # type: ignore[union-attr]
        client_id="bot", client_secret="${S}", grant="client_credentials"
    )
    key = {"grant": "client_credentials", "client_id": "bot", "private_key": "~/bot.pem"}
    signed = check_server("a", {"url": "https://x/mcp", "oauth": key})
    assert signed.oauth.private_key == "~/bot.pem"  # type: ignore[union-attr]


def test_a_bad_grant_is_named_with_its_path():
    def problems(entry: dict) -> list[tuple[str, str]]:
        found = check_server("a", {"url": "https://x/mcp", "oauth": entry})
        return [(p.where, p.message) for p in found]  # type: ignore[union-attr]

    at = "$.mcpServers.a.oauth"
    assert problems({"grant": "password"}) == [
        (
            f"{at}.grant",
            "unknown grant 'password': must be one of authorization_code, client_credentials",
        )
    ]
    assert problems({"grant": "client_credentials", "client_secret": "s"}) == [
        (f"{at}.client_id", 'a "client_credentials" grant needs the client_id')
    ]
    both = {
        "grant": "client_credentials",
        "client_id": "i",
        "client_secret": "s",
        "private_key": "k",
    }
    neither = {"grant": "client_credentials", "client_id": "i"}
    needs = 'a "client_credentials" grant needs a client_secret or a private_key (one of them)'
    assert problems(both) == problems(neither) == [(at, needs)]
    browser = {
        "grant": "client_credentials",
        "client_id": "i",
        "client_secret": "s",
        "callback_port": 8765,
    }
    assert problems(browser) == [
        (f"{at}.callback_port", 'a "client_credentials" grant opens no browser: remove it')
    ]
    assert problems({"private_key": "k"}) == [
        (f"{at}.private_key", 'only a "client_credentials" grant signs with a key')
    ]
