"""Whether Instagram publishing is set up: the one place that decides it.

The Instagram page shows `setup_problem`'s sentence; the publisher runs when `publishing_wanted`
(the window and headless mode alike). Both need to know whether the access token is stored, which
only the secret store can tell, so the caller passes ``token_set``.
"""

from __future__ import annotations

from carrier_studio.core.settings import Settings

#: The secret that holds the Instagram access token.
TOKEN_SECRET = "INSTAGRAM_ACCESS_TOKEN"


def missing_setup(settings: Settings, token_set: bool) -> list[str]:
    """What is missing before the queue can publish, in words; empty when all is set."""
    missing = []
    if not settings.instagram.user_id:
        missing.append("the Instagram account id")
    if not token_set:
        missing.append("an access token")
    if not settings.ftp.host:
        missing.append("an FTP host")
    if not settings.ftp.public_base_url:
        missing.append("the FTP host's public URL")
    return missing


def setup_problem(settings: Settings, token_set: bool) -> str | None:
    """What is missing before the queue can publish, in a sentence; None when all is set."""
    missing = missing_setup(settings, token_set)
    if not missing:
        return None
    listed = ", ".join(missing[:-1]) + (" and " if len(missing) > 1 else "") + missing[-1]
    return (
        f"Publishing is not set up: {listed} {'is' if len(missing) == 1 else 'are'} missing. "
        "Posts can be queued now; they publish once Settings → Instagram and FTP are filled in."
    )


def publishing_wanted(settings: Settings, token_set: bool) -> bool:
    """Whether the publisher should run: everything is set up and the user did not turn
    background publishing off."""
    return settings.instagram.publish_in_background and not missing_setup(settings, token_set)
