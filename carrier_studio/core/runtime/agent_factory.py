"""A character becomes an `agents.Agent`, with its handoffs built as agents too."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

from agents import Agent, FunctionTool, Model, ModelSettings

from carrier_studio.core.characters.document import CharacterDoc
from carrier_studio.core.characters.prompt import compose_instructions
from carrier_studio.core.runtime.tools import (
    BUILTIN_TOOLS,
    mcp_policy_for,
    policy_for,
    with_policy,
)

#: Resolves a character's model: provider client, model name and settings live in services.
ModelResolver = Callable[[CharacterDoc], tuple[Model, ModelSettings]]


@dataclass
class AgentFactory:
    """Builds the agent for one character (and the agents it hands off to)."""

    resolve_model: ModelResolver
    #: All characters of the workspace by name, for handoffs.
    characters: Mapping[str, CharacterDoc]
    #: Remembered approval answers: character name -> tool name -> policy.
    remembered: Mapping[str, Mapping[str, str]]
    tools: Mapping[str, FunctionTool] = None  # type: ignore[assignment]
    #: The tools of each running MCP server the characters name, by server name.
    mcp_tools: Mapping[str, list[FunctionTool]] = None  # type: ignore[assignment]
    #: Workspace-wide policies for MCP tools (set on the MCP page).
    workspace_policy: Mapping[str, str] = None  # type: ignore[assignment]
    #: queue_instagram_post, for characters whose file turns Instagram on; asks by default.
    instagram_tool: FunctionTool | None = None
    seed: int = 0

    def __post_init__(self) -> None:
        if self.tools is None:
            self.tools = BUILTIN_TOOLS
        if self.mcp_tools is None:
            self.mcp_tools = {}
        if self.workspace_policy is None:
            self.workspace_policy = {}

    def build(self, doc: CharacterDoc) -> Agent:
        agents: dict[str, Agent] = {}
        root = self._agent(doc, agents)
        # Second pass: handoffs may form cycles (A hands to B, B back to A).
        pending = [doc]
        wired: set[str] = set()
        while pending:
            current = pending.pop()
            if current.name in wired:
                continue
            wired.add(current.name)
            targets = []
            for name in current.strings("handoffs"):
                other = self.characters.get(name)
                if other is None or name == current.name:
                    continue
                targets.append(agents.get(name) or self._agent(other, agents))
                pending.append(other)
            agents[current.name].handoffs = list(targets)
        return root

    def _agent(self, doc: CharacterDoc, agents: dict[str, Agent]) -> Agent:
        model, settings = self.resolve_model(doc)
        policy = doc.section("tool_policy")
        remembered = self.remembered.get(doc.name, {})
        tools = []
        for name, tool in self.tools.items():
            shaped = with_policy(tool, policy_for(name, policy, remembered))
            if shaped is not None:
                tools.append(shaped)
        if self.instagram_tool is not None and doc.section("instagram").get("enabled") is True:
            from carrier_studio.core.runtime.instagram_tool import DEFAULT_POLICY, TOOL_NAME

            rule = policy_for(TOOL_NAME, policy, remembered, default=DEFAULT_POLICY)
            shaped = with_policy(self.instagram_tool, rule)
            if shaped is not None:
                tools.append(shaped)
        taken = {tool.name for tool in tools}
        for server in doc.strings("mcp_servers"):
            for tool in self.mcp_tools.get(server, []):
                if tool.name in taken:  # two servers with one tool name: the first wins
                    continue
                rule = mcp_policy_for(tool.name, server, policy, remembered, self.workspace_policy)
                shaped = with_policy(tool, rule)
                if shaped is not None:
                    tools.append(shaped)
                    taken.add(tool.name)
        bio = doc.strings("bio")
        agent = Agent(
            name=doc.name,
            instructions=compose_instructions(doc, seed=self.seed),
            handoff_description=bio[0] if bio else None,
            model=model,
            model_settings=settings,
            tools=tools,
        )
        agents[doc.name] = agent
        return agent
