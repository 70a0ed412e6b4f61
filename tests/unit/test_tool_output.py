"""An MCP tool's content parts, as the agents SDK passes them on, read as text for the tool card
(core/runtime/tool_output.py); rows stored before as the parts' Python repr read the same."""

from __future__ import annotations

import base64
import json

from agents.tool import ToolOutputImage, ToolOutputText

from carrier_studio.core.runtime.tool_output import tool_output_text
from carrier_studio.core.runtime.transcript import decode

PNG = base64.b64encode(b"\x89PNG" + bytes(2044)).decode()


def test_one_text_part_is_its_text():
    assert tool_output_text({"type": "text", "text": "Ann, 41"}) == "Ann, 41"
    assert tool_output_text(ToolOutputText(text="Ann, 41")) == "Ann, 41"


def test_several_parts_are_joined_and_an_image_is_a_note():
    parts = [
        {"type": "text", "text": "Here is the logo."},
        {"type": "image", "image_url": f"data:image/png;base64,{PNG}"},
    ]
    assert tool_output_text(parts) == "Here is the logo.\n[image: image/png, 2.0 KB]"
    image = ToolOutputImage(image_url="https://example.com/a.png")
    assert tool_output_text([image]) == "[image: https://example.com/a.png]"


def test_resources_are_named_by_their_uri():
    # The SDK passes a block it has no type for as text holding the block's JSON.
    embedded = {
        "type": "resource",
        "resource": {"uri": "notes://readme", "mimeType": "text/markdown", "text": "# Notes"},
    }
    link = {"type": "resource_link", "uri": "notes://logo.png", "name": "logo"}
    blob = {"type": "resource", "resource": {"uri": "notes://data.bin", "blob": PNG}}
    parts = [{"type": "text", "text": json.dumps(b)} for b in (embedded, link, blob)]
    assert tool_output_text(parts) == (
        "[resource: notes://readme]\n# Notes\n"
        "[resource link: notes://logo.png]\n"
        "[resource: notes://data.bin] (binary, 2.0 KB)"
    )


def test_plain_strings_stay_as_they_are():
    for text in ('{"sum": 3}', "3", "", "{'type': 'nonsense'}", "[{'type': 'text', 'text': 'x'"):
        assert tool_output_text(text) == text
    assert tool_output_text(None) == ""
    assert tool_output_text({"sum": 3}) == "{'sum': 3}"


def test_a_stored_repr_reads_as_text():
    stored = str({"type": "text", "text": "Ann, 41, subscribe=True, colour=green"})
    assert tool_output_text(stored) == "Ann, 41, subscribe=True, colour=green"
    stored = str([{"type": "text", "text": "a"}, {"type": "text", "text": "b"}])
    assert tool_output_text(stored) == "a\nb"
    row = json.dumps(
        {"name": "ask_profile", "arguments": "{}", "result": str({"type": "text", "text": "hi"})}
    )
    assert decode("tool", "Ada", row, {}).result == "hi"
