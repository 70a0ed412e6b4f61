"""What one test run works with: its characters, its model, its tools, its memories, its
cassette (recorded into or replayed from); the chat's own way of building each, with the test's
set-up applied."""

from __future__ import annotations

import asyncio
import tempfile
import threading
from collections.abc import Awaitable, Callable, Iterable, Mapping
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from carrier_studio.core.characters.document import CharacterDoc
from carrier_studio.core.errors import CarrierError
from carrier_studio.core.scenarios.cassette import Cassette
from carrier_studio.core.scenarios.model import Scenario
from carrier_studio.core.settings import ModelChoice
from carrier_studio.services.platform.secrets import SecretStore
from carrier_studio.services.platform.settings_store import SettingsStore
from carrier_studio.services.providers import agents_model, check_choice

if TYPE_CHECKING:
    from carrier_studio.services.scenarios.cassette import ToolTape

# The cassette module imports the agents SDK: imported where a run needs it, so building the
# session (which makes this service) does not load the SDK before the first screen.
Mode = Literal["live", "record", "replay"]
#: How long a run waits for its MCP servers to start.
MCP_START_WAIT = 60.0


@dataclass
class RunnerDeps:
    """What runs need from the session: settings, keys, characters, MCP, the MCP page's
    workspace-wide tool policies."""

    settings: SettingsStore
    secrets: SecretStore
    characters_by_name: Callable[[], Awaitable[dict[str, CharacterDoc]]]
    mcp: Any = None
    workspace_policies: Callable[[], Awaitable[Mapping[str, str]]] | None = None
    #: Builds the embedder for seeded memories (default: the local model).
    embedder: Callable[[], Any] | None = None
    #: The workspace's secret values (keys, tokens) that no reply may repeat (``no_leak``);
    #: the tested characters' own secrets are always checked.
    secret_values: Callable[[], Iterable[str]] | None = None


@dataclass
class Tape:
    """The cassette of this run: replayed from, or recorded into (None: live)."""

    mode: Mode
    cassette: Cassette | None = None
    path: Path | None = None
    tools: ToolTape | None = None

    def calls(self, role: str) -> list[dict[str, Any]]:
        assert self.cassette is not None
        return self.cassette.calls.setdefault(role, [])


class ModelPool:
    """Provider models shared by the runs of one matrix. Making a provider client costs about
    0.1 s of CPU (its TLS context), more than a scripted turn itself: a matrix of 300 runs
    made one per run and was bound by it. Runs use a model concurrently, as the SDK allows."""

    def __init__(self, deps: RunnerDeps) -> None:
        self._deps = deps
        self._made: dict[str, tuple[Any, Any, Any]] = {}
        self._checked: set[str] = set()
        # Agents are built in worker threads (keys are read from the keyring there).
        self._lock = threading.Lock()

    def get(self, choice: ModelChoice) -> tuple[Any, Any]:
        key = choice.model_dump_json()
        with self._lock:
            if key not in self._made:
                providers = self._deps.settings.settings.providers
                self._made[key] = agents_model(choice, providers, self._deps.secrets)
            model, settings, _client = self._made[key]
        return model, settings

    async def check(self, choice: ModelChoice) -> None:
        """Raise ProviderError when ``choice`` cannot answer (no key, no endpoint), before
        anything is started for a run; checked once per matrix (it reads the keyring)."""
        key = choice.model_dump_json()
        if key in self._checked:
            return
        providers = self._deps.settings.settings.providers
        await asyncio.to_thread(check_choice, choice, providers, self._deps.secrets)
        self._checked.add(key)

    async def close(self) -> None:
        made, self._made = self._made, {}
        for _model, _settings, client in made.values():
            await client.close()


@dataclass
class Run:
    """One run's state: the characters, the model, what to close at the end."""

    deps: RunnerDeps
    scenario: Scenario
    choice: ModelChoice
    tape: Tape
    #: The provider models, shared with the other runs of a matrix.
    pool: ModelPool
    docs: dict[str, CharacterDoc] = field(default_factory=dict)
    doc: CharacterDoc | None = None
    stack: AsyncExitStack = field(default_factory=AsyncExitStack)
    memory: Any = None
    memory_block: str = ""


def with_mcp(doc: CharacterDoc, switches: Mapping[str, bool]) -> CharacterDoc:
    """The character with the scenario's MCP servers turned on or off."""
    if not switches:
        return doc
    names = [n for n in doc.strings("mcp_servers") if switches.get(n, True)]
    names += [n for n, on in switches.items() if on and n not in names]
    return CharacterDoc({**doc.data, "mcp_servers": names})


def involved(docs: Mapping[str, CharacterDoc], doc: CharacterDoc) -> list[CharacterDoc]:
    """The character and every character it can hand off to, directly or not."""
    seen: dict[str, CharacterDoc] = {}
    pending = [doc]
    while pending:
        current = pending.pop()
        if current.name in seen:
            continue
        seen[current.name] = current
        pending.extend(docs[n] for n in current.strings("handoffs") if n in docs)
    return list(seen.values())


def model_for(run: Run, choice: ModelChoice, role: str) -> tuple[Any, Any]:
    """An agents Model and its settings for ``choice``: live, recording or replaying."""
    from agents import ModelSettings

    from carrier_studio.services.scenarios.cassette import RecordingModel, ReplayModel

    tape = run.tape
    if tape.mode == "replay":
        replay = ReplayModel(tape.calls(role), role, choice.model)
        return replay, ModelSettings(temperature=choice.temperature)
    model, settings = run.pool.get(choice)
    if tape.mode == "record":
        model = RecordingModel(model, tape.calls(role))
    return model, settings


async def mcp_tools(run: Run) -> dict[str, list[Any]]:
    """The MCP tools of the servers the characters name, as the chat gets them."""
    from carrier_studio.services.scenarios.cassette import (
        recording_tool,
        replayed_servers,
        schema_of,
    )

    tape = run.tape
    if tape.mode == "replay":
        assert tape.cassette is not None and tape.tools is not None
        return replayed_servers(tape.cassette, tape.tools)
    assert run.doc is not None
    names: set[str] = set()
    for doc in involved(run.docs, run.doc):
        names.update(doc.strings("mcp_servers"))
    manager = run.deps.mcp
    if manager is None or not names:
        return {}
    from agents.mcp import MCPUtil

    try:
        servers = await asyncio.wait_for(manager.ensure(sorted(names)), MCP_START_WAIT)
    except TimeoutError:
        raise CarrierError(
            f"the MCP servers {', '.join(sorted(names))} did not start within "
            f"{MCP_START_WAIT:.0f} s"
        ) from None
    tools: dict[str, list[Any]] = {}
    for server in servers:
        listed = await server.list_tools()
        tools[server.name] = [MCPUtil.to_function_tool(t, server, False) for t in listed]
    if tape.mode == "record":
        assert tape.cassette is not None
        log = tape.cassette.tools
        tape.cassette.servers = {s: [schema_of(t) for t in ts] for s, ts in tools.items()}
        tools = {s: [recording_tool(t, log) for t in ts] for s, ts in tools.items()}
    return tools


def builtin_tools(run: Run) -> dict[str, Any]:
    from carrier_studio.core.runtime.tools import BUILTIN_TOOLS
    from carrier_studio.services.scenarios.cassette import recording_tool

    tape = run.tape
    if tape.mode == "replay":
        assert tape.tools is not None
        return {name: tape.tools.replaying(tool) for name, tool in BUILTIN_TOOLS.items()}
    if tape.mode == "record":
        assert tape.cassette is not None
        log = tape.cassette.tools
        return {name: recording_tool(tool, log) for name, tool in BUILTIN_TOOLS.items()}
    return dict(BUILTIN_TOOLS)


async def seed_memories(run: Run) -> None:
    """A throw-away memory store holding the scenario's memories (the user's is never used)."""
    from carrier_studio.core.memory import MemoryRecord, Provenance
    from carrier_studio.core.runtime.memory_hooks import memory_settings
    from carrier_studio.services.memory import open_scratch_memory

    assert run.doc is not None
    seeds = run.scenario.setup.memories
    if not seeds or not memory_settings(run.doc.section("memory"))[0]:
        return
    folder = Path(tempfile.mkdtemp(prefix="carrier-scenario-"))
    run.stack.callback(_remove_tree, folder)
    embedder = run.deps.embedder() if run.deps.embedder else None
    run.memory = await open_scratch_memory(folder / "memory.db", embedder)
    run.stack.push_async_callback(run.memory.close)
    records = []
    for seed in seeds:
        extra = {"id": seed.id} if seed.id else {}
        records.append(
            MemoryRecord(
                character=run.doc.name,
                content=seed.content,
                kind=seed.kind,
                provenance=Provenance("import", None, None, "scenario"),
                **extra,
            )
        )
    await run.memory.remember(records)


def _remove_tree(folder: Path) -> None:
    import shutil

    shutil.rmtree(folder, ignore_errors=True)
