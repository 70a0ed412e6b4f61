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
