"""Model strings as tests name them: ``provider:model[@endpoint]``, or ``default``.

``openai:gpt-4.1-mini``, ``anthropic:claude-sonnet-4-5``, ``openai-compatible:qwen2.5:0.5b@lm``
(the model name may hold colons: only the first one ends the provider). ``default`` is the model
the chat would use for the character: its own when its file names one, else the workspace
default.
"""

from __future__ import annotations

from carrier_studio.core.errors import CarrierError
from carrier_studio.core.settings import PROVIDERS, ModelChoice, ProviderSettings

DEFAULT = "default"


class ModelSpecError(CarrierError):
    """A model string that does not name a model the studio can run."""


def parse_model(text: str, providers: ProviderSettings) -> ModelChoice:
    """The `ModelChoice` ``text`` names (``default``: the workspace default)."""
    text = text.strip()
    if text == DEFAULT:
        return providers.default
    provider, sep, rest = text.partition(":")
    if not sep or not rest.strip():
        raise ModelSpecError(
            f'"{text}" is not a model: write provider:model, or provider:model@endpoint',
            hint=f"Providers: {', '.join(PROVIDERS)}; or 'default' for the workspace default.",
        )
    if provider not in PROVIDERS:
        raise ModelSpecError(
            f'"{text}" names the provider "{provider}", which the studio cannot run',
            hint=f"Providers: {', '.join(PROVIDERS)}.",
        )
    model, endpoint = rest, None
    if provider == "openai-compatible":
        model, at, endpoint = rest.rpartition("@")
        if not at:
            model, endpoint = rest, None
        if endpoint is None:
            default = providers.default
            endpoint = default.endpoint if default.provider == provider else None
            endpoint = endpoint or next((e.name for e in providers.endpoints), None)
        if endpoint is None:
            raise ModelSpecError(
                f'"{text}" needs an endpoint (provider:model@endpoint) and none is set up',
                hint="Add the endpoint under Settings → Model providers.",
            )
    return ModelChoice(
        provider=provider,  # type: ignore[arg-type]
        model=model.strip(),
        endpoint=endpoint,
        temperature=providers.default.temperature,
    )


def model_key(choice: ModelChoice) -> str:
    """The string that names ``choice`` again (cassette file names, the matrix)."""
    where = f"@{choice.endpoint}" if choice.provider == "openai-compatible" else ""
    return f"{choice.provider}:{choice.model}{where}"
