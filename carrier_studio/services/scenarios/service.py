"""The character tests' facade for the Tests page and the CLI: list the workspace's scenarios,
run a matrix of scenarios × models, read the run history.

A matrix runs ``jobs`` cells at a time, and at most `PROVIDER_CAP` at a time against any one
provider (an endpoint counts as its own provider), so a wide ``--jobs`` does not hammer one
rate limit. Replayed cells touch no provider and are capped by ``jobs`` only.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from carrier_studio.core.errors import CarrierError
from carrier_studio.core.scenarios.model import Scenario
from carrier_studio.core.scenarios.record import RunRecord
from carrier_studio.core.settings import ModelChoice, character_temperature
from carrier_studio.services.providers import choice_for
from carrier_studio.services.scenarios.choices import DEFAULT, parse_model
from carrier_studio.services.scenarios.runner import ModelPool, RunnerDeps, run_scenario
from carrier_studio.services.scenarios.store import ScenarioRunStore

Mode = Literal["live", "record", "replay"]
#: Cells run at once against one provider (or one OpenAI-compatible endpoint).
PROVIDER_CAP = 4


@dataclass(frozen=True)
class ScenarioEntry:
    """One ``scenarios/*.yaml`` file: its scenario, or why it cannot be read (file:line)."""

    path: Path
    scenario: Scenario | None
    error: str | None = None


class ScenarioService:
    def __init__(
        self,
        scenarios_dir: Path,
        deps: RunnerDeps,
        store: ScenarioRunStore | None = None,
        *,
        provider_cap: int = PROVIDER_CAP,
    ) -> None:
        self.scenarios_dir = scenarios_dir
        self.deps = deps
        self.store = store
        self.provider_cap = max(1, provider_cap)

    async def list(self) -> list[ScenarioEntry]:
        """Every scenario file of the workspace, by file name."""
        return await asyncio.to_thread(read_entries, sorted(self.scenarios_dir.glob("*.yaml")))

    async def run(
        self,
        scenarios: Sequence[Scenario],
        models: Sequence[str],
        *,
        jobs: int = 2,
        mode: Mode = "live",
        on_result: Callable[[RunRecord], None] | None = None,
    ) -> list[RunRecord]:
        """Run every scenario on every model (a scenario that pins its model: on that one
        only); records in matrix order, each handed to ``on_result`` as it finishes and
        stored in the run history."""
        docs = await self.deps.characters_by_name()
        cells: list[tuple[Scenario, ModelChoice | RunRecord]] = []
        for scenario in scenarios:
            for spec in [scenario.model] if scenario.model else list(models) or [DEFAULT]:
                try:
                    cells.append((scenario, self._choice(spec, scenario, docs)))
                except CarrierError as exc:
                    failed = RunRecord(scenario.name, scenario.character, spec, error=str(exc))
                    cells.append((scenario, failed))
        overall = asyncio.Semaphore(max(1, jobs))
        pool = ModelPool(self.deps)
        per_provider: dict[str, asyncio.Semaphore] = {}

        async def cell(scenario: Scenario, target: ModelChoice | RunRecord) -> RunRecord:
            if isinstance(target, RunRecord):
                record = target
            else:
                key = f"{target.provider}@{target.endpoint or ''}"
                cap = per_provider.setdefault(key, asyncio.Semaphore(self.provider_cap))
                async with overall:
                    if mode == "replay":
                        record = await run_scenario(self.deps, scenario, target, mode, pool, docs)
                    else:
                        async with cap:
                            record = await run_scenario(
                                self.deps, scenario, target, mode, pool, docs
                            )
            if self.store is not None:
                await self.store.add(record)
            if on_result is not None:
                on_result(record)
            return record

        try:
            return list(await asyncio.gather(*(cell(s, t) for s, t in cells)))
        finally:
            await pool.close()

    def _choice(self, spec: str, scenario: Scenario, docs: dict) -> ModelChoice:
        """The model ``spec`` names for ``scenario``'s character: ``default`` is the one the
        chat would use (the character's own, else the workspace default); any model gets the
        character's temperature."""
        providers = self.deps.settings.settings.providers
        doc = docs.get(scenario.character)
        if spec.strip() == DEFAULT and doc is not None:
            return choice_for(doc, providers)
        choice = parse_model(spec, providers)
        temperature = character_temperature(doc.data) if doc is not None else None
        if temperature is not None:
            choice = choice.model_copy(update={"temperature": temperature})
        return choice

    async def previous(self, scenario: str, model: str) -> RunRecord | None:
        """The cell's run before its latest (None: it ran once or never)."""
        if self.store is None:
            return None
        runs = await self.store.history(scenario, model, 2)
        return runs[1] if len(runs) > 1 else None

    async def latest(self) -> list[RunRecord]:
        """The latest run of every (scenario, model) cell."""
        return [] if self.store is None else await self.store.latest()


def load_file(path: Path) -> tuple[Scenario, list[str]]:
    """The scenario in ``path`` and what an import dropped: an ElizaOS ``*.scenario.yaml`` is
    imported as it is read (blocking: call in a thread).

    Raises:
        ScenarioError: the file cannot be read or breaks the format (with file:line).
    """
    from carrier_studio.core.scenarios.eliza import import_eliza_scenario
    from carrier_studio.core.scenarios.loader import ScenarioError, load_scenario

    if not path.name.endswith(".scenario.yaml"):  # ElizaOS's naming
        return load_scenario(path), []
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ScenarioError(f"cannot read the file: {exc}", path=path) from exc
    return import_eliza_scenario(text, path)


def read_entries(paths: Sequence[Path]) -> list[ScenarioEntry]:
    """Each file's scenario, or its error with file and line (blocking: call in a thread)."""
    from carrier_studio.core.scenarios.loader import ScenarioError

    entries = []
    for path in paths:
        try:
            entries.append(ScenarioEntry(path, load_file(path)[0]))
        except ScenarioError as exc:
            entries.append(ScenarioEntry(path, None, str(exc)))
        except OSError as exc:
            entries.append(ScenarioEntry(path, None, f"{path}: cannot be read ({exc})"))
    return entries
