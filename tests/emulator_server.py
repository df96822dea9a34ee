"""The HTTP server both Bot API emulators run on: threads, and connections it can cut at stop."""

from __future__ import annotations

import contextlib
import socket
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass(frozen=True)
class Fault:
    """A call made to fail on purpose: `drop` cuts the connection, else HTTP `status`."""

    drop: bool
    status: int = 500
    retry_after: int | None = None
    description: str | None = None


class TrackingServer(ThreadingHTTPServer):
    """ThreadingHTTPServer that tracks live connections so stop() can cut them."""

    daemon_threads = True
    block_on_close = False

    def __init__(
        self, address: tuple[str, int], handler: type[BaseHTTPRequestHandler], api: Any
    ) -> None:
        self.api = api
        self._connections: set[socket.socket] = set()
        self._idle = threading.Condition(threading.Lock())
        self._busy = 0
        self._thread: threading.Thread | None = None
        super().__init__(address, handler)

    def serve_in_thread(self, name: str, poll_interval: float) -> None:
        """Serve on a daemon thread; a short `poll_interval` lets `stop` return promptly."""
        self._thread = threading.Thread(
            target=self.serve_forever,
            kwargs={"poll_interval": poll_interval},
            name=name,
            daemon=True,
        )
        self._thread.start()

    def stop(self) -> None:
        """Stop serving and close, cutting idle keep-alive connections (they would otherwise
        keep their handler threads blocked)."""
        self.shutdown()
        self.close_all_connections()
        self.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def process_request(self, request: Any, client_address: Any) -> None:
        with self._idle:
            self._connections.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        with self._idle:
            self._connections.discard(request)
        super().shutdown_request(request)

    def request_started(self) -> None:
        with self._idle:
            self._busy += 1

    def request_finished(self) -> None:
        with self._idle:
            self._busy -= 1
            self._idle.notify_all()

    def close_all_connections(self, grace: float = 1.0) -> None:
        with self._idle:
            # Let woken long polls write their answers before the sockets are cut.
            self._idle.wait_for(lambda: self._busy == 0, timeout=grace)
            connections = list(self._connections)
        for connection in connections:
            with contextlib.suppress(OSError):  # the peer already closed it
                connection.shutdown(socket.SHUT_RDWR)


class TrackingHandler(BaseHTTPRequestHandler):
    """One request at a time per connection; subclasses answer in `_serve`."""

    # HTTP/1.1 keep-alive, like the real APIs; httpx reuses pooled connections.
    protocol_version = "HTTP/1.1"
    # Headers and body go out in separate writes; without TCP_NODELAY, Nagle plus delayed ACKs
    # add ~40 ms to every call.
    disable_nagle_algorithm = True
    server: TrackingServer

    def log_message(self, format: str, *args: Any) -> None:
        pass  # keep pytest output clean; the emulators record calls, and URLs hold tokens

    def do_POST(self) -> None:
        self.server.request_started()
        try:
            self._serve()
        finally:
            self.server.request_finished()

    do_GET = do_POST

    def _serve(self) -> None:
        raise NotImplementedError

    def _read_body(self) -> bytes:
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            chunks: list[bytes] = []
            while size := int(self.rfile.readline().split(b";")[0].strip() or b"0", 16):
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
            while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                pass  # optional trailers up to the blank line
            return b"".join(chunks)
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""
