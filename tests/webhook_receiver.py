"""A real HTTP receiver for webhook tests: http.server.ThreadingHTTPServer on
127.0.0.1 and a free port, in a daemon thread of the test process.

It checks each request's Standard Webhooks signature with its own small
implementation below (hmac and base64, per https://www.standardwebhooks.com/),
not with webapp.delivery.webhooks: a mistake made in both places would
otherwise cancel out.

Fixtures:
    webhook_receiver      http://
    webhook_receiver_tls  https:// with a certificate for localhost/127.0.0.1
                          from the throwaway CA of tests/smtp.py (`.cafile`)
    webhook_receiver_factory  start(tls_context=…, cafile=…, host=…, port=…) for
                          other receivers, e.g. host="::1" on the port of another
                          receiver on 127.0.0.1 (one name, two addresses)

API: `.url(path="/hook")`, `.secret` (settable), `.script([500, 302])` (answer
these statuses in order, then 200), `.reply_body` (settable), `.requests` (Request: method, path,
headers, body, received_at, verified), `.wait_for(n, timeout=10)`, `.clear()`.

Registered for every test by tests/conftest.py (pytest_plugins)."""
from __future__ import annotations

import base64
import hashlib
import hmac
import os
import socket
import ssl
import sys
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

# the throwaway_ca fixture, for the TLS receiver's certificate

HOST = "127.0.0.1"
TOLERANCE_SECONDS = 300
MAX_BODY = 16 * 1024 * 1024


@dataclass
class Request:
    method: str
    path: str
    headers: dict[str, str]  # names in lower case
    body: bytes
    received_at: float
    verified: bool


def signature_ok(secret: str, headers: dict[str, str], body: bytes, now: float) -> bool:
    """Standard Webhooks: base64(HMAC-SHA256(key, "{id}.{timestamp}.{body}")) in
    one of the space-separated "v1,<sig>" entries, key = base64-decoded secret
    after "whsec_", timestamp within 5 minutes of now."""
    msg_id = headers.get("webhook-id")
    stamp = headers.get("webhook-timestamp", "")
    sent = headers.get("webhook-signature", "")
    if not msg_id or not stamp.isdigit() or abs(now - int(stamp)) > TOLERANCE_SECONDS:
        return False
    key = base64.b64decode(secret.split("_", 1)[1] if secret.startswith("whsec_") else secret)
    mac = hmac.new(key, msg_id.encode() + b"." + stamp.encode() + b"." + body, hashlib.sha256)
    wanted = base64.b64encode(mac.digest()).decode()
    return any(version == "v1" and hmac.compare_digest(sig, wanted)
               for version, _, sig in (entry.partition(",") for entry in sent.split(" ")))


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def _answer(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(min(length, MAX_BODY))
        now = time.time()
        headers = {name.lower(): value for name, value in self.headers.items()}
        receiver = self.server.receiver
        receiver._add(Request(self.command, self.path, headers, body, now,
                              signature_ok(receiver.secret, headers, body, now)))
        status = receiver._next_status()
        reply = receiver.reply_body or f"status {status} from the test receiver".encode()
        self.send_response(status)
        if 300 <= status < 400:
            self.send_header("Location", receiver.url("/elsewhere"))
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(reply)))
        self.end_headers()
        self.wfile.write(reply)

    do_POST = do_PUT = do_GET = _answer  # noqa: N815 - http.server's naming

    def log_message(self, format, *args) -> None:  # noqa: A002 - the base class's name
        pass  # keep the test output quiet


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    receiver: WebhookReceiver

    def handle_error(self, request, client_address) -> None:
        # a client that stops reading a long answer is what some tests do
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


class _Server6(_Server):
    address_family = socket.AF_INET6


class WebhookReceiver:
    def __init__(self, tls_context: ssl.SSLContext | None = None, cafile: str | None = None,
                 host: str = HOST, port: int = 0):
        self.secret = "whsec_" + base64.b64encode(os.urandom(24)).decode()
        self.requests: list[Request] = []
        self.cafile = cafile
        self.reply_body: bytes | None = None  # settable; None: "status N from the test receiver"
        self._statuses: list[int] = []
        self._changed = threading.Condition()
        self.host = host
        server_class = _Server6 if ":" in host else _Server
        self._httpd = server_class((host, port), _Handler)
        self._httpd.receiver = self
        if tls_context is not None:
            self._httpd.socket = tls_context.wrap_socket(self._httpd.socket, server_side=True)
        self.scheme = "https" if tls_context else "http"
        self.port = self._httpd.server_address[1]
        self._thread = threading.Thread(target=self._httpd.serve_forever,
                                        kwargs={"poll_interval": 0.05}, daemon=True,
                                        name="webhook-receiver")

    def url(self, path: str = "/hook", host: str | None = None) -> str:
        host = host or self.host
        shown = f"[{host}]" if ":" in host else host
        return f"{self.scheme}://{shown}:{self.port}{path}"

    def script(self, statuses: list[int]) -> None:
        """Answer the next requests with these statuses, in order; then 200."""
        with self._changed:
            self._statuses = list(statuses)

    def _next_status(self) -> int:
        with self._changed:
            return self._statuses.pop(0) if self._statuses else 200

    def _add(self, request: Request) -> None:
        with self._changed:
            self.requests.append(request)
            self._changed.notify_all()

    def wait_for(self, n: int, timeout: float = 10) -> list[Request]:
        deadline = time.monotonic() + timeout
        with self._changed:
            while len(self.requests) < n:
                left = deadline - time.monotonic()
                if left <= 0:
                    pytest.fail(f"{len(self.requests)} request(s) arrived, expected {n}")
                self._changed.wait(left)
            return list(self.requests)

    def clear(self) -> None:
        with self._changed:
            self.requests.clear()
            self._statuses.clear()

    def start(self) -> WebhookReceiver:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=5)


@pytest.fixture
def webhook_receiver():
    receiver = WebhookReceiver().start()
    try:
        yield receiver
    finally:
        receiver.stop()


@pytest.fixture
def webhook_receiver_factory():
    """start(tls_context=None, cafile=None, host="127.0.0.1", port=0) -> a started
    WebhookReceiver, stopped at teardown: for receivers the other fixtures do not make."""
    started: list[WebhookReceiver] = []

    def start(**kwargs) -> WebhookReceiver:
        receiver = WebhookReceiver(**kwargs).start()
        started.append(receiver)
        return receiver

    try:
        yield start
    finally:
        for receiver in started:
            receiver.stop()


@pytest.fixture
def webhook_receiver_tls(throwaway_ca):
    receiver = WebhookReceiver(throwaway_ca.server_context(), cafile=throwaway_ca.cafile).start()
    try:
        yield receiver
    finally:
        receiver.stop()
