"""A character queues a post through the agent tool: paused for approval, then queued as it."""

from __future__ import annotations

import asyncio

from agents import Agent, ModelSettings, RunConfig, Runner
from agents.models.openai_chatcompletions import OpenAIChatCompletionsModel
from openai import AsyncOpenAI

from carrier_studio.core.runtime.instagram_tool import (
    DEFAULT_POLICY,
    TOOL_NAME,
    make_queue_post_tool,
)
from carrier_studio.core.runtime.tools import with_policy
from carrier_studio.services.instagram.queue import InstagramQueue
from carrier_studio.services.platform.db import Database
from tests.fakes import ScriptedLLMServer, text, tool_call
from tests.services.instagram import media


def test_the_tool_asks_first_then_queues_the_post_as_the_character(tmp_path):
    photo = media.jpeg(tmp_path / "ride.jpg")
    config = RunConfig(tracing_disabled=True)

    async def go():
        db = Database(tmp_path / "studio.db")
        await db.open()
        client = None
        try:
            queue = InstagramQueue(db, tmp_path / "instagram")
            async with ScriptedLLMServer() as server:
                server.script(
                    tool_call(
                        TOOL_NAME,
                        {
                            "files": [str(photo)],
                            "caption": "Sunday ride #bikelife",
                            "alt_text": "A bike",
                            "scheduled_at": "2030-05-01T09:00:00+02:00",
                        },
                    ),  # fmt: skip
                    text("Queued!"),
                )
                client = AsyncOpenAI(base_url=server.openai_base_url, api_key="k")
                model = OpenAIChatCompletionsModel(model="test-model", openai_client=client)
                tool = make_queue_post_tool(queue)
                agent = Agent(
                    name="Pip",
                    instructions="You post for Pip.",
                    model=model,
                    model_settings=ModelSettings(),
                    tools=[tool],
                )
                paused = await Runner.run(agent, "Post my ride photo on Sunday.", run_config=config)
                before = await queue.list()
                state = paused.to_state()
                for item in paused.interruptions:
                    state.approve(item)
                resumed = await Runner.run(agent, state, run_config=config)
                return tool, paused, before, resumed, await queue.list()
        finally:
            if client is not None:
                await client.close()
            await db.close()

    tool, paused, before, resumed, after = asyncio.run(go())
    assert DEFAULT_POLICY == "ask" and tool.needs_approval is True
    assert [i.name for i in paused.interruptions] == [TOOL_NAME]
    assert before == [], "nothing is queued before the user approves"
    (post,) = after
    assert post.character == "Pip" and post.caption == "Sunday ride #bikelife"
    assert (
        post.alt_text == "A bike" and post.scheduled_at.isoformat() == "2030-05-01T07:00:00+00:00"
    )
    assert resumed.final_output == "Queued!"
    assert with_policy(tool, "auto").needs_approval is False


def test_the_tool_reports_problems_to_the_model_instead_of_queueing(tmp_path):
    png = media.png(tmp_path / "logo.png")

    async def go():
        db = Database(tmp_path / "studio.db")
        await db.open()
        try:
            queue = InstagramQueue(db, tmp_path / "instagram")
            answers = [
                await queue.queue_from_agent("Pip", [str(png)], "hi"),
                await queue.queue_from_agent("Pip", [str(tmp_path / "nope.jpg")], "hi"),
                await queue.queue_from_agent("Pip", [str(png)], "hi", scheduled_at="next tuesday"),
            ]
            return answers, await queue.list()
        finally:
            await db.close()

    answers, queued = asyncio.run(go())
    assert answers[0].startswith("error: not queued") and "JPEG" in answers[0]
    assert "no such file" in answers[1] and "ISO 8601" in answers[2]
    assert queued == []
