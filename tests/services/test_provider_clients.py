"""Conversations share provider clients (#21): a new conversation's first request goes over a
connection an earlier one left open, not a new TCP (and TLS) handshake. The shared clients
follow key changes, outlive the threads that used them and close with the session."""

from __future__ import annotations

import asyncio
import gc
import threading

import pytest

from carrier_studio.core.runtime.events import Done
from carrier_studio.core.settings import Settings
from carrier_studio.services.chat.thread import ChatThread
from tests.fakes import ScriptedLLMServer, slow_text, text
from tests.services.test_chat_runtime import PROVIDERS, collect, run, texts, workspace

KEY_NAME = "COMPAT_LOCAL_API_KEY"  # the endpoint "local"'s key


def _authorization(request) -> str:
    return request.headers.get("authorization") or request.headers.get("x-api-key", "")


@pytest.mark.parametrize("provider", PROVIDERS)
def test_two_conversations_in_a_row_use_one_connection(tmp_path, keyring_backend, provider):
    async def go():
        async with workspace(tmp_path, keyring_backend, provider) as (ws, server):
            server.script(text("First."), text("Second."))
            for character in ("Ada", "Ada"):
                cid = await ws.conversations.create(character)
                thread = await ws.chat.open(cid)
                events = await collect(thread.send("Hello"))
                assert isinstance(events[-1], Done) and events[-1].completed
                await thread.close()  # the page moves on to a new conversation
            return server.completions

    first, second = run(go())
    assert first.peer is not None
    assert second.peer == first.peer, "the second conversation opened a new connection"


def test_a_changed_key_gets_a_new_client_and_the_old_key_is_not_sent_again(
    tmp_path, keyring_backend
):
    async def go():
        async with workspace(tmp_path, keyring_backend) as (ws, server):
            ws.secrets.set(KEY_NAME, "sk-old-key-000000")
            server.script(text("One."), text("Two."), text("Three."))
            cid = await ws.conversations.create("Ada")
            thread = await ws.open(cid)
            await collect(thread.send("Hello"))
            (old_client,) = thread._clients
            # Settings → Save: the key is stored, then the settings (a new providers section).
            ws.secrets.set(KEY_NAME, "sk-new-key-111111")
            ws.settings.save(Settings.model_validate(ws.settings.settings.model_dump()))
            await collect(thread.send("Still there?"))  # the open conversation
            other = await ws.open(await ws.conversations.create("Ada"))
            await collect(other.send("Hi"))  # a new one
            return server.completions, old_client, thread._clients[0], other._clients[0]

    (before, *after), old_client, new_client, other_client = run(go())
    assert _authorization(before) == "Bearer sk-old-key-000000"
    assert [_authorization(r) for r in after] == ["Bearer sk-new-key-111111"] * 2
    assert new_client is not old_client and other_client is new_client
    assert old_client.is_closed(), "the replaced client closed once its conversation let go"


@pytest.mark.parametrize("provider", PROVIDERS)
def test_closing_the_shared_clients_closes_their_connections(tmp_path, keyring_backend, provider):
    async def go():
        async with workspace(tmp_path, keyring_backend, provider) as (ws, server):
            server.script(text("Hi."))
            thread = await ws.chat.open(await ws.conversations.create("Ada"))
            await collect(thread.send("Hello"))
            (client,) = thread._clients
            await thread.close()
            assert not client.is_closed(), "a thread does not close a shared client"
            await ws.chat.clients.close()  # what Session.stop does after the chat drained
            return client

    client = run(go())
    assert client.is_closed()
    gc.collect()  # an unclosed socket would warn here (ResourceWarning fails the test)


def test_a_thread_closing_does_not_break_another_threads_request(tmp_path, keyring_backend):
    async def go():
        async with workspace(tmp_path, keyring_backend) as (ws, server):
            server.script(text("Hi."), slow_text("A long answer, word by word, slowly.", 0.05))
            streaming = await ws.chat.open(await ws.conversations.create("Ada"))
            leaving = await ws.chat.open(await ws.conversations.create("Ada"))
            await collect(leaving.send("Hello"))  # built, ran: its client is the shared one
            events = streaming.send("Tell me something long")
            first = await anext(events)  # the reply is streaming on the shared client
            assert leaving._clients == streaming._clients
            await leaving.close()  # another conversation is closed meanwhile
            rest = [first, *[event async for event in events]]
            await streaming.close()
            return rest

    events = run(go())
    done = events[-1]
    assert isinstance(done, Done) and done.completed, done
    assert texts(events) == "A long answer, word by word, slowly."


def _save_settings(ws) -> None:
    """Settings → Save: a new providers section, whether or not anything in it changed."""
    ws.settings.save(Settings.model_validate(ws.settings.settings.model_dump()))


def test_a_thread_rebuilt_on_the_same_key_keeps_the_warm_client(tmp_path, keyring_backend):
    """A Settings save that changed no key or endpoint: the agent is kept (no needless
    rebuild), and so is its warm connection."""

    async def go():
        async with workspace(tmp_path, keyring_backend) as (ws, server):
            server.script(text("One."), text("Two."))
            thread = await ws.open(await ws.conversations.create("Ada"))
            await collect(thread.send("Hello"))
            agent, clients = thread._agent, list(thread._clients)
            _save_settings(ws)  # say, the theme
            await collect(thread.send("Again"))
            return server.completions, agent is thread._agent, clients == thread._clients

    (first, second), same_agent, same_clients = run(go())
    assert same_agent and same_clients, "a save that changed no key rebuilt the agent"
    assert second.peer == first.peer


def test_an_agent_built_again_on_the_same_key_keeps_the_warm_client(tmp_path, keyring_backend):
    async def go():
        async with workspace(tmp_path, keyring_backend) as (ws, server):
            server.script(text("One."), text("Two."))
            thread = await ws.open(await ws.conversations.create("Ada"))
            await collect(thread.send("Hello"))
            (client,) = thread._clients
            thread.set_model(None)  # the model box: the agent is built again, same key
            await collect(thread.send("Again"))
            return server.completions, client, thread._clients

    (first, second), client, clients = run(go())
    assert clients == [client], "the rebuilt agent got a new client"
    assert second.peer == first.peer


def _gate_keyring(keyring_backend):
    """Make the keyring block each read until ``gate`` is set (``entered`` says one waits)."""
    gate, entered = threading.Event(), threading.Event()
    read = keyring_backend.get_password

    def get_password(service, username):
        entered.set()
        assert gate.wait(10), "the keyring gate was never opened"
        return read(service, username)

    keyring_backend.get_password = get_password
    return gate, entered


def test_a_conversation_asking_during_another_ones_key_check_waits_for_it(
    tmp_path, keyring_backend
):
    async def go():
        async with workspace(tmp_path, keyring_backend) as (ws, _server):
            ws.secrets.set(KEY_NAME, "sk-old-key-000000")
            thread = await ws.open(await ws.conversations.create("Ada"))
            await thread._ensure_agent()
            clients = ws.chat.clients
            ws.secrets.set(KEY_NAME, "sk-new-key-111111")
            _save_settings(ws)
            providers = ws.settings.settings.providers
            gate, entered = _gate_keyring(keyring_backend)
            # The open conversation's check reads the keys (blocked in the keyring)...
            first = asyncio.ensure_future(clients.current(thread._clients, providers, ws.secrets))
            await asyncio.to_thread(entered.wait, 10)
            # ...and the Discord bot's reply asks meanwhile; the keyring answers only after.
            asyncio.get_running_loop().call_soon(gate.set)
            second = await clients.current(thread._clients, providers, ws.secrets)
            return await first, second

    first, second = run(go())
    assert first is False
    assert second is False, "told the replaced client (the old key) is current"


def test_a_key_check_that_failed_is_tried_again(tmp_path, keyring_backend):
    async def go():
        async with workspace(tmp_path, keyring_backend) as (ws, _server):
            ws.secrets.set(KEY_NAME, "sk-old-key-000000")
            thread = await ws.open(await ws.conversations.create("Ada"))
            await thread._ensure_agent()
            ws.secrets.set(KEY_NAME, "sk-new-key-111111")
            _save_settings(ws)
            providers, clients = ws.settings.settings.providers, ws.chat.clients
            read = keyring_backend.get_password

            def locked(service, username):  # a keyring (D-Bus) failing once, then unlocked
                keyring_backend.get_password = read
                raise OSError("the keyring service did not answer")

            keyring_backend.get_password = locked
            with pytest.raises(OSError):
                await clients.current(thread._clients, providers, ws.secrets)
            return await clients.current(thread._clients, providers, ws.secrets)

    assert run(go()) is False, "the check was skipped: the old key is sent again"


def test_a_settings_save_while_a_build_waits_leases_with_the_new_settings(
    tmp_path, keyring_backend, monkeypatch
):
    """A conversation's build waits for its MCP servers; Settings are saved meanwhile with
    the endpoint moved to another server, and another conversation answers there. The waiting
    build talks to the new server too and leaves the other conversation's client alone."""
    waiting, go_on = asyncio.Event(), asyncio.Event()
    mcp_tools = ChatThread._mcp_tools

    async def slow_mcp_tools(self, docs, doc):
        if self.character == "Ada":
            waiting.set()
            await go_on.wait()
        return await mcp_tools(self, docs, doc)

    monkeypatch.setattr(ChatThread, "_mcp_tools", slow_mcp_tools)

    async def go():
        async with (
            workspace(tmp_path, keyring_backend) as (ws, old_server),
            ScriptedLLMServer() as server,
        ):
            server.script(text("B."), text("A."), text("B again."))
            slow = await ws.open(await ws.conversations.create("Ada"))  # its build starts
            await waiting.wait()
            settings = Settings.model_validate(ws.settings.settings.model_dump())
            settings.providers.endpoints[0].base_url = server.openai_base_url
            ws.settings.save(settings)  # the server moved
            other = await ws.open(await ws.conversations.create("Mira"))
            await collect(other.send("Hi"))
            answered_on = list(other._clients)
            go_on.set()
            await collect(slow.send("Hello"))
            await collect(other.send("Still there?"))
            moved = server.completions, old_server.requests
            return moved, slow._clients, answered_on, other._clients

    (requests, old_requests), slow_clients, answered_on, other_clients = run(go())
    assert len(requests) == 3 and old_requests == [], "a request went to the old server"
    assert other_clients == answered_on, "the late build evicted the new server's client"
    assert slow_clients == other_clients
    assert requests[2].peer == requests[0].peer


def _gate_leases(clients):
    """Hold each build's thread right after it leased a client, until ``gate`` is set."""
    leased, gate, entered = [], threading.Event(), threading.Event()
    agents_model = clients.agents_model

    def leasing(choice, providers, secrets):
        model, settings, client = agents_model(choice, providers, secrets)
        leased.append(client)
        entered.set()
        assert gate.wait(10), "the build was never let go on"
        return model, settings, client

    clients.agents_model = leasing
    return leased, gate, entered


@pytest.mark.parametrize("saved", ["before the turn", "while the turn waits"])
def test_a_settings_save_after_a_build_leased_builds_again_before_the_send(
    tmp_path, keyring_backend, saved
):
    """The key changes after the build (still running) leased its client: the turn awaiting
    that build does not send with the old key."""

    async def go():
        async with workspace(tmp_path, keyring_backend) as (ws, server):
            ws.secrets.set(KEY_NAME, "sk-old-key-000000")
            server.script(text("Hi."))
            leased, gate, entered = _gate_leases(ws.chat.clients)
            thread = await ws.open(await ws.conversations.create("Ada"))  # builds
            await asyncio.to_thread(entered.wait, 10)
            awaiting, ensure_agent = asyncio.Event(), thread._ensure_agent

            async def ensuring():
                awaiting.set()  # it goes on to await the build without a pause
                return await ensure_agent()

            def save():
                ws.secrets.set(KEY_NAME, "sk-new-key-111111")
                _save_settings(ws)

            thread._ensure_agent = ensuring
            if saved == "before the turn":
                save()
            sending = asyncio.ensure_future(collect(thread.send("Hello")))
            await awaiting.wait()  # the turn awaits the build
            if saved == "while the turn waits":
                save()
            gate.set()
            await sending
            return server.completions, leased[0], thread._clients

    (request,), old_client, clients = run(go())
    assert _authorization(request) == "Bearer sk-new-key-111111"
    assert old_client not in clients


def test_a_cancelled_build_hands_back_its_client(tmp_path, keyring_backend):
    """A conversation closed while its build leases in its thread: once the build stops, the
    lease goes back, so a client replaced by a new key closes then, not at the session's stop."""

    async def go():
        async with workspace(tmp_path, keyring_backend) as (ws, server):
            ws.secrets.set(KEY_NAME, "sk-old-key-000000")
            server.script(text("Hi."))
            clients = ws.chat.clients
            leased, gate, entered = _gate_leases(clients)
            leaving = await ws.chat.open(await ws.conversations.create("Ada"))  # builds
            await asyncio.to_thread(entered.wait, 10)
            await leaving.close()  # cancels the build; its thread still runs
            del clients.agents_model  # the class's own from here
            ws.secrets.set(KEY_NAME, "sk-new-key-111111")
            _save_settings(ws)
            other = await ws.open(await ws.conversations.create("Ada"))
            await collect(other.send("Hello"))  # the old client is replaced
            (old,) = leased
            closed, close = asyncio.Event(), old.close

            async def closing():
                await close()
                closed.set()

            old.close = closing
            gate.set()
            async with asyncio.timeout(10):  # without the hand-back it closes at the stop
                await closed.wait()
            return old, other._clients

    old, other_clients = run(go())
    assert old.is_closed() and old not in other_clients


def test_no_new_client_after_the_clients_closed(tmp_path, keyring_backend):
    async def go():
        async with workspace(tmp_path, keyring_backend) as (ws, _server):
            await ws.chat.clients.close()
            thread = await ws.open(await ws.conversations.create("Ada"))
            return await collect(thread.send("Hello"))

    events = run(go())
    assert "closing" in events[-2].message


@pytest.mark.parametrize("provider", PROVIDERS)
def test_a_conversation_warms_the_connection_as_the_person_types_and_the_message_uses_it(
    tmp_path, keyring_backend, provider
):
    async def go():
        async with workspace(tmp_path, keyring_backend, provider) as (ws, server):
            server.script(text("Hi."))
            thread = await ws.open(await ws.conversations.create("Ada"))
            await thread._ensure_agent()
            thread.recall_ahead("Hel")  # the page asks after a pause in typing
            await server.wait_until(lambda: server.warmups)
            await collect(thread.send("Hello"))
            thread.recall_ahead("typing again")  # answered just now: no second warm-up
            return server.warmups, server.requests

    warmups, requests = run(go())
    (request,) = requests  # the warm-up is not a request of the API (tests index these)
    assert warmups == [request.peer], "the message went over the warmed connection"
