"""The agent builder's plain parts: what to ask a model, and how to read its answer.

The model is asked for one JSON object; its answer is parsed leniently (code fences and chatter
around the object are tolerated), merged over a fresh character so every section exists, and
validated. The service (`services/characters/builder.py`) runs the conversation and the retry.
"""

from __future__ import annotations

import json
import re
from typing import Any

from carrier_studio.core.characters.document import CharacterDoc, CharacterError
from carrier_studio.core.characters.validation import errors, validate

SYSTEM = """You design characters for Carrier Studio, an app where creators build AI agents.
Given a description, write ONE character as a JSON object and nothing else: no prose, no
markdown. Use exactly these keys:
  "name": short display name,
  "username": lowercase handle,
  "system": a system prompt of several sentences in the second person ("You are …"),
  "bio": 3-6 short facts (strings),
  "lore": 3-5 short background stories (strings),
  "messageExamples": 1-3 conversations; each is a list of messages
      {"user": "{{user1}}" or the character's exact name, "content": {"text": "…"}},
      alternating between "{{user1}}" and the character,
  "postExamples": 3-5 social posts in the character's voice (strings),
  "topics": 5-10 topics (strings),
  "adjectives": 5-8 adjectives (strings),
  "style": {"all": [rules], "chat": [rules], "post": [rules]} with 1-4 rules each.
Never include API keys, tokens or passwords."""


def _text(longest: int) -> dict[str, Any]:
    return {"type": "string", "minLength": 1, "maxLength": longest}


def _texts(longest: int, fewest: int, most: int) -> dict[str, Any]:
    return {"type": "array", "items": _text(longest), "minItems": fewest, "maxItems": most}


#: The draft's shape, for providers that take an output schema (OpenAI; llama.cpp, vLLM, LM
#: Studio and Ollama make a grammar of it). The lengths are bounds, not targets: a small local
#: model held to them writes a whole, valid character (SmolLM2-135M: 581 tokens, 17 s) where
#: unbounded it repeated one sentence until its token limit cut the JSON off.
DRAFT_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "name": _text(40),
        "username": _text(30),
        "system": _text(1200),
        "bio": _texts(200, 3, 6),
        "lore": _texts(300, 2, 5),
        "messageExamples": {
            "type": "array",
            "minItems": 1,
            "maxItems": 3,
            "items": {
                "type": "array",
                "minItems": 2,
                "maxItems": 6,
                "items": {
                    "type": "object",
                    "properties": {
                        "user": _text(40),
                        "content": {
                            "type": "object",
                            "properties": {"text": _text(400)},
                            "required": ["text"],
                        },
                    },
                    "required": ["user", "content"],
                },
            },
        },
        "postExamples": _texts(280, 2, 5),
        "topics": _texts(60, 3, 10),
        "adjectives": _texts(40, 3, 8),
        "style": {
            "type": "object",
            "properties": {
                "all": _texts(160, 1, 4),
                "chat": _texts(160, 1, 4),
                "post": _texts(160, 1, 4),
            },
            "required": ["all", "chat", "post"],
        },
    },
}
# Every key the prompt names is asked for.
DRAFT_SCHEMA["required"] = list(DRAFT_SCHEMA["properties"])
#: Room for a whole draft: the schema's bounds come to about 3,000 tokens at most.
DRAFT_MAX_TOKENS = 4096

#: A name that is a template's slot, not a name: "<name>", "{{name}}", "[Name]", "" .
_PLACEHOLDER = re.compile(r"|<[^<>]*>|\{\{?[^{}]*\}?\}|\[[^\[\]]*\]")


def first_prompt(description: str) -> list[dict[str, str]]:
    return [{"role": "user", "content": f"Description:\n{description.strip()}"}]


def retry_prompt(problems: list[str]) -> str:
    listed = "\n".join(f"- {p}" for p in problems[:15])
    return (
        "Your answer could not be used as a character:\n"
        f"{listed}\n"
        "Answer again with the corrected JSON object only."
    )


def extract_json(text: str) -> Any:
    """The JSON object in a model's answer; raises CharacterError saying what is wrong."""
    start, end = text.find("{"), text.rfind("}")
    if start < 0 or end <= start:
        raise CharacterError("the answer contains no JSON object")
    try:
        return json.loads(text[start : end + 1])
    except json.JSONDecodeError as exc:
        raise CharacterError(f"the JSON is malformed: {exc.msg} at character {exc.pos}") from exc


def read_draft(text: str) -> tuple[CharacterDoc | None, list[str]]:
    """A draft character from the answer, or the problems to send back to the model."""
    try:
        data = extract_json(text)
    except CharacterError as exc:
        return None, [exc.message]
    if not isinstance(data, dict):
        return None, ["the answer must be a JSON object"]
    name = data.get("name") if isinstance(data.get("name"), str) else "Draft"
    doc = CharacterDoc.new(name)
    doc.data.update(data)
    # A builder never writes secrets, whatever the model sent.
    settings = doc.data.get("settings")
    if isinstance(settings, dict):
        settings["secrets"] = {}
    problems = [str(issue) for issue in errors(validate(doc))]
    if _PLACEHOLDER.fullmatch(name.strip()):
        # Small models copy a template's slot ("<name of the character>") instead of filling it.
        problems.append(f'"name" is a placeholder ({name!r}): give the character its own name')
    return (None, problems) if problems else (doc, [])
