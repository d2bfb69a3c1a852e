"""E-mail delivery over SMTP: the settings from a URL, a message with an
optional attachment, and one send whose outcome is a value, never an exception.

The URL forms:

    smtp://host                                  plain SMTP, port 25
    smtp://user:pass@host:587?starttls=1         STARTTLS (port 587 by default)
    smtps://user:pass@host                       TLS from the first byte, port 465

with the optional query parameters `timeout=<seconds>` and `cafile=<path>`
(trust that CA bundle instead of the system's). When TLS is used the server's
certificate is always verified; there is deliberately no switch to turn that
off, and credentials are only accepted together with TLS.

SendResult.reply is what a user may see: a category and the SMTP code, never
the server's address, port or words (those would make this server a banner
grabber). SendResult.log_detail has all of it, for the server log."""
from __future__ import annotations

import base64
import copy
import email.policy
import errno
import math
import smtplib
import socket
import ssl
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.utils import formatdate, getaddresses, make_msgid, parseaddr
from urllib.parse import parse_qs, unquote, urlsplit

SECURITY_MODES = ("none", "starttls", "tls")
DEFAULT_PORTS = {"none": 25, "starttls": 587, "tls": 465}
QUERY_PARAMS = ("starttls", "timeout", "cafile")
MAX_TIMEOUT = 600.0
UNREACHABLE = (errno.ENETUNREACH, errno.EHOSTUNREACH, errno.EADDRNOTAVAIL)
# Non-ASCII text is stored quoted-printable or base64 rather than 8bit, so the
# message can go through servers without 8BITMIME and reads back unchanged.
MESSAGE_POLICY = email.policy.default.clone(cte_type="7bit")


class MailConfigError(ValueError):
    """An SMTP URL that cannot be used; the message says why."""


@dataclass(frozen=True)
class SmtpSettings:
    host: str
    port: int
    username: str | None = None
    password: str | None = field(default=None, repr=False)  # kept out of logs
    security: str = "none"
    timeout: float = 10
    cafile: str | None = None

    def __post_init__(self) -> None:
        if self.security not in SECURITY_MODES:
            raise ValueError(f"security must be one of {SECURITY_MODES}, not {self.security!r}")


@dataclass
class SendResult:
    ok: bool
    code: int | None
    reply: str  # safe to show the user: a category and the SMTP code
    transient: bool
    # recipient -> (code, server's text) for each address the server refused at RCPT;
    # the text is the server's own: for the log, not for users
    refused: dict[str, tuple[int, str]] = field(default_factory=dict)
    # for the server log: host:port, the server's replies, the underlying error
    log_detail: str = ""

    def __post_init__(self) -> None:
        if not self.log_detail:
            self.log_detail = self.reply


# --- settings -----------------------------------------------------------------

def parse_smtp_url(url: str) -> SmtpSettings:
    try:
        parts = urlsplit(url.strip())
    except ValueError as exc:
        raise MailConfigError(f"not a valid SMTP URL: {exc}") from None
    if parts.scheme not in ("smtp", "smtps"):
        # the URL is not repeated: it may hold a password
        raise MailConfigError(f"an SMTP URL starts with smtp:// or smtps://, "
                              f"not {parts.scheme or '(no scheme)'}://")
    if not parts.hostname:
        raise MailConfigError("the SMTP URL has no host name")
    if parts.path not in ("", "/") or parts.fragment:
        raise MailConfigError("an SMTP URL has no path or #fragment: smtp://user:pass@host:port")
    params = _query(parts.query)
    security = _security(parts.scheme, params.get("starttls"))
    username, password = _credentials(parts.username, parts.password, security)
    return SmtpSettings(
        host=parts.hostname, port=_port(parts, security), username=username, password=password,
        security=security, timeout=_timeout(params.get("timeout")),
        cafile=_cafile(params.get("cafile")))


def _query(query: str) -> dict[str, str]:
    try:
        params = parse_qs(query, keep_blank_values=True, strict_parsing=bool(query))
    except ValueError:
        raise MailConfigError(f"the SMTP URL's query {query!r} cannot be read") from None
    unknown = sorted(set(params) - set(QUERY_PARAMS))
    if unknown:
        raise MailConfigError(f"unknown SMTP URL parameter(s): {', '.join(unknown)} "
                              f"(known: {', '.join(QUERY_PARAMS)})")
    repeated = sorted(name for name, values in params.items() if len(values) > 1)
    if repeated:
        raise MailConfigError(f"SMTP URL parameter(s) given more than once: {', '.join(repeated)}")
    return {name: values[0] for name, values in params.items()}


def _security(scheme: str, starttls: str | None) -> str:
    if starttls is None:
        wanted = False
    elif starttls.lower() in ("1", "true", "yes"):
        wanted = True
    elif starttls.lower() in ("0", "false", "no"):
        wanted = False
    else:
        raise MailConfigError(f"starttls must be 1 or 0, not {starttls!r}")
    if scheme == "smtps":
        if wanted:
            raise MailConfigError("smtps:// is TLS from the start; starttls=1 does not apply to "
                                  "it (use smtp://…?starttls=1 for STARTTLS)")
        return "tls"
    return "starttls" if wanted else "none"


def _credentials(user: str | None, password: str | None,
                 security: str) -> tuple[str | None, str | None]:
    if user is None and password is None:
        return None, None
    user = unquote(user or "")
    password = unquote(password) if password is not None else ""
    if not user or not password:
        raise MailConfigError("the SMTP URL needs both a user name and a password "
                              "(user:password@host), or neither")
    if security == "none":
        raise MailConfigError("the SMTP password would cross the network unencrypted: "
                              "use smtps:// or add ?starttls=1")
    return user, password


def _port(parts, security: str) -> int:
    try:
        port = parts.port
    except ValueError:
        raise MailConfigError("the SMTP URL's port is not a number from 1 to 65535") from None
    if port is None:
        return DEFAULT_PORTS[security]
    if port == 0:
        raise MailConfigError("the SMTP URL's port is not a number from 1 to 65535")
    return port


def _timeout(value: str | None) -> float:
    if value is None:
        return 10
    try:
        seconds = float(value)
    except ValueError:
        seconds = math.nan
    if not (0 < seconds <= MAX_TIMEOUT):  # also false for nan
        raise MailConfigError(f"timeout must be a number of seconds above 0 and at most "
                              f"{MAX_TIMEOUT:g}, not {value!r}")
    return seconds


def _cafile(value: str | None) -> str | None:
    if value is None:
        return None
    if not value:
        raise MailConfigError("cafile is empty: give the path of a CA bundle (PEM)")
    return value


# --- the message ----------------------------------------------------------------

def build_message(*, sender: str, to: list[str], subject: str, text: str,
                  html: str | None = None,
                  attachment: tuple[str, bytes, str] | None = None) -> EmailMessage:
    if isinstance(to, str) or not to:
        raise ValueError("to must be a non-empty list of addresses")
    message = EmailMessage(policy=MESSAGE_POLICY)
    message["From"] = sender
    message["To"] = ", ".join(to)
    message["Subject"] = subject
    message["Date"] = formatdate(usegmt=True)
    # make_msgid() without a domain asks DNS for this host's FQDN, which can
    # stall; the sender's domain is what the Message-ID should carry anyway
    message["Message-ID"] = make_msgid(domain=_domain(sender))
    message.set_content(text)
    if html is not None:
        message.add_alternative(html, subtype="html")
    if attachment is not None:
        name, data, mimetype = attachment
        maintype, _, subtype = mimetype.partition("/")
        if not maintype or not subtype:
            raise ValueError(f"attachment mimetype must be type/subtype, not {mimetype!r}")
        # the policy writes a non-ASCII file name as RFC 2231 filename*=utf-8''…
        message.add_attachment(data, maintype=maintype, subtype=subtype, filename=name)
    return message


def _domain(address: str) -> str:
    domain = parseaddr(address)[1].rpartition("@")[2]
    try:
        return domain.encode("idna").decode("ascii") if domain else "localhost"
    except UnicodeError:
        return "localhost"


# --- sending ------------------------------------------------------------------

class _Refusal(Exception):
    """A delivery problem found while talking to the server, carrying the result."""

    def __init__(self, result: SendResult):
        super().__init__(result.reply)
        self.result = result


class _StepRefused(smtplib.SMTPResponseException):
    """An unexpected reply to one step; `what` names what was refused, for the user."""

    def __init__(self, code: int, text: bytes | str, what: str):
        super().__init__(code, text)
        self.what = what


def send(settings: SmtpSettings, message: EmailMessage) -> SendResult:
    sender, recipients, data, international = _envelope(message)
    result = _send(settings, sender, recipients, data, international)
    result.log_detail = f"{settings.host}:{settings.port}: {result.log_detail}"
    return result


def _send(settings: SmtpSettings, sender: str, recipients: list[str], data: bytes,
          international: bool) -> SendResult:
    client: smtplib.SMTP | None = None
    try:
        context = _tls_context(settings)
        client = _connect(settings, context)
        _login(client, settings)
        return _transaction(client, sender, recipients, data, international)
    except _Refusal as refusal:
        return refusal.result
    except (smtplib.SMTPException, OSError) as exc:  # anything else is a bug: raised
        return _failure(exc, settings)
    finally:
        if client is not None:
            _close(client)


def _envelope(message: EmailMessage) -> tuple[str, list[str], bytes, bool]:
    """The envelope sender and recipients from the headers, as
    smtplib.send_message takes them, and the bytes to send (without Bcc)."""
    sender = parseaddr(str(message.get("Sender") or message.get("From") or ""))[1]
    fields = [str(value) for name in ("To", "Cc", "Bcc") for value in message.get_all(name, [])]
    recipients = [addr for _, addr in getaddresses(fields) if addr]
    if not sender or not recipients:
        raise ValueError("the message needs a From address and at least one To/Cc/Bcc address")
    international = not all(addr.isascii() for addr in (sender, *recipients))
    outgoing = copy.copy(message)
    del outgoing["Bcc"]
    policy = email.policy.SMTPUTF8 if international else email.policy.SMTP
    return sender, recipients, outgoing.as_bytes(policy=policy), international


def _tls_context(settings: SmtpSettings) -> ssl.SSLContext | None:
    if settings.security == "none":
        return None
    try:
        # create_default_context verifies the chain and the host name; with a
        # cafile it trusts that bundle only, not the system's as well
        return ssl.create_default_context(cafile=settings.cafile)
    except (OSError, ssl.SSLError) as exc:
        raise _Refusal(SendResult(False, None, "the mail server's CA file could not be loaded",
                                  transient=False,
                                  log_detail=f"the CA file {settings.cafile!r} could not be "
                                             f"loaded: {exc}")) from None


def _connect(settings: SmtpSettings, context: ssl.SSLContext | None) -> smtplib.SMTP:
    if settings.security == "tls":
        client: smtplib.SMTP = smtplib.SMTP_SSL(settings.host, settings.port,
                                                timeout=settings.timeout, context=context)
    else:
        client = smtplib.SMTP(settings.host, settings.port, timeout=settings.timeout)
    try:
        client.ehlo_or_helo_if_needed()
        if settings.security == "starttls":
            # never fall back to plain text when the server offers no STARTTLS
            if not client.has_extn("starttls"):
                raise _Refusal(SendResult(False, None, "mail server does not offer STARTTLS",
                                          transient=False))
            _expect(client.starttls(context=context), 220, "STARTTLS")
            client.ehlo()
    except BaseException:
        _close(client)
        raise
    return client


def _login(client: smtplib.SMTP, settings: SmtpSettings) -> None:
    if not settings.username:
        return
    user, password = settings.username, settings.password or ""
    if user.isascii() and password.isascii():
        client.login(user, password)
        return
    # smtplib encodes credentials as ASCII; AUTH PLAIN (RFC 4616) is UTF-8
    if "PLAIN" not in client.esmtp_features.get("auth", "").upper().split():
        raise _Refusal(SendResult(False, None, "the server offers no AUTH PLAIN, which "
                                               "non-ASCII credentials need", transient=False))
    token = base64.b64encode(f"\0{user}\0{password}".encode()).decode("ascii")
    code, text = client.docmd("AUTH", f"PLAIN {token}")
    if code != 235:
        raise smtplib.SMTPAuthenticationError(code, text)


def _transaction(client: smtplib.SMTP, sender: str, recipients: list[str], data: bytes,
                 international: bool) -> SendResult:
    options = _mail_options(client, data, international)
    _expect(client.mail(sender, options), 250, "the sender")
    refused: dict[str, tuple[int, str]] = {}
    for address in recipients:
        code, text = client.rcpt(address)
        if code not in (250, 251):
            refused[address] = (code, _text(text))
    if len(refused) == len(recipients):
        return _refused_result(refused, len(recipients), None)
    try:
        code, text = client.data(data)
    except smtplib.SMTPDataError as exc:  # the DATA command itself was refused
        code, text = exc.smtp_code, exc.smtp_error
    if code != 250:
        raise _StepRefused(code, text, "the message")
    reply = f"{code} {_text(text)}"
    if refused:
        return _refused_result(refused, len(recipients), reply)
    return SendResult(True, code, f"mail server accepted the message ({code})",
                      transient=False, log_detail=reply)


def _mail_options(client: smtplib.SMTP, data: bytes, international: bool) -> list[str]:
    options: list[str] = []
    if not data.isascii():
        if not client.has_extn("8bitmime"):
            raise _Refusal(SendResult(False, None, "the message has 8-bit content and the "
                                                   "server does not accept 8BITMIME",
                                      transient=False))
        options.append("BODY=8BITMIME")
    if international:
        if not client.has_extn("smtputf8"):
            raise _Refusal(SendResult(False, None, "a non-ASCII address needs SMTPUTF8, which "
                                                   "the server does not offer", transient=False))
        options.append("SMTPUTF8")
    return options


def _refused_result(refused: dict[str, tuple[int, str]], total: int,
                    sent_reply: str | None) -> SendResult:
    listed = "; ".join(f"{addr} ({code} {text})" for addr, (code, text) in refused.items())
    # the addresses are the user's own; the server's words are not repeated
    codes = ", ".join(f"{addr} ({code})" for addr, (code, _) in refused.items())
    first_code = next(iter(refused.values()))[0]
    # only worth trying again if every refusal was temporary
    transient = all(400 <= code < 500 for code, _ in refused.values())
    how = "temporarily refused" if transient else "refused"
    if sent_reply is None:
        log_detail = f"all {total} recipient(s) refused: {listed}"
        whom = "the recipient" if total == 1 else f"all {total} recipients"
        reply = f"mail server {how} {whom} ({first_code})"
    else:
        log_detail = (f"{len(refused)} of {total} recipient(s) refused: {listed}; "
                      f"sent to the others: {sent_reply}")
        sent_code = sent_reply.split(" ", 1)[0]
        reply = (f"mail server {how} {len(refused)} of {total} recipients: {codes}; "
                 f"sent to the others ({sent_code})")
    return SendResult(False, first_code, reply, transient=transient, refused=refused,
                      log_detail=log_detail)


def _expect(answer: tuple[int, bytes], code: int, what: str) -> None:
    if answer[0] != code:
        raise _StepRefused(*answer, what=what)


def _failure(exc: smtplib.SMTPException | OSError, settings: SmtpSettings) -> SendResult:
    """The result for a delivery problem, in words of our own, and whether to try
    again; the error itself goes to log_detail."""
    if isinstance(exc, smtplib.SMTPResponseException):  # includes auth, connect, data errors
        code = exc.smtp_code
        return SendResult(False, code, _refused_words(exc), transient=400 <= code < 500,
                          log_detail=f"{code} {_text(exc.smtp_error)}")
    reply, transient = _failure_words(exc, settings)
    return SendResult(False, None, reply, transient=transient,
                      log_detail=f"{reply}: {type(exc).__name__}: {exc}")


def _refused_words(exc: smtplib.SMTPResponseException) -> str:
    code = exc.smtp_code
    if code == 421:  # RFC 5321: the service is closing, at any step
        return f"mail server unavailable ({code})"
    if code == 530:
        return f"mail server requires a login ({code})"
    if isinstance(exc, _StepRefused):
        what = exc.what
    elif isinstance(exc, smtplib.SMTPAuthenticationError):
        what = "the login"
    elif isinstance(exc, smtplib.SMTPConnectError | smtplib.SMTPHeloError):
        what = "the connection"
    else:
        what = "the message"
    how = "temporarily refused" if 400 <= code < 500 else "refused"
    return f"mail server {how} {what} ({code})"


def _failure_words(exc: smtplib.SMTPException | OSError,
                   settings: SmtpSettings) -> tuple[str, bool]:
    """What went wrong, without the server's address or words, and whether it may pass."""
    timed_out = f"mail server timed out after {settings.timeout:g} s"
    if isinstance(exc, smtplib.SMTPNotSupportedError):
        return "mail server does not support what sending needs", False
    if isinstance(exc, smtplib.SMTPServerDisconnected) and isinstance(exc.__context__,
                                                                       TimeoutError):
        # smtplib reports a read that timed out as a closed connection
        return timed_out, True
    if isinstance(exc, smtplib.SMTPServerDisconnected):
        return "mail server closed the connection", True
    if isinstance(exc, smtplib.SMTPException):  # e.g. "No suitable authentication method"
        return "mail server conversation failed", False
    if isinstance(exc, ssl.SSLCertVerificationError):
        # a certificate the configured CAs do not vouch for will not fix itself
        return "TLS certificate of the mail server not accepted", False
    if isinstance(exc, TimeoutError):
        return timed_out, True
    if isinstance(exc, socket.gaierror):
        return "the mail server's name could not be resolved", True
    if isinstance(exc, ConnectionRefusedError) or exc.errno in UNREACHABLE:
        return "could not connect to the mail server", True
    if isinstance(exc, ssl.SSLError):
        return "TLS with the mail server failed", True
    # resets and the like
    return "connection to the mail server failed", True


def _text(reply: bytes | str) -> str:
    if isinstance(reply, bytes):
        reply = reply.decode("utf-8", errors="replace")
    return " ".join(reply.split("\n")).strip()  # multi-line replies on one line


def _close(client: smtplib.SMTP) -> None:
    try:
        client.quit()
    except (smtplib.SMTPException, OSError):
        client.close()
