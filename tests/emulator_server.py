"""The HTTP server both Bot API emulators run on: threads, and connections it can cut at stop."""

from __future__ import annotations

import contextlib
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


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
        super().__init__(address, handler)

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
