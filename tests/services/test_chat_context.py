"""The run path leaves out the oldest turns that no longer fit the model's context window."""

from __future__ import annotations

import json

from carrier_studio.core.runtime.context_budget import DEFAULT_WINDOW
from tests.fakes import text, tool_call
from tests.services.test_chat_runtime import collect, run, workspace


def _turn(n: int) -> list[dict]:
    # About 4000 estimated tokens a turn: two of them pass the 8192 window less its reserve.
    return [
        {"role": "user", "content": f"question {n} " + "x" * 16_000},
        {"role": "assistant", "content": f"answer {n}"},
    ]


def test_the_oldest_turns_are_left_out_of_the_request_not_the_history(tmp_path, keyring_backend):
    async def go():
        async with workspace(tmp_path, keyring_backend) as (ws, server):
            cid = await ws.conversations.create("Ada")
            await ws.conversations.save_history(cid, _turn(1) + _turn(2), None)
            thread = await ws.open(cid)
            assert thread.context.window() == DEFAULT_WINDOW  # "test-model" is not known
            before = thread.context.budget("And now?")
            server.script(text("Fine."))
            await collect(thread.send("And now?"))
            after = thread.context.budget("")
            stored = await ws.conversations.get(cid)
            rows = await ws.conversations.messages(cid)
            return before, after, thread.context.left_out, server.requests, stored.history, rows

    before, after, left_out, requests, history, rows = run(go())
    # The reply keeps what its request went without (the transcript's marker after a restart).
    assert [(r.kind, r.meta.get("left_out")) for r in rows] == [("user", None), ("assistant", 2)]
    assert before.over and after.over
    assert left_out == 2
    sent = json.dumps(requests[0].body)
    assert "question 1" not in sent and "answer 1" not in sent
    assert "question 2" in sent and "And now?" in sent
    # The conversation itself keeps every turn.
    assert [m.get("content", "")[:10] for m in history][:2] == ["question 1", "answer 1"]


def test_a_server_that_states_its_window_is_believed(tmp_path, keyring_backend):
    from carrier_studio.services.providers import listed_windows

    async def go():
        async with workspace(tmp_path, keyring_backend) as (ws, server):
            server.models = ("test-model", "big", "trained", "plain")
            server.model_fields["test-model"] = {"meta": {"n_ctx": 4096, "n_ctx_train": 32768}}
            server.model_fields["big"] = {"max_model_len": 65536}  # vLLM
            server.model_fields["trained"] = {"meta": {"n_ctx_train": 16384}}  # older llama.cpp
            windows = await listed_windows(server.openai_base_url, "")
            nobody = await listed_windows("http://127.0.0.1:1/v1", "", within=1.0)
            cid = await ws.conversations.create("Ada")
            thread = await ws.open(cid)
            await ws.chat.learn_context_window(thread)
            return windows, nobody, thread.context.window()

    windows, nobody, window = run(go())
    assert windows == {"test-model": 4096, "big": 65536, "trained": 16384}
    assert nobody == {}
    assert window == 4096


def test_each_model_call_leaves_out_what_measuring_every_item_did():
    """ContextFit's filter as the SDK calls it (its own copies of the items each call), over a
    conversation that grows, is edited and switches models: the same items sent as when every
    item was measured at every call, and `left_out` the same count for the chat's notice."""
    from agents.run_config import CallModelData, ModelInputData
    from agents.run_internal.items import prepare_model_input_items

    from carrier_studio.core.runtime.context_budget import context_window, fit
    from carrier_studio.services.chat.context import ContextFit

    model = ["gpt-4o"]
    history: list[dict] = []
    context = ContextFit(lambda: model[0], lambda: None, lambda: history)
    filtered = context.wrap(lambda data: data.model_data)
    for n in range(60):
        history += _turn(n)
        history[-1]["content"] += " (edited)" if n % 7 == 0 else ""
        if n % 5 == 0:
            history[0]["content"] = "question 0 " + "y" * n * 500  # the first turn, rewritten
        model[0] = ["gpt-4o", "llama3", "phi3", "my-own-model"][n // 15]  # 128k, 8k, 4k, 8k
        items = prepare_model_input_items(history, [{"role": "user", "content": f"now {n}?"}])
        sent = run(filtered(CallModelData(ModelInputData(items, "You are Ada."), None, None)))
        kept, dropped = fit("You are Ada.", list(items), context_window(model[0]))
        assert (sent.input, context.left_out) == (kept, dropped), n
        assert context.budget("typed") == _measure_all(history, model[0])
    assert context.left_out > 0


def _measure_all(history: list[dict], model: str):
    from carrier_studio.core.runtime.context_budget import context_window, measure

    return measure("", list(history), "typed", context_window(model))


def test_a_send_measures_only_what_is_new(tmp_path, keyring_backend, monkeypatch):
    """The meter's reading as the conversation opens leaves the model calls of the next Send
    only their new items to measure: the message, then the tool call and its output."""
    from carrier_studio.core.runtime import context_budget
    from tests.fakes import tool_call

    measured: list[dict] = []

    def counted(item):
        measured.append(item)
        return item_tokens(item)

    item_tokens = context_budget.item_tokens
    monkeypatch.setattr(context_budget, "item_tokens", counted)
    answer = {
        "id": "__fake_id__",
        "content": [{"annotations": [], "text": "answer", "type": "output_text", "logprobs": []}],
        "role": "assistant",
        "status": "completed",
        "type": "message",
    }
    history = [item for n in range(30) for item in ({"role": "user", "content": f"q{n}"}, answer)]

    async def go():
        async with workspace(tmp_path, keyring_backend) as (ws, server):
            cid = await ws.conversations.create("Ada")
            await ws.conversations.save_history(cid, history, None)
            thread = await ws.open(cid)
            thread.context.budget("")  # the page's meter, as the conversation opens
            opened = len(measured)
            server.script(tool_call("calculate", {"expression": "6 * 7"}), text("It is 42."))
            await collect(thread.send("And now?"))
            return opened, measured[opened:]

    opened, during = run(go())
    assert opened == len(history)
    assert [item.get("type", item.get("role")) for item in during] == [
        "user",  # the first call: the new message
        "function_call",  # the second: the tool's call and its output
        "function_call_output",
    ]


def test_the_tools_definitions_count_against_the_window(tmp_path, keyring_backend):
    """Every request carries the agent's tool definitions (a few MCP servers' are thousands of
    tokens, more than a small local model's whole window): the meter shows them and the oldest
    turns make room for them."""
    from agents import FunctionTool

    async def noop(_ctx, _args):
        return ""

    # ≈3,000 estimated tokens of description: with the ≈4,000-token turn and the instructions
    # the request no longer fits the 8192 window less its reserve; without it, it does.
    big = FunctionTool(
        name="big_tool",
        description="Does everything. " + "y" * 12_000,
        params_json_schema={"type": "object", "properties": {}},
        on_invoke_tool=noop,
    )

    async def go():
        async with workspace(tmp_path, keyring_backend) as (ws, server):
            cid = await ws.conversations.create("Ada")
            await ws.conversations.save_history(cid, _turn(1), None)
            thread = await ws.open(cid)
            agent = await thread._ensure_agent()
            without = thread.context.budget("And now?")
            thread._agent = agent.clone(tools=[*agent.tools, big])  # as a rebuild makes it
            with_tool = thread.context.budget("And now?")
            server.script(text("Fine."))
            await collect(thread.send("And now?"))
            return without, with_tool, thread.context.left_out, server.requests

    without, with_tool, left_out, requests = run(go())
    assert not without.over
    assert with_tool.tokens >= without.tokens + 3_000 and with_tool.over
    assert left_out == 2
    sent = json.dumps(requests[0].body)
    assert "big_tool" in sent  # the tool went, and the old turn made room for it
    assert "question 1" not in sent and "And now?" in sent


def test_a_small_window_leaves_the_largest_servers_tools_out_and_says_so(tmp_path, keyring_backend):
    """A fresh profile's Ada on a 4096-token local model: her MCP servers' tool descriptions
    would leave no room for a message. The largest server's tools are left out of her
    requests (the others kept), the chat says which and why, and the meter counts what goes."""
    from agents import FunctionTool

    from carrier_studio.core.runtime.events import ToolsUnavailable

    async def noop(_ctx, _args):
        return ""

    def tool(name: str, description: str) -> FunctionTool:
        schema = {"type": "object", "properties": {}}
        return FunctionTool(name, description, schema, noop)

    big = tool("read_everything", "Reads every file. " + "z" * 12_000)  # ≈3,000 tokens
    small = tool("think", "Thinks a step.")

    async def go():
        async with workspace(tmp_path, keyring_backend) as (ws, server):
            server.model_fields["test-model"] = {"meta": {"n_ctx": 4096}}  # llama.cpp's listing
            cid = await ws.conversations.create("Ada")
            thread = await ws.open(cid)
            await ws.chat.learn_context_window(thread)
            agent = await thread._ensure_agent()
            # As the servers' tools are built into her agent (a new agent, as a rebuild makes).
            thread._agent = agent.clone(tools=[*agent.tools, big, small])
            thread._mcp_tool_names = {"files": ["read_everything"], "thinking": ["think"]}
            budget = thread.context.budget("Hello?")
            server.script(text("Hi."))
            events = await collect(thread.send("Hello?"))
            return budget, events, [r for r in server.requests if r.method == "POST"]

    budget, events, requests = run(go())
    assert not budget.fixed_over and budget.limit == 3072
    sent = json.dumps(requests[0].body)
    assert "read_everything" not in sent and "think" in sent
    (told,) = [e for e in events if isinstance(e, ToolsUnavailable)]
    assert [name for name, _why in told.servers] == ["files"]
    assert "4,096-token context window" in told.servers[0][1]


def test_a_character_handed_off_to_is_fitted_too(tmp_path, keyring_backend):
    """The Orchestrator hands off to Ada on a 4096-token local model, and Ada's own MCP
    server's tools are far more than the window holds beside a conversation: the request
    after the handoff goes without them (it fits), and the chat names her server."""
    from agents import FunctionTool

    from carrier_studio.core.runtime.context_budget import estimate_tokens
    from carrier_studio.core.runtime.events import Done, HandoffEvent, ToolsUnavailable

    async def noop(_ctx, _args):
        return ""

    schema = {"type": "object", "properties": {}}
    big = FunctionTool("read_everything", "Reads every file. " + "z" * 12_000, schema, noop)

    async def go():
        async with workspace(tmp_path, keyring_backend) as (ws, server):
            server.model_fields["test-model"] = {"meta": {"n_ctx": 4096}}  # llama.cpp's listing
            cid = await ws.conversations.create("Orchestrator")
            thread = await ws.open(cid)
            await ws.chat.learn_context_window(thread)
            agent = await thread._ensure_agent()
            (built,) = [h for h in agent.handoffs if h.name == "Ada"]
            # As her filesystem server's tools are built into her agent (new agents, as a
            # rebuild makes).
            ada = built.clone(tools=[*built.tools, big])
            handoffs = [ada if h is built else h for h in agent.handoffs]
            thread._agent = agent.clone(handoffs=handoffs)
            thread._mcp_tool_names = {"files": ["read_everything"]}
            server.script(tool_call("transfer_to_ada", {}), text("Ada here: on it."))
            events = await collect(thread.send("Please read my notes."))
            return events, [r for r in server.requests if r.method == "POST"], ada

    events, requests, ada = run(go())
    assert any(isinstance(e, HandoffEvent) and e.to_agent == "Ada" for e in events)
    assert isinstance(events[-1], Done) and events[-1].completed and events[-1].agent == "Ada"
    after = json.dumps(requests[1].body)
    assert "You are Ada" in after and "read_everything" not in after
    # What llama.cpp would count, about: within the 4096 window less the reply's reserve.
    assert estimate_tokens(after) <= 3072
    assert big in ada.tools  # the character's own agent is left as it was built
    (told,) = [e for e in events if isinstance(e, ToolsUnavailable)]
    assert [name for name, _why in told.servers] == ["Ada's files"]
    assert "4,096-token context window" in told.servers[0][1]


def test_the_agent_is_fitted_as_it_is_built_not_when_the_person_sends(
    tmp_path, keyring_backend, monkeypatch
):
    """Fitting clones agents (~1 ms, more with MCP servers and handoffs): done while the person
    types, the first Send only looks it up (#21)."""
    from carrier_studio.services.chat import context

    fits: list[str] = []

    def counted(agent, *args, **kwargs):
        fits.append(agent.name)
        return fit_agent(agent, *args, **kwargs)

    fit_agent = context.fit_agent
    monkeypatch.setattr(context, "fit_agent", counted)

    async def go():
        async with workspace(tmp_path, keyring_backend) as (ws, server):
            cid = await ws.conversations.create("Ada")
            thread = await ws.open(cid)
            thread.prepare()
            await thread._building
            built = list(fits)
            server.script(text("Hello."))
            await collect(thread.send("Hi"))
            return built, fits[len(built) :], server.requests

    built, at_send, requests = run(go())
    assert built == ["Ada"]
    assert at_send == []
    assert requests, "the message was sent"


def test_a_character_handed_off_to_is_fitted_to_its_own_models_window(tmp_path, keyring_backend):
    """The Orchestrator runs on a model stating 32,768 tokens and hands off to Ada, who runs on
    another model of the same server stating 4,096: her request goes without her big MCP
    server (fitted to her window, not the conversation's), and the notice says her window."""
    from agents import FunctionTool, OpenAIChatCompletionsModel

    from carrier_studio.core.runtime.context_budget import estimate_tokens
    from carrier_studio.core.runtime.events import ToolsUnavailable

    async def noop(_ctx, _args):
        return ""

    schema = {"type": "object", "properties": {}}
    big = FunctionTool("read_everything", "Reads every file. " + "z" * 12_000, schema, noop)

    async def go():
        async with workspace(tmp_path, keyring_backend) as (ws, server):
            server.models = ("test-model", "small-model")
            server.model_fields["test-model"] = {"meta": {"n_ctx": 32768}}
            server.model_fields["small-model"] = {"meta": {"n_ctx": 4096}}
            cid = await ws.conversations.create("Orchestrator")
            thread = await ws.open(cid)
            await ws.chat.learn_context_window(thread)
            agent = await thread._ensure_agent()
            (built,) = [h for h in agent.handoffs if h.name == "Ada"]
            small = OpenAIChatCompletionsModel("small-model", built.model._client)
            ada = built.clone(tools=[*built.tools, big], model=small)
            handoffs = [ada if h is built else h for h in agent.handoffs]
            thread._agent = agent.clone(handoffs=handoffs)
            thread._mcp_tool_names = {"files": ["read_everything"]}
            server.script(tool_call("transfer_to_ada", {}), text("Ada here: on it."))
            events = await collect(thread.send("Please read my notes."))
            return events, [r for r in server.requests if r.method == "POST"]

    events, requests = run(go())
    after = requests[1].body
    assert after["model"] == "small-model"
    assert "read_everything" not in json.dumps(after)
    assert estimate_tokens(json.dumps(after)) <= 3072
    (told,) = [e for e in events if isinstance(e, ToolsUnavailable)]
    assert [name for name, _why in told.servers] == ["Ada's files"]
    assert "4,096-token context window" in told.servers[0][1]
