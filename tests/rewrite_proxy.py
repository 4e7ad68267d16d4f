"""A stand-in for the original UI's Next.js server: its page, and its rewrites to stockd.

`next.config`'s rewrites send /api/* and /static/* to the backend the way Next's proxy does:
`Host` becomes the backend's address, and the browser's host, scheme and address go in
X-Forwarded-Host, X-Forwarded-Proto and X-Forwarded-For. (The original's /events/* rewrite is
left out: this stand-in reads each answer whole, which a stream never is.) Every other path
answers `page`, the HTML the test puts in front of the browser.
"""

import http.client
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

REWRITTEN = ("/api/", "/static/")
# Hop-by-hop headers (RFC 9110, 7.6.1) end at the proxy; the rest pass as they came.
_HOP_BY_HOP = {
    "connection",
    "keep-alive",
    "proxy-connection",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
}


@contextmanager
def rewrite_proxy(backend: str, page: str, *, host: str = "localhost") -> Iterator[str]:
    """Serve `page` and proxy the rewritten paths to `backend`; yield http://<host>:<port>."""
    target = urlsplit(backend)

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self) -> None:
            self._answer()

        do_POST = do_PATCH = do_PUT = do_DELETE = do_HEAD = do_GET

        def _answer(self) -> None:
            if self.path.startswith(REWRITTEN):
                self._forward()
            else:
                body = page.encode()
                self.send_response(200)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        def _forward(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else None
            headers = {k: v for k, v in self.headers.items() if k.lower() not in _HOP_BY_HOP}
            headers.pop("Host", None)
            headers["X-Forwarded-Host"] = self.headers["Host"]
            headers["X-Forwarded-Proto"] = "http"
            headers["X-Forwarded-For"] = self.client_address[0]
            upstream = http.client.HTTPConnection(target.hostname, target.port, timeout=60)
            try:
                upstream.request(self.command, self.path, body=body, headers=headers)
                answer = upstream.getresponse()
                payload = answer.read()
            finally:
                upstream.close()
            self.send_response(answer.status)
            for name, value in answer.getheaders():
                if name.lower() not in _HOP_BY_HOP and name.lower() != "content-length":
                    self.send_header(name, value)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, format: str, *args) -> None:  # noqa: A002 - the base's name
            """Quiet: the backend logs every request it answers."""

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, name="rewrite-proxy", daemon=True)
    thread.start()
    try:
        yield f"http://{host}:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
