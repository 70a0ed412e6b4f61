"""Prompts for "write the caption as <character>", and reading the model's answer back.

The character's voice comes from its file (system prompt, bio, post style, example posts, its
``instagram.default_hashtags``); the rules come from pre-flight, so a caption the model writes
is checked the same way as one the user types.
"""

from __future__ import annotations

import re

from carrier_studio.core.characters.document import CharacterDoc
from carrier_studio.core.instagram.preflight import CAPTION_MAX_CHARS, HASHTAGS_MAX, Finding

_FENCE = re.compile(r"^```[a-z]*\n(.*?)\n```$", re.DOTALL)
_LABEL = re.compile(r"^(caption|here is the caption|here's the caption)\s*:\s*", re.IGNORECASE)


def system_prompt(doc: CharacterDoc) -> str:
    name = doc.name or "the creator"
    lines = [
        doc.text("system").strip() or f"You are {name}.",
        f"You write Instagram captions as {name}, in {name}'s own voice.",
    ]
    if bio := doc.strings("bio")[:5]:
        lines.append("About you:\n" + "\n".join(f"- {b}" for b in bio))
    if style := doc.style("all") + doc.style("post"):
        lines.append("How you write posts:\n" + "\n".join(f"- {s}" for s in style))
    if posts := doc.strings("postExamples")[:5]:
        lines.append("Posts you have written:\n" + "\n".join(f"- {p}" for p in posts))
    tags = doc.section("instagram").get("default_hashtags")
    if isinstance(tags, list) and (tags := [t for t in tags if isinstance(t, str)]):
        lines.append("Hashtags you usually use: " + " ".join(_tag(t) for t in tags))
    lines.append(
        f"Rules: answer with the caption only, no preface, no quotes. At most "
        f"{CAPTION_MAX_CHARS} characters and at most {HASHTAGS_MAX} hashtags."
    )
    return "\n\n".join(lines)


def _tag(tag: str) -> str:
    return tag if tag.startswith("#") else f"#{tag}"


def first_prompt(brief: str, kind: str, files: list[str]) -> list[dict[str, str]]:
    what = f"a {kind} post with {len(files)} file{'s' if len(files) != 1 else ''}"
    names = ", ".join(files)
    text = f"Write the caption for {what} ({names})."
    if brief.strip():
        text += f"\n\nWhat the post is about: {brief.strip()}"
    return [{"role": "user", "content": text}]


def retry_prompt(findings: list[Finding]) -> str:
    problems = "\n".join(f"- {f.message}" for f in findings)
    return f"That caption breaks Instagram's rules:\n{problems}\nWrite it again, shorter."


def read_caption(answer: str) -> str:
    """The caption in a model's answer: without fences, a "Caption:" label or outer quotes."""
    text = answer.strip()
    if match := _FENCE.match(text):
        text = match.group(1).strip()
    text = _LABEL.sub("", text)
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "\"'“”":
        text = text[1:-1].strip()
    if text.startswith("“") and text.endswith("”"):
        text = text[1:-1].strip()
    return text
