"""Media hosting for the Instagram tests: a real pyftpdlib FTP server and an HTTP file host.

`running_ftp_server(root)` serves ``root`` over FTP on 127.0.0.1 (a user with a password,
passive ports) from a thread, as an ISP's FTP account would. `FileHost` serves the same folder
over HTTP with the right content types — the "public base URL" — and can hold a request so a
test can kill the uploader between uploading a file and checking its URL.
"""

from __future__ import annotations

import asyncio
import mimetypes
import socket
import threading
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from aiohttp import web

FTP_USER = "studio"
FTP_PASSWORD = "ftp-secret-pw"


@dataclass(frozen=True)
class FtpServerInfo:
    host: str
    port: int
    user: str
    password: str
    root: Path


def _free_ports(count: int) -> list[int]:
    sockets = []
    try:
        for _ in range(count):
            sock = socket.socket()
            sock.bind(("127.0.0.1", 0))
            sockets.append(sock)
        return [s.getsockname()[1] for s in sockets]
    finally:
        for sock in sockets:
            sock.close()


def self_signed_certificate(folder: Path, host: str = "127.0.0.1") -> tuple[Path, Path]:
    """A certificate for ``host`` and its key, as PEM files (the FTPS server's identity; a
    client trusts it by loading the certificate as its CA)."""
    import datetime
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, host)])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address(host))]), False
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    folder.mkdir(parents=True, exist_ok=True)
    cert_file, key_file = folder / "ftps-cert.pem", folder / "ftps-key.pem"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_file, key_file


@contextmanager
def running_ftp_server(
    root: Path, *, tls: tuple[Path, Path] | None = None
) -> Iterator[FtpServerInfo]:
    """``tls``: (certificate, key) to serve FTPS (explicit TLS: AUTH TLS, then a protected data
    channel required) as most hosting providers do."""
    with warnings.catch_warnings():
        # pyftpdlib 2.2 still imports asyncore/asynchat (deprecated in 3.11, its own concern).
        warnings.simplefilter("ignore", DeprecationWarning)
        from pyftpdlib.authorizers import DummyAuthorizer
        from pyftpdlib.handlers import FTPHandler, TLS_FTPHandler
        from pyftpdlib.servers import FTPServer

    root.mkdir(parents=True, exist_ok=True)
    authorizer = DummyAuthorizer()
    authorizer.add_user(FTP_USER, FTP_PASSWORD, str(root), perm="elradfmwMT")
    if tls is None:
        handler = type("Handler", (FTPHandler,), {})
    else:
        handler = type("Handler", (TLS_FTPHandler,), {})
        handler.certfile, handler.keyfile = str(tls[0]), str(tls[1])
        handler.tls_control_required = True
        handler.tls_data_required = True
    handler.authorizer = authorizer
    handler.passive_ports = _free_ports(8)
    handler.masquerade_address = "127.0.0.1"
    handler.auth_failed_timeout = 0.05  # pyftpdlib waits 3 s after a wrong password
    server = FTPServer(("127.0.0.1", 0), handler)
    port = server.socket.getsockname()[1]
    stop = threading.Event()

    def serve() -> None:
        # The server is closed on its own thread: closing it from another one while it polls
        # makes pyftpdlib's poller fail on a closed descriptor.
        try:
            while not stop.is_set():
                server.serve_forever(timeout=0.05, blocking=False)
        finally:
            server.close_all()

    thread = threading.Thread(target=serve, name="ftp-server", daemon=True)
    thread.start()
    try:
        yield FtpServerInfo("127.0.0.1", port, FTP_USER, FTP_PASSWORD, root)
    finally:
        stop.set()
        thread.join(5)


class FileHost:
    """``GET``/``HEAD`` ``/media/<name>`` → the file in ``root`` with its content type."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.requests: list[tuple[str, str]] = []
        self._hold: asyncio.Event | None = None
        self._skip = 0
        self.held = asyncio.Event()
        self._runner: web.AppRunner | None = None
        self.base_url = ""
        #: Serve everything as this type instead (a misconfigured host).
        self.force_type: str | None = None

    def hold_next_head(self, skip: int = 0) -> None:
        """The next HEAD (after ``skip`` others) waits — the file is uploaded, its URL not yet
        checked — until `release`."""
        self._hold = asyncio.Event()
        self._skip = skip
        self.held.clear()

    def release(self) -> None:
        if self._hold is not None:
            self._hold.set()
            self._hold = None

    async def __aenter__(self) -> FileHost:
        app = web.Application()
        app.router.add_route("*", "/media/{name}", self._serve)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.base_url = f"http://127.0.0.1:{port}/media"
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.release()
        if self._runner is not None:
            await self._runner.cleanup()

    async def _serve(self, request: web.Request) -> web.StreamResponse:
        name = request.match_info["name"]
        self.requests.append((request.method, name))
        if request.method == "HEAD" and self._hold is not None and self._skip:
            self._skip -= 1
        elif request.method == "HEAD" and self._hold is not None:
            hold = self._hold
            self.held.set()
            await hold.wait()
        path = self.root / name
        if "/" in name or not path.is_file():
            raise web.HTTPNotFound()
        ctype = self.force_type or mimetypes.guess_type(name)[0] or "application/octet-stream"
        if request.method == "HEAD":
            size = path.stat().st_size
            return web.Response(headers={"Content-Type": ctype, "Content-Length": str(size)})
        # Streamed from disk (sendfile), so a large video does not hold the test's loop.
        return web.FileResponse(path, headers={"Content-Type": ctype})
