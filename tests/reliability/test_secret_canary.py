"""The secret canary: a distinct secret in each store the studio reads (the keyring, the
workspace .env, a character's ``settings.secrets``, an MCP server's ``env``) never reaches a
file the studio writes, after a session that does everything that has leaked secrets before:

- chats through the real agents SDK and OpenAI client against the scripted server, with a key
  pasted into the message (so it reaches memory and its keyword index) and echoed in the reply;
- fails a provider call with an error that quotes the keyring's key back;
- starts an MCP server that prints its own key to stderr and fails;
- crashes a page with the character's document in the exception (the crash dialog, its copied
  report and the log);
- logs each secret carelessly;
- exports the memories and the character.

Then every file under the workspace, the config and log folders and the export folder is read:
each secret may appear only in the store file that holds it.
"""

from __future__ import annotations

import asyncio
import json
import logging
import sys
from pathlib import Path

from carrier_studio.core.characters.formats import Format
from carrier_studio.core.memory import MemoryQuery
from carrier_studio.core.runtime.events import Done, RunError
from carrier_studio.core.settings import CompatEndpoint, ModelChoice
from carrier_studio.services.platform.logs import remove_handlers, setup_logging
from carrier_studio.services.platform.secrets import SERVICE
from carrier_studio.session import Session
from carrier_studio.ui.crash import CrashHandler
from tests.fakes import ScriptedLLMServer, error, text

# Plain-looking values: none has a credential's shape, so only registration can catch them.
KEYRING = "kr-canary-71c3-keyring-value"
UNREAD = "kr-canary-5e1a-never-read-by-the-session"  # the bot's token: no bot runs here
DOTENV = "env-canary-9d2f-dotenv-value"
CHARACTER = "char-canary-4b8e-character-value"
MCP_ENV = "mcp-canary-2a6c-server-value"
SECRETS = {
    "keyring": KEYRING,
    "keyring, unread": UNREAD,
    ".env": DOTENV,
    "character": CHARACTER,
    "mcp": MCP_ENV,
}

MCP_FILE = "mcp_servers.json"
#: An MCP server that prints its key to stderr and exits before answering.
LEAKY_SERVER = (
    "import os, sys; "
    "print('starting with key ' + os.environ['SERVICE_API_KEY'], file=sys.stderr); "
    "print('Error: the upstream refused ' + os.environ['SERVICE_API_KEY'], file=sys.stderr); "
    "sys.exit(1)"
)


def place_secrets(workspace: Path, keyring_backend) -> dict[str, Path]:
    """Put the canaries in their stores; returns the file that legitimately holds each one.
    The MCP server is added later (`add_leaky_server`), while the studio runs."""
    keyring_backend.set_password(SERVICE, "COMPAT_LOCAL_API_KEY", KEYRING)
    keyring_backend.set_password(SERVICE, "DISCORD_BOT_TOKEN", UNREAD)
    env_file = workspace / ".env"
    env_file.write_text(f"FTP_PASSWORD={DOTENV}\n")
    ada = workspace / "characters" / "ada.json"
    data = json.loads(ada.read_text())
    data.pop("model", None)  # every character runs on the scripted server
    data.pop("mcp_servers", None)
    data["settings"]["secrets"] = {"CUSTOM_SERVICE_KEY": CHARACTER}
    ada.write_text(json.dumps(data, indent=2))
    return {
        "keyring": Path(),
        "keyring, unread": Path(),
        ".env": env_file,
        "character": ada,
        "mcp": workspace / MCP_FILE,
    }


def add_leaky_server(workspace: Path) -> None:
    """A server added to mcp_servers.json while the studio runs (so only its start tells the
    redactor its key, not the session's start)."""
    leaky = {"command": sys.executable, "args": ["-c", LEAKY_SERVER]}
    leaky["env"] = {"SERVICE_API_KEY": MCP_ENV}
    catalogue = {"version": 1, "mcpServers": {"leaky": leaky}}
    (workspace / MCP_FILE).write_text(json.dumps(catalogue, indent=2))


def use_server(session: Session, server: ScriptedLLMServer) -> None:
    settings = session.settings.settings
    providers = settings.providers.model_copy(
        update={
            "endpoints": [CompatEndpoint(name="local", base_url=server.openai_base_url)],
            "default": ModelChoice(
                provider="openai-compatible", model="test-model", endpoint="local"
            ),
        }
    )
    session.settings.save(settings.model_copy(update={"providers": providers}))


async def collect(stream) -> list:
    return [event async for event in stream]


def files_under(*roots: Path) -> list[Path]:
    return [p for root in roots if root.exists() for p in root.rglob("*") if p.is_file()]


def test_no_secret_leaves_its_store(qapp, app_paths, keyring_backend, tmp_path):
    workspace = tmp_path / "workspace"
    exports = tmp_path / "exports"
    exports.mkdir()
    # Build once to seed the workspace, then place the canaries in the seeded stores.
    Session.build(app_paths, str(workspace), keyring_backend=keyring_backend, environ={})
    homes = place_secrets(workspace, keyring_backend)
    session = Session.build(app_paths, str(workspace), keyring_backend=keyring_backend, environ={})
    handlers = setup_logging(app_paths.log_file, session.redactor)
    crash = CrashHandler(session.redactor)
    pasted = f"Keep this safe for me: my FTP password is {DOTENV}, the bot's token {UNREAD}."

    async def scenario():
        async with ScriptedLLMServer() as server:
            use_server(session, server)
            await session.start(instagram=False)
            try:
                cid = await session.chat.conversations.create("Ada")
                thread = await session.chat.open(cid)
                server.script(text(f"I will remember that {DOTENV} is your FTP password."))
                answered = await collect(thread.send(pasted))
                # A 401 is worded by the studio; other statuses quote the provider's message.
                server.script(error(400, f"Malformed API key provided: {KEYRING}."))
                failed = await collect(thread.send("Are you still there?"))
                await thread.close()
                await session.chat.drain()
                stored = await session.chat.conversations.messages(cid)

                add_leaky_server(workspace)
                await session.mcp.reload()
                await session.mcp.ensure(["leaky"])
                mcp_status = session.mcp.status("leaky")

                # A page bug with the character's document in its message.
                (ada,) = [e.doc for e in session.characters.list() if e.doc and e.doc.name == "Ada"]
                try:
                    raise RuntimeError(f"the form could not show {ada.data!r}")
                except RuntimeError as exc:
                    crash.handle(type(exc), exc, exc.__traceback__)
                (dialog,) = crash.dialogs
                (app_paths.log_file.parent / "crash-report.txt").write_text(dialog.details)
                dialog.reject()

                for name, secret in SECRETS.items():
                    logging.getLogger("canary").warning("careless: the %s secret %s", name, secret)

                memory = await session.memory.ready()
                found = await memory.search(MemoryQuery(DOTENV, mode="keyword"))
                await memory.export_jsonl(exports / "memories.jsonl", vectors=False)
                session.characters.export(ada, Format.CARRIER, exports / "ada.json")
                return answered, failed, stored, mcp_status, found
            finally:
                await session.stop()

    try:
        answered, failed, stored, mcp_status, found = asyncio.run(scenario())
    finally:
        remove_handlers(handlers)

    # The session did what the canary needs: a chat, a failed call, a failed server.
    assert isinstance(answered[-1], Done) and answered[-1].completed
    assert any(isinstance(e, RunError) for e in failed)
    # The provider's error quoted the key; the transcript keeps the error, not the key.
    errors = [m.content for m in stored if m.kind == "error"]
    assert any("Malformed API key provided: [redacted]" in e for e in errors), errors
    assert mcp_status.error and mcp_status.stderr_tail
    assert found == [], "the pasted key is not searchable"
    exported = (exports / "memories.jsonl").read_text()
    assert "Keep this safe for me" in exported, "the pasted message was remembered"

    # The MCP page's text.
    shown = "\n".join([mcp_status.error, *mcp_status.stderr_tail])
    assert "Error: the upstream refused [redacted]" in shown
    assert MCP_ENV not in shown

    scanned = files_under(workspace, app_paths.config_dir, app_paths.log_file.parent, exports)
    assert app_paths.log_file in scanned and (workspace / "studio.db") in scanned
    leaks = [
        (name, str(path.relative_to(tmp_path)))
        for path in scanned
        for name, secret in SECRETS.items()
        if path != homes[name] and secret.encode() in path.read_bytes()
    ]
    assert leaks == []
    # And the log did get the careless lines, redacted.
    log_text = app_paths.log_file.read_text()
    assert "careless: the character secret [redacted]" in log_text
    assert "careless: the mcp secret [redacted]" in log_text
