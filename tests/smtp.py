"""A real SMTP server for the tests: aiosmtpd (pinned in requirements-dev.txt)
in a thread of the test process, on 127.0.0.1 and a free port.

Fixtures:
    smtp_server      plain SMTP, no AUTH: `.url`
    smtp_tls_server  STARTTLS required, AUTH required (over TLS only), with a
                     certificate for localhost/127.0.0.1 from a throwaway CA:
                     `.url_starttls`, `.cafile`, `.username`, `.password`
    smtps_server     the same behind implicit TLS (smtps://): `.url_smtps`
    smtp_server_factory  start(tls_context=…, implicit_tls=…, cafile=…) for others
    throwaway_ca          the throwaway CA (`.cafile`) and an unrelated one
                     (`.other_cafile`), made with the openssl CLI once a session

Every server keeps what it received in `.messages` (Received: mail_from,
rcpt_tos, message as an email.message.EmailMessage, raw bytes, login) and can
be told to refuse commands: `.reject("RCPT", 451, "4.3.0 try later", times=1)`.

Registered for every test by tests/conftest.py (pytest_plugins)."""
from __future__ import annotations

import email
import email.policy
import shutil
import ssl
import subprocess
import threading
import time
import uuid
import warnings
from dataclasses import dataclass
from email.message import EmailMessage
from pathlib import Path
from urllib.parse import quote

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from tests.harness import free_port

HOST = "127.0.0.1"
USERNAME = "reports@example.com"  # an '@' in the user name: the URL must encode it
PASSWORD = "s3cret pass:wörd"  # a space, a colon and a non-ASCII letter too
STAGES = ("RCPT", "DATA")


@dataclass
class Received:
    mail_from: str
    rcpt_tos: list[str]
    message: EmailMessage
    raw: bytes
    login: str | None  # the user that authenticated, if any


@dataclass
class _Rejection:
    code: int
    text: str
    times: int


class _Handler:
    """aiosmtpd calls these from its own thread and event loop."""

    def __init__(self, server: SmtpServer):
        self.server = server

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):  # noqa: N802
        refusal = self.server._take_rejection("RCPT")
        if refusal:
            return refusal
        envelope.rcpt_tos.append(address)
        envelope.rcpt_options.extend(rcpt_options)
        return "250 2.1.5 OK"

    async def handle_DATA(self, server, session, envelope):  # noqa: N802
        refusal = self.server._take_rejection("DATA")
        if refusal:
            return refusal
        raw = envelope.original_content or b""
        # as a mailbox would store it: LF line ends, so get_content() gives "\n"
        message = email.message_from_bytes(raw.replace(b"\r\n", b"\n"),
                                           policy=email.policy.default)
        login = session.auth_data.login.decode() if session.authenticated else None
        queue_id = uuid.uuid4().hex[:10].upper()
        self.server._add(Received(envelope.mail_from, list(envelope.rcpt_tos), message, raw,
                                  login))
        return f"250 2.0.0 Ok: queued as {queue_id}"


class SmtpServer:
    def __init__(self, *, tls_context: ssl.SSLContext | None = None, implicit_tls: bool = False,
                 cafile: str | None = None):
        self.host = HOST
        self.port = free_port()
        self.cafile = cafile
        self.username = USERNAME
        self.password = PASSWORD
        self.messages: list[Received] = []
        self._rejections: dict[str, list[_Rejection]] = {stage: [] for stage in STAGES}
        self._changed = threading.Condition()
        kwargs: dict = {}
        if tls_context is not None and implicit_tls:
            kwargs = {"ssl_context": tls_context, "auth_required": True,
                      "auth_require_tls": False,  # the whole connection is TLS already
                      "authenticator": self._authenticate}
        elif tls_context is not None:
            kwargs = {"tls_context": tls_context, "require_starttls": True,
                      "auth_required": True, "auth_require_tls": True,
                      "authenticator": self._authenticate}
        self.controller = Controller(_Handler(self), hostname=HOST, port=self.port,
                                     server_hostname="localhost", **kwargs)

    @property
    def url(self) -> str:
        return f"smtp://{self.host}:{self.port}?timeout=5"

    def _credentials_url(self, scheme: str, query: str) -> str:
        user, password = quote(self.username, safe=""), quote(self.password, safe="")
        # "localhost", not the IP: the certificate's DNS name is what gets verified
        return (f"{scheme}://{user}:{password}@localhost:{self.port}"
                f"?{query}timeout=5&cafile={quote(self.cafile or '', safe='')}")

    @property
    def url_starttls(self) -> str:
        return self._credentials_url("smtp", "starttls=1&")

    @property
    def url_smtps(self) -> str:
        return self._credentials_url("smtps", "")

    def start(self) -> SmtpServer:
        self.controller.start()
        return self

    def stop(self) -> None:
        self.controller.stop()

    def _authenticate(self, server, session, envelope, mechanism, auth_data) -> AuthResult:
        ok = (isinstance(auth_data, LoginPassword)
              and auth_data.login == self.username.encode()
              and auth_data.password == self.password.encode())
        if ok:
            return AuthResult(success=True, auth_data=auth_data)
        # handled=False: aiosmtpd answers "535 5.7.8 Authentication credentials invalid"
        return AuthResult(success=False, handled=False)

    def reject(self, stage: str, code: int, text: str, times: int = 1) -> None:
        """Refuse the next `times` commands at `stage` with `code text`."""
        if stage not in STAGES:
            raise ValueError(f"stage is one of {STAGES}")
        with self._changed:
            self._rejections[stage].append(_Rejection(code, text, times))

    def _take_rejection(self, stage: str) -> str | None:
        with self._changed:
            queue = self._rejections[stage]
            if not queue:
                return None
            rejection = queue[0]
            rejection.times -= 1
            if rejection.times <= 0:
                queue.pop(0)
            return f"{rejection.code} {rejection.text}"

    def _add(self, received: Received) -> None:
        with self._changed:
            self.messages.append(received)
            self._changed.notify_all()

    def wait_for(self, n: int, timeout: float = 10) -> list[Received]:
        """Wait until at least n messages arrived; fail the test otherwise."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while len(self.messages) < n:
                left = deadline - time.monotonic()
                if left <= 0:
                    pytest.fail(f"{len(self.messages)} message(s) arrived, expected {n}")
                self._changed.wait(left)
            return list(self.messages)

    def clear(self) -> None:
        with self._changed:
            self.messages.clear()
            for queue in self._rejections.values():
                queue.clear()


# --- a throwaway certificate authority --------------------------------------------

@dataclass
class ThrowawayCA:
    cafile: str  # the CA that signed the servers' certificates
    other_cafile: str  # a CA that signed nothing the servers use
    folder: Path

    def server_context(self, name: str = "server") -> ssl.SSLContext:
        """A server-side context with the certificate for localhost/127.0.0.1/::1,
        or with name="elsewhere", one that is valid only for elsewhere.example."""
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(self.folder / f"{name}.pem", self.folder / f"{name}.key")
        return context


def _openssl(*args: str, cwd: Path) -> None:
    done = subprocess.run(["openssl", *args], cwd=cwd, capture_output=True, text=True,
                          timeout=60)
    if done.returncode != 0:
        pytest.fail(f"openssl {' '.join(args)} failed: {done.stderr}")


EC_KEY = ("-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes")


def _make_ca(folder: Path, name: str) -> None:
    _openssl("req", "-x509", *EC_KEY, "-keyout", f"{name}.key", "-out", f"{name}.pem",
             "-days", "2", "-subj", f"/CN=order-reports {name} (tests only)",
             "-addext", "basicConstraints=critical,CA:TRUE",
             "-addext", "keyUsage=critical,keyCertSign,cRLSign", cwd=folder)


def _issue(folder: Path, name: str, alt_names: str) -> None:
    (folder / f"{name}.ext").write_text(
        f"subjectAltName={alt_names}\n"
        "basicConstraints=critical,CA:FALSE\n"
        "keyUsage=critical,digitalSignature,keyEncipherment\n"
        "extendedKeyUsage=serverAuth\n"
        "subjectKeyIdentifier=hash\n"
        "authorityKeyIdentifier=keyid\n")
    common_name = alt_names.split(",")[0].split(":", 1)[1]
    _openssl("req", *EC_KEY, "-keyout", f"{name}.key", "-out", f"{name}.csr",
             "-subj", f"/CN={common_name}", cwd=folder)
    _openssl("x509", "-req", "-in", f"{name}.csr", "-CA", "ca.pem", "-CAkey", "ca.key",
             "-CAcreateserial", "-out", f"{name}.pem", "-days", "2",
             "-extfile", f"{name}.ext", cwd=folder)


def make_throwaway_ca(folder: Path) -> ThrowawayCA:
    """A CA; certificates it signed for localhost/127.0.0.1/::1 ("server") and
    for elsewhere.example ("elsewhere"); and a second, unrelated CA. All made
    with the openssl CLI in `folder`."""
    if shutil.which("openssl") is None:
        pytest.fail("the openssl command is needed to make the tests' certificates")
    _make_ca(folder, "ca")
    _make_ca(folder, "other-ca")
    _issue(folder, "server", "DNS:localhost,IP:127.0.0.1,IP:::1")
    _issue(folder, "elsewhere", "DNS:elsewhere.example")
    return ThrowawayCA(cafile=str(folder / "ca.pem"), other_cafile=str(folder / "other-ca.pem"),
                       folder=folder)


# --- fixtures -----------------------------------------------------------------

@pytest.fixture(scope="session")
def throwaway_ca(tmp_path_factory) -> ThrowawayCA:
    return make_throwaway_ca(tmp_path_factory.mktemp("test-ca"))


@pytest.fixture
def smtp_server():
    server = SmtpServer().start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def smtp_server_factory():
    """start(tls_context=None, implicit_tls=False, cafile=None) -> a started
    SmtpServer, stopped at teardown: for servers the other fixtures do not make."""
    started: list[SmtpServer] = []

    def start(**kwargs) -> SmtpServer:
        server = SmtpServer(**kwargs).start()
        started.append(server)
        return server

    try:
        yield start
    finally:
        for server in started:
            server.stop()


@pytest.fixture
def smtp_tls_server(throwaway_ca):
    server = SmtpServer(tls_context=throwaway_ca.server_context(),
                        cafile=throwaway_ca.cafile).start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def smtps_server(throwaway_ca):
    # AUTH without STARTTLS is what implicit TLS is; aiosmtpd warns all the same
    warnings.filterwarnings("ignore", "Requiring AUTH while not requiring TLS", UserWarning)
    server = SmtpServer(tls_context=throwaway_ca.server_context(), implicit_tls=True,
                        cafile=throwaway_ca.cafile).start()
    try:
        yield server
    finally:
        server.stop()
