"""The studio's side of sampling and roots, kept in the workspace's settings.

`SettingsSampler` runs a server's approved ``sampling/createMessage`` on the chat's model (the
workspace default when no chat is running) through the provider registry, and remembers
"always allow" per server in ``settings.mcp.sampling_always_allow``. `SettingsRoots` gives
each server the workspace folder plus the folders the user added for it
(``settings.mcp.roots``), and tells running servers when those change. The session hands
both to `McpManager.client`.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from carrier_studio.core.mcp.requests import SamplingRequest
from carrier_studio.core.settings import ModelChoice
from carrier_studio.services.platform.secrets import SecretStore
from carrier_studio.services.platform.settings_store import SettingsStore
from carrier_studio.services.providers import with_text_model

if TYPE_CHECKING:
    from carrier_studio.services.mcp.manager import McpManager


class SettingsSampler:
    """`client.Sampler` over the workspace's settings and keys."""

    def __init__(self, settings: SettingsStore, secrets: SecretStore) -> None:
        self._settings = settings
        self._secrets = secrets

    def model_for(self, choice: ModelChoice | None) -> ModelChoice:
        return choice or self._settings.settings.providers.default

    def always_allowed(self, server: str) -> bool:
        return server in self._settings.settings.mcp.sampling_always_allow

    async def allow_always(self, server: str) -> None:
        if self.always_allowed(server):
            return
        settings = self._settings.settings.model_copy(deep=True)
        settings.mcp.sampling_always_allow = [*settings.mcp.sampling_always_allow, server]
        await self._settings.save_async(settings, by=self)

    async def complete(self, choice: ModelChoice, request: SamplingRequest) -> tuple[str, str]:
        messages = [{"role": m.role, "content": m.text} for m in request.messages]
        providers = self._settings.settings.providers

        async def work(model: object) -> str:
            # The server's token limit is part of what the user approved.
            completion = await model.complete(  # type: ignore[attr-defined]
                request.system_prompt, messages, max_tokens=request.max_tokens
            )
            return str(completion.text)

        return await with_text_model(choice, providers, self._secrets, work), choice.model


class SettingsRoots:
    """A server's roots: the workspace, then the folders the user added for it."""

    def __init__(self, settings: SettingsStore, workspace: Path) -> None:
        self._settings = settings
        #: Always a root, whatever the user adds.
        self.workspace = workspace

    def __call__(self, server: str) -> list[Path]:
        folders = [self.workspace, *(Path(f).expanduser() for f in self.added(server))]
        return list(dict.fromkeys(folders))

    def added(self, server: str) -> list[str]:
        """The folders the user added for ``server``, as saved."""
        return list(self._settings.settings.mcp.roots.get(server, []))

    async def set_added(self, server: str, folders: list[str], manager: McpManager) -> None:
        """Save ``server``'s added folders and tell it, if it runs, that its roots changed."""
        settings = self._settings.settings.model_copy(deep=True)
        roots = dict(settings.mcp.roots)
        if folders:
            roots[server] = list(dict.fromkeys(folders))
        else:
            roots.pop(server, None)
        settings.mcp.roots = roots
        await self._settings.save_async(settings, by=self)
        await manager.roots_changed(server)
