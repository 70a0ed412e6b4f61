"""The team model, routing rules and guards, without a model or a network."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from carrier_studio.core.teams import USER, Team, TeamError, TeamNetwork
from carrier_studio.core.teams.haas import parse_agents_yaml

TEAM = {
    "version": 1,
    "name": "Desk",
    "members": [
        {"name": "Boss", "talksTo": ["Worker"], "channels": ["desk"], "x-colour": "red"},
        {"name": "Worker", "talksTo": ["Boss"], "channels": ["desk"]},
        {"name": "Critic", "channels": ["desk"]},
    ],
    "initMessage": "Go.",
    "turnBudget": 10,
    "x-notes": {"kept": True},
}


def test_unknown_keys_survive_a_round_trip():
    team = Team.from_data(json.loads(json.dumps(TEAM)))
    team.turn_budget = 12
    data = team.to_data()
    assert data["x-notes"] == {"kept": True}
    assert data["members"][0]["x-colour"] == "red"
    assert data["turnBudget"] == 12
    assert Team.from_text(team.to_text()).names == ["Boss", "Worker", "Critic"]


@pytest.mark.parametrize(
    ("change", "where", "message"),
    [
        (
            lambda d: d["members"][1].update(talksTo=["Nobody"]),
            "$.members[1].talksTo[0]",
            'Worker talks to "Nobody", who is not in the team',
        ),
        (
            lambda d: d["members"][2].update(channels=[]),
            "$.members[2].talksTo",
            "Critic is cut off: nobody talks to it",
        ),
        (
            lambda d: d["members"].append({"name": "Boss"}),
            "$.members[3].name",
            '"Boss" is in the team twice',
        ),
        (lambda d: d.update(turnBudget=0), "$.turnBudget", "must be a whole number from 1"),
        (lambda d: d.update(entry="Ghost"), "$.entry", 'the entry "Ghost" is not a member'),
        (
            lambda d: d["members"][0].update(talksTo="Boss"),
            "$.members[0].talksTo[0]",
            "Boss cannot talk to itself",
        ),
    ],
)
def test_validation_names_the_field(change, where, message):
    data = json.loads(json.dumps(TEAM))
    change(data)
    with pytest.raises(TeamError) as caught:
        Team.from_data(data, Path("teams/desk.json"))
    assert caught.value.where == where
    assert message in caught.value.message
    assert str(caught.value).startswith("teams/desk.json")


def test_routing_follows_talks_to_and_channels():
    net = TeamNetwork(Team.from_data(TEAM))
    assert net.post("Worker", "Boss", "hi").ok
    refused = net.post("Worker", "Critic", "psst")
    assert refused.tool_output() == (
        "refused: Worker does not talk to Critic; you can message Boss, or broadcast to #desk"
    )
    assert "not in the team" in net.post("Boss", "Ghost", "x").refusal
    assert net.post("Boss", USER, "done").ok, "the entry member answers USER"
    assert not net.post("Worker", USER, "done").ok
    cast = net.broadcast("Critic", "#desk", "Looks good")
    assert [d.recipient for d in cast.deliveries] == ["Boss", "Worker"]
    assert "no channel #ops" in net.broadcast("Boss", "ops", "x").refusal
    assert [d.recipient for d in net.queue] == ["Boss", "Boss", "Worker"]


def test_tasks_go_back_to_who_assigned_them():
    net = TeamNetwork(Team.from_data(TEAM))
    task = net.assign("Boss", "Worker", "count")
    assert task.tool_output() == "task T1 assigned to Worker"
    assert "given to Worker, not Boss" in net.resolve("Boss", "T1", "x").refusal
    assert "no task 'T9'" in net.resolve("Worker", "T9", "x").refusal
    done = net.resolve("Worker", "T1", "3")
    assert (done.deliveries[0].recipient, done.deliveries[0].kind) == ("Boss", "result")
    assert "already resolved" in net.resolve("Worker", "T1", "3").refusal


def test_the_guard_stops_repeats_stalls_and_the_budget():
    repeat = TeamNetwork(Team.from_data(TEAM))
    for _ in range(3):
        repeat.post("Boss", "Worker", "Ping  ")
    assert repeat.check().kind == "loop"

    data = json.loads(json.dumps(TEAM))
    data["stallTurns"] = 3
    stall = TeamNetwork(Team.from_data(data))
    for i in range(3):
        stall.post("Boss", "Worker", f"chat {i}")
        stall.next_turn()
    assert stall.check().kind == "stalled"

    budget = TeamNetwork(Team.from_data(TEAM))
    budget.start()
    for i in range(10):
        budget.next_turn()
        budget.assign("Boss", "Worker", f"job {i}")  # progress every turn: only the budget
    stop = budget.check()
    assert stop.kind == "budget" and "turn budget (10)" in stop.reason


def test_haas_errors_name_the_yaml_line(tmp_path):
    path = tmp_path / "agents.yaml"
    text = "- name: A\n  talksTo: [B]\n- name: B\n  talksTo: A\n  instructions: missing.md\n"

    with pytest.raises(TeamError) as caught:
        parse_agents_yaml(text, path)
    assert caught.value.where == "line 5" and "missing.md" in caught.value.message
    with pytest.raises(TeamError) as caught:
        parse_agents_yaml("name: A\n", path)
    assert "must be a list of agents" in caught.value.message
