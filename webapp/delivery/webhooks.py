"""Webhooks signed as Standard Webhooks (https://www.standardwebhooks.com/) and
a POST that only goes where it was allowed to go.

A webhook URL is typed by a user, so the server must not become their proxy
into its own network: unless private targets are allowed, every address the
host name resolves to has to be public, and the request goes to an address
that was checked (a second DNS answer cannot swap it for 127.0.0.1).
Redirects are not followed for the same reason.

What the user sees of a failure (PostResult.detail) is a category and a
status code, never an address, a port or the receiver's words: otherwise
any user could read banners off any host:port through this server. The full
story is in PostResult.log_detail, for the server log."""
from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import http.client
import ipaddress
import secrets
import socket
import ssl
import time
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import SplitResult, quote, urlsplit

import urllib3
from urllib3.exceptions import (
    ConnectTimeoutError,
    HTTPError,
    MaxRetryError,
    SSLError,
)
from urllib3.exceptions import TimeoutError as Urllib3Timeout

SECRET_PREFIX = "whsec_"
USER_AGENT = "order-reports-webhooks/1"
MAX_URL_LENGTH = 2000
MAX_RESPONSE_BYTES = 64 * 1024
DETAIL_CHARS = 200
DEFAULT_PORTS = {"http": 80, "https": 443}
# characters kept as they are in a request target; everything else is %-encoded
TARGET_SAFE = "/:@!$&'()*+,;=-._~%?"

IpAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
SHARED_V4 = ipaddress.ip_network("100.64.0.0/10")  # carrier-grade NAT, RFC 6598
NAT64_V6 = ipaddress.ip_network("64:ff9b::/96")  # well-known NAT64 prefix, RFC 6052


class SignatureError(ValueError):
    """A webhook whose signature, or timestamp, does not check out."""


class WebhookUrlError(ValueError):
    """A webhook URL that will not be used; the message is for the user who typed it."""


class AddressRefusedError(WebhookUrlError):
    """The host resolves to an address webhooks may not go to."""

    def __init__(self, host: str, ip: IpAddress, kind: str):
        # the address a name resolves to is not repeated: it may be an internal one
        shown = f"{host} resolves to" if host != str(ip) else f"{ip} is"
        super().__init__(f"{shown} a {kind} address: webhooks are only sent to "
                         f"public internet addresses")
        self.host = host
        self.ip = ip
        self.kind = kind


@dataclass
class PostResult:
    ok: bool
    status: int | None
    detail: str  # safe to show the user: a category and a code
    log_detail: str = ""  # for the server log: addresses, ports, the receiver's answer

    def __post_init__(self) -> None:
        if not self.log_detail:
            self.log_detail = self.detail


# --- signing ------------------------------------------------------------------

def new_secret() -> str:
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(24)).decode("ascii")


def _key(secret: str) -> bytes:
    # the prefix is optional, as in the reference libraries
    try:
        return base64.b64decode(secret.removeprefix(SECRET_PREFIX), validate=True)
    except binascii.Error:
        raise ValueError("a webhook secret is 'whsec_' followed by base64") from None


def sign(secret: str, msg_id: str, timestamp: int, body: bytes) -> str:
    signed = f"{msg_id}.{timestamp}.".encode() + body
    digest = hmac.new(_key(secret), signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode("ascii")


def headers_for(secret: str, msg_id: str, body: bytes, now: int) -> dict[str, str]:
    timestamp = int(now)
    return {
        "Content-Type": "application/json",
        "webhook-id": msg_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": sign(secret, msg_id, timestamp, body),
        "User-Agent": USER_AGENT,
    }


def verify(secret: str, headers: Mapping[str, str], body: bytes, *, tolerance: int = 300,
           now: int | None = None) -> None:
    lower = {name.lower(): value for name, value in headers.items()}
    msg_id = lower.get("webhook-id")
    stamp = lower.get("webhook-timestamp")
    signatures = lower.get("webhook-signature")
    if not msg_id or not stamp or not signatures:
        raise SignatureError("webhook-id, webhook-timestamp and webhook-signature are required")
    try:
        timestamp = int(stamp)
    except ValueError:
        raise SignatureError(f"webhook-timestamp is not a number: {stamp!r}") from None
    now = int(time.time()) if now is None else now
    # a timestamp far from now, either way, is a replay or a forgery
    if abs(now - timestamp) > tolerance:
        raise SignatureError(f"webhook-timestamp is {now - timestamp} s from now "
                             f"(tolerance {tolerance} s)")
    expected = sign(secret, msg_id, timestamp, body).encode()
    for candidate in signatures.split():
        if candidate.startswith("v1,") and hmac.compare_digest(candidate.encode(), expected):
            return
    raise SignatureError("no webhook-signature matches the body")


# --- where a webhook may go ------------------------------------------------------

def check_url(url: str, *, allow_private: bool) -> list[IpAddress]:
    parts, host = _parse_url(url)
    addresses = _resolve(host, parts.port or DEFAULT_PORTS[parts.scheme])
    if not allow_private:
        for ip in addresses:
            kind = _forbidden_kind(ip)
            if kind:
                raise AddressRefusedError(host, ip, kind)
    return addresses


def _parse_url(url: str) -> tuple[SplitResult, str]:
    """The URL's parts and its host in ASCII (IDNA) form."""
    if len(url) > MAX_URL_LENGTH:
        raise WebhookUrlError(f"the URL is longer than {MAX_URL_LENGTH} characters")
    if any(ch.isspace() or ord(ch) < 0x20 or ord(ch) == 0x7F for ch in url):
        raise WebhookUrlError("the URL contains spaces or control characters")
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError for a port out of range
    except ValueError:
        raise WebhookUrlError("the URL cannot be read (is the port a number from 1 to "
                              "65535?)") from None
    if parts.scheme.lower() not in DEFAULT_PORTS:
        raise WebhookUrlError("a webhook URL starts with https:// or http://")
    if "@" in parts.netloc:
        raise WebhookUrlError("a webhook URL cannot contain a user name or password "
                              "(user:password@); the request is signed instead")
    if not parts.hostname:
        raise WebhookUrlError("the URL has no host name")
    if parts.port == 0:
        raise WebhookUrlError("the URL's port must be a number from 1 to 65535")
    try:
        host = parts.hostname.encode("idna").decode("ascii")
    except UnicodeError:
        raise WebhookUrlError(f"{parts.hostname!r} is not a valid host name") from None
    return parts._replace(scheme=parts.scheme.lower()), host


def _resolve(host: str, port: int) -> list[IpAddress]:
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError):
        raise WebhookUrlError(f"the host name {host} could not be resolved") from None
    addresses: list[IpAddress] = []
    for _family, _type, _proto, _canon, sockaddr in infos:
        ip = ipaddress.ip_address(sockaddr[0])
        if ip not in addresses:
            addresses.append(ip)
    if not addresses:
        raise WebhookUrlError(f"the host name {host} could not be resolved")
    return addresses


def _forbidden_kind(ip: IpAddress) -> str | None:
    """Why an address is not a public internet address, in a word or two, or None."""
    if isinstance(ip, ipaddress.IPv6Address):
        embedded = _embedded_v4(ip)
        if embedded is not None:
            kind = _forbidden_kind(embedded)
            return f"{kind} address inside an IPv6" if kind else None
    checks = (
        ("unspecified", ip.is_unspecified),
        ("loopback", ip.is_loopback),
        ("link-local", ip.is_link_local),
        ("multicast", ip.is_multicast),
        ("shared (carrier-grade NAT)", isinstance(ip, ipaddress.IPv4Address)
         and ip in SHARED_V4),
        ("unique-local", isinstance(ip, ipaddress.IPv6Address)
         and ip in ipaddress.ip_network("fc00::/7")),
        ("reserved", ip.is_reserved),  # before private, which covers 240/4 too
        ("private", ip.is_private),
        # documentation, benchmarking and other special-purpose ranges
        ("non-public", not ip.is_global),
    )
    return next((kind for kind, hit in checks if hit), None)


def _embedded_v4(ip: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv4-mapped, 6to4 or NAT64 address reaches."""
    if ip.ipv4_mapped or ip.sixtofour:
        return ip.ipv4_mapped or ip.sixtofour
    if ip in NAT64_V6:
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return None


# --- sending ------------------------------------------------------------------

def post(url: str, body: bytes, headers: dict[str, str], *, allow_private: bool,
         timeout: float = 10, cafile: str | None = None) -> PostResult:
    """POST body to url, once: to the first of the host's addresses that accepts
    a connection. `cafile` replaces the system's CAs for https (tests use it)."""
    try:
        # checked again here, not only when the URL was saved: DNS may have changed
        addresses = check_url(url, allow_private=allow_private)
        parts, host = _parse_url(url)
    except AddressRefusedError as exc:
        return PostResult(False, None, f"address refused: the host resolves to a {exc.kind} "
                                       "address",
                          f"address refused: {exc.host} resolves to {exc.ip}, a {exc.kind} "
                          "address")
    except WebhookUrlError as exc:  # its words are about the URL the user typed
        return PostResult(False, None, f"URL refused: {exc}")
    request_headers = {**headers, "Host": _host_header(parts, host),
                       "Accept-Encoding": "identity"}
    target = _target(parts)
    unreachable: list[str] = []
    for ip in addresses:
        try:
            result = _post_to(ip, parts, host, target, body, request_headers, timeout, cafile)
        except _NoConnection as exc:
            # nothing was sent: a host with an IPv6 and an IPv4 address may listen
            # on one of them only
            unreachable.append(str(exc))
            continue
        # an answer, or a failure once connected, ends the attempt: the request
        # may have arrived, and a second POST would deliver it twice
        result.log_detail = "; ".join([*unreachable, result.log_detail])
        return result
    return PostResult(False, None, "could not connect",
                      "; ".join(unreachable) or "no address to connect to")


class _NoConnection(Exception):
    """No connection could be made to one address, so nothing was sent to it;
    the message (address, port, reason) is for the log."""


def _host_header(parts: SplitResult, host: str) -> str:
    shown = f"[{host}]" if ":" in host else host
    port = parts.port
    return shown if port in (None, DEFAULT_PORTS[parts.scheme]) else f"{shown}:{port}"


def _target(parts: SplitResult) -> str:
    target = quote(parts.path or "/", safe=TARGET_SAFE)
    if parts.query:
        target += "?" + quote(parts.query, safe=TARGET_SAFE)
    return target


def _where(ip: IpAddress, parts: SplitResult) -> str:
    port = parts.port or DEFAULT_PORTS[parts.scheme]
    return f"[{ip}]:{port}" if ip.version == 6 else f"{ip}:{port}"


def _pool(ip: IpAddress, parts: SplitResult, host: str, timeout: float,
          cafile: str | None) -> urllib3.HTTPConnectionPool:
    port = parts.port or DEFAULT_PORTS[parts.scheme]
    common = {"timeout": urllib3.Timeout(connect=timeout, read=timeout), "retries": False,
              "maxsize": 1}
    if parts.scheme == "http":
        return urllib3.HTTPConnectionPool(str(ip), port, **common)
    # connect to the checked address, but present and verify the name in the URL
    context = ssl.create_default_context(cafile=cafile)
    return urllib3.HTTPSConnectionPool(str(ip), port, ssl_context=context,
                                       server_hostname=host, assert_hostname=host, **common)


def _post_to(ip: IpAddress, parts: SplitResult, host: str, target: str, body: bytes,
             headers: dict[str, str], timeout: float, cafile: str | None) -> PostResult:
    """The result of one POST to one address; _NoConnection when no connection
    could be made to it."""
    where = _where(ip, parts)
    pool = _pool(ip, parts, host, timeout, cafile)
    try:
        response = pool.urlopen("POST", target, body=body, headers=headers, redirect=False,
                                retries=False, preload_content=False, assert_same_host=False)
        try:
            return _result(response.status, response.headers.get("Location"),
                           _read_some(response, timeout), where)
        finally:
            response.close()
    except (HTTPError, OSError) as exc:
        return _network_failure(exc, timeout, where)
    finally:
        pool.close()


def _read_some(response: urllib3.BaseHTTPResponse, timeout: float) -> bytes:
    """At most MAX_RESPONSE_BYTES, within about `timeout` even from a server
    that sends a byte now and then."""
    deadline = time.monotonic() + timeout
    chunks: list[bytes] = []
    size = 0
    while size < MAX_RESPONSE_BYTES and time.monotonic() < deadline:
        chunk = response.read1(MAX_RESPONSE_BYTES - size)
        if not chunk:
            break
        chunks.append(chunk)
        size += len(chunk)
    return b"".join(chunks)


def _result(status: int, location: str | None, body: bytes, where: str) -> PostResult:
    if 300 <= status < 400:
        to = f" to {location[:DETAIL_CHARS]}" if location else ""
        return PostResult(False, status,
                          f"webhook answered {status} (redirects are not followed)",
                          f"{where}: HTTP {status}: redirect{to} not followed")
    text = " ".join(body.decode("utf-8", errors="replace").split())[:DETAIL_CHARS]
    return PostResult(200 <= status < 300, status, f"webhook answered {status}",
                      f"{where}: HTTP {status}: {text}" if text else f"{where}: HTTP {status}")


def _network_failure(exc: Exception, timeout: float, where: str) -> PostResult:
    """The result of a failure while talking to a receiver; _NoConnection when
    there was no connection to talk over."""
    if isinstance(exc, MaxRetryError) and exc.reason is not None:
        exc = exc.reason
    if isinstance(exc, ConnectTimeoutError):  # includes NewConnectionError: refused, unreachable
        raise _NoConnection(f"{where}: could not connect: {_reason(exc)}")
    if isinstance(exc, Urllib3Timeout | TimeoutError):
        return PostResult(False, None, f"timed out after {timeout:g} s",
                          f"{where}: timed out after {timeout:g} s: {_reason(exc)}")
    if isinstance(exc, SSLError):
        reason = _reason(exc)
        # urllib3 matches the host name itself, with its own wording
        if "CERTIFICATE_VERIFY_FAILED" in reason or "doesn't match" in reason:
            return PostResult(False, None, "TLS certificate not accepted",
                              f"{where}: TLS certificate not accepted: {reason}")
        return PostResult(False, None, "TLS failed", f"{where}: TLS failed: {reason}")
    words = _closed_words(exc)
    return PostResult(False, None, f"connection failed: {words}" if words
                      else "connection failed", f"{where}: connection failed: {_reason(exc)}")


def _closed_words(exc: BaseException) -> str | None:
    """How the receiver ended the connection, in words of our own, or None."""
    # ProtocolError("Connection aborted.", ConnectionResetError(...)) and the like
    inner = exc.args[1] if len(exc.args) == 2 and isinstance(exc.args[1], Exception) else None
    if isinstance(inner, ConnectionResetError):
        return "the receiver reset the connection"
    if isinstance(inner, http.client.RemoteDisconnected):
        return "the receiver closed the connection without answering"
    return None


def _reason(exc: BaseException) -> str:
    words = _closed_words(exc)
    if words:
        return words
    inner = exc.args[1] if len(exc.args) == 2 and isinstance(exc.args[1], Exception) else None
    text = str(inner or exc)
    # urllib3 starts some messages with the connection object's repr
    return text.split(">: ", 1)[-1][:DETAIL_CHARS]
