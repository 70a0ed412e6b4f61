"""ElizaOS .scenario.yaml files import as character tests where the fields map, and every field
that does not map is reported in words with its line (vendored real files: tests/data/scenarios)."""

from __future__ import annotations

from pathlib import Path

import pytest

from carrier_studio.core.errors import ScenarioError
from carrier_studio.core.scenarios.eliza import import_eliza_scenario
from carrier_studio.core.scenarios.loader import load_text
from carrier_studio.core.scenarios.writing import dump_scenario

DATA = Path(__file__).parent.parent / "data" / "scenarios" / "eliza"


def imported(name: str, character: str | None = "Juniper"):
    path = DATA / name
    return import_eliza_scenario(path.read_text(encoding="utf-8"), path, character)


def test_a_simulated_conversation_maps_to_a_simulated_user():
    scenario, dropped = imported("customer-support-conversation.scenario.yaml")
    assert scenario.name == "Advanced Customer Support Multi-Turn Test"
    assert scenario.character == "Juniper" and scenario.turns == ()
    sim = scenario.simulated_user
    assert sim is not None and sim.max_turns == 6
    assert sim.brief.startswith(
        "You are frustrated customer named Sarah who discovered duplicate billing charges. "
        "You want to get the duplicate charge refunded"
    )
    assert "Keep to these: Start with expressing strong frustration" in sim.brief
    assert sim.brief.endswith(
        "Open the conversation with: \"I'm really angry about being charged twice this month! "
        'This is unacceptable!"'
    )
    assert [(e.kind, e.where.line) for e in sim.expect] == [
        ("judge", 80),
        ("judge", 84),
        ("tool_called", 87),
    ]
    assert sim.expect[0].value == (
        "Did the agent respond with appropriate empathy and professionalism to the customer's "
        "emotional state? The expected answer is: yes."
    )
    assert sim.expect[2].value["name"] == "SEARCH_KNOWLEDGE_BASE"
    kinds = [(e.kind, e.where.line) for e in scenario.expect]
    assert kinds == [("judge", 91), ("judge", 117), ("contains", 129), ("matches", 131)]
    assert "The character should: Acknowledged customer's frustration" in scenario.expect[0].value
    assert scenario.expect[1].value == (
        "Through the conversation the character keeps in mind: Sarah, billing dispute, "
        "duplicate charges, loyal customer."
    )
    assert scenario.expect[3].value == r"\b(refund|credit|resolve)\b"
    assert dropped == [
        "plugins (line 4): ElizaOS plugins (@elizaos/plugin-bootstrap, @elizaos/plugin-openai); "
        "give the character MCP servers instead",
        "setup.mocks (line 12): 2 mocked service responses; record a cassette (--record) to "
        "replay a run instead",
        "run[0].conversation.timeout_per_turn_ms (line 44): a time limit per turn",
        "run[0].conversation.total_timeout_ms (line 45): a time limit for the conversation",
        "run[0].conversation.user_simulator.model_type (line 48): the simulated user's model "
        "settings",
        "run[0].conversation.user_simulator.temperature (line 49): the simulated user's model "
        "settings",
        "run[0].conversation.user_simulator.max_tokens (line 50): the simulated user's model "
        "settings",
        "run[0].conversation.termination_conditions (line 63): conditions that end the "
        "conversation early",
        "run[0].conversation.turn_evaluations[0].temperature (line 83): llm_judge's model "
        "settings; set judge_model instead",
        "run[0].conversation.final_evaluations[1] (line 100): conversation_length: counts turns; "
        "simulated_user.max_turns limits them instead",
        "run[0].conversation.final_evaluations[2] (line 105): conversation_flow: grades named "
        "ElizaOS flow patterns",
        "run[0].conversation.final_evaluations[3] (line 111): user_satisfaction: scores the "
        "simulated user's mood",
        "run[0].conversation.debug_options (line 122): ElizaOS debug options",
    ]


def test_scripted_steps_map_to_turns_and_say_what_was_dropped():
    scenario, dropped = imported("llm-judge-test.scenario.yaml", character="Ada")
    assert [t.user[:30] for t in scenario.turns] == [
        "Please read the data.json file",
        "Please provide a multi-line re",
    ]
    assert [e.kind for e in scenario.turns[0].expect] == ["judge", "judge"]
    assert scenario.turns[0].expect[1].value == (
        "Is the code output well-formatted and readable? The expected answer is: 0.8+."
    )
    assert "environment (line 3): the e2b environment" in dropped
    assert "setup.virtual_fs (line 6): files for ElizaOS's sandbox" in dropped
    assert (
        "run[0].evaluations[2] (line 22): file_exists: checks a file in ElizaOS's sandbox"
        in dropped
    )
    assert (
        "run[1].evaluations[1].json_schema (line 36): llm_judge's model settings; "
        "set judge_model instead" in dropped
    )


def test_an_import_writes_a_studio_file_that_loads():
    scenario, _dropped = imported("customer-support-conversation.scenario.yaml")
    again = load_text(dump_scenario(scenario), Path("scenarios/support.yaml"))
    assert again.simulated_user is not None
    assert again.simulated_user.brief == scenario.simulated_user.brief
    assert [(e.kind, e.value) for e in again.expect] == [(e.kind, e.value) for e in scenario.expect]


def test_the_files_own_character_is_used_when_none_is_chosen():
    text = "name: x\ncharacter: {name: Eliza, llm: {model: gpt-4-turbo}}\nrun:\n  - input: hi\n"
    scenario, dropped = import_eliza_scenario(text, Path("x.scenario.yaml"))
    assert scenario.character == "Eliza"
    assert dropped == [
        'character.llm.model (line 2): the model "gpt-4-turbo"; choose the models to run on '
        "in the studio"
    ]


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("name: x\n", 'x.scenario.yaml:1: not an ElizaOS scenario: it has no "run:" list'),
        ("run:\n  - input: hi\n", "x.scenario.yaml:1: the ElizaOS scenario names no character"),
        (
            "character: {name: E}\nrun:\n  - lang: js\n    code: console.log(1)\n",
            "x.scenario.yaml:2: no step of the ElizaOS scenario sends the agent a message",
        ),
        ("run: [\n", "x.scenario.yaml:2: not valid YAML"),
    ],
)
def test_what_cannot_be_imported_says_why(text, words):
    with pytest.raises(ScenarioError) as caught:
        import_eliza_scenario(text, Path("x.scenario.yaml"))
    assert str(caught.value).startswith(words), str(caught.value)


def test_code_steps_and_bad_patterns_are_dropped_with_reasons():
    text = (
        "character: {name: E}\njudgment: {strategy: any_pass}\nrun:\n"
        "  - lang: js\n    code: console.log(1)\n"
        "    evaluations: [{type: string_contains, value: 1}]\n"
        "  - input: hi\n    evaluations:\n"
        "      - {type: regex_match, pattern: '(?<name>x)'}\n"
        "      - {type: string_contains, value: Hi, case_sensitive: true}\n"
        "      - {type: made_up}\n"
    )
    scenario, dropped = import_eliza_scenario(text, Path("x.scenario.yaml"))
    assert [(e.kind, e.value) for e in scenario.turns[0].expect] == [("matches", "Hi")]
    assert dropped == [
        "judgment.strategy (line 2): any_pass: a character test passes only when every "
        "expectation passes",
        "run[0] (line 4): runs code, which a character test never does",
        "run[0].evaluations[0] (line 6): string_contains: no equivalent in a character test",
        "run[0].evaluations (line 6): they check a step with no input",
        "run[1].evaluations[0] (line 9): regex_match: /(?<name>x)/ is not a Python pattern "
        "(unknown extension ?<n at position 1)",
        "run[1].evaluations[2] (line 11): made_up: no equivalent in a character test",
    ]
