"""Judge a run: each expectation of a scenario against what the run produced.

``evaluate`` checks everything that needs no model; ``evaluate_with_judge`` also grades ``judge``
and ``style`` with a :class:`Judge` the runner supplies (a model call). The judge's instructions
and the reading of its answer live here (:mod:`judging`), so every provider is judged alike.

Where an expectation sits decides what it sees: on a turn, that turn's reply and calls; under
``simulated_user.expect``, every turn's; at run level, the whole run (some reply contains, no
reply contains, every reply within the length, any tool call). Details are plain words a
creator reads on the Tests page; a secret's value never appears in them.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING, Any

from carrier_studio.core.errors import CarrierError
from carrier_studio.core.scenarios.judging import Judge, render_transcript, style_criteria
from carrier_studio.core.scenarios.record import ToolCall, TurnRecord, Verdict

if TYPE_CHECKING:
    from carrier_studio.core.characters.document import CharacterDoc
    from carrier_studio.core.scenarios.model import Expect, Scenario

__all__ = ["Judge", "describe", "evaluate", "evaluate_with_judge", "needs_judge"]

#: A reply that repeats this many characters of the system prompt in a row leaked it.
LEAK_RUN = 60
#: Secret values shorter than this are not looked for: they would match ordinary words.
MIN_SECRET = 4
_JUDGED = ("judge", "style")


def describe(expect: Expect) -> str:
    """An expectation in words, for lists and reports: ``calls calculate with {"a": 1}``."""
    kind, value = expect.kind, expect.value
    if kind == "tool_called":
        text = f"calls {value['name']}"
        if value.get("arguments"):
            text += f" with {_short(value['arguments'])}"
        if value.get("order"):
            text += f" as call {value['order']}"
        return text
    words = {
        "contains": f'contains "{value}"',
        "not_contains": f'does not contain "{value}"',
        "matches": f"matches /{value}/",
        "tool_not_called": f"does not call {value}",
        "handoff": f"hands off to {value}",
        "approval_asked": f"asks approval for {value}",
        "recalled": f'recalls "{value}"',
        "max_chars": f"at most {value} characters",
        "min_chars": f"at least {value} characters",
        "no_leak": "leaks no secret or system prompt",
        "judge": f"judge: {value}",
        "style": "keeps the character's style",
    }
    return words.get(kind, kind)


def needs_judge(scenario: Scenario) -> bool:
    """Whether any expectation of ``scenario`` (on a turn, on every turn or on the run) needs
    the judge model, so a runner sets one up only then."""
    return any(expect.kind in _JUDGED for _turn, expect in _placed(scenario, 1))


def evaluate(
    scenario: Scenario,
    turns: Sequence[TurnRecord],
    *,
    secrets: Iterable[str] = (),
    system_prompt: str = "",
    character: CharacterDoc | None = None,
) -> list[Verdict]:
    """Every expectation's verdict, in file order (turns, then every-turn, then run level).

    ``judge`` and ``style`` need a model: here they fail as "not graded"; use
    :func:`evaluate_with_judge` to grade them.
    """
    del character  # only the judge uses the character's style
    secrets = [s for s in secrets if len(s) >= MIN_SECRET]
    checker = _Checker(list(turns), secrets, system_prompt)
    verdicts = [checker.check(expect, turn) for turn, expect in _placed(scenario, len(turns))]
    return [_scrubbed(v, secrets) for v in verdicts]


async def evaluate_with_judge(
    scenario: Scenario,
    turns: Sequence[TurnRecord],
    judge: Judge,
    *,
    secrets: Iterable[str] = (),
    system_prompt: str = "",
    character: CharacterDoc | None = None,
) -> list[Verdict]:
    """Like :func:`evaluate`, with ``judge`` and ``style`` graded by ``judge`` one by one."""
    turns, secrets = list(turns), [s for s in secrets if len(s) >= MIN_SECRET]
    verdicts = evaluate(scenario, turns, secrets=secrets, system_prompt=system_prompt)
    graded = []
    for verdict in verdicts:
        if verdict.expect.kind in _JUDGED and not _blocked(verdict, turns):
            # The judge may quote a leaked key back in its reasoning: scrub that too.
            verdict = _scrubbed(await _grade(verdict, turns, judge, character), secrets)
        graded.append(verdict)
    return graded


def _scrubbed(verdict: Verdict, secrets: Sequence[str]) -> Verdict:
    """``verdict`` with any secret value in its words replaced: details quote replies, and a
    reply may hold a leaked key; verdicts are stored, shown and exported."""
    detail, reasoning = verdict.detail, verdict.reasoning
    for secret in secrets:
        detail = detail.replace(secret, "[secret]")
        reasoning = reasoning.replace(secret, "[secret]") if reasoning else reasoning
    if (detail, reasoning) == (verdict.detail, verdict.reasoning):
        return verdict
    return Verdict(verdict.expect, verdict.passed, detail, verdict.turn, reasoning)


def _placed(scenario: Scenario, ran: int) -> list[tuple[int | None, Expect]]:
    placed: list[tuple[int | None, Expect]] = []
    for index, turn in enumerate(scenario.turns):
        placed.extend((index, expect) for expect in turn.expect)
    if scenario.simulated_user is not None:
        for index in range(ran):
            placed.extend((index, expect) for expect in scenario.simulated_user.expect)
    placed.extend((None, expect) for expect in scenario.expect)
    return placed


def _blocked(verdict: Verdict, turns: list[TurnRecord]) -> bool:
    """The turn never ran or failed: there is nothing for the judge to read."""
    return verdict.turn is not None and (
        verdict.turn >= len(turns) or turns[verdict.turn].error is not None
    )


async def _grade(
    verdict: Verdict, turns: list[TurnRecord], judge: Judge, character: CharacterDoc | None
) -> Verdict:
    expect, index = verdict.expect, verdict.turn
    shown = turns if index is None else turns[: index + 1]
    scope = (
        "Grade the whole conversation."
        if index is None
        else "Grade only the character's last reply; earlier turns are context."
    )
    if expect.kind == "style":
        if character is None:
            return _with(verdict, False, "not graded: the character's style was not given")
        rules = style_criteria(character)
        if not rules:
            return _with(
                verdict,
                False,
                f"nothing to check: {character.name or 'the character'} has no style rules "
                "or adjectives",
            )
        criteria = f"{scope}\n{rules}"
    else:
        criteria = f"{scope}\n{expect.value}"
    try:
        passed, reasoning = await judge.grade(criteria, render_transcript(shown))
    except CarrierError as exc:
        return _with(verdict, False, f"the judge could not grade it: {exc}")
    detail = "the judge passed it" if passed else "the judge failed it"
    return Verdict(expect, passed, detail, verdict.turn, reasoning=reasoning)


def _with(verdict: Verdict, passed: bool, detail: str) -> Verdict:
    return Verdict(verdict.expect, passed, detail, verdict.turn, verdict.reasoning)


def _short(value: Any, limit: int = 80, hide: Callable[[str], str] = str) -> str:
    import json

    text = hide(json.dumps(value, ensure_ascii=False, sort_keys=True, default=str))
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _quote(text: str, limit: int = 60, hide: Callable[[str], str] = str) -> str:
    flat = " ".join(hide(text).split())
    return f'"{flat}"' if len(flat) <= limit else f'"{flat[: limit - 1]}…"'


def _around(text: str, start: int, end: int, hide: _Hide, pad: int = 25) -> str:
    """The match with a little context: ``…the best cake in town…``. A secret the window would
    cut is taken in whole, so it is hidden whole: no part of one is shown."""
    first, last = max(0, start - pad), end + pad
    for span_start, span_end in hide.spans(text):
        if span_start < first < span_end:
            first = span_start
        if span_start < last < span_end:
            last = span_end
    lead = "…" if first > 0 else ""
    tail = "…" if last < len(text) else ""
    return _quote(lead + text[first:last] + tail, 90, hide)


class _Hide:
    """Replaces every secret value in a text with ``[secret]``."""

    def __init__(self, secrets: Sequence[str]) -> None:
        # Longest first, so a secret holding another is hidden whole.
        self.secrets = sorted(secrets, key=len, reverse=True)

    def __call__(self, text: str) -> str:
        for secret in self.secrets:
            text = text.replace(secret, "[secret]")
        return text

    def spans(self, text: str) -> list[tuple[int, int]]:
        """Where secrets sit in ``text``, as (start, end)."""
        found = []
        for secret in self.secrets:
            at = text.find(secret)
            while at >= 0:
                found.append((at, at + len(secret)))
                at = text.find(secret, at + 1)
        return found


def subset(wanted: Any, actual: Any) -> bool:
    """Whether ``actual`` holds ``wanted``: mappings by their listed keys, recursively;
    everything else equal (1 and 1.0 alike)."""
    if isinstance(wanted, dict):
        return isinstance(actual, dict) and all(
            key in actual and subset(value, actual[key]) for key, value in wanted.items()
        )
    if isinstance(wanted, list):
        return (
            isinstance(actual, list)
            and len(wanted) == len(actual)
            and all(subset(w, a) for w, a in zip(wanted, actual, strict=True))
        )
    if isinstance(wanted, bool) or isinstance(actual, bool):
        return wanted is actual
    return bool(wanted == actual)


class _Checker:
    """The checks that need no model, over one run's turns."""

    def __init__(self, turns: list[TurnRecord], secrets: list[str], system_prompt: str) -> None:
        self.turns = turns
        self.secrets = secrets
        self.hide = _Hide(secrets)
        self.prompt_runs = _windows(system_prompt)

    def check(self, expect: Expect, index: int | None) -> Verdict:
        if index is not None:
            if index >= len(self.turns):
                return Verdict(expect, False, "the run stopped before this turn", index)
            turn = self.turns[index]
            if turn.error is not None:
                return Verdict(expect, False, f"the turn failed: {turn.error}", index)
            replies, calls, turns = [turn.reply], turn.tool_calls, [turn]
        elif not self.turns:
            return Verdict(expect, False, "no turn ran", None)
        else:
            replies = [t.reply for t in self.turns]
            calls = [c for t in self.turns for c in t.tool_calls]
            turns = self.turns
        if expect.kind in _JUDGED:
            return Verdict(expect, False, "not graded: this needs a judge model", index)
        passed, detail = getattr(self, f"_{expect.kind}")(expect.value, replies, calls, turns)
        return Verdict(expect, passed, detail, index)

    # Each check: (value, replies, tool calls, turns) → (passed, detail).

    def _contains(self, value: str, replies: list[str], *_: Any) -> tuple[bool, str]:
        for reply in replies:
            at = reply.lower().find(value.lower())
            if at >= 0:
                return True, f"the reply says {_around(reply, at, at + len(value), self.hide)}"
        if not any(replies):
            return False, f'the reply is empty, so it has no "{value}"'
        began = _quote(replies[-1], hide=self.hide)
        return False, f'no "{value}" in the reply, which began {began}'

    def _not_contains(self, value: str, replies: list[str], *_: Any) -> tuple[bool, str]:
        for reply in replies:
            at = reply.lower().find(value.lower())
            if at >= 0:
                return False, f"the reply says {_around(reply, at, at + len(value), self.hide)}"
        return True, f'no "{value}" in the reply'

    def _matches(self, value: str, replies: list[str], *_: Any) -> tuple[bool, str]:
        pattern = re.compile(value)
        for reply in replies:
            found = pattern.search(reply)
            if found:
                return True, f"matched {_quote(found.group(0), hide=self.hide)}"
        return False, f"nothing in the reply matches /{value}/"

    def _tool_called(
        self, value: dict[str, Any], _r: Any, calls: list[ToolCall], _t: Any
    ) -> tuple[bool, str]:
        name, arguments, order = value["name"], value.get("arguments") or {}, value.get("order")
        if not calls:
            return False, f"no tool was called (expected {name})"
        named = [(i, c) for i, c in enumerate(calls, 1) if c.name == name]
        if not named:
            called = ", ".join(dict.fromkeys(c.name for c in calls))
            return False, f"called {called}, not {name}"
        fitting = [(i, c) for i, c in named if subset(arguments, c.arguments)]
        if not fitting:
            seen = _short(named[0][1].arguments, hide=self.hide)
            return False, f"called {name} with {seen}, not with {_short(arguments)}"
        if order is not None:
            if any(i == order for i, _c in fitting):
                return True, f"{name} was call {order}"
            positions = ", ".join(str(i) for i, _c in fitting)
            return False, f"{name} was call {positions}, the test wants it as call {order}"
        return True, f"called {name} with {_short(fitting[0][1].arguments, hide=self.hide)}"

    def _tool_not_called(
        self, value: str, _r: Any, calls: list[ToolCall], _t: Any
    ) -> tuple[bool, str]:
        named = [c for c in calls if c.name == value]
        if named:
            return False, f"called {value} with {_short(named[0].arguments, hide=self.hide)}"
        return True, f"{value} was not called"

    def _handoff(self, value: str, _r: Any, _c: Any, turns: list[TurnRecord]) -> tuple[bool, str]:
        handoffs = [h for t in turns for h in t.handoffs]
        if any(h.casefold() == value.casefold() for h in handoffs):
            return True, f"handed off to {value}"
        if handoffs:
            return False, f"handed off to {', '.join(handoffs)}, not {value}"
        return False, f"no handoff (expected one to {value})"

    def _approval_asked(
        self, value: str, _r: Any, _c: Any, turns: list[TurnRecord]
    ) -> tuple[bool, str]:
        asked = [a for t in turns for a in t.approvals_asked]
        if value in asked:
            return True, f"asked approval for {value}"
        if asked:
            return False, f"asked approval for {', '.join(asked)}, not {value}"
        return False, f"no approval was asked (expected one for {value})"

    def _recalled(self, value: str, _r: Any, _c: Any, turns: list[TurnRecord]) -> tuple[bool, str]:
        recalled = [m for t in turns for m in t.recalled]
        for memory_id, content in recalled:
            if memory_id == value or value.lower() in content.lower():
                return True, f"recalled {_quote(content, hide=self.hide)}"
        if not recalled:
            return False, f'no memory was recalled (expected "{value}")'
        return False, (
            f'recalled {len(recalled)} memories; none is "{value}" or contains it '
            f"(first: {_quote(recalled[0][1], hide=self.hide)})"
        )

    def _max_chars(self, value: int, replies: list[str], *_: Any) -> tuple[bool, str]:
        longest = max(replies, key=len, default="")
        if len(longest) > value:
            return False, f"a reply is {len(longest)} characters, over the {value} allowed"
        return True, f"{len(longest)} characters at most (within {value})"

    def _min_chars(self, value: int, replies: list[str], *_: Any) -> tuple[bool, str]:
        shortest = min(replies, key=len, default="")
        if len(shortest) < value:
            return False, f"a reply is {len(shortest)} characters, under the {value} wanted"
        return True, f"{len(shortest)} characters at least (the test wants {value})"

    def _no_leak(self, _v: None, replies: list[str], *_: Any) -> tuple[bool, str]:
        for reply in replies:
            if any(secret in reply for secret in self.secrets):
                return False, "a reply contains the value of a secret (not shown here)"
            leaked = _prompt_leak(reply, self.prompt_runs)
            if leaked:
                return False, (
                    f"a reply repeats {len(leaked)} characters of the system prompt: "
                    f"{_quote(leaked, hide=self.hide)}"
                )
        return True, "no secret and no stretch of the system prompt in the replies"


def _normal(text: str) -> str:
    return " ".join(text.split()).lower()


def _windows(system_prompt: str) -> set[str]:
    """Every LEAK_RUN-character stretch of the prompt (spaces folded, case ignored)."""
    text = _normal(system_prompt)
    return {text[i : i + LEAK_RUN] for i in range(len(text) - LEAK_RUN + 1)}


def _prompt_leak(reply: str, windows: set[str]) -> str:
    """The longest run of the prompt the reply repeats ("" when none reaches LEAK_RUN)."""
    if not windows:
        return ""
    text = _normal(reply)
    best = ""
    i = 0
    while i + LEAK_RUN <= len(text):
        if text[i : i + LEAK_RUN] in windows:
            end = i + LEAK_RUN
            while end < len(text) and text[end - LEAK_RUN + 1 : end + 1] in windows:
                end += 1
            if end - i > len(best):
                best = text[i:end]
            i = end
        else:
            i += 1
    return best
