"""Writes an Instagram caption as a character with the configured model (one retry on rules).

Same shape as `characters.builder.draft_character`: the caller builds the `TextModel`
(``providers.text_model(choice_for(doc, providers), providers, secrets)``) and closes it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from carrier_studio.core.characters.document import CharacterDoc
from carrier_studio.core.errors import CarrierError
from carrier_studio.core.instagram import InstagramError, check_caption
from carrier_studio.core.instagram import captions as prompts
from carrier_studio.core.settings import ProviderSettings
from carrier_studio.services.platform.secrets import SecretStore
from carrier_studio.services.providers import TextModel, choice_for, with_text_model

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


async def write_caption_as(
    character: str,
    *,
    characters: Mapping[str, CharacterDoc],
    providers: ProviderSettings,
    secrets: SecretStore,
    brief: str = "",
    kind: str = "image",
    files: list[str] | None = None,
    progress: Callable[[str], None] = lambda _text: None,
) -> str:
    """`write_caption` for the character named ``character``, on its own model (its voice),
    else the workspace default."""
    doc = characters.get(character)
    if doc is None:
        raise CarrierError(f'there is no character named "{character}"')

    async def write(model: TextModel) -> str:
        return await write_caption(
            doc, model, brief=brief, kind=kind, files=files, progress=progress
        )

    return await with_text_model(choice_for(doc, providers), providers, secrets, write)
