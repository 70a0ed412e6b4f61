"""`carrier-studio mcp import | list` on a real-looking Claude Desktop config."""

from __future__ import annotations

import io
import json
import shutil
from pathlib import Path

import pytest

from carrier_studio.cli import build_parser
from carrier_studio.mcp_cli import run_mcp
from carrier_studio.services.platform.paths import AppPaths

DATA = Path(__file__).parent.parent / "data" / "mcp"
GITHUB_TOKEN = "ghp_R8xTq2LmV9sKd4Wn7YbZ1cHf6JpA3eUo5GiN"
BRAVE_KEY = "BSAk2v9Qx7LmT4rZp1YwN8cJd6FhS3gUe"


@pytest.fixture
def studio(tmp_path, keyring_backend):
    workspace = tmp_path / "ws"
    workspace.mkdir()
    (workspace / "mcp_servers.json").write_text(
        json.dumps(
            {
                "version": 1,
                "mcpServers": {
                    "filesystem": {"command": "npx", "args": ["-y", "x", "/srv"]},
                    "time": {"command": "uvx", "args": ["mcp-server-time"]},
                },
            },
            indent=2,
        )
    )
    claude = tmp_path / "claude_desktop_config.json"
    shutil.copy(DATA / "claude_desktop_config.json", claude)

    def run(*argv: str) -> tuple[int, str, str]:
        args = build_parser().parse_args(["--workspace", str(workspace), "mcp", *argv])
        out, err = io.StringIO(), io.StringIO()
        code = run_mcp(
            args,
            out,
            err,
            app_paths=AppPaths.under(tmp_path / "user"),
            keyring_backend=keyring_backend,
            environ={},
        )
        return code, out.getvalue(), err.getvalue()

    return run, workspace / "mcp_servers.json", claude


def test_import_renames_a_clash_and_moves_secrets_to_the_keyring(studio, keyring_backend):
    run, catalogue, claude = studio
    code, out, err = run("import", str(claude), "--rename", "--move-secrets")
    assert code == 0, err
    text = catalogue.read_text()
    data = json.loads(text)
    assert list(data["mcpServers"]) == [
        "filesystem",
        "time",
        "filesystem-2",
        "github",
        "brave-search",
        "postgres",
        "sequential-thinking",
    ]
    assert data["mcpServers"]["filesystem"]["args"][-1] == "/srv"  # the old one is untouched
    assert data["mcpServers"]["github"]["env"] == {
        "GITHUB_PERSONAL_ACCESS_TOKEN": "${GITHUB_PERSONAL_ACCESS_TOKEN}"
    }
    # Never in plain text once moved: not in the file, not in the workspace .env.
    assert GITHUB_TOKEN not in text and BRAVE_KEY not in text
    assert not (catalogue.parent / ".env").exists()
    assert keyring_backend.get_password("carrier-studio", "GITHUB_PERSONAL_ACCESS_TOKEN") == (
        GITHUB_TOKEN
    )
    assert keyring_backend.get_password("carrier-studio", "BRAVE_API_KEY") == BRAVE_KEY
    assert "filesystem: added as filesystem-2 (the name was taken)" in out
    assert "GITHUB_PERSONAL_ACCESS_TOKEN → ${GITHUB_PERSONAL_ACCESS_TOKEN}" in out
    assert "Windows path" in out  # C:\Users\dana\Downloads cannot exist here


def test_without_choices_a_clash_is_skipped_and_secrets_stay_with_a_note(studio):
    run, catalogue, claude = studio
    code, out, _ = run("import", str(claude))
    assert code == 0
    data = json.loads(catalogue.read_text())
    assert "filesystem-2" not in data["mcpServers"]
    assert data["mcpServers"]["github"]["env"]["GITHUB_PERSONAL_ACCESS_TOKEN"] == GITHUB_TOKEN
    assert "filesystem: skipped, the name is taken" in out
    assert "look secret and stay in plain text (--move-secrets)" in out


def test_replace_puts_the_imported_server_in_place(studio):
    run, catalogue, claude = studio
    assert run("import", str(claude), "--replace")[0] == 0
    data = json.loads(catalogue.read_text())
    assert list(data["mcpServers"])[:2] == ["filesystem", "time"]
    assert data["mcpServers"]["filesystem"]["args"][1] == "@modelcontextprotocol/server-filesystem"


def test_moving_secrets_without_a_keyring_writes_nothing(studio, tmp_path):
    run, catalogue, claude = studio
    before = catalogue.read_text()
    settings = tmp_path / "user" / "config" / "settings.json"
    settings.parent.mkdir(parents=True)
    settings.write_text(json.dumps({"secrets": {"storage": "dotenv"}}))
    code, _, err = run("import", str(claude), "--move-secrets")
    assert code == 1 and "needs the OS keyring" in err
    assert catalogue.read_text() == before


def test_list_shows_servers_and_lint(studio, tmp_path):
    run, catalogue, _ = studio
    shutil.copy(DATA / "windows_mcp_servers.json", catalogue)
    code, out, _ = run("list")
    assert code == 0
    assert "  github  [on ] stdio: npx -y @modelcontextprotocol/server-github" in out
    assert (
        "warning: $.mcpServers.github.env.GITHUB_PERSONAL_ACCESS_TOKEN: github: '<your-token>' "
        "looks like a placeholder" in out
    )
    assert "${WEATHER_KEY} is not set" in out
