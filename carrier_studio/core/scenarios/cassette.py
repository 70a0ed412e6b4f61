"""A cassette: every model and tool exchange of one scenario run on one model, for offline replay.

Saved beside the scenario as ``<scenario>.<model-slug>.cassette.json``. It carries a fingerprint
of what shaped the exchanges (the character files involved, the scenario's set-up and user
turns, the model), so a replay can say *what* changed since recording instead of failing on a
reply that no longer fits. The expectations are not part of the fingerprint: editing them does
not change what the model was sent, and a creator iterates on them against one recording.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from carrier_studio.core.errors import CarrierError
from carrier_studio.core.scenarios.model import Scenario

CASSETTE_VERSION = 1
#: Model call streams by who made them: the character's agents, the simulated user, the judge.
ROLES = ("character", "user", "judge")


class CassetteError(CarrierError):
    """A cassette is missing, unreadable, or no longer fits its scenario."""


def _digest(value: Any) -> str:
    text = json.dumps(value, sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def model_slug(model: str) -> str:
    """A file-name-safe form of a model string: ``openai-compatible:qwen2.5@lm`` →
    ``openai-compatible-qwen2.5-lm``."""
    return re.sub(r"[^A-Za-z0-9._-]+", "-", model).strip("-") or "model"


def cassette_path(scenario_path: Path, model: str) -> Path:
    stem = scenario_path.name.split(".")[0] or scenario_path.stem
    return scenario_path.with_name(f"{stem}.{model_slug(model)}.cassette.json")


@dataclass(frozen=True)
class Fingerprint:
    """Digests of the three things a recording depends on."""

    character: str
    scenario: str
    model: str

    @classmethod
    def of(cls, characters: dict[str, Any], scenario: Scenario, model: str) -> Fingerprint:
        """``characters``: the data of every character file the run uses (the tested one and
        those it hands off to), by name."""
        user = scenario.simulated_user
        shaping = {
            "character": scenario.character,
            "team": scenario.team,
            "setup": asdict(scenario.setup),
            "turns": [turn.user for turn in scenario.turns],
            "simulated_user": None
            if user is None
            else {"brief": user.brief, "max_turns": user.max_turns, "model": user.model},
        }
        return cls(_digest(characters), _digest(shaping), model)

    def changes(self, recorded: Fingerprint) -> list[str]:
        """What differs from ``recorded``, in words (empty: the cassette fits)."""
        found = []
        if self.character != recorded.character:
            found.append("the character file changed since recording")
        if self.scenario != recorded.scenario:
            found.append("the scenario's set-up or user turns changed since recording")
        if self.model != recorded.model:
            found.append(f"it was recorded on {recorded.model}, not {self.model}")
        return found


@dataclass
class Cassette:
    fingerprint: Fingerprint
    #: role → the model calls in the order they were made. A call is
    #: ``{"kind": "stream", "events": [...]}`` or ``{"kind": "response", ...}``; the judge's
    #: calls are keyed by their criteria instead (``judge`` maps digest → call).
    calls: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    judge: dict[str, dict[str, Any]] = field(default_factory=dict)
    #: Tool invocations in order: name, arguments (JSON text), result.
    tools: list[dict[str, Any]] = field(default_factory=list)
    #: The MCP tools each server offered: server → [{name, description, schema, strict}].
    servers: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    #: The context windows the models of the run's characters stated when recorded (model →
    #: tokens; a model whose server stated none is absent): a replay, which asks no server,
    #: fits the requests as the recording did.
    windows: dict[str, int] = field(default_factory=dict)

    def to_json(self) -> str:
        data = {
            "version": CASSETTE_VERSION,
            "fingerprint": asdict(self.fingerprint),
            "calls": self.calls,
            "judge": self.judge,
            "tools": self.tools,
            "servers": self.servers,
            "windows": self.windows,
        }
        return json.dumps(data, ensure_ascii=False, indent=1) + "\n"

    @classmethod
    def from_json(cls, text: str, path: Path) -> Cassette:
        try:
            data = json.loads(text)
            if not isinstance(data, dict) or data.get("version") != CASSETTE_VERSION:
                raise ValueError(f"not a version {CASSETTE_VERSION} cassette")
            return cls(
                Fingerprint(**data["fingerprint"]),
                dict(data.get("calls") or {}),
                dict(data.get("judge") or {}),
                list(data.get("tools") or []),
                dict(data.get("servers") or {}),
                _windows(data.get("windows")),
            )
        except (ValueError, KeyError, TypeError) as exc:
            raise CassetteError(
                f"{path} is not a readable cassette: {exc}", hint="Record it again with --record."
            ) from exc

    def check(self, current: Fingerprint, path: Path) -> None:
        """Raise CassetteError naming what changed when the cassette no longer fits."""
        changes = current.changes(self.fingerprint)
        if changes:
            raise CassetteError(
                f"the cassette {path.name} no longer fits: {'; '.join(changes)}: "
                "re-record with --record"
            )


def _windows(value: Any) -> dict[str, int]:
    if value is None:
        return {}  # a cassette recorded before windows were kept
    if not isinstance(value, dict):
        raise ValueError(f"windows is {value!r}, not model names and their tokens")
    for model, tokens in value.items():
        if isinstance(tokens, bool) or not isinstance(tokens, int) or tokens <= 0:
            raise ValueError(f"the window of {model} is {tokens!r}, not a number of tokens")
    return dict(value)


def judge_key(criteria: str, transcript: str) -> str:
    """Where a judge's grading is kept: what it was asked about what."""
    return _digest([criteria, transcript])
