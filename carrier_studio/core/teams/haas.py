"""Import a HAAS-style swarm: a folder with ``agents.yaml`` and one markdown file per agent.

```yaml
- name: Boss
  tools: &network [send_message, assign_task]
  talksTo: [Worker]
  channels: &desk [desk]
  instructions: boss.md
  initMessage: Find out what 6 * 7 is.
- name: Worker
  tools: *network
  talksTo: [Boss]
  channels: *desk
  instructions: worker.md
```

YAML anchors and merge keys (``<<: *defaults``) work: the file is read with PyYAML's safe loader.
Instruction files are Jinja templates rendered as HAAS renders them (core/teams/templates.py):
the folder of agents.yaml is the template folder, and the agent's own fields are the variables.
Errors name the file and the YAML line. The result is plain data (characters, a team, and per
member what the import changed); the service writes them (services/teams/service.py).
"""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from carrier_studio.core.characters.document import CharacterDoc
from carrier_studio.core.teams.model import USER, Member, Team, TeamError

if TYPE_CHECKING:  # PyYAML is imported by an import, not with the session
    import yaml

#: Tools the team runtime gives every member; listing them in agents.yaml changes nothing.
NETWORK_TOOLS = frozenset({"send_message", "broadcast", "assign_task", "resolve_task"})


@dataclass
class MemberReport:
    """What the import did to one agent on its way to becoming a character."""

    name: str
    changes: list[str] = field(default_factory=list)


@dataclass
class HaasImport:
    team: Team
    characters: list[CharacterDoc]
    notes: list[str] = field(default_factory=list)
    #: One per agent, in file order.
    members: list[MemberReport] = field(default_factory=list)


def _snake(name: str) -> str:
    """``sendMessage`` → ``send_message``: HAAS forks spell tool names either way."""
    return re.sub(r"(?<=[a-z0-9])([A-Z])", r"_\1", name).lower()


def _line(node: yaml.Node | None) -> str | None:
    return f"line {node.start_mark.line + 1}" if node is not None else None


def _key_node(mapping: yaml.Node | None, key: str) -> yaml.Node | None:
    import yaml

    if not isinstance(mapping, yaml.MappingNode):
        return None
    for key_node, value_node in mapping.value:
        if getattr(key_node, "value", None) == key:
            return value_node
    return None


def parse_agents_yaml(
    text: str,
    path: Path,
    *,
    team_name: str | None = None,
    builtin_tools: frozenset[str] = frozenset(),
) -> HaasImport:
    """Characters and a team from agents.yaml ``text`` (the file at ``path``).

    Instruction files are read and rendered from ``path``'s folder, and from nowhere else.
    """
    import yaml

    from carrier_studio.core.teams import templates

    loader = yaml.SafeLoader(text)
    try:
        root = loader.get_single_node()
        data = loader.construct_document(root) if root is not None else None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else None
        problem = getattr(exc, "problem", None) or str(exc)
        raise TeamError(f"is not valid YAML: {problem}", path=path, where=where) from exc
    finally:
        loader.dispose()
    if isinstance(data, dict) and isinstance(data.get("agents"), list):
        root = _key_node(root, "agents")
        data = data["agents"]
    if not isinstance(data, list) or not data:
        raise TeamError(
            "must be a list of agents (each with a name)", path=path, where=_line(root) or "line 1"
        )
    items = root.value if isinstance(root, yaml.SequenceNode) else [None] * len(data)
    characters: list[CharacterDoc] = []
    members: list[Member] = []
    reports: list[MemberReport] = []
    notes: list[str] = []
    init_message, entry = "", ""
    seen: set[str] = set()
    env = templates.environment(path.parent)
    name_of_team = team_name or path.parent.name or "Imported team"
    agents = copy.deepcopy(data)
    seen_names = {
        a["name"].strip() for a in data if isinstance(a, dict) and isinstance(a.get("name"), str)
    }
    for raw, node in zip(data, items, strict=False):

        def fail(message: str, key: str | None = None, _node: Any = node) -> TeamError:
            where = _line(_key_node(_node, key) if key else None) or _line(_node)
            return TeamError(message, path=path, where=where)

        if not isinstance(raw, dict):
            raise fail("each agent must be a mapping with a name")
        name = raw.get("name")
        if not isinstance(name, str) or not name.strip():
            raise fail("an agent needs a name", "name")
        name = name.strip()
        if name in seen:
            raise fail(f'the agent "{name}" is listed twice', "name")
        seen.add(name)
        lists: dict[str, list[str]] = {}
        for key in ("tools", "talksTo", "channels"):
            value = raw.get(key) or []
            if isinstance(value, str):
                value = [value]
            if isinstance(value, list):  # an alias inside a list: [calculate, *network]
                value = [v for item in value for v in (item if isinstance(item, list) else [item])]
            if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                raise fail(f"{name}'s {key} must be a list of names", key)
            lists[key] = [v.strip() for v in value if v.strip()]
        instructions = raw.get("instructions") or ""
        if not isinstance(instructions, str):
            raise fail(f"{name}'s instructions must name a markdown file", "instructions")
        report = MemberReport(name)
        system = ""
        if instructions.strip():
            # HAAS renders with the agent's own fields; ``agent``, ``agents`` and ``team`` are
            # ours, for keys that are not identifiers and for listing the other members.
            variables = {"agent": raw, "agents": agents, "team": name_of_team, **raw}
            try:
                rendered = templates.render(env, instructions.strip(), variables)
            except TeamError as exc:
                if exc.path is not None:
                    raise  # the problem is in a template: its own file and line say more
                raise fail(f"{name}'s instructions: {exc.message}", "instructions") from exc
            system = rendered.text.strip()
            if rendered.templated or rendered.included:
                included = (
                    f" (included {', '.join(rendered.included)})" if rendered.included else ""
                )
                report.changes.append(
                    f"rendered {instructions.strip()} as a Jinja template{included}"
                )
        else:
            report.changes.append("no instructions file: used a one-line default system prompt")
        message = raw.get("initMessage")
        if message is not None and not isinstance(message, str):
            raise fail(f"{name}'s initMessage must be text", "initMessage")
        if message and message.strip() and not init_message:
            init_message, entry = message.strip(), name
        doc = CharacterDoc.new(name)
        doc.data["system"] = system or f"You are {name}, a member of a team."
        doc.data["bio"] = [f"{name}: a member of an imported team."]
        # HAAS names no provider, so a member follows the workspace default; a provider left
        # in by the new-character template would now pin it to that provider instead.
        doc.data.pop("modelProvider", None)
        report.changes.append("filled the bio with a one-line default (HAAS has no bio)")
        usable: list[str] = []
        network: list[str] = []
        unknown: list[str] = []
        for tool in lists["tools"]:
            known = tool if tool in NETWORK_TOOLS | builtin_tools else _snake(tool)
            if known != tool and known in NETWORK_TOOLS | builtin_tools:
                report.changes.append(f"renamed the tool {tool} to {known}")
            if known in NETWORK_TOOLS:
                network.append(known)
            elif known in builtin_tools:
                usable.append(known)
            else:
                unknown.append(tool)
        usable = list(dict.fromkeys(usable))
        if usable:
            doc.data["tools"] = usable
        if network:
            report.changes.append(
                f"left out {', '.join(dict.fromkeys(network))}: every member gets the network "
                "tools from the team"
            )
        if unknown:
            report.changes.append(f"dropped the tools {', '.join(unknown)}: not built in")
            notes.append(
                f"{name}: the tools {', '.join(unknown)} are not built in; add an MCP server "
                "that provides them (the tool maker can write one) and list it in the character"
            )
        if not any(t in seen_names or t == USER for t in lists["talksTo"]):
            if not lists["channels"]:
                report.changes.append(
                    "talks to nobody: the end of the pipeline; it finishes tasks with "
                    "resolve_task and its answers stay in the transcript"
                )
        characters.append(doc)
        reports.append(report)
        members.append(Member(name, tuple(lists["talksTo"]), tuple(lists["channels"])))
    name = name_of_team
    team = Team(name=name, members=members, init_message=init_message, entry=entry)
    team.data = team.to_data()
    team.data["source"] = str(path)
    problems = team.problems()
    if problems:
        where, message = problems[0]
        index = int(where.split("[")[1].split("]")[0]) if where.startswith("$.members[") else 0
        node = items[index] if index < len(items) else None
        key = "talksTo" if ".talksTo" in where else "name" if ".name" in where else None
        where_line = _line(_key_node(node, key) if key else None) or _line(node)
        raise TeamError(message, path=path, where=where_line)
    if not team.entry:
        first = reports[0]
        first.changes.append("gets the user's first message (no agent has an initMessage)")
    return HaasImport(team, characters, notes, reports)
