"""Teams in a workspace: team files, HAAS import, and running a team on the agents SDK.

Each member is an `agents.Agent` built by the `AgentFactory` from its character, with the four
network tools added (core/teams/tools.py). Turns run one at a time: the next delivery in the
queue, answered by its recipient through a `ChatSession` that keeps that member's own history.
Every event is stored in studio.db as it passes (team_runs, team_events) and handed to the
listeners, so the page can light an edge the moment a message is sent.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import apsw

from carrier_studio.core.characters.document import CharacterError
from carrier_studio.core.teams.events import TeamEvent
from carrier_studio.core.teams.haas import HaasImport, MemberReport, parse_agents_yaml
from carrier_studio.core.teams.model import Team, TeamError
from carrier_studio.core.teams.network import Stop
from carrier_studio.services.characters import CharacterStore, slugify
from carrier_studio.services.platform.db import Database
from carrier_studio.services.platform.files import atomic_write_text
from carrier_studio.services.platform.secrets import SecretStore
from carrier_studio.services.platform.settings_store import SettingsStore

if TYPE_CHECKING:
    from carrier_studio.core.settings import ModelChoice
    from carrier_studio.services.mcp import McpManager
    from carrier_studio.services.teams.runner import TeamRunner

#: Larger files are refused, like characters: a team file is a few kB.
MAX_BYTES = 1_000_000


@dataclass(frozen=True)
class TeamEntry:
    """One file in the teams folder: its team, or why it could not be read."""

    path: Path
    team: Team | None
    error: TeamError | None = None

    @property
    def name(self) -> str:
        return self.team.name if self.team else self.path.stem


@dataclass
class ImportResult:
    team: Team
    path: Path
    created: list[str] = field(default_factory=list)
    #: Characters that already existed and were kept as they were.
    kept: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    #: Per member, what the import changed (rendered template, tools, defaults).
    members: list[MemberReport] = field(default_factory=list)


@dataclass(frozen=True)
class RunSummary:
    id: int
    team: str
    started_at: str
    status: str
    reason: str
    turns: int


def read_team(path: Path) -> Team:
    try:
        if path.stat().st_size > MAX_BYTES:
            raise TeamError("is too large for a team file", path=path)
        text = path.read_bytes().decode("utf-8-sig")
    except OSError as exc:
        raise TeamError(f"cannot be read ({exc.strerror})", path=path) from exc
    except UnicodeDecodeError as exc:
        raise TeamError("is not UTF-8 text", path=path) from exc
    return Team.from_text(text, path)


class TeamService:
    """The workspace's teams: files in ``folder``, runs in studio.db."""

    def __init__(
        self,
        folder: Path,
        characters: CharacterStore,
        settings: SettingsStore,
        secrets: SecretStore,
        database: Database,
        mcp: McpManager | None = None,
        windows: Callable[[ModelChoice], Awaitable[dict[str, int]]] | None = None,
    ) -> None:
        self.folder = folder
        self.characters = characters
        self.settings = settings
        self.secrets = secrets
        self.db = database
        self.mcp = mcp
        #: The context windows a model's server states (`ChatService.context_windows`, kept
        #: per endpoint and model for the chat, the bot and teams alike); None asks the
        #: server at each run (`windows_for`).
        self.windows = windows

    # -- files -----------------------------------------------------------------------------

    def list(self) -> list[TeamEntry]:
        entries = []
        for path in sorted(self.folder.glob("*.json")):
            try:
                entries.append(TeamEntry(path, read_team(path)))
            except TeamError as exc:
                entries.append(TeamEntry(path, None, exc))
        return sorted(entries, key=lambda e: e.name.lower())

    async def teams(self) -> list[TeamEntry]:
        return await asyncio.to_thread(self.list)

    async def load(self, name: str) -> Team:
        for entry in await self.teams():
            if entry.name == name:
                if entry.team is None:
                    raise entry.error  # type: ignore[misc]
                return entry.team
        raise TeamError(f'there is no team called "{name}"', path=self.folder)

    def path_for(self, team: Team) -> Path:
        for entry in self.list():
            if entry.team is not None and entry.team.name == team.name:
                return entry.path
        base = slugify(team.name)
        candidate, counter = self.folder / f"{base}.json", 2
        while candidate.exists():
            candidate, counter = self.folder / f"{base}-{counter}.json", counter + 1
        return candidate

    async def save(self, team: Team, *, previous: str | None = None) -> Path:
        """Write the team (atomically; keys the studio does not know are kept).

        With ``previous`` (the builder's new team is ``""``, an edited one its name before the
        edit) the file of ``previous`` is replaced, and another team's name is refused rather
        than written over that team's file. Without it, the team's own file is replaced."""
        problems = team.problems()
        if problems:
            where, message = problems[0]
            raise TeamError(f"was not saved: {message}", where=where)

        def write() -> Path:
            if previous is None:
                path = self.path_for(team)
            else:
                by_name = {e.name: e.path for e in self.list()}
                if team.name != previous and team.name in by_name:
                    raise TeamError(
                        f'was not saved: there is already a team called "{team.name}"',
                        path=by_name[team.name],
                        where="$.name",
                    )
                path = by_name.get(previous) or self.path_for(team)
            atomic_write_text(path, team.to_text())
            return path

        return await asyncio.to_thread(write)

    async def character_names(self) -> list[str]:
        """The workspace's characters, the members a team can have (read off the loop)."""
        return await asyncio.to_thread(self.characters.names)

    async def import_haas(self, folder: Path, team_name: str | None = None) -> ImportResult:
        """Characters and a team from ``folder/agents.yaml``. Existing characters are kept
        (and listed in ``kept``), never overwritten; the team gets a free file name."""
        from carrier_studio.core.runtime.tools import BUILTIN_TOOLS

        source = folder / "agents.yaml"
        if not source.is_file():
            alt = folder / "agents.yml"
            source = alt if alt.is_file() else source

        def run() -> ImportResult:
            if not source.is_file():
                raise TeamError("has no agents.yaml", path=folder)
            text = source.read_text("utf-8-sig")
            # The instruction files are rendered from agents.yaml's folder and nowhere else
            # (core/teams/templates.py guards includes and symlinks).
            parsed: HaasImport = parse_agents_yaml(
                text, source, team_name=team_name, builtin_tools=frozenset(BUILTIN_TOOLS)
            )
            existing = set(self.characters.names())
            result = ImportResult(
                parsed.team, Path(), notes=list(parsed.notes), members=parsed.members
            )
            for doc, report in zip(parsed.characters, parsed.members, strict=True):
                if doc.name in existing:
                    result.kept.append(doc.name)
                    # Nothing of the import reached the existing character, so its
                    # changes would only mislead.
                    report.changes[:] = ["kept your existing character as it was"]
                    continue
                try:
                    self.characters.create(doc)
                except CharacterError as exc:
                    raise TeamError(
                        f"the character {doc.name} could not be created: {exc}", path=source
                    ) from exc
                result.created.append(doc.name)
            if result.kept:
                result.notes.insert(
                    0,
                    f"kept your existing character(s) {', '.join(result.kept)} as they were "
                    "(not overwritten by the import)",
                )
            taken = {e.name for e in self.list()}
            name, counter = parsed.team.name, 2
            while name in taken:
                name, counter = f"{parsed.team.name} {counter}", counter + 1
            parsed.team.name = name
            result.path = self.path_for(parsed.team)
            atomic_write_text(result.path, parsed.team.to_text())
            return result

        return await asyncio.to_thread(run)

    # -- transcripts -----------------------------------------------------------------------

    async def runs(self, team: str) -> list[RunSummary]:
        def read(conn: apsw.Connection) -> list[RunSummary]:
            rows = conn.execute(
                "SELECT id, team, started_at, status, reason, turns FROM team_runs"
                " WHERE team = ? ORDER BY id DESC",
                (team,),
            )
            return [RunSummary(*row) for row in rows]

        return await self.db.run(read)

    async def transcript(self, run_id: int) -> list[TeamEvent]:
        def read(conn: apsw.Connection) -> list[TeamEvent]:
            rows = conn.execute(
                "SELECT kind, sender, recipients, content, turn, meta FROM team_events"
                " WHERE run_id = ? ORDER BY id",
                (run_id,),
            )
            return [
                TeamEvent(k, s, tuple(json.loads(r)), c, t, json.loads(m))
                for k, s, r, c, t, m in rows
            ]

        return await self.db.run(read)

    async def _new_run(self, team: Team) -> int:
        def insert(conn: apsw.Connection) -> int:
            conn.execute(
                "INSERT INTO team_runs (team, team_json) VALUES (?, ?)",
                (team.name, json.dumps(team.to_data())),
            )
            return conn.last_insert_rowid()

        return await self.db.run(insert)

    async def record_event(self, run_id: int, event: TeamEvent) -> None:
        """Store one event of a run (the Teams page replays a run from these), redacted with
        the workspace's redactor: a member may repeat a key it was shown, or a provider error
        echo one."""
        redact = self.secrets.redactor.redact

        def insert(conn: apsw.Connection) -> None:
            conn.execute(
                "INSERT INTO team_events (run_id, turn, kind, sender, recipients, content, meta)"
                " VALUES (?, ?, ?, ?, ?, ?, ?)",
                (
                    run_id,
                    event.turn,
                    event.kind,
                    event.sender,
                    json.dumps(list(event.recipients)),
                    redact(event.text),
                    redact(json.dumps(event.meta, default=str)),
                ),
            )

        await self.db.run(insert)

    async def finish_run(self, run_id: int, stop: Stop, turns: int) -> None:
        """Record how and when a run ended."""

        reason = self.secrets.redactor.redact(stop.reason)

        def update(conn: apsw.Connection) -> None:
            conn.execute(
                "UPDATE team_runs SET status = ?, reason = ?, turns = ?,"
                " ended_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now') WHERE id = ?",
                (stop.kind, reason, turns, run_id),
            )

        await self.db.run(update)

    # -- running ---------------------------------------------------------------------------

    async def context_windows(self, choice: ModelChoice) -> dict[str, int]:
        """The context windows the server ``choice`` runs on states, by model id; {} when it
        states none or cannot be asked (the run then counts the known or default size)."""
        if self.windows is not None:
            return await self.windows(choice)
        from carrier_studio.services.providers import windows_for

        try:
            return await windows_for(choice, self.settings.settings.providers, self.secrets)
        except Exception:  # noqa: BLE001 - a window unknown is a guess, never a failed run
            return {}

    def runner(self, team: Team) -> TeamRunner:
        from carrier_studio.services.teams.runner import TeamRunner

        return TeamRunner(self, team)
