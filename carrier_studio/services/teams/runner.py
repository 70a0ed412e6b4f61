"""One run of a team (`TeamRunner`): members' agents, turns routed through the team network,
the loop guard, and every event stored through the `TeamService` that started it."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any, Protocol

from carrier_studio.core.characters.document import CharacterDoc
from carrier_studio.core.errors import CarrierError
from carrier_studio.core.events import Emitter
from carrier_studio.core.runtime.context_budget import context_window, fit_agent, tools_tokens
from carrier_studio.core.runtime.events import (
    Done,
)
from carrier_studio.core.runtime.tool_output import tool_output_text
from carrier_studio.core.runtime.transcript import Failure, ToolCall, TurnReducer
from carrier_studio.core.teams.events import TeamEvent
from carrier_studio.core.teams.haas import NETWORK_TOOLS
from carrier_studio.core.teams.model import USER, Team, TeamError
from carrier_studio.core.teams.network import Delivery, Posted, Stop, TeamNetwork
from carrier_studio.services.chat import ConversationStore
from carrier_studio.services.providers import (
    agents_model,
    check_choice,
    choice_for,
    classify_error,
)
from carrier_studio.services.teams.fitting import (
    fitted_config,
    member_windows,
    servers_note,
    trimmed_note,
)

if TYPE_CHECKING:
    from carrier_studio.services.characters import CharacterStore
    from carrier_studio.services.mcp import McpManager
    from carrier_studio.services.platform.db import Database
    from carrier_studio.services.platform.secrets import SecretStore
    from carrier_studio.services.platform.settings_store import SettingsStore

#: How long a run waits for its members' MCP servers to start before going without them.
MCP_START_WAIT = 15.0
#: Model calls one member may make while answering one message (tool calls included).
MEMBER_MAX_TURNS = 10


log = logging.getLogger(__name__)


class TeamHost(Protocol):
    """What a run needs from the `TeamService` that starts it (a Protocol: the service imports
    this module, not the other way round)."""

    characters: CharacterStore
    settings: SettingsStore
    secrets: SecretStore
    db: Database
    mcp: McpManager | None

    async def record_event(self, run_id: int, event: TeamEvent) -> None: ...

    async def finish_run(self, run_id: int, stop: Stop, turns: int) -> None: ...

    async def context_windows(self, choice: Any) -> dict[str, int]: ...


class TeamRunner:
    """One run of a team: `open`, then `run` (until it stops) or `step` (one turn); `say`
    speaks as USER; `stop` ends the current turn at once; `close` frees the model clients."""

    def __init__(self, service: TeamHost, team: Team) -> None:
        self.service = service
        self.team = team
        self.network = TeamNetwork(team)
        self.events: list[TeamEvent] = []
        self.run_id: int | None = None
        self.stopped: Stop | None = None
        #: Emits every `TeamEvent` of the run.
        self.changed: Emitter[TeamEvent] = Emitter("team run")
        self._queues: list[asyncio.Queue[TeamEvent | None]] = []
        self._sessions: dict[str, Any] = {}
        self._clients: list[Any] = []
        self._current: Any = None
        #: Each member's context window (what its model's server states, else the known size).
        self.windows: dict[str, int] = {}
        #: How many items each member's last model call was sent without (the oldest turns).
        self._left_out: dict[str, int] = {}
        #: Members whose trimmed conversation the transcript has told of already.
        self._trim_told: set[str] = set()
        self._stop_requested = False
        self._turn_lock = asyncio.Lock()

    # -- listening -------------------------------------------------------------------------

    async def stream(self) -> AsyncIterator[TeamEvent]:
        """Every event from now on, until the runner is closed."""
        queue: asyncio.Queue[TeamEvent | None] = asyncio.Queue()
        self._queues.append(queue)
        try:
            while (event := await queue.get()) is not None:
                yield event
        finally:
            self._queues.remove(queue)

    async def _emit(self, event: TeamEvent) -> None:
        self.events.append(event)
        if self.run_id is not None:
            await self.service.record_event(self.run_id, event)
        self.changed.emit(event)
        for queue in self._queues:
            queue.put_nowait(event)

    # -- lifecycle -------------------------------------------------------------------------

    @property
    def running(self) -> bool:
        return self._turn_lock.locked()

    async def open(self, *, initial: bool = True) -> None:
        """Check the members, build their agents, record the run, and (with ``initial``) queue
        the team's first message."""
        service = self.service
        entries = await asyncio.to_thread(service.characters.list)
        docs = {e.doc.name: e.doc for e in entries if e.doc is not None and e.error is None}
        problems = self.team.problems(characters=list(docs))
        if problems:
            where, message = problems[0]
            raise TeamError(f"cannot run: {message}", where=where)
        providers = service.settings.settings.providers
        choices = {name: choice_for(docs[name], providers) for name in self.team.names}
        for choice in choices.values():
            await asyncio.to_thread(check_choice, choice, providers, service.secrets)
        store = ConversationStore(service.db)
        remembered = {name: await store.remembered(name) for name in self.team.names}
        workspace_policy = await store.workspace_policies()
        mcp_tools, notes = await self._mcp_tools(docs)
        self.windows = await member_windows(choices, service.context_windows)
        self._sessions, asking, left_out = await asyncio.to_thread(
            self._build_sessions, docs, remembered, workspace_policy, mcp_tools
        )
        self.run_id = await service._new_run(self.team)
        for member, servers in left_out.items():
            notes += servers_note(member, servers)  # said once for the run
        for member, tools in asking.items():
            notes.append(
                f"{member} goes without {', '.join(tools)}: they ask for approval, and a team "
                "runs without asking. Set them to auto on the MCP page to let teams use them."
            )
        for note in notes:
            await self._emit(TeamEvent("note", "", (), note, 0))
        if initial and self.team.init_message.strip():
            await self._user(self.team.init_message, self.team.entry_member)

    async def _mcp_tools(self, docs: dict[str, CharacterDoc]) -> tuple[dict[str, list], list]:
        """The tools of the MCP servers the members name (started if needed), and notes
        about servers that did not come up in time."""
        manager = self.service.mcp
        names = sorted({s for n in self.team.names for s in docs[n].strings("mcp_servers")})
        if manager is None or not names:
            return {}, []
        from agents.mcp import MCPUtil

        starting = asyncio.ensure_future(manager.ensure(names))
        done, _ = await asyncio.wait({starting}, timeout=MCP_START_WAIT)
        if not done:
            starting.add_done_callback(lambda f: f.cancelled() or f.exception())
            return {}, [
                f"The MCP servers {', '.join(names)} are still starting; this run "
                "goes without their tools."
            ]
        tools: dict[str, list] = {}
        notes = []
        servers = starting.result()
        for missing in sorted(set(names) - {server.name for server in servers}):
            why = manager.status(missing).error or "it is turned off or unknown"
            notes.append(f"The MCP server {missing} is not available: {why}.")
        for server in servers:
            try:
                listed = await server.list_tools()
            except Exception as exc:  # noqa: BLE001 - one broken server must not stop the team
                notes.append(f"The MCP server {server.name} did not list its tools: {exc}")
                continue
            tools[server.name] = [MCPUtil.to_function_tool(t, server, False) for t in listed]
        return tools, notes

    def _build_sessions(
        self,
        docs: dict[str, CharacterDoc],
        remembered: dict[str, dict[str, str]],
        workspace_policy: dict[str, str],
        mcp_tools: dict[str, list],
    ) -> tuple[dict[str, Any], dict[str, list[str]], dict[str, list[tuple[str, str]]]]:
        """A session per member, the tools left out because they would ask, and the MCP
        servers left out because their tools do not fit the member's window (with why)."""
        from agents import RunConfig

        from carrier_studio.core.runtime.agent_factory import AgentFactory
        from carrier_studio.core.runtime.session import ChatSession
        from carrier_studio.core.runtime.tools import BUILTIN_TOOLS
        from carrier_studio.core.teams.tools import network_tools, team_briefing

        providers = self.service.settings.settings.providers

        def resolve(character: CharacterDoc) -> Any:
            model, settings, client = agents_model(
                choice_for(character, providers), providers, self.service.secrets
            )
            self._clients.append(client)
            return model, settings

        tracing = providers.openai_tracing
        config = RunConfig(tracing_disabled=not tracing, workflow_name="Carrier Studio team")
        sessions = {}
        asking: dict[str, list[str]] = {}
        left_out: dict[str, list[tuple[str, str]]] = {}
        servers = {server: [tool.name for tool in tools] for server, tools in mcp_tools.items()}
        for name in self.team.names:
            doc = docs[name].copy()
            doc.data["system"] = f"{doc.text('system')}\n\n{team_briefing(self.team, name)}"
            doc.data.pop("handoffs", None)  # members reach each other through messages
            tools = {**BUILTIN_TOOLS, **network_tools(name, self._act)}
            # Network tools move words only inside the team: they never ask for approval.
            policies = {**remembered.get(name, {}), **dict.fromkeys(NETWORK_TOOLS, "auto")}
            factory = AgentFactory(
                resolve,
                {name: doc},
                {name: policies},
                tools=tools,
                mcp_tools=mcp_tools,
                workspace_policy=workspace_policy,
            )
            agent = factory.build(doc)
            # Nobody is there to approve a call in the middle of a team run: tools that would
            # ask are left out (and the transcript says so).
            waiting = [t.name for t in agent.tools if getattr(t, "needs_approval", False)]
            if waiting:
                asking[name] = waiting
                agent.tools = [t for t in agent.tools if t.name not in waiting]
            # As the chat does on a small model: the largest MCP servers' tools are left
            # out when they would leave no room for the conversation.
            window = self.windows.get(name) or context_window("")
            agent, why = fit_agent(agent, servers, window)
            if why:
                left_out[name] = sorted(why.items())
            sessions[name] = ChatSession(
                lambda agent=agent: agent,
                classify_error,
                run_config=fitted_config(
                    config,
                    window,
                    tools_tokens(agent),
                    lambda left, name=name: self._left_out.__setitem__(name, left),
                ),
                max_turns=MEMBER_MAX_TURNS,
            )
        return sessions, asking, left_out

    async def close(self) -> None:
        self.stop()
        async with self._turn_lock:
            pass
        clients, self._clients = self._clients, []
        for client in clients:
            await client.close()
        for queue in self._queues:
            queue.put_nowait(None)

    # -- the user --------------------------------------------------------------------------

    async def say(self, text: str, to: str = "") -> Posted:
        """Speak as USER to ``to`` (default: the entry member); answered on the next turn."""
        return await self._user(text, to or self.team.entry_member)

    async def _user(self, text: str, to: str) -> Posted:
        posted = self.network.user_says(text, to)
        if posted.ok:
            self.stopped = None
            if self.network.turns >= self.team.turn_budget:
                self.network.allow_more(self.team.turn_budget)
            await self._emit(TeamEvent("user", USER, (to,), text, self.network.turns))
        else:
            await self._emit(TeamEvent("refused", USER, (to,), posted.tool_output()))
        return posted

    # -- turns -----------------------------------------------------------------------------

    def stop(self) -> None:
        """End the running turn now (what was said so far is kept) and stop the run."""
        self._stop_requested = True
        if self._current is not None:
            self._current.cancel()

    async def run(self) -> Stop:
        """Take turns until the team finishes, a guard or the budget stops it, or `stop`."""
        self._stop_requested = False
        while True:
            stop = await self.step()
            if stop is not None:
                return stop

    async def step(self) -> Stop | None:
        """One turn: the next message is answered by its recipient. Returns why the team
        stopped, or None when there is more to do."""
        if self.run_id is None:
            raise TeamError("the team is not open yet")
        async with self._turn_lock:
            if self.stopped is not None and self.stopped.kind != "finished":
                # A guard or the budget stopped it: the user's Step goes on anyway.
                self.network.allow_more(self.team.turn_budget)
            self.stopped = None
            delivery = self.network.next_turn()
            if delivery is None:
                return await self._stopped(self.network.check() or Stop("finished", ""))
            stop = await self._turn(delivery)
            if stop is None and self._stop_requested:
                stop = Stop("stopped", "Stopped by the user.")
            stop = stop or self.network.check()
            return await self._stopped(stop) if stop else None

    async def _stopped(self, stop: Stop) -> Stop:
        self._stop_requested = False
        self.stopped = stop
        await self._emit(
            TeamEvent("stopped", "", (), stop.reason, self.network.turns, {"reason": stop.kind})
        )
        if self.run_id is not None:
            await self.service.finish_run(self.run_id, stop, self.network.turns)
        return stop

    async def _turn(self, delivery: Delivery) -> Stop | None:
        member = delivery.recipient
        turn = self.network.turns
        await self._emit(TeamEvent("turn", member, (), "", turn, {"from": delivery.sender}))
        session = self._sessions[member]
        turn_items = TurnReducer(member)
        stream = session.send(delivery.prompt())
        self._current = session
        try:
            async for event in stream:
                for item in turn_items.feed(event):
                    if isinstance(item, ToolCall) and item.name not in NETWORK_TOOLS:
                        # A network tool is shown as the message it sent (or the refusal).
                        result = tool_output_text(item.result)
                        meta = {"name": item.name, "arguments": item.arguments, "result": result}
                        await self._emit(TeamEvent("tool", member, (), result, turn, meta))
                    elif isinstance(item, Failure):
                        meta = {"hint": item.hint}
                        await self._emit(TeamEvent("error", member, (), item.message, turn, meta))
                        return Stop("error", f"{member} failed: {item.message}")
                if isinstance(event, Done):
                    if event.cancelled:
                        return Stop("stopped", "Stopped by the user.")
                    said = (event.final_text or "".join(turn_items.replies())).strip()
                    if said and delivery.sender == USER:
                        self.network.answer_user(member, said)
                        await self._emit(TeamEvent("reply", member, (USER,), said, turn))
                    elif said:
                        await self._emit(TeamEvent("note", member, (), said, turn))
        finally:
            self._current = None
            await stream.aclose()
        await self._tell_trimmed(member, turn)
        return None

    async def _tell_trimmed(self, member: str, turn: int) -> None:
        """Say once per member, the first time it happens, that its model is no longer sent
        the oldest turns of its conversation (as the chat's marker does for a reply)."""
        left = self._left_out.get(member, 0)
        if not left or member in self._trim_told:
            return
        self._trim_told.add(member)
        window = self.windows.get(member) or context_window("")
        text = trimmed_note(member, left, window)
        meta = {"member": member, "left_out": left}
        await self._emit(TeamEvent("note", "", (), text, turn, meta))

    async def _act(self, member: str, tool: str, args: dict[str, Any]) -> str:
        """A member called a network tool: route it, tell the listeners, answer the model."""
        network = self.network
        if tool == "send_message":
            posted = network.post(member, str(args.get("to", "")), str(args.get("text", "")))
            kind, meta = "message", {}
        elif tool == "broadcast":
            posted = network.broadcast(member, str(args.get("channel", "")), str(args["text"]))
            kind, meta = "broadcast", {"channel": str(args.get("channel", "")).lstrip("#")}
        elif tool == "assign_task":
            posted = network.assign(member, str(args.get("to", "")), str(args.get("task", "")))
            kind, meta = "task", {"task_id": posted.task_id}
        elif tool == "resolve_task":
            task_id = str(args.get("task_id", ""))
            posted = network.resolve(member, task_id, str(args.get("result", "")))
            kind, meta = "result", {"task_id": task_id.strip()}
        else:  # pragma: no cover - the four tools above are all there is
            raise CarrierError(f"unknown network tool {tool}")
        turn = network.turns
        if not posted.ok:
            meta = {"tool": tool, "arguments": args}
            await self._emit(TeamEvent("refused", member, (), posted.tool_output(), turn, meta))
        else:
            recipients = tuple(d.recipient for d in posted.deliveries)
            text = posted.deliveries[0].text if posted.deliveries else str(args.get("text", ""))
            await self._emit(TeamEvent(kind, member, recipients, text, turn, meta))
        return posted.tool_output()
