"""Planning an import from Claude Desktop, Cursor or VS Code: names, secrets, what cannot work."""

from __future__ import annotations

import json
from pathlib import Path

from carrier_studio.core.mcp.config import Catalogue
from carrier_studio.core.mcp.importing import (
    check_choices,
    config_locations,
    looks_like_key,
    plan_import,
    read_client_config,
    suggest_name,
)

DATA = Path(__file__).parent.parent / "data" / "mcp"
CLAUDE = DATA / "claude_desktop_config.json"
GITHUB_TOKEN = "ghp_R8xTq2LmV9sKd4Wn7YbZ1cHf6JpA3eUo5GiN"


def claude_servers():
    return read_client_config(CLAUDE.read_text(), CLAUDE)


def by_name(plan):
    return {c.source_name: c for c in plan}


def test_every_server_is_read_and_its_keys_kept():
    servers = claude_servers()
    assert list(servers) == [
        "filesystem",
        "github",
        "brave-search",
        "postgres",
        "sequential-thinking",
    ]
    assert servers["postgres"]["enabled"] is False and "disabled" not in servers["postgres"]
    vscode = read_client_config((DATA / "vscode_mcp.json").read_text())
    assert vscode["remote"] == {"type": "http", "url": "https://mcp.example.com/mcp"}


def test_a_name_clash_offers_rename_replace_or_skip():
    existing = ["filesystem", "filesystem-2", "time"]
    skip = by_name(plan_import(claude_servers(), existing))
    assert skip["filesystem"].clash and skip["filesystem"].action == "skip"
    assert skip["filesystem"].suggested == "filesystem-3"
    assert skip["github"].action == "add" and not skip["github"].clash

    renamed = by_name(plan_import(claude_servers(), existing, on_clash="rename"))
    assert renamed["filesystem"].action == "rename" and renamed["filesystem"].name == "filesystem-3"
    replaced = by_name(plan_import(claude_servers(), existing, on_clash="replace"))
    assert replaced["filesystem"].name == "filesystem"
    assert check_choices(list(replaced.values()), existing) == []

    # A rename onto a taken name is caught before anything is written.
    renamed["filesystem"].choose("rename", "time")
    assert check_choices(list(renamed.values()), existing) == [
        "filesystem: time is already in the catalogue"
    ]
    assert suggest_name("x", ["x", "x-2"]) == "x-3"


def test_secrets_are_found_by_name_or_by_shape_and_become_variables():
    plan = by_name(plan_import(claude_servers(), [], move_secrets=True))
    github = plan["github"]
    assert [(m.key, m.variable, m.reason) for m in github.secrets] == [
        (
            "GITHUB_PERSONAL_ACCESS_TOKEN",
            "GITHUB_PERSONAL_ACCESS_TOKEN",
            "its name says it is secret",
        )
    ]
    assert github.final_raw()["env"] == {
        "GITHUB_PERSONAL_ACCESS_TOKEN": "${GITHUB_PERSONAL_ACCESS_TOKEN}"
    }
    assert github.stored_secrets() == {"GITHUB_PERSONAL_ACCESS_TOKEN": GITHUB_TOKEN}
    assert GITHUB_TOKEN not in json.dumps(github.final_raw())
    postgres = plan["postgres"]
    # Not secret by name, but shaped like a token; a user name and a log level are neither.
    assert [m.key for m in postgres.secrets] == ["CONNECTION_ID"]
    assert postgres.secrets[0].reason == "its value looks like a key"
    # Left as written when the user does not move them.
    kept = by_name(plan_import(claude_servers(), []))["github"]
    assert kept.final_raw()["env"]["GITHUB_PERSONAL_ACCESS_TOKEN"] == GITHUB_TOKEN
    assert kept.stored_secrets() == {}


def test_a_moved_secret_never_takes_the_name_of_a_different_stored_one():
    stored = {"BRAVE_API_KEY": "someone else's key"}
    plan = by_name(plan_import(claude_servers(), [], move_secrets=True, stored=stored.get))
    assert plan["brave-search"].secrets[0].variable == "BRAVE_SEARCH_BRAVE_API_KEY"
    same = {"BRAVE_API_KEY": "BSAk2v9Qx7LmT4rZp1YwN8cJd6FhS3gUe"}
    plan = by_name(plan_import(claude_servers(), [], move_secrets=True, stored=same.get))
    assert plan["brave-search"].secrets[0].variable == "BRAVE_API_KEY"


def test_paths_that_cannot_exist_here_are_flagged():
    linux = by_name(plan_import(claude_servers(), [], platform="linux", which=lambda c: None))
    warnings = linux["filesystem"].warnings
    assert any("args[3]" in w and "Windows path" in w for w in warnings)
    assert any("'npx' is not installed" in w for w in warnings)
    windows = by_name(plan_import(claude_servers(), [], platform="win32"))
    assert any("args[2]" in w and "macOS/Linux path" in w for w in windows["filesystem"].warnings)


def test_the_plan_writes_a_valid_catalogue():
    catalogue = Catalogue.empty()
    for candidate in plan_import(claude_servers(), [], move_secrets=True):
        catalogue.put(candidate.name, candidate.final_raw())
    catalogue.check()
    assert catalogue.servers["postgres"].enabled is False


def test_key_shapes():
    assert looks_like_key(GITHUB_TOKEN)
    assert looks_like_key("sk-proj-abcdefghijklmnop1234")
    assert not looks_like_key("${GITHUB_TOKEN}")
    assert not looks_like_key("/Users/dana/Desktop/projects/2024")
    assert not looks_like_key("info")


def test_the_usual_locations(tmp_path):
    found = {
        loc.label: loc.path
        for loc in config_locations(tmp_path, {}, "linux", project=tmp_path / "p")
    }
    assert found["Claude Desktop"] == tmp_path / ".config/Claude/claude_desktop_config.json"
    assert found["Cursor"] == tmp_path / ".cursor/mcp.json"
    assert found["VS Code (this folder)"] == tmp_path / "p/.vscode/mcp.json"
    mac = config_locations(tmp_path, {}, "darwin")[0].path
    assert mac == tmp_path / "Library/Application Support/Claude/claude_desktop_config.json"
