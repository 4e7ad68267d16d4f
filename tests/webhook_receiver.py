"""A real HTTP receiver on the loopback for webhook tests: it records every request and
answers what the test says (200 unless told otherwise)."""

import json
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Received:
    status: int
    headers: dict[str, str]
    raw: bytes

    @property
    def body(self) -> dict:
        return json.loads(self.raw)


@dataclass
class Receiver:
    url: str
    answer: Callable[[], int] = lambda: 200
    requests: list[Received] = field(default_factory=list)

    def delivered(self) -> list[dict]:
        """The bodies it answered 2xx to, in the order they came."""
        return [r.body for r in self.requests if 200 <= r.status < 300]

    def unique(self) -> dict[str, dict]:
        """The delivered events by id: what a receiver that dedupes keeps."""
        return {body["id"]: body for body in self.delivered()}


@contextmanager
def receiving(path: str = "/hooks/stock") -> Iterator[Receiver]:
    """Serve on a free loopback port until the block ends."""
    receiver: Receiver

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 - http.server's name
            raw = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            status = receiver.answer()
            receiver.requests.append(Received(status, dict(self.headers), raw))
            self.send_response(status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    receiver = Receiver(url=f"http://127.0.0.1:{server.server_address[1]}{path}")
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield receiver
    finally:
        server.shutdown()
        server.server_close()
