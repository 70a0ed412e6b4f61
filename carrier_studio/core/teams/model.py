"""A team as data: members, who talks to whom, channels, the first message and a turn budget.

A team file (``teams/<name>.json``) is the user's own, like a character: it is read with
errors that name the file and the JSON path, and written back with every key the studio does not
know kept as it was.

```json
{"version": 1, "name": "Research desk",
 "members": [{"name": "Boss", "talksTo": ["Worker"], "channels": ["desk"]},
             {"name": "Worker", "talksTo": ["Boss"], "channels": ["desk"]}],
 "initMessage": "Find out what 6 * 7 is.", "entry": "Boss", "turnBudget": 30}
```

Members are character names. ``USER`` is the person at the keyboard: it may speak to any member;
the entry member (who gets the first message) may answer it, and so may members that list it in
``talksTo``.
"""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from carrier_studio.core.errors import CarrierError
from carrier_studio.core.jsonfile import parse_json

TEAM_VERSION = 1
USER = "USER"
DEFAULT_TURN_BUDGET = 30
#: The loop guard's defaults: the same message this many times, or this many turns in a row
#: with no task assigned or resolved and nothing said to the user, stops the team.
DEFAULT_REPEAT_LIMIT = 3
DEFAULT_STALL_TURNS = 12


class TeamError(CarrierError):
    """A team file or an agents.yaml is invalid, or a team cannot run as asked."""


def _json_type(value: Any) -> str:
    return {
        dict: "an object",
        list: "a list",
        str: "a string",
        bool: "true/false",
        int: "a number",
        float: "a number",
        type(None): "null",
    }.get(type(value), type(value).__name__)


@dataclass(frozen=True)
class Member:
    name: str
    talks_to: tuple[str, ...] = ()
    channels: tuple[str, ...] = ()


@dataclass
class Team:
    """A team; ``data`` is the file as read, so unknown keys survive a save."""

    name: str
    members: list[Member]
    init_message: str = ""
    entry: str = ""
    turn_budget: int = DEFAULT_TURN_BUDGET
    repeat_limit: int = DEFAULT_REPEAT_LIMIT
    stall_turns: int = DEFAULT_STALL_TURNS
    data: dict[str, Any] = field(default_factory=dict)

    # -- reads -----------------------------------------------------------------------------

    def member(self, name: str) -> Member | None:
        return next((m for m in self.members if m.name == name), None)

    @property
    def names(self) -> list[str]:
        return [m.name for m in self.members]

    @property
    def entry_member(self) -> str:
        """Who gets the first message: ``entry``, else the first member."""
        return self.entry or (self.members[0].name if self.members else "")

    def channels(self) -> dict[str, list[str]]:
        """Every channel with its members, in first-seen order."""
        found: dict[str, list[str]] = {}
        for member in self.members:
            for channel in member.channels:
                found.setdefault(channel, []).append(member.name)
        return found

    def links(self) -> list[tuple[str, str]]:
        """Every (sender, recipient) pair the team allows, USER included."""
        pairs = [(m.name, t) for m in self.members for t in m.talks_to]
        if self.entry_member and (self.entry_member, USER) not in pairs:
            pairs.append((self.entry_member, USER))
        return pairs

    # -- reading and writing ---------------------------------------------------------------

    @classmethod
    def from_data(cls, data: Any, path: Path | None = None) -> Team:
        """A team from its JSON object; `TeamError` names the first problem's JSON path."""
        if not isinstance(data, dict):
            raise TeamError(f"a team must be a JSON object, not {_json_type(data)}", path=path)
        version = data.get("version", TEAM_VERSION)
        if not isinstance(version, int) or isinstance(version, bool) or version > TEAM_VERSION:
            raise TeamError(
                f"was written by a newer Carrier Studio (version {version!r})",
                path=path,
                where="$.version",
                hint="Update Carrier Studio to open this team.",
            )
        name = data.get("name")
        if not isinstance(name, str) or not name.strip():
            raise TeamError("a team needs a name", path=path, where="$.name")
        raw_members = data.get("members")
        if not isinstance(raw_members, list) or not raw_members:
            raise TeamError("a team needs a list of members", path=path, where="$.members")
        members = [_member(raw, f"$.members[{i}]", path) for i, raw in enumerate(raw_members)]
        team = cls(
            name=name.strip(),
            members=members,
            init_message=_string(data, "initMessage", path),
            entry=_string(data, "entry", path),
            turn_budget=_count(data, "turnBudget", DEFAULT_TURN_BUDGET, path),
            repeat_limit=_count(data, "repeatLimit", DEFAULT_REPEAT_LIMIT, path),
            stall_turns=_count(data, "stallTurns", DEFAULT_STALL_TURNS, path),
            data=copy.deepcopy(data),
        )
        problems = team.problems()
        if problems:
            where, message = problems[0]
            raise TeamError(message, path=path, where=where)
        return team

    @classmethod
    def from_text(cls, text: str, path: Path | None = None) -> Team:
        return cls.from_data(parse_json(text, path=path, error=TeamError), path)

    def to_data(self) -> dict[str, Any]:
        """The file's JSON: known keys from the fields, every other key as it was read."""
        data = copy.deepcopy(self.data)
        data["version"] = TEAM_VERSION
        data["name"] = self.name
        old_members = {m.get("name"): m for m in data.get("members", []) if isinstance(m, dict)}
        members = []
        for member in self.members:
            raw = dict(old_members.get(member.name, {}))
            raw.update(
                {
                    "name": member.name,
                    "talksTo": list(member.talks_to),
                    "channels": list(member.channels),
                }
            )
            members.append(raw)
        data["members"] = members
        for key, value, default in (
            ("initMessage", self.init_message, ""),
            ("entry", self.entry, ""),
            ("turnBudget", self.turn_budget, None),
            ("repeatLimit", self.repeat_limit, DEFAULT_REPEAT_LIMIT),
            ("stallTurns", self.stall_turns, DEFAULT_STALL_TURNS),
        ):
            if value != default or key in data:
                data[key] = value
        return data

    def to_text(self) -> str:
        return json.dumps(self.to_data(), indent=2, ensure_ascii=False) + "\n"

    # -- checks ----------------------------------------------------------------------------

    def problems(self, characters: list[str] | None = None) -> list[tuple[str, str]]:
        """(JSON path, message) for everything that stops the team from running; with
        ``characters``, members that name no character of the workspace too."""
        found: list[tuple[str, str]] = []
        names = self.names
        receivers = {t for m in self.members for t in m.talks_to}
        seen: set[str] = set()
        for i, member in enumerate(self.members):
            base = f"$.members[{i}]"
            if member.name == USER:
                found.append((f"{base}.name", f'"{USER}" is the person at the keyboard'))
            if member.name in seen:
                found.append((f"{base}.name", f'"{member.name}" is in the team twice'))
            seen.add(member.name)
            if characters is not None and member.name not in characters:
                found.append((f"{base}.name", f'there is no character called "{member.name}"'))
            for j, target in enumerate(member.talks_to):
                where = f"{base}.talksTo[{j}]"
                if target == member.name:
                    found.append((where, f"{member.name} cannot talk to itself"))
                elif target != USER and target not in names:
                    found.append(
                        (where, f'{member.name} talks to "{target}", who is not in the team')
                    )
            # A member that talks to nobody is fine when someone can reach it: it is the end of
            # a pipeline. It still finishes what it is given, because resolve_task sends the
            # result back to whoever assigned the task whatever talksTo says
            # (network.TeamNetwork.resolve), and what it says without a tool is kept in the
            # transcript as the team's output; the run then finishes when nobody has a message
            # left. Only a member nobody reaches and who reaches nobody is cut off: nothing
            # but the user could ever start it, and it could answer no one.
            reaches = any(t in names or t == USER for t in member.talks_to)
            reached = member.name in receivers
            if not reaches and not reached and not member.channels:
                if member.name != self.entry_member:
                    found.append(
                        (
                            f"{base}.talksTo",
                            f"{member.name} is cut off: nobody talks to it, it talks to "
                            "nobody and is in no channel",
                        )
                    )
        if self.entry and self.entry not in names:
            found.append(("$.entry", f'the entry "{self.entry}" is not a member'))
        if self.turn_budget < 1:
            found.append(("$.turnBudget", "the turn budget must be at least 1"))
        return found


def _string(data: dict[str, Any], key: str, path: Path | None) -> str:
    value = data.get(key, "")
    if value is None:
        return ""
    if not isinstance(value, str):
        raise TeamError(f"must be text, not {_json_type(value)}", path=path, where=f"$.{key}")
    return value


def _count(data: dict[str, Any], key: str, default: int, path: Path | None) -> int:
    value = data.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise TeamError(
            f"must be a whole number from 1, not {json.dumps(value)}", path=path, where=f"$.{key}"
        )
    return value


def _names(raw: dict[str, Any], key: str, where: str, path: Path | None) -> tuple[str, ...]:
    value = raw.get(key) or []
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        raise TeamError("must be a list of names", path=path, where=f"{where}.{key}")
    return tuple(dict.fromkeys(v.strip() for v in value))


def _member(raw: Any, where: str, path: Path | None) -> Member:
    if isinstance(raw, str):
        raw = {"name": raw}
    if not isinstance(raw, dict):
        raise TeamError(
            f"a member must be an object, not {_json_type(raw)}", path=path, where=where
        )
    name = raw.get("name")
    if not isinstance(name, str) or not name.strip():
        raise TeamError("a member needs a name", path=path, where=f"{where}.name")
    return Member(
        name.strip(),
        _names(raw, "talksTo", where, path),
        tuple(c.lstrip("#") for c in _names(raw, "channels", where, path)),
    )
