"""McpBrowser against real servers: a Python server with resources, a template and prompts
(tests/mcp/resources_server.py), and npm's server-everything (#19 item 3)."""

from __future__ import annotations

import asyncio
import sys

import pytest

from carrier_studio.core.mcp import McpServerError
from carrier_studio.core.mcp.resources import as_attachment
from carrier_studio.core.runtime.attachments import AttachmentRefusedError
from carrier_studio.services.mcp import McpBrowser
from tests.mcp.servers import HERE, node_servers
from tests.services.test_mcp_servers import managed, write_catalogue

RESOURCES = {"command": sys.executable, "args": [str(HERE / "resources_server.py")]}


def test_resources_templates_and_prompts_of_a_python_server(tmp_path):
    path = write_catalogue(tmp_path / "mcp_servers.json", {"notes": RESOURCES})

    async def scenario():
        async with managed(path) as manager:
            browser = McpBrowser(manager)
            await manager.load()
            with pytest.raises(McpServerError, match="notes is not running"):
                await browser.resources("notes")
            await manager.ensure(["notes"], strict=True)

            resources = {r.uri: r for r in await browser.resources("notes")}
            assert set(resources) == {"notes://readme", "notes://logo.png", "notes://data.bin"}
            assert resources["notes://readme"].mime == "text/markdown"
            assert resources["notes://readme"].description == "The notes' first page"

            [text] = await browser.read("notes", "notes://readme")
            assert text.is_text and text.text.startswith("# Carrier notes")
            attachment = as_attachment(text)
            assert (attachment.name, attachment.mime) == ("notes://readme", "text/plain")
            assert attachment.data == text.text

            [image] = await browser.read("notes", "notes://logo.png")
            assert image.is_image and image.blob[:8] == b"\x89PNG\r\n\x1a\n"
            picture = as_attachment(image)
            assert picture.is_image and picture.image_bytes() == image.blob

            [blob] = await browser.read("notes", "notes://data.bin")
            assert not blob.is_text and not blob.is_image and blob.size == 1024
            assert blob.describe() == "application/octet-stream, 1.0 KB"
            with pytest.raises(AttachmentRefusedError, match="notes://data.bin is application"):
                as_attachment(blob)

            [template] = await browser.templates("notes")
            assert template.uri_template == "notes://day/{day}"
            assert template.variables == ("day",)
            uri = browser.expand(template, {"day": "monday"})
            assert uri == "notes://day/monday"
            [day] = await browser.read("notes", uri)
            assert day.text == "Notes for monday: water the plants."

            with pytest.raises(McpServerError, match="notes: reading notes://nothing failed"):
                await browser.read("notes", "notes://nothing")

            prompts = {p.name: p for p in await browser.prompts("notes")}
            assert set(prompts) == {"summarize", "greet"}
            summarize = prompts["summarize"]
            assert summarize.command == "/summarize" and summarize.server == "notes"
            assert [(a.name, a.required) for a in summarize.arguments] == [
                ("topic", True),
                ("style", False),
            ]
            assert summarize.schema()["required"] == ["topic"]
            filled = await browser.prompt("notes", "summarize", {"topic": "the moon"})
            assert filled.text == "Please summarize the moon in a short way."
            assert (await browser.prompt("notes", "greet")).text == "Say hello to the studio."
            with pytest.raises(McpServerError, match="getting the prompt summarize failed"):
                await browser.prompt("notes", "summarize", {})

    asyncio.run(scenario())


def test_a_server_without_resources_or_prompts_has_empty_lists(tmp_path):
    # server-filesystem answers resources/list and prompts/list with "Method not found".
    servers = node_servers()
    plain = servers.filesystem_stdio(str(tmp_path))
    path = write_catalogue(tmp_path / "mcp_servers.json", {"plain": plain})

    async def scenario():
        async with managed(path) as manager:
            await manager.ensure(["plain"], strict=True)
            browser = McpBrowser(manager)
            assert await browser.resources("plain") == []
            assert await browser.templates("plain") == []
            assert await browser.prompts("plain") == []

    asyncio.run(scenario())


def test_everything_server_resources_and_prompts(tmp_path):
    servers = node_servers()
    path = write_catalogue(
        tmp_path / "mcp_servers.json", {"everything": servers.everything_stdio()}
    )

    async def scenario():
        async with managed(path) as manager:
            await manager.ensure(["everything"], strict=True)
            browser = McpBrowser(manager)
            resources = await browser.resources("everything")
            assert any(r.mime == "text/markdown" for r in resources)
            templates = {t.name: t for t in await browser.templates("everything")}
            blob_template = templates["Dynamic Blob Resource"]
            assert blob_template.variables == ("resourceId",)
            [blob] = await browser.read(
                "everything", browser.expand(blob_template, {"resourceId": "3"})
            )
            assert blob.blob and not blob.is_image

            prompts = {p.name: p for p in await browser.prompts("everything")}
            assert {"simple-prompt", "args-prompt", "resource-prompt"} <= set(prompts)
            filled = await browser.prompt("everything", "args-prompt", {"city": "Lyon"})
            assert "Lyon" in filled.text
            # The embedded resource of this prompt travels as an attachment named after its URI.
            with_resource = await browser.prompt(
                "everything", "resource-prompt", {"resourceType": "Text", "resourceId": "2"}
            )
            assert [a.name for a in with_resource.attachments] == ["demo://resource/dynamic/text/2"]

    asyncio.run(scenario())
