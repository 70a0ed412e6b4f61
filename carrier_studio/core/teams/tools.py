"""The network tools a team member's agent gets: send_message, broadcast, assign_task,
resolve_task. Each one calls back into the running team, which routes or refuses the message;
a refusal is the tool's output, so the model reads why and can try something else."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from agents import FunctionTool, function_tool

from carrier_studio.core.teams.model import USER, Team

#: ``act(member, tool, arguments)`` does what the tool asks and returns what the model reads.
Act = Callable[[str, str, dict[str, Any]], Awaitable[str]]


def network_tools(member: str, act: Act) -> dict[str, FunctionTool]:
    """The four network tools, bound to ``member`` as the sender."""

    async def send_message(to: str, text: str) -> str:
        """Send a message to one team member you talk to (or to USER, the person).

        Args:
            to: The member's name, exactly as in your team list, or USER.
            text: What to say.
        """
        return await act(member, "send_message", {"to": to, "text": text})

    async def broadcast(channel: str, text: str) -> str:
        """Say something to everyone in a channel you are in.

        Args:
            channel: The channel's name, without #.
            text: What to say.
        """
        return await act(member, "broadcast", {"channel": channel, "text": text})

    async def assign_task(to: str, task: str) -> str:
        """Give a task to a member you talk to; their result comes back to you.

        Args:
            to: The member's name.
            task: What they should do, with everything they need to know.
        """
        return await act(member, "assign_task", {"to": to, "task": task})

    async def resolve_task(task_id: str, result: str) -> str:
        """Finish a task you were given; the result goes to whoever assigned it.

        Args:
            task_id: The task's id, such as T1.
            result: The result.
        """
        return await act(member, "resolve_task", {"task_id": task_id, "result": result})

    tools = [function_tool(f) for f in (send_message, broadcast, assign_task, resolve_task)]
    return {tool.name: tool for tool in tools}


def team_briefing(team: Team, member: str) -> str:
    """What a member is told about its team, added to its own instructions."""
    me = team.member(member)
    if me is None:
        return ""
    talks = [t for s, t in team.links() if s == member]
    lines = [
        f"## Your team: {team.name}",
        f"You are {member}. Members: {', '.join(team.names)}. {USER} is the person running "
        "the team.",
        f"You can message: {', '.join(talks) or 'nobody directly'} (send_message, assign_task).",
    ]
    if me.channels:
        lines.append(f"Your channels: {', '.join('#' + c for c in me.channels)} (broadcast).")
    lines.append(
        "Only these tools reach other members; anything you write without them is a private "
        "note. When you are given a task, finish it with resolve_task. Stop when your part is "
        "done: do not send thanks or acknowledgements."
    )
    return "\n".join(lines)
