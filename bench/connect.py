"""A new conversation's first token over a hosted API's round trip: shared vs fresh clients (#21).

Run: ``uv run python bench/connect.py [--runs 15] [--delay-ms 20] [--pause-runs 3]``.

The scripted server (tests/fakes) serves HTTPS with a certificate made for the run (trusted
through ``SSL_CERT_FILE``, as a public CA is); the studio reaches it through a small TCP proxy
that delays every chunk by ``--delay-ms`` each way, so a round trip costs what it does to a
hosted API, and a new connection pays its TCP handshake's round trip before its first bytes
and then TLS 1.3's. Both run on their own thread, so the measured loop does only the studio's
work. Each run opens a NEW conversation through `ChatService` (the agent built, as it is while
the person types), sends one message and times send → first text delta:

- before: a fresh `ProviderClients` per conversation, i.e. a new HTTP client and connection
  pool per conversation, as every conversation had before #21;
- after: one `ProviderClients` for the whole run, as `Session` holds it.

The two alternate, run by run, in the same process. Then ``--pause-runs`` conversations on the
shared clients, each after a pause of ``--pause`` seconds (longer than httpx's default 5 s
keep-alive, which dropped the connection while a person typed; ``--keepalive 5`` shows it).
The proxy counts the TCP connections each side opened. Last, ``--first-runs`` first
conversations of a session (new clients, nothing open), sent ``--typing`` seconds after the
conversation opened: with the connection warmed as it opened, or not (as before #21).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import ssl
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# bench/ holds mcp.py, which would shadow the `mcp` package: run from the project root instead.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != ROOT / "bench"]
sys.path.insert(0, str(ROOT))

from tests.fakes import ScriptedLLMServer, text  # noqa: E402
from tests.fakes.ftp_host import self_signed_certificate  # noqa: E402

REPLY = "Hello there! " * 4


class DelayProxy:
    """A TCP proxy that delivers each chunk ``one_way`` seconds after it arrived, in order; a
    new connection's first bytes wait for the TCP handshake's round trip too."""

    def __init__(self, target_port: int, one_way: float) -> None:
        self.target_port, self.one_way = target_port, one_way
        self.accepted = 0
        self._server: asyncio.Server | None = None
        self._piping: set[asyncio.Task[None]] = set()

    async def start(self) -> int:
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        return self._server.sockets[0].getsockname()[1]

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
        for task in self._piping:
            task.cancel()
        await asyncio.gather(*self._piping, return_exceptions=True)

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.accepted += 1
        task = asyncio.current_task()
        assert task is not None
        self._piping.add(task)
        task.add_done_callback(self._piping.discard)
        loop = asyncio.get_running_loop()
        # SYN there, SYN-ACK back: the client's first bytes leave one round trip after it
        # connected, and arrive one way later.
        first = loop.time() + 3 * self.one_way
        up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.target_port)
        try:
            await asyncio.gather(
                self._pipe(reader, up_writer, first),
                self._pipe(up_reader, writer, 0.0),
                return_exceptions=True,
            )
        except asyncio.CancelledError:
            pass  # the proxy closes (the end of the bench): its connections close with it
        finally:
            writer.close()
            up_writer.close()

    async def _pipe(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, not_before: float
    ) -> None:
        loop = asyncio.get_running_loop()
        last = not_before
        try:
            while data := await reader.read(65536):
                last = max(loop.time() + self.one_way, last)
                loop.call_at(last, _write, writer, data)
        except ConnectionError:
            pass
        loop.call_at(max(loop.time() + self.one_way, last), writer.close)


def _write(writer: asyncio.StreamWriter, data: bytes) -> None:
    if not writer.is_closing():
        writer.write(data)


class Remote:
    """The scripted server behind the delaying proxy, on a loop in its own thread."""

    def __init__(self, cert: Path, key: Path, one_way: float) -> None:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(cert, key)
        self.server = ScriptedLLMServer(ssl_context=context)
        self.one_way = one_way
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.proxy: DelayProxy | None = None
        self.port = 0

    def __enter__(self) -> Remote:
        self.thread.start()
        self._run(self.server.start())
        self.proxy = DelayProxy(self.server.port, self.one_way)
        self.port = self._run(self.proxy.start())
        return self

    def __exit__(self, *_exc: object) -> None:
        assert self.proxy is not None
        self._run(self.proxy.close())
        self._run(self.server.close())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)

    def _run(self, coro):  # noqa: ANN001, ANN202 - a coroutine, its result
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(10)

    @property
    def base_url(self) -> str:
        return f"https://127.0.0.1:{self.port}/v1"


class World:
    """A workspace whose characters run on the remote endpoint (what tests/services build)."""

    def __init__(self, root: Path, base_url: str) -> None:
        from carrier_studio import assets
        from carrier_studio.core.settings import CompatEndpoint, ModelChoice, Settings
        from carrier_studio.services.characters.store import CharacterStore
        from carrier_studio.services.chat.conversations import ConversationStore
        from carrier_studio.services.platform.db import Database
        from carrier_studio.services.platform.secrets import SecretStore
        from carrier_studio.services.platform.settings_store import SettingsStore

        shutil.copytree(assets.seed_characters_dir(), root / "characters")
        for path in (root / "characters").glob("*.json"):
            data = json.loads(path.read_text())
            data.pop("model", None)
            data.pop("mcp_servers", None)
            path.write_text(json.dumps(data))
        settings = Settings()
        settings.providers.endpoints = [CompatEndpoint(name="remote", base_url=base_url)]
        settings.providers.default = ModelChoice(
            provider="openai-compatible", model="test-model", endpoint="remote"
        )
        self.settings = SettingsStore(root / "settings.json", settings)
        self.secrets = SecretStore("session", root / ".env", environ={})
        self.secrets.set("COMPAT_REMOTE_API_KEY", "sk-bench-000000")
        self.characters = CharacterStore(root / "characters", root / ".trash")
        self.db = Database(root / "studio.db")
        self.conversations = ConversationStore(self.db)

    def chat(self, clients):  # noqa: ANN001, ANN201 - ProviderClients, ChatService
        from carrier_studio.services.chat.service import ChatService

        return ChatService(
            self.conversations, self.characters, self.settings, self.secrets, clients=clients
        )


async def _new_conversation_first_token(
    world: World,
    chat,  # noqa: ANN001 - a ChatService
    remote: Remote,
    typing: float = 0.0,
) -> float:
    """Seconds from Send to the first text delta in a new conversation with Ada, sent
    ``typing`` seconds after its agent was built."""
    from carrier_studio.core.runtime.events import TextDelta

    remote.server.script(text(REPLY))
    thread = await chat.open(await world.conversations.create("Ada"))
    try:
        await thread._ensure_agent()  # built while the person types (the page's prepare())
        await asyncio.sleep(typing)
        start = time.perf_counter()
        first = float("nan")
        async for event in thread.send("Hi Ada"):
            if isinstance(event, TextDelta) and first != first:
                first = time.perf_counter() - start
        return first
    finally:
        await thread.close()


def _line(label: str, values: list[float]) -> str:
    ms = [v * 1000 for v in values]
    return (
        f"{label:<44} median {statistics.median(ms):7.1f} ms  "
        f"min {min(ms):7.1f}  max {max(ms):7.1f}  (n={len(ms)})"
    )


async def main(  # noqa: PLR0913 - the bench's knobs
    runs: int, delay_ms: float, pause_runs: int, pause: float, first_runs: int, typing: float
) -> None:
    folder = Path(tempfile.mkdtemp(prefix="carrier-bench-connect-"))
    cert, key = self_signed_certificate(folder / "tls")
    # Trusted as a public CA would be (before any provider client builds its TLS context).
    os.environ["SSL_CERT_FILE"] = str(cert)
    from carrier_studio.services.providers import ProviderClients

    class Unwarmed(ProviderClients):
        """Shared clients that never warm a connection (as before #21)."""

        def warm(self, clients) -> None:  # noqa: ANN001
            pass

    with Remote(cert, key, delay_ms / 1000) as remote:
        world = World(folder / "ws", remote.base_url)
        await world.db.open()
        shared = ProviderClients()
        after_chat = world.chat(shared)
        proxy = remote.proxy
        assert proxy is not None
        try:
            # Import the SDKs and open the shared connection once: the first conversation
            # after a start is cold either way (not timed).
            await _new_conversation_first_token(world, after_chat, remote)
            before: list[float] = []
            after: list[float] = []
            opened = {"before": 0, "after": 0}
            for run in range(runs):
                for side in ("before", "after") if run % 2 == 0 else ("after", "before"):
                    accepted = proxy.accepted
                    if side == "before":
                        fresh = Unwarmed()  # a new client per conversation
                        try:
                            before.append(
                                await _new_conversation_first_token(
                                    world, world.chat(fresh), remote
                                )
                            )
                        finally:
                            await fresh.close()
                    else:
                        after.append(await _new_conversation_first_token(world, after_chat, remote))
                    opened[side] += proxy.accepted - accepted
            paused: list[float] = []
            accepted = proxy.accepted
            for _ in range(pause_runs):
                await asyncio.sleep(pause)  # the person reads, then starts a new conversation
                paused.append(await _new_conversation_first_token(world, after_chat, remote))
            paused_opened = proxy.accepted - accepted
            # The first conversation of a session: nothing is open yet. Sent ``typing`` s
            # after the agent was built, with the connection warmed meanwhile or not.
            first = {"cold": [], "warmed": []}
            for run in range(first_runs):
                for side in ("cold", "warmed") if run % 2 == 0 else ("warmed", "cold"):
                    session = Unwarmed() if side == "cold" else ProviderClients()
                    try:
                        first[side].append(
                            await _new_conversation_first_token(
                                world, world.chat(session), remote, typing
                            )
                        )
                    finally:
                        await session.close()
        finally:
            await shared.close()
            await world.db.close()
    shutil.rmtree(folder, ignore_errors=True)

    print(
        f"new conversation, send -> first token over TLS, {delay_ms:g} ms each way "
        f"({2 * delay_ms:g} ms round trip), {runs} runs each, alternating"
    )
    print(_line("before: fresh client per conversation", before))
    print(_line("after: shared clients", after))
    print(
        f"saved: median {(statistics.median(before) - statistics.median(after)) * 1000:.1f} ms "
        f"(ratio after/before {statistics.median(after) / statistics.median(before):.2f})"
    )
    print(f"TCP connections opened: before {opened['before']}, after {opened['after']}")
    if paused:
        print(_line(f"after, {pause:g} s pause before each", paused))
        print(f"TCP connections opened after a pause: {paused_opened}")
    if first_runs:
        print(f"first conversation of a session, sent {typing * 1000:g} ms after it opened:")
        print(_line("  not warmed (before)", first["cold"]))
        print(_line("  warmed as it opened", first["warmed"]))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--delay-ms", type=float, default=20.0)
    parser.add_argument("--pause-runs", type=int, default=3, help="0 leaves them out")
    parser.add_argument("--pause", type=float, default=6.0)
    parser.add_argument("--first-runs", type=int, default=5, help="0 leaves them out")
    parser.add_argument("--typing", type=float, default=0.3, help="seconds before the send")
    parser.add_argument(
        "--keepalive", type=float, help="seconds idle connections are kept (5: httpx's default)"
    )
    args = parser.parse_args()
    if args.keepalive is not None:
        from carrier_studio.services.providers import base

        base.KEEPALIVE_S = args.keepalive  # read as each client is made
    asyncio.run(
        main(args.runs, args.delay_ms, args.pause_runs, args.pause, args.first_runs, args.typing)
    )
