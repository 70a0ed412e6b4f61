"""FTP upload and the public URL check against a real pyftpdlib server and a local file host."""

from __future__ import annotations

import asyncio
import socket
from contextlib import AsyncExitStack

import pytest

from carrier_studio.core.instagram import HostingError
from carrier_studio.services.instagram.ftp import (
    FtpTarget,
    FtpUploader,
    TransientHostingError,
    unique_name,
)
from tests.fakes.ftp_host import FileHost, running_ftp_server, self_signed_certificate
from tests.services.instagram import media


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _with_servers(tmp_path, body, *, tls=None, **target):
    root = tmp_path / "ftp"

    async def go():
        with running_ftp_server(root, tls=tls) as ftp:
            async with AsyncExitStack() as stack:
                host = await stack.enter_async_context(FileHost(root))
                fields = dict(
                    host=ftp.host, port=ftp.port, user=ftp.user, password=ftp.password,
                    remote_dir="/", public_base_url=host.base_url, use_tls=False,
                )  # fmt: skip
                fields.update(target)
                return await body(FtpUploader(FtpTarget(**fields)), host, root)

    return asyncio.run(go())


def test_upload_then_the_url_serves_the_same_file(tmp_path):
    photo = media.jpeg(tmp_path / "in" / "photo.jpg")
    names = {unique_name(photo, 7, 0) for _ in range(50)}
    assert len(names) == 50 and all(n.startswith("cs-7-0-") and n.endswith(".jpg") for n in names)

    async def body(uploader, host, root):
        name = unique_name(photo, 7, 0)
        url = await uploader.publish_file(photo, name)
        return url, name, host.requests, (root / name).read_bytes()

    url, name, requests, stored = _with_servers(tmp_path, body)
    assert url.endswith(f"/media/{name}") and stored == photo.read_bytes()
    assert requests == [("HEAD", name)]


def test_a_wrong_password_is_a_settings_problem(tmp_path):
    photo = media.jpeg(tmp_path / "photo.jpg")

    async def body(uploader, host, root):
        with pytest.raises(HostingError) as refused:
            await uploader.upload(photo, "x.jpg")
        return refused.value

    error = _with_servers(tmp_path, body, password="wrong")
    assert not isinstance(error, TransientHostingError)
    assert "refused" in str(error) and "password" in error.hint
    assert error.where.startswith("ftp://studio@127.0.0.1:")


def test_tls_asked_of_a_plain_server_says_so(tmp_path):
    photo = media.jpeg(tmp_path / "photo.jpg")

    async def body(uploader, host, root):
        with pytest.raises(HostingError) as refused:
            await uploader.upload(photo, "x.jpg")
        return refused.value

    error = _with_servers(tmp_path, body, use_tls=True)
    assert "does not offer TLS" in str(error)


def test_ftps_the_default_uploads_over_tls_to_a_server_whose_certificate_is_trusted(
    tmp_path, monkeypatch
):
    """FTPS (AUTH TLS, protected data channel), the studio's default hosting, end to end."""
    cert, key = self_signed_certificate(tmp_path / "tls")
    # The system's trust store, as a host's certificate from a public CA would be found there.
    monkeypatch.setenv("SSL_CERT_FILE", str(cert))
    photo = media.jpeg(tmp_path / "in" / "photo.jpg")

    async def body(uploader, host, root):
        url = await uploader.publish_file(photo, "tls.jpg")
        return url, (root / "tls.jpg").read_bytes()

    url, stored = _with_servers(tmp_path, body, tls=(cert, key), use_tls=True)
    assert url.endswith("/media/tls.jpg") and stored == photo.read_bytes()


def test_ftps_with_a_certificate_nobody_vouches_for_is_a_settings_problem(tmp_path, monkeypatch):
    cert, key = self_signed_certificate(tmp_path / "tls")
    monkeypatch.setenv("SSL_CERT_FILE", str(tmp_path / "no-such-store.pem"))
    photo = media.jpeg(tmp_path / "photo.jpg")

    async def body(uploader, host, root):
        with pytest.raises(HostingError) as refused:
            await uploader.upload(photo, "x.jpg")
        return refused.value, list(root.iterdir())

    error, stored = _with_servers(tmp_path, body, tls=(cert, key), use_tls=True)
    assert not isinstance(error, TransientHostingError), "retrying will not make it trusted"
    assert "certificate" in str(error) and "not trusted" in str(error)
    assert stored == [], "nothing was sent over a connection that failed its check"


def test_plain_ftp_to_a_server_that_requires_tls_is_refused_in_words(tmp_path):
    cert, key = self_signed_certificate(tmp_path / "tls")
    photo = media.jpeg(tmp_path / "photo.jpg")

    async def body(uploader, host, root):
        with pytest.raises(HostingError) as refused:
            await uploader.upload(photo, "x.jpg")
        return refused.value

    error = _with_servers(tmp_path, body, tls=(cert, key), use_tls=False)
    assert "refused" in str(error)


def test_a_server_that_is_down_is_worth_retrying(tmp_path):
    photo = media.jpeg(tmp_path / "photo.jpg")

    async def body(uploader, host, root):
        with pytest.raises(TransientHostingError) as down:
            await uploader.upload(photo, "x.jpg")
        return down.value

    error = _with_servers(tmp_path, body, port=_free_port())
    assert "cannot reach the FTP server" in str(error)


def test_a_host_that_serves_the_wrong_thing_is_named(tmp_path):
    photo = media.jpeg(tmp_path / "photo.jpg")

    async def body(uploader, host, root):
        url = await uploader.upload(photo, "p.jpg")
        host.force_type = "text/html"
        with pytest.raises(HostingError) as wrong_type:
            await uploader.verify(url, photo)
        host.force_type = None
        with pytest.raises(HostingError) as missing:
            await uploader.verify(url.replace("p.jpg", "gone.jpg"), photo)
        return url, wrong_type.value, missing.value

    url, wrong_type, missing = _with_servers(tmp_path, body)
    assert f"{url} is served as text/html, not image/jpeg" in str(wrong_type)
    assert "gone.jpg answers HTTP 404" in str(missing)
    assert wrong_type.where == "ftp.public_base_url"


def test_the_settings_check_uploads_checks_and_cleans_up(tmp_path):
    async def body(uploader, host, root):
        url = await uploader.check(tmp_path / "scratch")
        return url, sorted(p.name for p in root.iterdir()), host.requests

    url, left, requests = _with_servers(tmp_path, body)
    assert "/media/carrier-studio-check-" in url
    assert left == [], "the check file is deleted again"
    assert requests[0][0] == "HEAD"
    assert list((tmp_path / "scratch").iterdir()) == []


SECRET = "Sup3r-s3cret-FTP-pw"


def _texts(error: BaseException) -> list[str]:
    """Everything an error shows: its message, repr, where, hint, and the errors behind it."""
    texts = []
    while error is not None:
        texts += [str(error), repr(error), str(getattr(error, "where", "")),
                  str(getattr(error, "hint", ""))]  # fmt: skip
        error = error.__cause__ or error.__context__
    return texts


def test_the_password_shows_in_no_repr_and_no_error(tmp_path):
    target = FtpTarget("127.0.0.1", 21, "studio", SECRET, "/", "http://host/media")
    assert SECRET not in repr(target) and SECRET not in str(target)
    assert target.password == SECRET, "still there for the login"
    photo = media.jpeg(tmp_path / "photo.jpg")

    async def body(uploader, host, root):
        assert SECRET not in repr(uploader.target)
        with pytest.raises(HostingError) as refused:
            await uploader.upload(photo, "x.jpg")
        return refused.value

    refused = _with_servers(tmp_path, body, password=SECRET)  # the server wants another one
    down = _with_servers(tmp_path, body, password=SECRET, port=_free_port())
    assert "refused" in str(refused) and "cannot reach" in str(down)
    for error in (refused, down):
        assert not [t for t in _texts(error) if SECRET in t]
