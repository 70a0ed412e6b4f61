from __future__ import annotations

import json
from pathlib import Path

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


def _git(root, *args: str) -> str:
    import subprocess

    return subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@example.com", *args],
        cwd=root,
        check=True,
        capture_output=True,
        text=True,
    ).stdout


def carrier_checkout(root) -> None:
    """The layout of a Carrier checkout: its own config, characters (one retired), a .gitignore
    that knows nothing of the studio, all committed."""
    (root / "config").mkdir(parents=True)
    (root / "config" / "mcp_servers.json").write_text(
        json.dumps(
            {"mcpServers": {"time": {"command": "uvx", "args": ["mcp-server-time"]}}}, indent=2
        )
    )
    (root / "characters" / "retired").mkdir(parents=True)
    for path, name in (
        ("characters/nova.json", "Nova"),
        ("characters/retired/old_nova.json", "Old Nova"),
    ):
        (root / path).write_text(
            json.dumps({"name": name, "clients": ["Discord"], "bio": [f"{name}, a bot."]})
        )
    (root / "src").mkdir()
    (root / "src" / "main.py").write_text("print('carrier')\n")
    (root / ".gitignore").write_text("__pycache__/\n.env\n")
    _git(root, "init", "-q")
    _git(root, "add", ".")
    _git(root, "commit", "-q", "-m", "carrier")


def test_opening_and_using_a_carrier_checkout_leaves_its_git_status_clean(
    tmp_path, app_paths, keyring_backend
):
    import asyncio

    from carrier_studio.core.characters.document import CharacterDoc
    from carrier_studio.services.teams.service import TeamService
    from carrier_studio.session import Session

    root = tmp_path / "carrier"
    carrier_checkout(root)
    teams = Path(__file__).parent.parent / "data" / "teams"

    async def use() -> None:
        session = Session.build(app_paths, str(root), keyring_backend=keyring_backend, environ={})
        await session.start(instagram=False)
        try:
            assert session.database_error is None
            # Characters the user makes are the user's files (characters/ is theirs to commit);
            # deleting one sends it to the studio's trash, which is the studio's own.
            path, _stamp = session.characters.create(CharacterDoc.new("Scratch"))
            session.characters.delete(path)
            paths = session.workspace.paths
            service = TeamService(
                paths.teams_dir,
                session.characters,
                session.settings,
                session.secrets,
                session.database,
            )
            await service.import_haas(teams / "desk")
        finally:
            await session.stop()

    asyncio.run(use())
    paths = WorkspacePaths(root)
    assert paths.database == root / ".carrier-studio" / "studio.db"
    assert paths.database.is_file() and (paths.teams_dir / "desk.json").is_file()
    assert list(paths.trash_dir.iterdir())
    # Only the characters the user made show; nothing of the studio's own.
    status = _git(root, "status", "--porcelain", "--untracked-files=all").splitlines()
    assert status == ["?? characters/boss.json", "?? characters/worker.json"]


def test_a_workspace_that_already_has_studio_files_keeps_them_where_they_are(tmp_path):
    root = tmp_path / "carrier"
    carrier_checkout(root)
    (root / "studio.db").write_bytes(b"")
    (root / "teams").mkdir()
    opened = open_workspace(root)
    assert opened.paths.database == root / "studio.db"
    assert opened.paths.teams_dir == root / "teams"
    assert opened.paths.trash_dir == root / ".carrier-studio" / "trash"


def test_a_workspace_the_studio_made_keeps_its_files_in_the_root(tmp_path):
    opened = open_workspace(tmp_path / "ws")
    assert opened.paths.database == tmp_path / "ws" / "studio.db"
    assert opened.paths.teams_dir == tmp_path / "ws" / "teams"
    assert not opened.paths.studio_dir.exists()
