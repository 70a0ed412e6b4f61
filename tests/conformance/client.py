"""The studio's MCP client, as the official conformance suite drives a client under test.

``conformance client --command "python tests/conformance/client.py" --scenario NAME`` starts the
scenario's test server, runs this script with the server's URL as the last argument and
``MCP_CONFORMANCE_SCENARIO=NAME`` set, and then grades what the server saw.

This script does what a chat turn does with a server: it writes a workspace catalogue
(mcp_servers.json) naming the URL, lets the studio's `McpManager` start the server (`ensure`,
the call chat makes), lists its tools and calls each of them, filling the arguments from the
tool's schema as a model would. A server request the scenario sends on the way is answered
through the studio's own handlers, with `Person` in the window's place: it accepts an
elicitation form without typing anything, so the values sent are the studio's defaults
(SEP-1034), not the adapter's. In the ``auth/`` scenarios the server
is marked ``"oauth"`` (with the client the scenario registered by hand, if it gives one in
``MCP_CONFORMANCE_CONTEXT``; the client-credentials ones get that grant, which needs no
browser) and the studio's sign-in (`services.mcp.oauth`) runs with a
"browser" that follows the authorization URL, as a person who agrees at once would. Any error
exits non-zero with the reason on stderr, which the suite shows beside its checks.

``--break NAME`` makes the client do one thing wrong on purpose (tests/conformance checks that
the suite then fails): ``skip-tools`` lists the tools but calls none.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from carrier_studio.core.mcp import ServerState  # noqa: E402
from carrier_studio.core.mcp.requests import (  # noqa: E402
    ElicitationAnswer,
    ElicitationRequest,
    SamplingDecision,
    SamplingRequest,
)
from carrier_studio.services.mcp import oauth  # noqa: E402
from carrier_studio.services.mcp.manager import McpManager  # noqa: E402

#: The client metadata document the basic-cimd scenario accepts as a client ID.
CIMD_URL = "https://conformance-test.local/client-metadata.json"
#: The name the scenario's server gets in the catalogue.
SERVER = "conformance"
#: Every scenario of the stable suite serves streamable HTTP; the rest would say so here.
TRANSPORTS = {"sse-retry": "streamable-http"}

#: A value of each JSON Schema type, for a required argument without a default or enum.
SAMPLES: dict[str, Any] = {
    "number": 2,
    "integer": 3,
    "string": "carrier",
    "boolean": True,
    "array": [],
    "object": {},
}


def arguments_for(schema: dict[str, Any]) -> dict[str, Any]:
    """Arguments a model would send: every required property, from its default, its first
    enum member or a sample of its type."""
    properties: dict[str, Any] = schema.get("properties") or {}
    filled: dict[str, Any] = {}
    for name in schema.get("required") or []:
        spec = properties.get(name) or {}
        if "default" in spec:
            filled[name] = spec["default"]
        elif spec.get("enum"):
            filled[name] = spec["enum"][0]
        else:
            kind = spec.get("type", "string")
            filled[name] = SAMPLES.get(kind if isinstance(kind, str) else kind[0], "carrier")
    return filled


def write_catalogue(folder: Path, scenario: str, url: str, context: dict[str, Any]) -> Path:
    server: dict[str, Any] = {
        "type": TRANSPORTS.get(scenario, "streamable-http"),
        "url": url,
        "timeout": 20,
    }
    if scenario.startswith("auth/"):
        registered = {key: context[key] for key in ("client_id", "client_secret") if key in context}
        server["oauth"] = registered or True
        if scenario == "auth/basic-cimd":
            # The server offers Client ID Metadata Documents (SEP-991): the studio uses one when
            # the entry names its URL, as a user whose client publishes a document would.
            server["oauth"] = {"client_metadata_url": CIMD_URL}
        if scenario.startswith("auth/client-credentials-"):
            # A machine client (SEP-1046) signs in with no browser: its secret, or the path of
            # its key file (the suite's key signs the private_key_jwt assertion).
            server["oauth"] = {"grant": "client_credentials", "client_id": context["client_id"]}
            if "private_key_pem" in context:
                key = folder / "client-key.pem"
                key.write_text(context["private_key_pem"])
                server["oauth"]["private_key"] = str(key)
            else:
                server["oauth"]["client_secret"] = context["client_secret"]
    path = folder / "mcp_servers.json"
    path.write_text(json.dumps({"version": 1, "mcpServers": {SERVER: server}}, indent=2))
    return path


class Person:
    """The window's part (`McpAsker`), played by someone who agrees to everything at once."""

    async def elicit(self, request: ElicitationRequest) -> ElicitationAnswer:
        if request.mode == "url":
            return ElicitationAnswer("decline")  # no browser here
        # Accept the form untouched: what it holds is what the studio filled in.
        return ElicitationAnswer("accept", {})

    async def approve_sampling(self, request: SamplingRequest) -> SamplingDecision:
        return SamplingDecision.DENY  # no model here (no stable scenario samples)


async def follow(url: str) -> None:
    """The browser: open the authorization URL and follow its redirects to the studio's
    loopback listener, as after a person agreed."""
    import httpx2

    async with httpx2.AsyncClient(follow_redirects=True, timeout=30.0) as client:
        await client.get(url)


async def run(scenario: str, url: str, broken: str | None, context: dict[str, Any]) -> int:
    oauth.install(oauth.McpOAuth(sign_in_when_needed=follow))  # tokens in memory
    with tempfile.TemporaryDirectory(prefix="carrier-conformance-") as folder:
        catalogue = write_catalogue(Path(folder), scenario, url, context)
        manager = McpManager(catalogue, lambda name: None)
        manager.client.asker = Person()
        try:
            await manager.ensure([SERVER], strict=True)
            tools = await manager.list_tools(SERVER)
            print(f"{scenario}: tools {[tool.name for tool in tools]}")
            if broken == "skip-tools":
                tools = []
            for tool in tools:
                result = await manager.call_tool(
                    SERVER, tool.name, arguments_for(tool.input_schema)
                )
                print(f"{scenario}: {tool.name} -> {result.text!r} (error: {result.is_error})")
                if result.is_error:
                    print(f"{tool.name} answered with an error: {result.text}", file=sys.stderr)
                    return 1
            status = manager.status(SERVER)
            if status.state is not ServerState.RUNNING:
                print(f"the server is {status.state.value}: {status.error}", file=sys.stderr)
                return 1
            return 0
        finally:
            await manager.shutdown()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--break", dest="broken", choices=["skip-tools"])
    parser.add_argument("url", help="the scenario server's URL (the suite appends it)")
    args = parser.parse_args()
    scenario = os.environ.get("MCP_CONFORMANCE_SCENARIO", "")
    context = json.loads(os.environ.get("MCP_CONFORMANCE_CONTEXT") or "{}")
    try:
        return asyncio.run(run(scenario, args.url, args.broken, context))
    except Exception as exc:  # noqa: BLE001 - the suite shows stderr; the class says what broke
        print(f"{scenario}: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
