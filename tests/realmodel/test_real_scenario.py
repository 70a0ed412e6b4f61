"""A character test run live on the real small model: a scripted scenario file, read by the
loader, through the ScenarioService and the chat's runtime (no scripted server, no cassette).

Structure, not wording: the run starts, the reply streams and is recorded with its latency and
tokens, and plain expectations are judged on what the model really said.
"""

from __future__ import annotations

import asyncio
import json
from typing import TYPE_CHECKING

import pytest

from carrier_studio.core.scenarios.loader import load_scenario
from carrier_studio.core.settings import CompatEndpoint, ModelChoice, Settings
from carrier_studio.services.characters.store import CharacterStore
from carrier_studio.services.platform.db import Database
from carrier_studio.services.platform.secrets import SecretStore
from carrier_studio.services.platform.settings_store import SettingsStore
from carrier_studio.services.scenarios import RunnerDeps, ScenarioRunStore, ScenarioService

if TYPE_CHECKING:
    from tests.realmodel.conftest import RealModel

pytestmark = pytest.mark.real_model

SCENARIO = """\
character: Sol
description: Sol answers a question about the sun.
turns:
  - user: What is the sun? Answer in one sentence.
    expect:
      - min_chars: 5
      - max_chars: 4000
      - not_contains: "<|im_start|>"
"""


def test_a_scripted_scenario_runs_live_on_the_real_model(real_model: RealModel, tmp_path):
    (tmp_path / "characters").mkdir()
    sol = {"name": "Sol", "system": "You are Sol. Answer in one short sentence.", "bio": ["Sol."]}
    (tmp_path / "characters" / "sol.json").write_text(json.dumps(sol))
    (tmp_path / "scenarios").mkdir()
    path = tmp_path / "scenarios" / "sun.yaml"
    path.write_text(SCENARIO)
    settings = Settings()
    settings.providers.endpoints = [CompatEndpoint(name="local", base_url=real_model.base_url)]
    settings.providers.default = ModelChoice(
        provider="openai-compatible", model=real_model.model, endpoint="local", temperature=0
    )
    store = SettingsStore(tmp_path / "settings.json", settings)
    secrets = SecretStore("session", tmp_path / ".env", environ={})
    characters = CharacterStore(tmp_path / "characters", tmp_path / ".trash")

    async def by_name():
        entries = await asyncio.to_thread(characters.list)
        return {e.doc.name: e.doc for e in entries if e.doc is not None}

    async def run():
        db = Database(tmp_path / "studio.db")
        await db.open()
        try:
            service = ScenarioService(
                tmp_path / "scenarios", RunnerDeps(store, secrets, by_name), ScenarioRunStore(db)
            )
            (entry,) = await service.list()
            records = await service.run([entry.scenario], ["default"])
            return records, await service.latest()
        finally:
            await db.close()

    scenario = load_scenario(path)
    assert scenario.character == "Sol"
    (record,), latest = asyncio.run(run())
    assert record.error is None, record.error
    assert not record.replayed
    (turn,) = record.turns
    assert turn.reply.strip() and turn.error is None
    assert turn.first_token_s is not None and turn.latency_s >= turn.first_token_s
    assert turn.output_tokens > 0
    assert [v.expect.kind for v in record.verdicts] == ["min_chars", "max_chars", "not_contains"]
    assert record.passed, [(v.expect.kind, v.detail) for v in record.verdicts]
    assert [(r.scenario, r.passed) for r in latest] == [("sun", True)]
