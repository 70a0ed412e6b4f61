"""HAAS instruction files rendered as HAAS renders them: Jinja, from the team folder only."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from carrier_studio.core.teams import Team, TeamError
from carrier_studio.core.teams.haas import parse_agents_yaml

NEWSROOM = Path(__file__).parent.parent / "data" / "teams" / "newsroom"
BUILTIN = frozenset({"calculate", "current_time"})


def newsroom(tmp_path: Path) -> Path:
    folder = tmp_path / "newsroom"
    shutil.copytree(NEWSROOM, folder)
    return folder


def parse(folder: Path):
    source = folder / "agents.yaml"
    return parse_agents_yaml(source.read_text(), source, builtin_tools=BUILTIN)


def test_variables_and_includes_reach_the_model_rendered(tmp_path):
    parsed = parse(newsroom(tmp_path))
    systems = {doc.name: doc.data["system"] for doc in parsed.characters}
    editor = systems["Editor"]
    assert editor.startswith("# Editor\nYou are the editor in chief.")
    assert "We are the newsroom of a small-town paper." in editor  # the include
    assert "- Reporter: the reporter on the town beat" in editor  # a loop over agents
    assert "- Editor:" not in editor
    assert "Sign everything you write as Editor, the editor in chief." in editor
    assert "Write what the Editor asks for" in systems["Reporter"]  # talksTo[0]
    for text in systems.values():
        assert "{{" not in text and "{%" not in text


def test_the_report_says_what_changed_per_member(tmp_path):
    parsed = parse(newsroom(tmp_path))
    reports = {m.name: m.changes for m in parsed.members}
    assert list(reports) == ["Editor", "Reporter", "Publisher"]
    editor = reports["Editor"]
    assert "rendered editor.md as a Jinja template (included _mission.md, _signature.md)" in editor
    assert "renamed the tool sendMessage to send_message" in editor
    assert "renamed the tool assignTask to assign_task" in editor
    reporter = reports["Reporter"]
    assert "dropped the tools web_search: not built in" in reporter
    assert [doc.data.get("tools") for doc in parsed.characters] == [None, ["calculate"], None]
    assert any("end of the pipeline" in change for change in reports["Publisher"])
    assert all(any("bio" in change for change in changes) for changes in reports.values())


def test_a_pipeline_end_member_is_accepted_and_a_cut_off_one_is_not(tmp_path):
    parsed = parse(newsroom(tmp_path))
    assert parsed.team.member("Publisher").talks_to == ()
    assert parsed.team.problems() == []
    data = parsed.team.to_data()
    data["members"].append({"name": "Hermit"})
    with pytest.raises(TeamError) as caught:
        Team.from_data(data)
    assert "Hermit is cut off" in caught.value.message


def test_a_missing_variable_names_the_file_and_the_variable(tmp_path):
    folder = newsroom(tmp_path)
    # An included file uses a field the Publisher does not have in agents.yaml.
    (folder / "_desk.md").write_text("Mission first.\nYou work the {{ beat }} desk.\n")
    (folder / "publisher.md").write_text("# {{ name }}\n{% include '_desk.md' %}\n")
    with pytest.raises(TeamError) as caught:
        parse(folder)
    error = caught.value
    assert error.path == folder / "_desk.md"
    assert "'beat' is undefined" in error.message
    assert error.where == "line 2"


def test_includes_cannot_leave_the_team_folder(tmp_path):
    folder = newsroom(tmp_path)
    (tmp_path / "secret.md").write_text("the user's private notes")
    (folder / "publisher.md").write_text('{% include "../secret.md" %}\n')
    with pytest.raises(TeamError) as caught:
        parse(folder)
    assert "not in the team folder" in caught.value.message

    (folder / "link.md").symlink_to(tmp_path / "secret.md")
    (folder / "publisher.md").write_text('{% include "link.md" %}\n')
    with pytest.raises(TeamError) as caught:
        parse(folder)
    assert "outside the team folder" in caught.value.message
    assert "private notes" not in str(caught.value)


def test_templates_are_sandboxed(tmp_path):
    folder = newsroom(tmp_path)
    (folder / "publisher.md").write_text("{{ name.__class__.__mro__[1].__subclasses__() }}\n")
    with pytest.raises(TeamError) as caught:
        parse(folder)
    assert caught.value.path == folder / "publisher.md"


def test_a_syntax_error_names_the_file_and_line(tmp_path):
    folder = newsroom(tmp_path)
    (folder / "_mission.md").write_text("fine\n{% if %}\n")
    with pytest.raises(TeamError) as caught:
        parse(folder)
    assert caught.value.path == folder / "_mission.md"
    assert caught.value.where == "line 2"
