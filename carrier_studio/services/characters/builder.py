"""Drafts a character from a description with the configured model (one retry on errors)."""

from __future__ import annotations

from collections.abc import Callable

from carrier_studio.core.characters import builder
from carrier_studio.core.characters.document import CharacterDoc, CharacterError
from carrier_studio.services.providers import TextModel

ATTEMPTS = 2


async def draft_character(
    description: str,
    model: TextModel,
    progress: Callable[[str], None] = lambda _text: None,
) -> CharacterDoc:
    """Ask ``model`` for a character; feed validation errors back once; raise if still bad."""
    if not description.strip():
        raise CharacterError("describe the character first")
    messages = builder.first_prompt(description)
    problems: list[str] = []
    for attempt in range(1, ATTEMPTS + 1):
        progress(
            f"Asking {model.label} for a draft…"
            if attempt == 1
            else f"The draft had {len(problems)} problem(s); asking {model.label} to fix them…"
        )
        answer = await model.complete(
            builder.SYSTEM,
            messages,
            max_tokens=builder.DRAFT_MAX_TOKENS,
            schema=builder.DRAFT_SCHEMA,
        )
        doc, problems = builder.read_draft(answer.text)
        if doc is not None:
            progress(f"Drafted {doc.name}.")
            return doc
        messages = [
            *messages,
            {"role": "assistant", "content": answer.text},
            {"role": "user", "content": builder.retry_prompt(problems)},
        ]
    raise CharacterError(
        f"{model.label} did not produce a valid character in {ATTEMPTS} attempts. "
        f"Last problem: {problems[0]}",
        hint="Try again, describe the character differently, or choose a stronger model.",
    )
