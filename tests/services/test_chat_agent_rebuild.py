"""The agent a turn runs with is always built (the walkthrough's "'NoneType' object has no
attribute 'handoffs'"): a turn never starts on an agent dropped by a remembered approval, a
model switch or a server's changed tools; it awaits the build for the current settings."""

from __future__ import annotations

import asyncio

from carrier_studio.core.runtime.events import ApprovalRequested, RunError, ToolCallFinished
from carrier_studio.core.settings import ModelChoice
from tests.fakes import text, tool_call
from tests.services.test_chat_runtime import collect, run, texts, workspace


def test_a_remembered_approval_after_a_prepared_agent_leaves_the_next_turn_an_agent(
    tmp_path, keyring_backend
):
    """The walkthrough's path: the agent was built by `prepare` before the first message (its
    finished build kept), the approval was remembered, and the next message awaited that old
    build again and ran on None."""

    async def go():
        async with workspace(tmp_path, keyring_backend) as (ws, server):
            ws.edit_character("ada.json", tool_policy={"calculate": "ask"})
            server.script(
                tool_call("calculate", {"expression": "2 + 2"}),
                text("Four."),
                tool_call("calculate", {"expression": "3 + 3"}),
                text("Six."),
            )
            cid = await ws.conversations.create("Ada")
            thread = await ws.open(cid)
            await thread._building  # the page's prepare() finished before the user typed
            paused = await collect(thread.send("2 + 2?"))
            request = next(e for e in paused if isinstance(e, ApprovalRequested))
            await collect(thread.resolve({request.approval_id: True}, {request.approval_id: True}))
            return await collect(thread.send("3 + 3?"))

    next_turn = run(go())
    assert not [e for e in next_turn if isinstance(e, RunError)], next_turn
    assert not any(isinstance(e, ApprovalRequested) for e in next_turn), "remembered: auto"
    assert next(e for e in next_turn if isinstance(e, ToolCallFinished)).result == "6"


def test_a_model_switch_while_a_turn_awaits_the_build_gives_it_the_new_agent(
    tmp_path, keyring_backend
):
    """The build a turn awaits is replaced (the model switcher, while the agent is still being
    built): the turn waits for the new build instead of failing or running on None."""

    async def go():
        async with workspace(tmp_path, keyring_backend) as (ws, server):
            server.script(text("Hello."))
            cid = await ws.conversations.create("Ada")
            thread = await ws.open(cid)
            thread._building.cancel()  # the prepared build is gone: the turn builds its own
            await asyncio.gather(thread._building, return_exceptions=True)
            thread._building = None
            entered = asyncio.Event()
            release = asyncio.Event()
            build = thread._build_agent

            async def held_build():
                # The first build stops where it lists the character's files, until the
                # switch below replaced it; the next builds run through.
                if not entered.is_set():
                    entered.set()
                    await release.wait()
                await build()

            thread._build_agent = held_build
            turn = asyncio.ensure_future(collect(thread.send("Hi")))
            await entered.wait()
            other = ModelChoice(provider="openai-compatible", model="other-model", endpoint="local")
            thread.set_model(other)
            release.set()
            events = await turn
            return events, [r.body for r in server.requests if "chat/completions" in r.path]

    events, requests = run(go())
    assert not [e for e in events if isinstance(e, RunError)], events
    assert texts(events) == "Hello."
    assert requests[-1]["model"] == "other-model", "the turn ran on the new agent"


def test_a_model_switch_during_the_turns_recall_leaves_the_turn_its_agent(
    tmp_path, keyring_backend
):
    """The agent is dropped after the turn got it, while the turn awaits its memories: the run
    starts with the agent the turn got (not the thread's None) and the next turn gets the new
    model."""

    async def go():
        async with workspace(tmp_path, keyring_backend) as (ws, server):
            server.script(text("Hello."), text("Again."))
            cid = await ws.conversations.create("Ada")
            thread = await ws.open(cid)
            other = ModelChoice(provider="openai-compatible", model="other-model", endpoint="local")
            recall = thread._recall

            async def switching_recall(text):
                thread._recall = recall  # once
                thread.set_model(other)  # the page's model switcher, mid-recall
                return await recall(text)

            thread._recall = switching_recall
            first = await collect(thread.send("Hi"))
            second = await collect(thread.send("Hi again"))
            models = [r.body["model"] for r in server.requests if "chat/completions" in r.path]
            return first, second, models

    first, second, models = run(go())
    assert not [e for e in first + second if isinstance(e, RunError)], first + second
    assert texts(first) == "Hello." and texts(second) == "Again."
    assert models == ["test-model", "other-model"]
