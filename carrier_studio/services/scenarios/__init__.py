"""Character tests: scenarios run through the chat's runtime on a matrix of models, recorded
and replayed from cassettes, their history kept in studio.db. Other features (the Tests page,
the CLI, the session) use these names only."""

from carrier_studio.services.scenarios.choices import (
    DEFAULT,
    ModelSpecError,
    model_key,
    parse_model,
)
from carrier_studio.services.scenarios.runner import RunnerDeps, run_scenario
from carrier_studio.services.scenarios.service import ScenarioEntry, ScenarioService, load_file
from carrier_studio.services.scenarios.store import ScenarioRunStore

__all__ = [
    "DEFAULT",
    "load_file",
    "ModelSpecError",
    "RunnerDeps",
    "ScenarioEntry",
    "ScenarioRunStore",
    "ScenarioService",
    "model_key",
    "parse_model",
    "run_scenario",
]
