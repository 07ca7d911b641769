"""Providers that misbehave: a raw HTTP server that echoes the request back in error answers,
in malformed status lines, or resets and stalls; and an SMTP server that echoes AUTH.

Echoing is what makes them useful for secret leaks: whatever clarion sent (a webhook URL's
path, an ``Authorization`` header, a token in the body, the base64 AUTH line) comes back in
the answer, and so would reach a reason that quotes the answer.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import struct
from collections import Counter

# What the HTTP server does with a request; "rotate" goes through the first four in turn,
# per request path (so each destination meets each of them).
ECHO_400 = "echo-400"
ECHO_500 = "echo-500"
MALFORMED = "malformed"
RESET = "reset"
STALL = "stall"
ROTATE = "rotate"
ROTATION = (MALFORMED, RESET, ECHO_500, ECHO_400)


async def _read_request(reader: asyncio.StreamReader) -> bytes:
    head = await reader.readuntil(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n"):
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value.strip())
    body = await reader.readexactly(length) if length else b""
    return head + body


def _reset(writer: asyncio.StreamWriter) -> None:
    sock = writer.get_extra_info("socket")
    # Linger 0: close sends RST, not FIN.
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    writer.transport.abort()


class TroubleHttp:
    """``mode`` says how the next requests are answered (see the constants above)."""

    def __init__(self) -> None:
        self.mode = ECHO_400
        self.requests: list[bytes] = []
        self._per_path: Counter[bytes] = Counter()
        self._server: asyncio.Server | None = None
        self._stalled: set[asyncio.StreamWriter] = set()
        self.url = ""

    async def start(self) -> TroubleHttp:
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        port = self._server.sockets[0].getsockname()[1]
        self.url = f"http://127.0.0.1:{port}"
        return self

    async def stop(self) -> None:
        for writer in self._stalled:
            writer.transport.abort()
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()

    def rotate(self) -> None:
        """From now on, each path meets the errors of :data:`ROTATION` from the first."""
        self._per_path.clear()
        self.mode = ROTATE

    def _mode_for(self, request: bytes) -> str:
        if self.mode != ROTATE:
            return self.mode
        path = request.split(b" ", 2)[1] if request.count(b" ") >= 2 else b""
        turn = self._per_path[path]
        self._per_path[path] += 1
        return ROTATION[turn % len(ROTATION)]

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            request = await _read_request(reader)
        except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError):
            writer.transport.abort()
            return
        self.requests.append(request)
        mode = self._mode_for(request)
        if mode == RESET:
            _reset(writer)
            return
        if mode == STALL:
            self._stalled.add(writer)  # held open, unanswered, until the client gives up
            return
        if mode == MALFORMED:
            # The request's own lines, sent back where the status line belongs.
            answer = request.split(b"\r\n\r\n", 1)[0] + b"\r\n\r\n"
        else:
            status = b"400 Bad Request" if mode == ECHO_400 else b"500 Internal Server Error"
            answer = (
                b"HTTP/1.1 " + status + b"\r\nContent-Type: text/plain\r\n"
                b"Content-Length: " + str(len(request)).encode() + b"\r\n"
                b"Connection: close\r\n\r\n" + request
            )
        with contextlib.suppress(ConnectionError):
            writer.write(answer)
            await writer.drain()
        writer.close()


class EchoingSmtp:
    """An SMTP server offering AUTH PLAIN and LOGIN that refuses every attempt, quoting the
    client's AUTH lines back in its 535 answer."""

    def __init__(self) -> None:
        self.auth_lines: list[bytes] = []
        self._server: asyncio.Server | None = None
        self.port = 0

    async def start(self) -> EchoingSmtp:
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        code = b"535 5.7.8"
        writer.write(b"220 trouble ESMTP\r\n")
        seen: list[bytes] = []  # an AUTH LOGIN exchange so far
        awaited = 0  # its lines still to come
        try:
            while line := await reader.readline():
                command = line.strip()
                verb = command.split(b" ", 1)[0].upper()
                if awaited:
                    seen.append(command)
                    awaited -= 1
                    if awaited:
                        writer.write(b"334 UGFzc3dvcmQ6\r\n")
                    else:
                        self.auth_lines += seen
                        writer.write(code + b" refused: " + b" | ".join(seen) + b"\r\n")
                elif verb in (b"EHLO", b"HELO"):
                    writer.write(b"250-trouble\r\n250-AUTH PLAIN LOGIN\r\n250 8BITMIME\r\n")
                elif command.upper().startswith(b"AUTH LOGIN"):
                    # The user name comes along (an initial response) or is asked for.
                    seen = [command]
                    awaited = 1 if len(command.split()) > 2 else 2
                    asked = b"UGFzc3dvcmQ6" if awaited == 1 else b"VXNlcm5hbWU6"
                    writer.write(b"334 " + asked + b"\r\n")
                elif verb == b"AUTH":
                    self.auth_lines.append(command)
                    writer.write(code + b" refused: " + command + b"\r\n")
                elif verb == b"QUIT":
                    writer.write(b"221 bye\r\n")
                    break
                elif verb == b"RSET" or verb == b"NOOP":
                    writer.write(b"250 ok\r\n")
                else:
                    writer.write(b"530 5.7.0 authentication required\r\n")
                await writer.drain()
        except ConnectionError:
            pass
        writer.close()
