"""What an MCP server offers besides tools: resources, resource templates and prompts, as data.

`services/mcp/browse.py` fills these from a running server; the MCP page browses them, and the
Chat page turns a resource into an attachment (`as_attachment`) and a prompt into the text of a
user message (`PromptText`). No SDK here.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass, field
from typing import Any

from carrier_studio.core.runtime import attachments as attached
from carrier_studio.core.runtime.attachments import human_size

#: A resource too big to show or attach whole; the preview says its size instead.
PREVIEW_MAX_CHARS = 200_000


@dataclass(frozen=True)
class ResourceInfo:
    uri: str
    name: str = ""
    title: str = ""
    description: str = ""
    mime: str = ""
    #: Bytes, when the server says.
    size: int | None = None

    @property
    def label(self) -> str:
        return self.title or self.name or self.uri


@dataclass(frozen=True)
class TemplateInfo:
    """A family of resources: its URI template (RFC 6570) is filled with `variables`."""

    uri_template: str
    name: str = ""
    title: str = ""
    description: str = ""
    mime: str = ""
    variables: tuple[str, ...] = ()

    @property
    def label(self) -> str:
        return self.title or self.name or self.uri_template


@dataclass(frozen=True)
class ResourceContent:
    """One part of a read resource: text, or bytes (a blob) with its type."""

    uri: str
    mime: str = ""
    text: str | None = None
    blob: bytes | None = None

    @property
    def is_text(self) -> bool:
        return self.text is not None

    @property
    def is_image(self) -> bool:
        return self.blob is not None and self.mime in attached.IMAGE_TYPES.values()

    @property
    def size(self) -> int:
        if self.text is not None:
            return len(self.text.encode("utf-8"))
        return len(self.blob or b"")

    @property
    def readable_text(self) -> str | None:
        """The text, or a text/*, JSON or XML blob decoded as UTF-8 (some servers send text
        as a blob); None for anything else or bytes that are not UTF-8."""
        if self.text is not None:
            return self.text
        mime = self.mime.split(";")[0].strip().lower()
        textual = mime.startswith("text/") or mime.endswith(("/json", "+json", "/xml", "+xml"))
        if self.blob is None or not textual:
            return None
        try:
            return self.blob.decode("utf-8")
        except UnicodeDecodeError:
            return None

    def describe(self) -> str:
        """What a blob is, for a preview that cannot show it: "application/pdf, 12.3 KB"."""
        return f"{self.mime or 'unknown type'}, {human_size(self.size)}"


def as_attachment(content: ResourceContent) -> attached.Attachment:
    """The resource as a chat attachment named after its URI: text as a text file, an image as
    an image (through the same checks as a dropped file); anything else is refused by name."""
    if content.text is not None:
        if len(content.text.encode("utf-8")) > attached.TEXT_MAX_BYTES:
            raise attached.AttachmentRefusedError(
                f"{content.uri} is {content.size // 1024} KB; text can be at most "
                f"{attached.TEXT_MAX_BYTES // 1024} KB"
            )
        if "\x00" in content.text:
            raise attached.AttachmentRefusedError(f"{content.uri} holds binary data, not text")
        return attached.Attachment(content.uri, "text/plain", content.text)
    if content.is_image:
        return attached.image(content.uri, content.blob or b"")
    raise attached.AttachmentRefusedError(
        f"{content.uri} is {content.describe()}: only text and images (PNG, JPEG, GIF, WebP) "
        "can go to the model"
    )


def decode_blob(data: str) -> bytes:
    """A blob's base64 text as bytes (b"" when it is not valid base64)."""
    try:
        return base64.b64decode(data, validate=False)
    except ValueError:
        return b""


@dataclass(frozen=True)
class PromptArgument:
    name: str
    description: str = ""
    required: bool = False


@dataclass(frozen=True)
class PromptInfo:
    """A prompt a server offers: the chat shows it as ``/name``."""

    server: str
    name: str
    title: str = ""
    description: str = ""
    arguments: tuple[PromptArgument, ...] = ()

    @property
    def command(self) -> str:
        return f"/{self.name}"

    def schema(self) -> dict[str, Any]:
        """The arguments as a JSON Schema (every MCP prompt argument is a string), for the form
        that asks for them."""
        return {
            "type": "object",
            "properties": {
                a.name: {"type": "string", "description": a.description} for a in self.arguments
            },
            "required": [a.name for a in self.arguments if a.required],
        }


@dataclass(frozen=True)
class PromptText:
    """A prompt as the chat sends it: its messages' text as one user message, and any images or
    embedded resources as attachments."""

    text: str
    attachments: tuple[attached.Attachment, ...] = ()
    #: Parts that could not travel (audio, unsupported blobs), named with why.
    left_out: tuple[str, ...] = field(default=())
    #: Each message as the server sent it: its role and its text, or a short label for an
    #: image or a resource (the MCP page's Prompts tab shows these).
    messages: tuple[tuple[str, str], ...] = field(default=())


def part_label(content: ResourceContent) -> str:
    """A non-text part of a prompt, in a few words: "[image: image/png, 1.2 KB]"."""
    if content.is_image:
        return f"[image: {content.describe()}]"
    if content.blob == b"" and content.text is None:  # a kind the studio does not know
        return f"[{content.mime or 'unknown'} part]"
    return f"[resource: {content.uri} ({content.describe()})]"


def prompt_text(messages: list[tuple[str, str | ResourceContent]]) -> PromptText:
    """Join a prompt's messages, given as ``(role, text or content)``, into one user message.

    A prompt may speak as the assistant too (a worked example); the studio sends one user
    message, so the other roles' parts are marked with who says them rather than dropped.
    """
    roles = {role for role, _ in messages}
    lines: list[str] = []
    files: list[attached.Attachment] = []
    left_out: list[str] = []
    shown = tuple(
        (role, part if isinstance(part, str) else part_label(part)) for role, part in messages
    )
    for role, part in messages:
        if isinstance(part, str):
            lines.append(part if roles == {"user"} or role == "user" else f"({role}) {part}")
            continue
        try:
            files.append(as_attachment(part))
        except attached.AttachmentRefusedError as exc:
            left_out.append(str(exc))
    return PromptText("\n\n".join(lines), tuple(files), tuple(left_out), shown)
