"""The browser's way back from an OAuth sign-in: a listener on 127.0.0.1 (RFC 8252's loopback
redirect) that answers one ``/callback`` and hands its query (the code, or the authorization
server's error) to the flow in `oauth`.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
from urllib.parse import parse_qs, urlsplit

from carrier_studio.core.mcp import McpServerError

CALLBACK_PATH = "/callback"


class SignInError(McpServerError):
    """A sign-in did not complete."""


def redirect_uri(port: int) -> str:
    return f"http://127.0.0.1:{port}{CALLBACK_PATH}"


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


_PAGE = (
    "<!doctype html><meta charset=utf-8><title>Carrier Studio</title>"
    "<body style='font-family:sans-serif;margin:3em'><h2>{title}</h2><p>{text}</p>"
)


class Callback:
    """The loopback listener the browser is sent back to: one ``/callback`` with the code (or
    the authorization server's error) in its query."""

    def __init__(self, server_name: str) -> None:
        self._server_name = server_name
        self._answer: asyncio.Future[dict[str, str]] | None = None
        self._listener: asyncio.Server | None = None

    async def listen(self, port: int) -> None:
        self._answer = asyncio.get_running_loop().create_future()
        try:
            self._listener = await asyncio.start_server(self._serve, "127.0.0.1", port)
        except OSError as exc:
            raise SignInError(
                f"the sign-in of {self._server_name} comes back to 127.0.0.1:{port}, which "
                f"another program uses ({exc.strerror}): close it, or sign out and sign in again"
            ) from exc

    async def answer(self, within: float) -> dict[str, str]:
        assert self._answer is not None
        try:
            async with asyncio.timeout(within):
                return await asyncio.shield(self._answer)
        except TimeoutError:
            raise SignInError(
                f"the sign-in of {self._server_name} was not finished in the browser within "
                f"{within / 60:g} minutes"
            ) from None
        finally:
            await self.close()

    async def close(self) -> None:
        if self._listener is not None:
            self._listener.close()
            with contextlib.suppress(Exception):
                await self._listener.wait_closed()
            self._listener = None

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            request = await reader.readline()
            while await reader.readline() not in (b"\r\n", b"\n", b""):
                pass  # the headers: nothing in them matters here
            parts = request.decode("latin-1").split()
            target = urlsplit(parts[1]) if len(parts) >= 2 else None
            if target is None or target.path != CALLBACK_PATH or self._answer is None:
                writer.write(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n")
                return
            query = {k: v[0] for k, v in parse_qs(target.query).items()}
            if "error" in query:
                title, text = "Not signed in", "The sign-in was refused. Carrier Studio says why."
            else:
                title = f"Signed in to {self._server_name}"
                text = "You can close this tab and go back to Carrier Studio."
            body = _PAGE.format(title=_escape(title), text=_escape(text)).encode()
            writer.write(
                b"HTTP/1.1 200 OK\r\nContent-Type: text/html; charset=utf-8\r\n"
                b"Cache-Control: no-store\r\nConnection: close\r\n"
                + f"Content-Length: {len(body)}\r\n\r\n".encode()
                + body
            )
            if not self._answer.done():
                self._answer.set_result(query)
        except (OSError, ValueError):
            pass
        finally:
            with contextlib.suppress(OSError):
                await writer.drain()
                writer.close()


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
