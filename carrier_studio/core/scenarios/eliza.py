"""Import an ElizaOS ``.scenario.yaml`` (``elizaos scenario run``) as a character test.

What maps, and how::

    name, description                        → name, description
    character.name (or the name passed in)   → character
    run[i].input + evaluations               → turns[i].user + expect
    run[i].conversation.user_simulator       → simulated_user (persona, objective, style,
                                               constraints… written into the brief; the step's
                                               input becomes the brief's opening line)
    conversation.max_turns                   → simulated_user.max_turns
    conversation.turn_evaluations            → simulated_user.expect (every reply)
    conversation.final_evaluations, and a
      conversation step's evaluations        → expect (the whole run)
    string_contains                          → contains (case_sensitive: matches on the
                                               escaped text)
    regex_match                              → matches
    trajectory_contains_action               → tool_called (the action name as the tool)
    llm_judge                                → judge (prompt, the expected answer and the
                                               capabilities as criteria)
    context_retention                        → judge (the facts to keep in mind)

Everything else (plugins, mocks, a virtual file system, code steps, file and command checks,
timings, termination conditions, judgment strategies other than all_pass, model settings) has
no equivalent here; each is listed, in words, in what the import returns as dropped. The file is
read like a scenario file: safe YAML with lines, a size cap, never run.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from carrier_studio.core.errors import ScenarioError
from carrier_studio.core.scenarios.loader import DEFAULT_MAX_TURNS as DEFAULT_TURNS
from carrier_studio.core.scenarios.model import Expect, Scenario, SimulatedUser, Turn, Where
from carrier_studio.core.scenarios.yaml_lines import Lines, Part, field_name, parse_yaml

#: ElizaOS evaluation types with nothing to check them against in a character test.
_NO_EQUIVALENT = {
    "file_exists": "checks a file in ElizaOS's sandbox",
    "file_contains": "checks a file in ElizaOS's sandbox",
    "command_exit_code_is": "runs a command, which a character test never does",
    "execution_time": "times the step; latency is shown beside each run instead",
    "conversation_length": "counts turns; simulated_user.max_turns limits them instead",
    "conversation_flow": "grades named ElizaOS flow patterns",
    "user_satisfaction": "scores the simulated user's mood",
}


def import_eliza_scenario(
    text: str, path: Path, character: str | None = None
) -> tuple[Scenario, list[str]]:
    """A character test from the text of an ElizaOS scenario file at ``path``.

    Args:
        character: The studio character to test; without it, the file's ``character.name``.

    Returns:
        The scenario, and what did not map, one sentence each ("run[0]: setup.mocks: 2 mocked
        service responses were dropped; …").

    Raises:
        ScenarioError: the text is not an ElizaOS scenario, names no character, or has no step
            with an input to send.
    """
    data, lines = parse_yaml(text, path)
    return _Import(data, lines, path, character).run()


class _Import:
    def __init__(self, data: Any, lines: Lines, path: Path, character: str | None) -> None:
        if not isinstance(data, dict) or not isinstance(data.get("run"), list):
            raise ScenarioError(
                'not an ElizaOS scenario: it has no "run:" list of steps', path=path, line=1
            )
        self.data, self.lines, self.path = data, lines, path
        self.character = character
        self.dropped: list[tuple[int, str]] = []

    def where(self, *parts: Part) -> Where:
        return Where(self.path, self.lines.of(parts))

    def drop(self, parts: tuple[Part, ...], words: str) -> None:
        line = self.lines.of(parts)
        self.dropped.append((line, f"{field_name(parts)} (line {line}): {words}"))

    def run(self) -> tuple[Scenario, list[str]]:
        data = self.data
        character = self.character or _text(_get(data.get("character"), "name"))
        if not character:
            raise ScenarioError(
                "the ElizaOS scenario names no character",
                path=self.path,
                line=1,
                hint="Choose the studio character to test it with.",
            )
        self._drop_top_level()
        turns: list[Turn] = []
        simulated: SimulatedUser | None = None
        run_expect: list[Expect] = []
        for index, step in enumerate(data["run"]):
            parts: tuple[Part, ...] = ("run", index)
            if not isinstance(step, dict):
                self.drop(parts, "not a step (a mapping with input and evaluations)")
                continue
            if step.get("code"):
                self.drop(parts, "runs code, which a character test never does")
            if step.get("lang") and not step.get("code"):
                self.drop((*parts, "lang"), "no code to run")
            user = _text(step.get("input"))
            conversation = step.get("conversation")
            if isinstance(conversation, dict) and simulated is None and not turns:
                talk = (*parts, "conversation")
                simulated = self._simulated(conversation, user, talk)
                run_expect += self._evaluations(
                    conversation.get("final_evaluations"), (*talk, "final_evaluations")
                )
                run_expect += self._evaluations(step.get("evaluations"), (*parts, "evaluations"))
                continue
            if conversation is not None:
                self.drop(
                    (*parts, "conversation"),
                    "a test has either scripted turns or one simulated conversation; "
                    "this second one was dropped",
                )
                continue
            if simulated is not None:
                self.drop(parts, "a scripted step after a simulated conversation")
                continue
            expect = self._evaluations(step.get("evaluations"), (*parts, "evaluations"))
            if not user:
                if step.get("evaluations"):
                    self.drop((*parts, "evaluations"), "they check a step with no input")
                continue
            turns.append(Turn(user=user, expect=tuple(expect), where=self.where(*parts)))
        if not turns and simulated is None:
            raise ScenarioError(
                "no step of the ElizaOS scenario sends the agent a message (an input)",
                path=self.path,
                line=self.lines.of(("run",)),
            )
        scenario = Scenario(
            name=_text(data.get("name")) or self.path.name.split(".")[0],
            path=self.path,
            character=character,
            description=_text(data.get("description")),
            turns=tuple(turns),
            simulated_user=simulated,
            expect=tuple(run_expect),
            where=self.where(),
        )
        # In file order, so the list reads alongside the file.
        return scenario, [words for _line, words in sorted(self.dropped, key=lambda lw: lw[0])]

    def _drop_top_level(self) -> None:
        data = self.data
        if data.get("plugins"):
            names = [p if isinstance(p, str) else _text(_get(p, "name")) for p in data["plugins"]]
            self.drop(
                ("plugins",),
                f"ElizaOS plugins ({', '.join(n for n in names if n)}); "
                "give the character MCP servers instead",
            )
        environment = data.get("environment") or {}
        if isinstance(environment, dict) and environment.get("type") not in (None, "local"):
            self.drop(("environment",), f"the {environment.get('type')} environment")
        setup = data.get("setup") or {}
        if isinstance(setup, dict):
            if setup.get("mocks"):
                count = len(setup["mocks"])
                self.drop(
                    ("setup", "mocks"),
                    f"{count} mocked service response{'s' * (count != 1)}; "
                    "record a cassette (--record) to replay a run instead",
                )
            if setup.get("virtual_fs"):
                self.drop(("setup", "virtual_fs"), "files for ElizaOS's sandbox")
        eliza_character = data.get("character")
        llm = eliza_character.get("llm") if isinstance(eliza_character, dict) else None
        if isinstance(llm, dict) and llm.get("model"):
            self.drop(
                ("character", "llm", "model"),
                f'the model "{llm["model"]}"; choose the models to run on in the studio',
            )
        judgment = data.get("judgment")
        strategy = judgment.get("strategy") if isinstance(judgment, dict) else None
        if strategy not in (None, "all_pass"):
            self.drop(
                ("judgment", "strategy"),
                f"{strategy}: a character test passes only when every expectation passes",
            )

    def _simulated(
        self, conversation: dict[str, Any], opening: str, parts: tuple[Part, ...]
    ) -> SimulatedUser:
        sim = conversation.get("user_simulator") or {}
        sim = sim if isinstance(sim, dict) else {}
        brief: list[str] = []
        for key, label in (
            ("persona", "You are"),
            ("objective", "You want to"),
            ("style", "You talk like this:"),
            ("emotional_state", "You feel"),
            ("knowledge_level", "Your knowledge of the subject:"),
        ):
            if _text(sim.get(key)):
                brief.append(f"{label} {_text(sim[key])}.")
        constraints = [c for c in sim.get("constraints") or [] if _text(c)]
        if constraints:
            brief.append("Keep to these: " + "; ".join(constraints) + ".")
        if opening:
            brief.append(f'Open the conversation with: "{opening}"')
        for key in ("model_type", "temperature", "max_tokens"):
            if key in sim:
                self.drop((*parts, "user_simulator", key), "the simulated user's model settings")
        for key, words in (
            ("termination_conditions", "conditions that end the conversation early"),
            ("timeout_per_turn_ms", "a time limit per turn"),
            ("total_timeout_ms", "a time limit for the conversation"),
            ("debug_options", "ElizaOS debug options"),
        ):
            if key in conversation:
                self.drop((*parts, key), words)
        max_turns = conversation.get("max_turns")
        turn_checks = self._evaluations(
            conversation.get("turn_evaluations"), (*parts, "turn_evaluations")
        )
        return SimulatedUser(
            brief=" ".join(brief) or "A user trying the character out.",
            max_turns=max_turns if isinstance(max_turns, int) and max_turns > 0 else DEFAULT_TURNS,
            model=None,
            where=self.where(*parts),
            expect=tuple(turn_checks),
        )

    def _evaluations(self, items: Any, parts: tuple[Part, ...]) -> list[Expect]:
        result: list[Expect] = []
        for index, item in enumerate(items or []):
            here = (*parts, index)
            expect = self._evaluation(item, here) if isinstance(item, dict) else None
            if expect is not None:
                result.append(expect)
        return result

    def _evaluation(self, item: dict[str, Any], parts: tuple[Part, ...]) -> Expect | None:
        kind = _text(item.get("type"))
        where = self.where(*parts)
        if kind == "string_contains" and _text(item.get("value")):
            if item.get("case_sensitive"):
                return Expect("matches", re.escape(item["value"]), where)
            return Expect("contains", item["value"], where)
        if kind == "regex_match" and _text(item.get("pattern")):
            try:
                re.compile(item["pattern"])
            except re.error as exc:
                pattern = item["pattern"]
                self.drop(parts, f"regex_match: /{pattern}/ is not a Python pattern ({exc})")
                return None
            return Expect("matches", item["pattern"], where)
        if kind == "trajectory_contains_action" and _text(item.get("action")):
            return Expect(
                "tool_called", {"name": item["action"], "arguments": {}, "order": None}, where
            )
        if kind == "llm_judge" and _text(item.get("prompt")):
            criteria = item["prompt"].strip()
            if _text(item.get("expected")):
                criteria += f" The expected answer is: {item['expected']}."
            capabilities = [c for c in item.get("capabilities") or [] if _text(c)]
            if capabilities:
                criteria += " The character should: " + "; ".join(capabilities) + "."
            for key in ("model_type", "temperature", "json_schema"):
                if key in item:
                    self.drop((*parts, key), "llm_judge's model settings; set judge_model instead")
            return Expect("judge", criteria, where)
        if kind == "context_retention" and item.get("test_memory_of"):
            facts = ", ".join(str(f) for f in item["test_memory_of"])
            return Expect(
                "judge", f"Through the conversation the character keeps in mind: {facts}.", where
            )
        reason = _NO_EQUIVALENT.get(kind, "no equivalent in a character test")
        self.drop(parts, f"{kind or 'an evaluation with no type'}: {reason}")
        return None


def _get(value: Any, key: str) -> Any:
    return value.get(key) if isinstance(value, dict) else None


def _text(value: Any) -> str:
    return value.strip() if isinstance(value, str) else ""
