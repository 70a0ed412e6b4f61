"""Media hosting for Instagram: upload to the user's FTP(S) server, then prove the public URL
answers before Meta is asked to fetch it.

Meta downloads each file from a public URL; a container created for a URL that does not answer
fails minutes later with a vague error. So every upload is checked here first (HEAD, or GET when
HEAD is refused): the right status, content type and size — or a `HostingError` naming the URL.
"""

from __future__ import annotations

import logging
import mimetypes
import posixpath
import ssl
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aioftp
import aiohttp

from carrier_studio.core.instagram import HostingError

log = logging.getLogger(__name__)


class TransientHostingError(HostingError):
    """The FTP server or the public host did not answer now; trying later may work."""


@dataclass(frozen=True)
class FtpTarget:
    host: str
    port: int
    user: str
    #: Kept out of repr (and so of str, logs and tracebacks that show the target).
    password: str = field(repr=False)
    remote_dir: str
    public_base_url: str
    #: Explicit TLS (AUTH TLS) after connecting: FTPS.
    use_tls: bool = True

    def public_url(self, remote_name: str) -> str:
        return f"{self.public_base_url.rstrip('/')}/{remote_name}"


def unique_name(local: Path, post_id: int, index: int) -> str:
    """A remote name no other upload uses (a re-upload never serves a stale cached file)."""
    suffix = local.suffix.lower() or ".bin"
    return f"cs-{post_id}-{index}-{uuid.uuid4().hex[:12]}{suffix}"


def content_type_for(local: Path) -> str:
    return mimetypes.guess_type(local.name)[0] or "application/octet-stream"


class FtpUploader:
    def __init__(self, target: FtpTarget, *, timeout: float = 60.0) -> None:
        for setting, value in (("ftp.host", target.host), ("ftp.public_base_url",
                                                             target.public_base_url)):  # fmt: skip
            if not value:
                raise HostingError(
                    "is not set", where=setting, hint="Fill it in under Settings → Instagram."
                )
        self.target = target
        self._timeout = timeout

    def _connect(self, **options: Any) -> Any:
        """A logged-in client for the target, as an async context manager."""
        target = self.target
        return aioftp.Client.context(
            target.host,
            target.port,
            user=target.user,
            password=target.password,
            upgrade_to_tls=target.use_tls,
            socket_timeout=self._timeout,
            connection_timeout=self._timeout,
            **options,
        )

    async def upload(self, local: Path, remote_name: str) -> str:
        """Upload ``local`` as ``remote_name`` in the remote folder; returns its public URL."""
        target = self.target
        remote = posixpath.join(target.remote_dir or "/", remote_name)
        where = f"ftp://{target.user}@{target.host}:{target.port}{remote}"
        try:
            # Reads the local file in a thread: a 300 MB reel must not stall the loop.
            async with self._connect(path_io_factory=aioftp.AsyncPathIO) as client:
                await client.upload(local, remote, write_into=True)
        except aioftp.StatusCodeError as exc:
            if target.use_tls and "234" in {str(c) for c in exc.expected_codes}:
                raise HostingError(
                    "the FTP server does not offer TLS (it refused AUTH TLS)",
                    where=where,
                    hint="Turn TLS off in Settings → Instagram only if the server is on a "
                    "network you trust: plain FTP sends the password in clear.",
                ) from exc
            codes = {str(c)[:1] for c in exc.received_codes}
            text = " ".join(exc.info).strip() if exc.info else str(exc)
            error = TransientHostingError if "4" in codes else HostingError
            raise error(
                f"the FTP server refused the upload of {local.name}: {text}",
                where=where,
                hint="Check the FTP user, password and remote folder in Settings → Instagram."
                if error is HostingError
                else None,
            ) from exc
        except ssl.SSLCertVerificationError as exc:
            # Not worth retrying: the certificate will be as untrusted in ten minutes.
            raise HostingError(
                f"the FTP server's certificate is not trusted ({exc.verify_message})",
                where=where,
                hint="Use the host name the certificate was issued for (often the provider's, "
                "not your domain), or ask the host for a certificate from a public authority.",
            ) from exc
        except (OSError, TimeoutError) as exc:
            raise TransientHostingError(
                f"cannot reach the FTP server ({exc.__class__.__name__}: {exc})", where=where
            ) from exc
        log.info("uploaded %s to %s", local.name, where)
        return target.public_url(remote_name)

    async def verify(self, url: str, local: Path) -> None:
        """Raise `HostingError` unless ``url`` serves ``local`` (status, type and size)."""
        expected_type = content_type_for(local)
        expected_size = local.stat().st_size
        try:
            async with aiohttp.ClientSession(
                timeout=aiohttp.ClientTimeout(total=self._timeout)
            ) as session:
                async with session.head(url, allow_redirects=True) as response:
                    status, headers = response.status, response.headers
                if status in (403, 405, 501):  # some hosts refuse HEAD: ask for the file
                    async with session.get(url, allow_redirects=True) as response:
                        status, headers = response.status, response.headers
                        await response.content.readany()
        except (aiohttp.ClientError, TimeoutError, OSError) as exc:
            raise HostingError(
                f"the public URL {url} does not answer ({exc.__class__.__name__}: {exc}); "
                "Instagram could not fetch the file",
                where="ftp.public_base_url",
                hint="Check that the public base URL serves the FTP folder over the internet.",
            ) from exc
        problem = None
        if status != 200:
            problem = f"answers HTTP {status}"
        else:
            got_type = headers.get("Content-Type", "").split(";")[0].strip()
            length = headers.get("Content-Length")
            if got_type != expected_type:
                problem = f"is served as {got_type or 'no content type'}, not {expected_type}"
            elif length is not None and length.isdigit() and int(length) != expected_size:
                problem = f"serves {length} bytes, but {local.name} has {expected_size}"
        if problem:
            raise HostingError(
                f"the public URL {url} {problem}",
                where="ftp.public_base_url",
                hint="Check that the public base URL points at the FTP remote folder.",
            )

    async def check(self, scratch: Path) -> str:
        """The Settings page's "Test": upload a small JPEG, check its public URL, delete it.

        ``scratch`` is a folder for the temporary file. Returns the URL that answered; raises
        `HostingError` saying which part failed (FTP login, folder, public URL)."""
        probe = scratch / f"carrier-studio-check-{uuid.uuid4().hex[:8]}.jpg"
        probe.parent.mkdir(parents=True, exist_ok=True)
        # The smallest valid JPEG header is enough: the check is about transport and type.
        probe.write_bytes(bytes.fromhex("ffd8ffe000104a46494600010100000100010000ffd9"))
        try:
            url = await self.publish_file(probe, probe.name)
            await self.remove([probe.name])
            return url
        finally:
            probe.unlink(missing_ok=True)

    async def remove(self, remote_names: list[str]) -> None:
        """Delete uploads from the remote folder (missing ones are fine)."""
        target = self.target
        async with self._connect() as client:
            for name in remote_names:
                try:
                    await client.remove_file(posixpath.join(target.remote_dir or "/", name))
                except aioftp.StatusCodeError:
                    log.info("%s was already gone from the FTP folder", name)

    async def publish_file(self, local: Path, remote_name: str) -> str:
        """Upload, then verify; returns the public URL Meta can fetch."""
        url = await self.upload(local, remote_name)
        await self.verify(url, local)
        return url
