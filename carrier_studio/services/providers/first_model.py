"""The first-run question "where does the model run?", answered into settings and secrets.

The window's first-run guide (ui/widgets/first_run.py) asks; this module decides whether to ask
at all and stores the answer the same way Settings would: a local server becomes an endpoint
row (reused when its address is already listed), a key goes to the secret store, and the chosen
model becomes the workspace default, which characters without their own provider follow.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Literal

from carrier_studio.core.errors import ProviderError
from carrier_studio.core.settings import CompatEndpoint, Settings, same_server
from carrier_studio.services.platform.secrets import SecretStore
from carrier_studio.services.platform.settings_store import SettingsStore
from carrier_studio.services.providers.registry import check_choice

KEY_NAMES = {"openai": "OPENAI_API_KEY", "anthropic": "ANTHROPIC_API_KEY"}


@dataclass(frozen=True)
class FirstModel:
    """What the guide gathered: where, which model, and the key or address that reaches it."""

    kind: Literal["openai", "anthropic", "openai-compatible"]
    model: str
    #: The server's OpenAI-compatible base URL (``…/v1``); only for a local server.
    base_url: str = ""
    #: The endpoint row's name for a local server ("ollama", "lm-studio", …).
    label: str = "local"
    api_key: str = ""


def needs_model_setup(settings: Settings, secrets: SecretStore) -> bool:
    """True when the workspace default model cannot run (no key, no endpoint) and the guide
    was never finished or skipped: a new user's first start."""
    if settings.ui.first_run_done:
        return False
    try:
        check_choice(settings.providers.default, settings.providers, secrets)
    except ProviderError:
        return True
    return False


async def apply_first_model(
    store: SettingsStore, secrets: SecretStore, answer: FirstModel
) -> Settings:
    """Make ``answer`` the workspace default (writes settings.json, and the key if one was given)
    and mark the guide done. Returns the settings as saved."""
    current = store.settings
    providers = current.providers
    endpoint: str | None = None
    if answer.kind == "openai-compatible":
        listed = next(
            (e for e in providers.endpoints if same_server(str(e.base_url), answer.base_url)), None
        )
        endpoints = list(providers.endpoints)
        if listed is None:
            names = {e.name for e in endpoints}
            name, n = answer.label or "local", 2
            while name in names:
                name, n = f"{answer.label or 'local'}-{n}", n + 1
            listed = CompatEndpoint(name=name, base_url=answer.base_url, models=[answer.model])
            endpoints.append(listed)
        elif answer.model not in listed.models:
            updated = listed.model_copy(update={"models": [*listed.models, answer.model]})
            endpoints = [updated if e is listed else e for e in endpoints]
        endpoint = listed.name
        providers = providers.model_copy(update={"endpoints": endpoints})
        if answer.api_key:
            await asyncio.to_thread(secrets.set, listed.secret_name, answer.api_key)
    elif answer.api_key:
        await asyncio.to_thread(secrets.set, KEY_NAMES[answer.kind], answer.api_key)
    default = providers.default.model_copy(
        update={"provider": answer.kind, "model": answer.model, "endpoint": endpoint}
    )
    providers = providers.model_copy(update={"default": default})
    ui = current.ui.model_copy(update={"first_run_done": True})
    saved = current.model_copy(update={"providers": providers, "ui": ui})
    await store.save_async(saved)
    return saved


async def skip_first_model(store: SettingsStore) -> None:
    """The user chose "Later": do not ask again at start (Settings has every field)."""
    current = store.settings
    await store.save_async(
        current.model_copy(update={"ui": current.ui.model_copy(update={"first_run_done": True})})
    )
