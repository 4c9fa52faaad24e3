"""Tiny local servers on 127.0.0.1 for delivery tests: an HTTP receiver and an SMTP sink."""

from __future__ import annotations

import socketserver
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Received:
    """Requests or messages a local server got, and the statuses it will answer with."""

    items: list[dict[str, Any]] = field(default_factory=list)
    statuses: list[int] = field(default_factory=list)


@contextmanager
def http_receiver(statuses: list[int] | None = None) -> Iterator[tuple[str, Received]]:
    """Serve POSTs on 127.0.0.1; answers with ``statuses`` in turn (200 once they run out)."""
    received = Received(statuses=list(statuses or []))

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            received.items.append(
                {"path": self.path, "headers": {k.lower(): v for k, v in self.headers.items()}, "body": body}
            )
            status = received.statuses.pop(0) if received.statuses else 200
            self.send_response(status)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", received
    finally:
        server.shutdown()
        server.server_close()


@contextmanager
def smtp_sink() -> Iterator[tuple[int, Received]]:
    """A minimal SMTP server on 127.0.0.1 that accepts every message."""
    received = Received()

    class Handler(socketserver.StreamRequestHandler):
        def handle(self) -> None:
            self.reply("220 sink ready")
            envelope: dict[str, Any] = {"to": []}
            while True:
                line = self.rfile.readline().decode("utf-8", "replace").rstrip("\r\n")
                if not line:
                    return
                verb = line.split(" ", 1)[0].upper()
                if verb in ("EHLO", "HELO"):
                    self.reply("250 sink")
                elif verb == "MAIL":
                    envelope["from"] = line.split(":", 1)[1].strip()
                elif verb == "RCPT":
                    envelope["to"].append(line.split(":", 1)[1].strip())
                elif verb == "DATA":
                    self.reply("354 go on")
                    data = []
                    while (chunk := self.rfile.readline().decode("utf-8", "replace")) not in (".\r\n", ""):
                        data.append(chunk)
                    received.items.append({**envelope, "data": "".join(data)})
                    envelope = {"to": []}
                elif verb == "QUIT":
                    self.reply("221 bye")
                    return
                if verb in ("MAIL", "RCPT", "DATA", "RSET", "NOOP"):
                    self.reply("250 ok")

        def reply(self, text: str) -> None:
            self.wfile.write(f"{text}\r\n".encode())

    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield int(server.server_address[1]), received
    finally:
        server.shutdown()
        server.server_close()
