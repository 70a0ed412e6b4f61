"""Model providers behind one interface (`base.ModelProvider`), registered by name.

Other features use these names only: the registry's functions, the `TextModel` protocol and
the error wording, the probe Settings uses to list a server's models and find local ones,
and the first-run answer (`first_model`).
"""

from carrier_studio.services.providers.base import Completion, TextModel
from carrier_studio.services.providers.errors import classify_error, provider_error, too_long
from carrier_studio.services.providers.first_model import (
    FirstModel,
    apply_first_model,
    needs_model_setup,
    skip_first_model,
)
from carrier_studio.services.providers.probe import (
    LOCAL_SERVERS,
    LocalServer,
    find_local_servers,
    list_models,
    listed_windows,
    listing_endpoint,
    windows_for,
)
from carrier_studio.services.providers.registry import (
    ModelPlan,
    ProviderClients,
    agents_model,
    check_choice,
    checked,
    choice_for,
    plan_for,
    provider_named,
    register,
    text_model,
    with_text_model,
)

__all__ = [
    "LOCAL_SERVERS",
    "Completion",
    "FirstModel",
    "LocalServer",
    "ModelPlan",
    "ProviderClients",
    "TextModel",
    "agents_model",
    "apply_first_model",
    "check_choice",
    "checked",
    "choice_for",
    "classify_error",
    "find_local_servers",
    "list_models",
    "listed_windows",
    "listing_endpoint",
    "windows_for",
    "needs_model_setup",
    "plan_for",
    "provider_error",
    "provider_named",
    "register",
    "skip_first_model",
    "text_model",
    "too_long",
    "with_text_model",
]
