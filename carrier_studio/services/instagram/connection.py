"""What one publishing pass talks to: the Graph API client and the FTP uploader.

A `Connection` is built afresh for every pass by a `Connect` function, so a token or an FTP
setting the user edits applies to the next pass without restarting the worker. `connector`
builds that function from the settings store and the secret store.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from carrier_studio.services.instagram.ftp import FtpTarget, FtpUploader
from carrier_studio.services.instagram.graph_api import GraphClient


def token_fingerprint(token: str) -> str:
    """Tells tokens apart without keeping one around (the worker remembers an expired one)."""
    return hashlib.sha256(token.encode()).hexdigest()[:16]


@dataclass
class Connection:
    """What one publishing pass talks to; built fresh from settings and secrets each pass."""

    graph: GraphClient
    hosting: FtpUploader
    #: `token_fingerprint` of the access token ``graph`` uses.
    token_id: str = ""

    async def close(self) -> None:
        await self.graph.close()


Connect = Callable[[], Awaitable[Connection]]


def connector(settings_source, secrets) -> Connect:  # noqa: ANN001 - SettingsStore, SecretStore
    """A `Connect` that reads the current settings and secrets each pass (edits apply at once)."""

    async def connect() -> Connection:
        settings = settings_source.settings
        # The secret store may be a keyring, which can block: read it off the loop.
        token, password = await asyncio.to_thread(
            lambda: (secrets.get("INSTAGRAM_ACCESS_TOKEN"), secrets.get("FTP_PASSWORD"))
        )
        ig, ftp = settings.instagram, settings.ftp
        hosting = FtpUploader(
            FtpTarget(
                ftp.host,
                ftp.port,
                ftp.user,
                password or "",
                ftp.remote_dir,
                ftp.public_base_url,
                ftp.use_tls,
            )
        )
        return Connection(
            GraphClient(ig.base_url, ig.user_id, token or ""),
            hosting,
            token_fingerprint(token or ""),
        )

    return connect


__all__ = ["Connect", "Connection", "connector", "token_fingerprint"]
