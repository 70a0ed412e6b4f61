"""mcp_servers.json: parsing, validation with JSON paths, edits that keep the file, ${VAR}."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from carrier_studio import assets
from carrier_studio.core.mcp import (
    BackoffPolicy,
    Catalogue,
    McpConfigError,
    McpVariableError,
    claude_desktop_config_path,
    find_carrier_config,
    import_claude_desktop,
    lookup_chain,
    resolve,
    variables_in,
)


def catalogue(servers: dict, **top) -> Catalogue:
    return Catalogue.from_text(json.dumps({**top, "mcpServers": servers}, indent=2))


def problems(servers: dict) -> list[tuple[str | None, str]]:
    return [(p.where, p.message) for p in catalogue(servers).problems]


def changed_lines(before: str, after: str) -> list[tuple[str, str]]:
    old, new = before.splitlines(), after.splitlines()
    assert len(old) == len(new)
    return [(a, b) for a, b in zip(old, new, strict=True) if a != b]


# -- the shipped catalogue ----------------------------------------------------------------------


def test_the_shipped_catalogue_parses():
    path = assets.seed_mcp_catalogue()
    text = path.read_text()
    doc = Catalogue.from_text(text, path)
    assert doc.problems == []
    assert doc.names == ["filesystem", "memory", "sequential-thinking", "everything", "github"]
    filesystem = doc.servers["filesystem"]
    assert filesystem.type == "stdio" and filesystem.command == "npx"
    assert filesystem.args[-1] == "${WORKSPACE}" and filesystem.cache_tools_list
    assert doc.servers["everything"].enabled is False
    assert variables_in(doc.servers["github"]) == ["GITHUB_PERSONAL_ACCESS_TOKEN"]
    assert doc.to_text() == text  # nothing changed: not one byte rewritten


def test_defaults_and_timeouts():
    doc = catalogue(
        {
            "plain": {"command": "node"},
            "slow": {"command": "node", "timeout": 120, "connect_timeout": 90.5},
            "sdk": {"command": "node", "client_session_timeout_seconds": 7},
        }
    )
    plain = doc.servers["plain"]
    assert (plain.args, dict(plain.env), plain.cwd, plain.enabled) == ((), {}, None, True)
    assert (plain.timeout, plain.connect_timeout, plain.cache_tools_list) == (60.0, 60.0, False)
    assert (doc.servers["slow"].timeout, doc.servers["slow"].connect_timeout) == (120.0, 90.5)
    assert doc.servers["sdk"].timeout == 7.0
    assert plain.describe() == "node"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ({"type": "http", "url": "http://h/mcp"}, "streamable-http"),
        ({"type": "streamable-http", "url": "http://h/mcp"}, "streamable-http"),
        ({"type": "streamableHttp", "url": "http://h/mcp"}, "streamable-http"),
        ({"type": "sse", "url": "https://h/sse"}, "sse"),
        ({"url": "https://h/mcp"}, "streamable-http"),
        ({"command": "npx"}, "stdio"),
        ({"command": "npx", "url": "https://ignored"}, "stdio"),
    ],
)
def test_types_aliases_and_inference(raw, expected):
    assert catalogue({"s": raw}).servers["s"].type == expected


# -- keeping the file as the user wrote it ------------------------------------------------------


def test_round_trip_keeps_unknown_keys_and_order():
    data = {
        "version": 1,
        "x-owner": "me",
        "mcpServers": {
            "a": {"command": "node", "description": "mine", "autoApprove": ["read"], "z": 1},
            "b": {"url": "https://h/mcp", "type": "http", "oauth": {"client": "c"}},
        },
        "zz-trailing": True,
    }
    doc = Catalogue(json.loads(json.dumps(data)))
    doc.put("c", {"command": "uvx", "args": ["tool"], "x-note": "new"})
    doc.put("a", {**data["mcpServers"]["a"], "args": ["x"]})  # replaced in place
    written = json.loads(doc.to_text())
    assert list(written) == ["version", "x-owner", "mcpServers", "zz-trailing"]
    assert list(written["mcpServers"]) == ["a", "b", "c"]
    assert written["mcpServers"]["a"]["autoApprove"] == ["read"]
    assert written["mcpServers"]["b"]["oauth"] == {"client": "c"}
    assert written["mcpServers"]["c"]["x-note"] == "new"
    assert doc.servers["b"].raw["oauth"] == {"client": "c"}


def test_set_enabled_changes_only_that_value():
    text = assets.seed_mcp_catalogue().read_text()
    doc = Catalogue.from_text(text)
    doc.set_enabled("memory", False)
    doc.set_enabled("everything", True)
    assert changed_lines(text, doc.to_text()) == [
        ('      "enabled": true,', '      "enabled": false,'),
        ('      "enabled": false', '      "enabled": true'),
    ]
    assert not doc.servers["memory"].enabled and doc.servers["everything"].enabled


def test_set_enabled_adds_the_key_beside_the_others():
    text = (
        '{"mcpServers": {\n'
        '    "multi": {\n'
        '        "command": "node",\n'
        '        "args": ["a", "b"]\n'
        "    },\n"
        '    "inline": {"command": "node", "args": ["x"]},\n'
        '    "empty-env": {"url": "https://h/mcp", "headers": {}}\n'
        "}}\n"
    )
    doc = Catalogue.from_text(text)
    doc.set_enabled("multi", True)  # true is the default: nothing to write
    assert doc.to_text() == text
    doc.set_enabled("multi", False)
    doc.set_enabled("inline", False)
    assert doc.to_text() == (
        '{"mcpServers": {\n'
        '    "multi": {\n'
        '        "command": "node",\n'
        '        "args": ["a", "b"],\n'
        '        "enabled": false\n'
        "    },\n"
        '    "inline": {"command": "node", "args": ["x"], "enabled": false},\n'
        '    "empty-env": {"url": "https://h/mcp", "headers": {}}\n'
        "}}\n"
    )
    assert json.loads(doc.to_text())["mcpServers"]["multi"]["enabled"] is False
    with pytest.raises(McpConfigError, match="no MCP server called 'nope'"):
        doc.set_enabled("nope", False)


def test_set_enabled_on_an_empty_server_object_and_after_a_rewrite():
    doc = Catalogue.from_text('{"mcpServers": {"odd": {}}}')
    doc.set_enabled("odd", False)
    assert doc.to_text() == '{"mcpServers": {"odd": {"enabled": false}}}'
    doc.remove("odd")
    assert json.loads(doc.to_text()) == {"mcpServers": {}}


def test_put_validates_and_leaves_the_document_alone_when_invalid():
    doc = catalogue({"a": {"command": "node"}})
    before = doc.to_text()
    with pytest.raises(McpConfigError) as caught:
        doc.put("b", {"type": "sse"})
    assert caught.value.where == "$.mcpServers.b"
    assert doc.to_text() == before
    with pytest.raises(McpConfigError, match="needs a name"):
        doc.put(" ", {"command": "x"})
    with pytest.raises(McpConfigError, match="no MCP server"):
        doc.remove("b")


def test_put_can_rename_a_server_in_its_place():
    doc = catalogue({"a": {"command": "x"}, "b": {"command": "y"}, "c": {"command": "z"}})
    doc.put("renamed", {"command": "y2"}, replaces="b")
    assert doc.names == ["a", "renamed", "c"] and doc.servers["renamed"].command == "y2"
    with pytest.raises(McpConfigError, match="already an MCP server called 'a'") as caught:
        doc.put("a", {"command": "q"}, replaces="c")
    assert caught.value.where == "$.mcpServers.a"
    with pytest.raises(McpConfigError, match="no MCP server called 'gone'"):
        doc.put("new", {"command": "q"}, replaces="gone")
    doc.put("c", {"command": "z2"}, replaces="c")  # the same name: a plain replace
    assert doc.names == ["a", "renamed", "c"] and doc.servers["c"].command == "z2"


# -- validation ---------------------------------------------------------------------------------


def test_malformed_json_names_line_and_column(tmp_path):
    path = tmp_path / "mcp_servers.json"
    with pytest.raises(McpConfigError) as caught:
        Catalogue.from_text('{\n  "mcpServers": {\n    "a": {"command": "x",}\n  }\n}', path)
    error = caught.value
    assert (error.path, error.where) == (path, "line 3, column 26")
    assert str(error).startswith(f"{path} (line 3, column 26): is not valid JSON")


@pytest.mark.parametrize(
    ("text", "where", "message"),
    [
        ("[]", "$", "must be a JSON object, not an array"),
        ('{"mcpServers": []}', "$.mcpServers", "must be an object of servers by name"),
        ('{"version": "1", "mcpServers": {}}', "$.version", "must be a whole number"),
        ('{"version": 7, "mcpServers": {}}', "$.version", "written by a newer Carrier Studio"),
    ],
)
def test_a_wrong_document_shape_raises(text, where, message):
    with pytest.raises(McpConfigError, match=message) as caught:
        Catalogue.from_text(text)
    assert caught.value.where == where


def test_wrong_types_are_reported_with_json_paths():
    found = problems(
        {
            "github": {
                "command": "npx",
                "args": ["-y", 7, "pkg"],
                "env": {"TOKEN": 1, "OK": "yes"},
                "cwd": ["/"],
                "enabled": "yes",
                "cache_tools_list": 1,
                "timeout": -5,
            },
            "web": {"url": "https://h/mcp", "headers": ["Authorization"]},
            "my server": {"command": 42},
            "list": "npx server",
        }
    )
    assert found == [
        ("$.mcpServers.github.args[1]", "must be a string, not a number"),
        ("$.mcpServers.github.env.TOKEN", "must be a string, not a number"),
        ("$.mcpServers.github.cwd", "must be a string, not an array"),
        ("$.mcpServers.github.cache_tools_list", "must be true or false, not a number"),
        ("$.mcpServers.github.enabled", "must be true or false, not a string"),
        ("$.mcpServers.github.timeout", "must be a positive number, not -5"),
        ("$.mcpServers.web.headers", "must be an object of strings, not an array"),
        ('$.mcpServers["my server"].command', "must be a string, not a number"),
        ("$.mcpServers.list", "must be an object, not a string"),
    ]


def test_unknown_type_and_missing_command_or_url():
    found = problems(
        {
            "ws": {"type": "websocket", "url": "ws://h"},
            "nothing": {"args": ["x"]},
            "stdio": {"type": "stdio", "args": ["x"]},
            "empty": {"command": ""},
            "sse": {"type": "sse"},
            "http": {"type": "http", "command": "node"},
            "scheme": {"type": "http", "url": "localhost:3001/mcp"},
            "typed": {"type": 3, "command": "x"},
        }
    )
    assert found == [
        (
            "$.mcpServers.ws.type",
            "unknown type 'websocket': must be one of stdio, sse, streamable-http (or http)",
        ),
        ("$.mcpServers.nothing", 'needs a "command" (a stdio server) or a "url" (sse, http)'),
        ("$.mcpServers.stdio", 'a stdio server needs a "command": the program to run'),
        ("$.mcpServers.empty.command", "must not be empty"),
        ("$.mcpServers.sse", 'this sse server needs a "url"'),
        ("$.mcpServers.http", 'this streamable-http server needs a "url"'),
        ("$.mcpServers.scheme.url", "must start with http:// or https://: 'localhost:3001/mcp'"),
        ("$.mcpServers.typed.type", "must be a string, not a number"),
    ]


def test_a_broken_server_leaves_the_others_usable(tmp_path):
    path = tmp_path / "mcp_servers.json"
    text = json.dumps({"mcpServers": {"ok": {"command": "node"}, "bad": {"type": "sse"}}})
    doc = Catalogue.from_text(text, path)
    assert list(doc.servers) == ["ok"] and doc.names == ["ok", "bad"]
    assert [p.where for p in doc.problems_of("bad")] == ["$.mcpServers.bad"]
    assert doc.problems_of("ok") == []
    with pytest.raises(McpConfigError) as caught:
        doc.server("bad")
    assert caught.value.path == path
    with pytest.raises(McpConfigError) as caught:
        doc.check()
    assert caught.value.where == "$.mcpServers.bad" and len(caught.value.problems) == 1
    assert doc.server("ok").command == "node"


# -- ${VAR} -------------------------------------------------------------------------------------


def test_variables_are_filled_everywhere_with_defaults():
    doc = catalogue(
        {
            "s": {
                "command": "${TOOLS:-/usr/bin}/node",
                "args": ["--root", "${WORKSPACE}", "--level=${LEVEL:-info}", "$${KEEP}"],
                "env": {"TOKEN": "${TOKEN}", "EMPTY": "${BLANK:-fallback}"},
                "cwd": "${WORKSPACE}/sub",
            },
            "w": {"url": "https://${HOST:-localhost}/mcp", "headers": {"Auth": "Bearer ${TOKEN}"}},
        }
    )
    asked: list[str] = []

    def secrets(name: str) -> str | None:
        asked.append(name)
        return {"TOKEN": "t0k", "BLANK": ""}.get(name)

    lookup = lookup_chain({"WORKSPACE": "/work/space"}, secrets)
    s = resolve(doc.servers["s"], lookup)
    assert s.command == "/usr/bin/node"
    assert s.args == ("--root", "/work/space", "--level=info", "${KEEP}")
    assert dict(s.env) == {"TOKEN": "t0k", "EMPTY": "fallback"}
    assert s.cwd == "/work/space/sub"
    assert asked.count("WORKSPACE") == 0 and asked.count("TOKEN") == 1  # asked once per name
    w = resolve(doc.servers["w"], lookup)
    assert w.url == "https://localhost/mcp" and dict(w.headers) == {"Auth": "Bearer t0k"}
    assert doc.servers["s"].args[1] == "${WORKSPACE}"  # the configured server is unchanged


def test_missing_variables_are_named_with_where_they_are_used(tmp_path):
    path = tmp_path / "mcp_servers.json"
    doc = catalogue(
        {
            "github": {
                "command": "npx",
                "args": ["-y", "pkg", "--org=${ORG}"],
                "env": {"GITHUB_PERSONAL_ACCESS_TOKEN": "${GITHUB_PERSONAL_ACCESS_TOKEN}"},
                "headers": {"X-Org": "${ORG}"},
            }
        }
    )
    with pytest.raises(McpVariableError) as caught:
        resolve(doc.servers["github"], lambda name: None, path=path)
    error = caught.value
    assert error.missing == {
        "ORG": ["$.mcpServers.github.args[2]", "$.mcpServers.github.headers.X-Org"],
        "GITHUB_PERSONAL_ACCESS_TOKEN": ["$.mcpServers.github.env.GITHUB_PERSONAL_ACCESS_TOKEN"],
    }
    assert isinstance(error, McpConfigError) and error.path == path
    assert error.where == "$.mcpServers.github.args[2]"
    assert error.message.startswith("ORG, GITHUB_PERSONAL_ACCESS_TOKEN are not set: ORG (used in")

    one = catalogue({"s": {"command": "x", "env": {"K": "${ONLY}"}}}).servers["s"]
    with pytest.raises(McpVariableError) as caught:
        resolve(one, lambda name: None)
    assert caught.value.message == "ONLY is not set (used in $.mcpServers.s.env.K)"


# -- importing ----------------------------------------------------------------------------------


def test_import_from_a_claude_desktop_config():
    claude = {
        "globalShortcut": "Ctrl+Space",
        "preferences": {"menuBarEnabled": False},
        "mcpServers": {
            "filesystem": {
                "command": "npx",
                "args": ["-y", "@modelcontextprotocol/server-filesystem", "/Users/me/Desktop"],
            },
            "brave": {
                "command": "npx",
                "args": ["-y", "@modelcontextprotocol/server-brave-search"],
                "env": {"BRAVE_API_KEY": "${BRAVE_API_KEY}"},
                "disabled": True,
                "autoApprove": [],
            },
            "remote": {"type": "http", "url": "https://mcp.example.com/mcp"},
            "junk": "not a server",
        },
    }
    imported = import_claude_desktop(json.dumps(claude))
    assert list(imported) == ["filesystem", "brave", "remote"]
    assert imported["brave"]["enabled"] is False and "disabled" not in imported["brave"]
    assert imported["brave"]["autoApprove"] == []
    doc = Catalogue.empty()
    for name, raw in imported.items():
        doc.put(name, raw)
    assert doc.problems == [] and doc.servers["remote"].type == "streamable-http"
    assert json.loads(doc.to_text())["version"] == 1
    assert claude["mcpServers"]["brave"]["disabled"] is True  # the input is not changed
    with pytest.raises(McpConfigError) as caught:
        import_claude_desktop({"preferences": {}})
    assert caught.value.where == "$.mcpServers"


def test_carrier_checkout_detection(tmp_path):
    assert find_carrier_config(tmp_path) is None
    config = tmp_path / "config" / "mcp_servers.json"
    config.parent.mkdir()
    config.write_text('{"mcpServers": {}}')
    assert find_carrier_config(tmp_path) == config


def test_claude_desktop_config_locations():
    home = Path("/home/me")
    name = "claude_desktop_config.json"
    mac = claude_desktop_config_path(home, {}, "darwin")
    assert mac == home / "Library" / "Application Support" / "Claude" / name
    windows = claude_desktop_config_path(home, {"APPDATA": "C:/Users/me/AppData/Roaming"}, "win32")
    assert windows == Path("C:/Users/me/AppData/Roaming/Claude") / name
    assert claude_desktop_config_path(home, {}, "linux") == home / ".config" / "Claude" / name


def test_backoff_doubles_up_to_the_cap():
    policy = BackoffPolicy()
    assert [policy.delay(n) for n in range(1, 9)] == [0.5, 1, 2, 4, 8, 16, 30, 30]
