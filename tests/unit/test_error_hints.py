"""An error's hint reads as its own sentence after the message."""

from __future__ import annotations

from carrier_studio.core.errors import CarrierError, ScenarioError
from carrier_studio.core.mcp.status import McpServerError


def test_a_hint_after_a_message_without_a_full_stop_starts_a_new_sentence():
    # Seen in the MCP page's error box: "github is turned off Turn it on first."
    error = McpServerError("github is turned off", hint="Turn it on first.")
    assert str(error) == "github is turned off. Turn it on first."
    placed = CarrierError("GITHUB_TOKEN is not set", path="mcp_servers.json", hint="Add it.")
    assert str(placed) == "mcp_servers.json: GITHUB_TOKEN is not set. Add it."
    scenario = ScenarioError("unknown key", path="a.yaml", line=3, hint="Remove it.")
    assert str(scenario) == "a.yaml:3: unknown key. Remove it."


def test_a_message_that_ends_a_sentence_gets_no_second_stop():
    assert str(CarrierError("It stopped.", hint="Start it.")) == "It stopped. Start it."
    assert str(CarrierError("Why?", hint="Look.")) == "Why? Look."
    assert str(CarrierError("no hint")) == "no hint"
