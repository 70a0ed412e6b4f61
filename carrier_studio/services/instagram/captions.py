"""Writes an Instagram caption as a character with the configured model (one retry on rules).

Same shape as `character_builder.draft_character`: the caller builds the `TextModel`
(``providers.text_model(choice_for(doc, providers), providers, secrets)``) and closes it.
"""

from __future__ import annotations

from collections.abc import Callable

from carrier_studio.core.characters.document import CharacterDoc
from carrier_studio.core.instagram import InstagramError, check_caption
from carrier_studio.core.instagram import captions as prompts
from carrier_studio.services.providers.registry import TextModel

ATTEMPTS = 2


async def write_caption(
    doc: CharacterDoc,
    model: TextModel,
    *,
    brief: str = "",
    kind: str = "image",
    files: list[str] | None = None,
    progress: Callable[[str], None] = lambda _text: None,
) -> str:
    """A caption in ``doc``'s voice that passes pre-flight; raises `InstagramError` if the
    model cannot write one in two attempts (the user's caption is never touched here)."""
    system = prompts.system_prompt(doc)
    messages = prompts.first_prompt(brief, kind, files or [])
    findings = []
    for attempt in range(1, ATTEMPTS + 1):
        progress(
            f"{doc.name} is writing a caption with {model.label}…"
            if attempt == 1
            else f"The caption broke {len(findings)} rule(s); asking again…"
        )
        answer = await model.complete(system, messages)
        caption = prompts.read_caption(answer.text)
        findings = check_caption(caption)
        if caption and not findings:
            progress("Caption written.")
            return caption
        if not caption:
            findings = []
        messages = [
            *messages,
            {"role": "assistant", "content": answer.text},
            {
                "role": "user",
                "content": prompts.retry_prompt(findings) if findings else "Write the caption.",
            },
        ]
    problem = findings[0].message if findings else "the answer was empty"
    raise InstagramError(
        f"{model.label} did not write a usable caption in {ATTEMPTS} attempts ({problem})",
        where="caption",
        hint="Try again, or write the caption yourself.",
    )
