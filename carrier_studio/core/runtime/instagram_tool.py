"""The agent tool that lets a character queue an Instagram post.

Publishing speaks for the user in public, so the tool asks for approval by default
(`DEFAULT_POLICY`); a character's ``tool_policy`` or a remembered answer may change that like
for any tool. The queue itself lives in services; this module only needs something that
satisfies `PostQueuer` (services.instagram.queue.InstagramQueue does).
"""

from __future__ import annotations

from typing import Any, Protocol

from agents import FunctionTool, RunContextWrapper, function_tool

from carrier_studio.core.runtime.tools import Policy

TOOL_NAME = "queue_instagram_post"
DEFAULT_POLICY: Policy = "ask"


class PostQueuer(Protocol):
    async def queue_from_agent(
        self,
        character: str,
        files: list[str],
        caption: str,
        *,
        alt_text: str = "",
        scheduled_at: str = "",
    ) -> str:
        """Queue the post; return a sentence for the model (what was queued, or why not)."""
        ...


def make_queue_post_tool(queue: PostQueuer) -> FunctionTool:
    """The tool, bound to one workspace's queue. It needs approval unless a policy says so."""

    @function_tool(name_override=TOOL_NAME, needs_approval=True)
    async def queue_instagram_post(
        ctx: RunContextWrapper[Any],
        files: list[str],
        caption: str,
        alt_text: str = "",
        scheduled_at: str = "",
    ) -> str:
        """Queue a post for Instagram; the studio publishes it at its time.

        Args:
            files: Absolute paths of the image or video files on this computer. One image:
                an image post; one video: a reel; 2 to 10 files: a carousel.
            caption: The caption, at most 2,200 characters and 30 hashtags.
            alt_text: A description of the image for people who cannot see it.
            scheduled_at: When to publish, ISO 8601 with a time zone (empty: as soon as
                possible).
        """
        agent = getattr(ctx, "agent", None)
        character = getattr(agent, "name", "") or ""
        return await queue.queue_from_agent(
            character, files, caption, alt_text=alt_text, scheduled_at=scheduled_at
        )

    return queue_instagram_post
