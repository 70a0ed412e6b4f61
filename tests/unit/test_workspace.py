from __future__ import annotations

import json

import pytest

from carrier_studio import assets
from carrier_studio.core.errors import WorkspaceError
from carrier_studio.services.platform.paths import HOME_ENV, AppPaths, WorkspacePaths
from carrier_studio.services.platform.workspace import open_workspace


def test_workspace_choice_order(tmp_path):
    paths = AppPaths.under(tmp_path)
    assert paths.choose_workspace(None, {}) == paths.default_workspace
    assert paths.choose_workspace(None, {HOME_ENV: str(tmp_path / "env")}) == tmp_path / "env"
    explicit = paths.choose_workspace(str(tmp_path / "cli"), {HOME_ENV: str(tmp_path / "env")})
    assert explicit == tmp_path / "cli"


def test_first_run_seeds_examples(tmp_path):
    opened = open_workspace(tmp_path / "ws")
    assert opened.seeded
    shipped = sorted(p.name for p in assets.seed_characters_dir().glob("*.json"))
    assert shipped, "the app ships example characters"
    assert sorted(p.name for p in opened.paths.characters_dir.glob("*.json")) == shipped
    catalogue = json.loads(opened.paths.mcp_config.read_text())
    assert "filesystem" in catalogue["mcpServers"]


def test_an_existing_workspace_is_not_seeded_or_overwritten(tmp_path):
    root = tmp_path / "ws"
    root.mkdir()
    (root / "mcp_servers.json").write_text('{"mcpServers": {}}')
    opened = open_workspace(root)
    assert not opened.seeded
    assert (root / "mcp_servers.json").read_text() == '{"mcpServers": {}}'
    assert opened.paths.characters_dir.is_dir()
    assert not list(opened.paths.characters_dir.iterdir())


def test_a_carrier_checkout_is_recognised(tmp_path):
    root = tmp_path / "carrier"
    (root / "config").mkdir(parents=True)
    (root / "config" / "mcp_servers.json").write_text('{"mcpServers": {}}')
    opened = open_workspace(root)
    assert opened.paths.is_carrier_checkout
    assert opened.paths.mcp_config == root / "config" / "mcp_servers.json"
    assert not (root / "mcp_servers.json").exists()


def test_a_file_is_not_a_workspace(tmp_path):
    target = tmp_path / "notes.txt"
    target.write_text("mine")
    with pytest.raises(WorkspaceError) as info:
        open_workspace(target)
    assert info.value.path == target
    assert target.read_text() == "mine"


def test_workspace_paths_are_all_inside_the_root(tmp_path):
    paths = WorkspacePaths(tmp_path)
    for path in (paths.characters_dir, paths.env_file, paths.database, paths.trash_dir):
        assert path.parent == tmp_path
