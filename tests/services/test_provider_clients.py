"""Conversations share provider clients (#21): a new conversation's first request goes over a
connection an earlier one left open, not a new TCP (and TLS) handshake. The shared clients
follow key changes, outlive the threads that used them and close with the session."""

from __future__ import annotations

import gc

import pytest

from carrier_studio.core.runtime.events import Done
from carrier_studio.core.settings import Settings
from tests.fakes import slow_text, text
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


def test_a_thread_rebuilt_on_the_same_key_keeps_the_warm_client(tmp_path, keyring_backend):
    async def go():
        async with workspace(tmp_path, keyring_backend) as (ws, server):
            server.script(text("One."), text("Two."))
            thread = await ws.open(await ws.conversations.create("Ada"))
            await collect(thread.send("Hello"))
            # Settings saved with nothing about the model changed (say, the theme).
            ws.settings.save(Settings.model_validate(ws.settings.settings.model_dump()))
            await collect(thread.send("Again"))
            return server.completions

    first, second = run(go())
    assert second.peer == first.peer


def test_no_new_client_after_the_clients_closed(tmp_path, keyring_backend):
    async def go():
        async with workspace(tmp_path, keyring_backend) as (ws, _server):
            await ws.chat.clients.close()
            thread = await ws.open(await ws.conversations.create("Ada"))
            return await collect(thread.send("Hello"))

    events = run(go())
    assert "closing" in events[-2].message


@pytest.mark.parametrize("provider", PROVIDERS)
def test_an_opened_conversation_warms_the_connection_its_message_then_uses(
    tmp_path, keyring_backend, provider
):
    async def go():
        async with workspace(tmp_path, keyring_backend, provider) as (ws, server):
            server.script(text("Hi."))
            thread = await ws.open(await ws.conversations.create("Ada"))  # builds the agent
            await server.wait_until(lambda: server.warmups)  # while the person types
            await collect(thread.send("Hello"))
            thread.recall_ahead("typing again")  # answered just now: no second warm-up
            return server.warmups, server.requests

    warmups, requests = run(go())
    (request,) = requests  # the warm-up is not a request of the API (tests index these)
    assert warmups == [request.peer], "the message went over the warmed connection"
