"""Does a text meant for users give away this server's network? `no_internals(text)`
finds IPv4 and IPv6 addresses and host:port pairs in it.

    from tests.leaks import no_internals
    assert no_internals(delivery["detail"])

It fails with the pieces it found, so the assertion message says what leaked.
Times ("07:30", "2026-11-23T07:00:00Z") are not addresses: every candidate
is checked with the ipaddress module, and a port only counts after a name
that starts with a letter or after "]". Use it on failure texts (a delivery's
detail, an attempt's detail, a notice's reason), not on a text that quotes the
user's own webhook URL, which may well hold a host and a port.
Plain Python, no fixtures."""
from __future__ import annotations

import ipaddress
import re

# four dotted numbers; the ipaddress module decides whether they are an address
IPV4_CANDIDATE = re.compile(r"(?<![\w.])\d{1,3}(?:\.\d{1,3}){3}(?![\w.]*\d)")
# hex groups with at least two colons, perhaps in brackets or with a zone (%eth0)
IPV6_CANDIDATE = re.compile(r"\[?(?<![\w:.])[0-9A-Fa-f]{0,4}(?::[0-9A-Fa-f.]{0,15}){2,8}"
                            r"(?:%\w+)?\]?")
# name:port or [v6]:port (after an IPv4 address the address is found anyway);
# the name starts with a letter after a non-name character, so neither "07:30"
# nor the "T07:00" of an ISO time counts
HOST_PORT = re.compile(r"(?:(?<![\w.-])[A-Za-z][\w.-]*|\]):(\d{1,5})(?!\d|[.:]\d)")


def internals(text: str) -> list[str]:
    """The addresses and host:port pairs in text, in order of appearance."""
    found: list[tuple[int, str]] = []
    for match in IPV4_CANDIDATE.finditer(text):
        if _is_ip(match.group()):
            found.append((match.start(), match.group()))
    for match in IPV6_CANDIDATE.finditer(text):
        candidate = match.group().strip("[]").split("%", 1)[0]
        if candidate.count(":") >= 2 and _is_ip(candidate):
            found.append((match.start(), match.group()))
    for match in HOST_PORT.finditer(text):
        if 0 < int(match.group(1)) <= 65535:
            found.append((match.start(), match.group()))
    return [piece for _, piece in sorted(found)]


def no_internals(text: str) -> bool:
    """True when text names no address and no host:port; an AssertionError
    listing what it found otherwise."""
    found = internals(text)
    if found:
        raise AssertionError(f"internal address or port {found} in {text!r}")
    return True


def _is_ip(candidate: str) -> bool:
    try:
        ipaddress.ip_address(candidate)
    except ValueError:
        return False
    return True

