"""What an outsider sends a webhook, over a raw socket: a body announced but not sent, a huge
one, one nested past any parser. Blocking; async tests run it in a thread."""

from __future__ import annotations

import socket
from dataclasses import dataclass

MB = 1024 * 1024
DEEP = 100_000  # "[" nested this deep: 200 KB that no JSON parser can recurse into
BEGINNING = 64 * 1024


@dataclass(frozen=True)
class Answer:
    status: int
    hung_up: bool  # the server closed the connection after answering: it reads no more


def announce(port: int, path: str, length: int, headers: dict[str, str]) -> Answer:
    """POST stating `Content-Length: length`, send only the body's first 64 KB, and wait for
    the answer. A server that reads the whole body before judging the request never answers
    (the read times out); one that checks the headers first answers at once."""
    with _connect(port) as connection:
        connection.sendall(_head(path, length, headers) + b"[" * min(BEGINNING, length))
        status = _status(connection)
        return Answer(status, _hung_up(connection))


def post_all(port: int, path: str, body: bytes, headers: dict[str, str]) -> int:
    """POST the whole `body`; the status."""
    with _connect(port) as connection:
        connection.sendall(_head(path, len(body), headers) + body)
        return _status(connection)


def deeply_nested() -> bytes:
    return b"[" * DEEP + b"]" * DEEP


def _connect(port: int) -> socket.socket:
    return socket.create_connection(("127.0.0.1", port), timeout=10)


def _head(path: str, length: int, headers: dict[str, str]) -> bytes:
    lines = [f"POST {path} HTTP/1.1", "Host: 127.0.0.1", f"Content-Length: {length}"]
    lines += [f"{name}: {value}" for name, value in headers.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def _status(connection: socket.socket) -> int:
    received = b""
    while b"\r\n" not in received:
        chunk = connection.recv(65536)
        if not chunk:
            raise AssertionError(f"the server hung up without an answer: {received!r}")
        received += chunk
    return int(received.split(b" ", 2)[1])


def _hung_up(connection: socket.socket) -> bool:
    try:
        while connection.recv(65536):
            pass
    except ConnectionResetError:
        return True
    except TimeoutError:
        return False
    return True
