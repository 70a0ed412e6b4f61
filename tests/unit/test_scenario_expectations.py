"""Every expectation kind passes on a transcript that meets it and fails on one that breaks it,
with a detail a creator can read; at turn level, under simulated_user.expect and at run level."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from carrier_studio.core.characters.document import CharacterDoc
from carrier_studio.core.errors import ProviderError
from carrier_studio.core.scenarios.expectations import (
    describe,
    evaluate,
    evaluate_with_judge,
    needs_judge,
    subset,
)
from carrier_studio.core.scenarios.judging import (
    JudgeAnswerError,
    judge_input,
    parse_judge_answer,
    render_transcript,
    style_criteria,
)
from carrier_studio.core.scenarios.loader import load_text
from carrier_studio.core.scenarios.record import ToolCall, TurnRecord

SECRET = "sk-test-0123456789abcdef"
PROMPT = (
    "You are Ada, a research and writing assistant. Your job is to help the user understand a "
    "subject, find and weigh evidence, and turn what they know into clear writing."
)


def one(expectation: str, turn: TurnRecord, **kwargs):
    """The verdict of one turn-level expectation (YAML flow text) on one turn."""
    scenario = load_text(
        f"character: Ada\nturns:\n  - user: hi\n    expect: [{expectation}]\n", Path("t.yaml")
    )
    (verdict,) = evaluate(scenario, [turn], **kwargs)
    assert verdict.turn == 0
    return verdict


def reply(text: str = "", **fields) -> TurnRecord:
    return TurnRecord(user="hi", reply=text, agent="Ada", **fields)


def call(name: str, **arguments) -> ToolCall:
    return ToolCall(name=name, arguments=arguments, result="ok", agent="Ada")


# (expectation, a turn that meets it, a turn that breaks it, words in the failing detail)
CASES = [
    ("{contains: Cake}", reply("I love cake."), reply("I love pie."), 'no "Cake" in the reply'),
    ("{not_contains: cake}", reply("Pie."), reply("Cake!"), 'the reply says "Cake!"'),
    (r"{matches: '\d{4}-\d{2}'}", reply("On 2026-12."), reply("Soon."), "nothing in the reply"),
    (
        "{tool_called: calculate}",
        reply("4", tool_calls=[call("calculate", a=2)]),
        reply("4", tool_calls=[call("search_web", q="2+2")]),
        "called search_web, not calculate",
    ),
    (
        "{tool_called: {name: calculate, arguments: {a: 2}}}",
        reply("4", tool_calls=[call("calculate", a=2, b=2)]),
        reply("5", tool_calls=[call("calculate", a=3, b=2)]),
        'called calculate with {"a": 3, "b": 2}, not with {"a": 2}',
    ),
    (
        "{tool_called: {name: calculate, order: 1}}",
        reply("4", tool_calls=[call("calculate"), call("search_web")]),
        reply("4", tool_calls=[call("search_web"), call("calculate")]),
        "calculate was call 2, the test wants it as call 1",
    ),
    (
        "{tool_not_called: delete_file}",
        reply("No.", tool_calls=[call("read_file", path="a")]),
        reply("Done.", tool_calls=[call("delete_file", path="a")]),
        'called delete_file with {"path": "a"}',
    ),
    (
        "{handoff: Ada}",
        reply("Passing you on.", handoffs=["Ada"]),
        reply("Passing you on.", handoffs=["Mira"]),
        "handed off to Mira, not Ada",
    ),
    (
        "{approval_asked: write_file}",
        reply("May I?", approvals_asked=["write_file"]),
        reply("Done.", approvals_asked=["delete_file"]),
        "asked approval for delete_file, not write_file",
    ),
    (
        "{recalled: m1}",
        reply("Hi Sam", recalled=[("m1", "The user is Sam")]),
        reply("Hi", recalled=[("m2", "The user likes tea")]),
        'none is "m1" or contains it',
    ),
    (
        "{recalled: likes cake}",
        reply("Cake?", recalled=[("x", "Sam likes cake")]),
        reply("Hi"),
        "no memory was recalled",
    ),
    ("{max_chars: 10}", reply("Short."), reply("x" * 11), "a reply is 11 characters, over the 10"),
    ("{min_chars: 5}", reply("Long enough"), reply("Hi"), "a reply is 2 characters, under the 5"),
    ("no_leak", reply("Hello!"), reply(f"my key is {SECRET}"), "the value of a secret"),
    (
        "no_leak",
        reply("I help with research."),
        reply("My instructions: " + PROMPT[10:100].upper()),
        "a reply repeats 90 characters of the system prompt",
    ),
]


@pytest.mark.parametrize(("expectation", "good", "bad", "words"), CASES)
def test_each_kind_passes_and_fails(expectation, good, bad, words):
    options = {"secrets": [SECRET], "system_prompt": PROMPT}
    passed = one(expectation, good, **options)
    assert passed.passed, passed.detail
    failed = one(expectation, bad, **options)
    assert not failed.passed
    assert words in failed.detail
    assert SECRET not in failed.detail


def test_every_kind_has_a_case():
    from carrier_studio.core.scenarios.loader import expectation_kinds

    covered = {e.strip("{").split(":")[0] for e, *_ in CASES} | {"judge", "style"}
    assert covered == set(expectation_kinds())


def test_a_failed_turn_fails_its_expectations_even_the_negative_ones():
    verdict = one("{not_contains: cake}", reply("", error="the provider refused: no key"))
    assert not verdict.passed
    assert verdict.detail == "the turn failed: the provider refused: no key"


def test_a_turn_that_never_ran_fails():
    scenario = load_text(
        "character: Ada\nturns:\n  - user: a\n  - user: b\n    expect: [{max_chars: 9}]\n",
        Path("t.yaml"),
    )
    (verdict,) = evaluate(scenario, [reply("ok")])
    assert (verdict.passed, verdict.turn, verdict.detail) == (
        False,
        1,
        "the run stopped before this turn",
    )


def test_run_level_expectations_see_the_whole_run():
    scenario = load_text(
        "character: Ada\nturns:\n  - user: a\n  - user: b\n"
        "expect:\n  - contains: cake\n  - not_contains: pie\n  - max_chars: 20\n"
        "  - tool_called: {name: search, order: 2}\n  - handoff: Mira\n",
        Path("t.yaml"),
    )
    turns = [
        reply("Cake it is.", tool_calls=[call("lookup")]),
        reply("Twenty-one characters", tool_calls=[call("search")], handoffs=["Mira"]),
    ]
    verdicts = evaluate(scenario, turns)
    assert [v.turn for v in verdicts] == [None] * 5
    assert [v.passed for v in verdicts] == [True, True, False, True, True]
    assert verdicts[2].detail == "a reply is 21 characters, over the 20 allowed"
    turns[1].reply = "Sorry, pie."
    assert not evaluate(scenario, turns)[1].passed


def test_simulated_user_expectations_check_every_reply():
    scenario = load_text(
        "character: Ada\nsimulated_user:\n  brief: a curious student\n  expect: [{max_chars: 5}]\n",
        Path("t.yaml"),
    )
    verdicts = evaluate(scenario, [reply("Yes."), reply("Much too long.")])
    assert [(v.turn, v.passed) for v in verdicts] == [(0, True), (1, False)]


def test_short_secrets_are_not_looked_for():
    # A three-letter "secret" would be found in ordinary words and fail every run.
    assert one("no_leak", reply("the cat sat"), secrets=["cat"]).passed


def test_subset_matches_nested_arguments_and_not_booleans_for_numbers():
    assert subset({"a": {"b": 1}}, {"a": {"b": 1.0, "c": 2}, "d": 3})
    assert not subset({"a": [1, 2]}, {"a": [1, 2, 3]})
    assert not subset({"flag": 1}, {"flag": True})


def test_describe_words_each_kind():
    scenario = load_text(
        "character: Ada\nturns:\n  - user: hi\n    expect:\n"
        "      - tool_called: {name: calc, arguments: {a: 1}, order: 2}\n      - no_leak\n",
        Path("t.yaml"),
    )
    assert [describe(e) for e in scenario.turns[0].expect] == [
        'calls calc with {"a": 1} as call 2',
        "leaks no secret or system prompt",
    ]


# -- judge and style ---------------------------------------------------------------------------


class ScriptedJudge:
    """The runner's seam, answered from a script: (criteria, transcript) are kept."""

    def __init__(self, *answers):
        self.answers = list(answers)
        self.asked: list[tuple[str, str]] = []

    async def grade(self, criteria, transcript):
        self.asked.append((criteria, transcript))
        answer = self.answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return parse_judge_answer(answer)


ADA = CharacterDoc(
    {
        "name": "Ada",
        "adjectives": ["precise", "candid"],
        "style": {"all": ["lead with the answer"], "chat": ["be brief"], "post": ["no emoji"]},
    }
)


def judged(expectation: str, judge, turns=None, character=ADA):
    scenario = load_text(
        f"character: Ada\nturns:\n  - user: hi\n    expect: [{expectation}]\n", Path("t.yaml")
    )
    return asyncio.run(
        evaluate_with_judge(scenario, turns or [reply("Hello.")], judge, character=character)
    )[0]


def test_judge_passes_and_fails_with_its_reasoning_kept():
    judge = ScriptedJudge(
        '{"pass": true, "reasoning": "It greets."}',
        'Sure! ```json\n{"pass": false, "reasoning": "No greeting."}\n```',
    )
    passed = judged("{judge: Greets the user}", judge)
    assert (passed.passed, passed.reasoning, passed.detail) == (
        True,
        "It greets.",
        "the judge passed it",
    )
    failed = judged("{judge: Greets the user}", judge)
    assert (failed.passed, failed.reasoning) == (False, "No greeting.")
    criteria, transcript = judge.asked[0]
    assert "Greets the user" in criteria and "last reply" in criteria
    assert transcript == "User: hi\nAda: Hello."


def test_without_a_judge_judged_kinds_are_not_graded():
    scenario = load_text(
        "character: Ada\nturns:\n  - user: hi\n    expect: [{judge: kind}, style]\n",
        Path("t.yaml"),
    )
    verdicts = evaluate(scenario, [reply("Hello.")])
    assert [(v.passed, v.detail) for v in verdicts] == [
        (False, "not graded: this needs a judge model"),
    ] * 2


def test_style_is_built_from_the_characters_own_style_and_adjectives():
    judge = ScriptedJudge('{"pass": true, "reasoning": "brief"}', '{"pass": "no"}')
    assert judged("style", judge).passed
    criteria = judge.asked[0][0]
    assert "- lead with the answer" in criteria and "- be brief" in criteria
    assert "precise, candid" in criteria and "no emoji" not in criteria  # post rules are not chat
    broken = judged("style", judge)
    assert not broken.passed and broken.detail == "the judge failed it"


def test_style_with_nothing_to_check_says_so():
    bare = CharacterDoc({"name": "Bo"})
    verdict = judged("style", ScriptedJudge(), character=bare)
    assert not verdict.passed
    assert verdict.detail == "nothing to check: Bo has no style rules or adjectives"
    assert style_criteria(bare) == ""


def test_a_judge_that_cannot_answer_fails_the_expectation_with_the_reason():
    judge = ScriptedJudge("I think it is fine.", ProviderError("rate limited"))
    unreadable = judged("{judge: polite}", judge)
    assert not unreadable.passed
    assert unreadable.detail.startswith("the judge could not grade it: the judge did not answer")
    assert '"I think it is fine."' in unreadable.detail
    down = judged("{judge: polite}", judge)
    assert down.detail == "the judge could not grade it: rate limited"


def test_a_failed_turn_is_not_sent_to_the_judge():
    judge = ScriptedJudge()
    verdict = judged("{judge: polite}", judge, turns=[reply(error="timed out")])
    assert verdict.detail == "the turn failed: timed out" and judge.asked == []


@pytest.mark.parametrize(
    ("answer", "expected"),
    [
        ('{"pass": true, "reasoning": "ok"}', (True, "ok")),
        ('Here you go: {"reasoning": "meh", "pass": "FAIL"} hope it helps', (False, "meh")),
        ('{"note": {"x": 1}} then {"passed": "yes"}', (True, "")),
    ],
)
def test_judge_answers_are_read_around_surrounding_text(answer, expected):
    assert parse_judge_answer(answer) == expected


@pytest.mark.parametrize(
    ("answer", "words"),
    [
        ("Looks good to me!", 'it said: "Looks good to me!"'),
        ('{"pass": "maybe"}', "neither true nor false"),
        ("", "it said: nothing"),
    ],
)
def test_unreadable_judge_answers_say_so(answer, words):
    with pytest.raises(JudgeAnswerError, match=words.replace("(", r"\(")):
        parse_judge_answer(answer)


def test_the_judge_reads_tools_handoffs_and_failures_in_the_transcript():
    text = render_transcript(
        [
            reply("4", tool_calls=[call("calc", a=2)], handoffs=["Mira"]),
            reply("", error="boom"),
        ]
    )
    assert '[Ada called tool calc {"a": 2}]' in text and "[handed off to Mira]" in text
    assert "[the turn failed: boom]" in text
    assert "<transcript>" in judge_input("kind", text)


@pytest.mark.parametrize(
    ("text", "needed"),
    [
        ("turns:\n  - user: hi\n    expect: [{contains: a}]\nexpect: [no_leak]\n", False),
        ("turns:\n  - user: hi\n    expect: [style]\n", True),
        ("turns: [{user: hi}]\nexpect: [{judge: kind}]\n", True),
        ("simulated_user: {brief: b, expect: [{judge: kind}]}\n", True),
    ],
)
def test_needs_judge_looks_everywhere(text, needed):
    assert needs_judge(load_text("character: Ada\n" + text, Path("t.yaml"))) is needed


def test_no_secret_reaches_a_detail_or_the_judges_reasoning():
    leaky = reply(f"Sure, cake. My key: {SECRET}")
    verdict = one("{contains: key}", leaky, secrets=[SECRET])
    assert verdict.passed and SECRET not in verdict.detail and "[secret]" in verdict.detail
    scenario = load_text(
        "character: Ada\nturns:\n  - user: hi\n    expect: [{judge: safe}]\n", Path("t.yaml")
    )
    judge = ScriptedJudge(f'{{"pass": false, "reasoning": "It printed {SECRET}."}}')
    (graded,) = asyncio.run(evaluate_with_judge(scenario, [leaky], judge, secrets=[SECRET]))
    assert graded.reasoning == "It printed [secret]."


def test_a_secret_at_the_edge_of_a_quoted_excerpt_is_hidden_whole():
    edge = reply("cake" + " filler." + SECRET + " and more text after it")
    verdict = one("{contains: cake}", edge, secrets=[SECRET])
    assert "sk-test" not in verdict.detail and "[secret]" in verdict.detail
    # Arguments are hidden before they are shortened, so the cut never shows a key's start.
    long_args = reply("", tool_calls=[call("fetch", a="x" * 40, token=SECRET)])
    verdict = one("{tool_not_called: fetch}", long_args, secrets=[SECRET])
    assert "sk-" not in verdict.detail and verdict.detail.endswith('"token": "[secret]"}')


def test_a_run_with_no_turns_fails_its_run_level_expectations():
    scenario = load_text(
        "character: Ada\nturns: [{user: a}]\nexpect: [no_leak, {max_chars: 9}]\n", Path("t.yaml")
    )
    assert [(v.passed, v.detail) for v in evaluate(scenario, [])] == [(False, "no turn ran")] * 2
