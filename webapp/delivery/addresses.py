"""One recipient is one e-mail address: exactly one RFC 5322 addr-spec, with
nothing a mail library could read as a second address, a display name, a
comment or a header break.

A recipient string reaches SMTP as a `RCPT TO` and the `To:` header, where
"a@x.example,root" is two recipients and a U+2028 breaks the line; so a
string is accepted only if the standard library parses it to the very same
single address, and only from characters that cannot mean anything else."""
from __future__ import annotations

import re
import unicodedata
from email.errors import HeaderParseError
from email.headerregistry import Address

MAX_LENGTH = 254  # RFC 5321's path limit, less the angle brackets
MAX_LOCAL = 64
# atext (RFC 5322 3.2.3) and dots; non-ASCII letters and digits are allowed
# too (SMTPUTF8, RFC 6531), checked one by one below
_LOCAL_ASCII = re.compile(r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~.-]+")
_LABEL = re.compile(r"(?!-)[a-z0-9-]{1,63}(?<!-)")
_SEPARATORS = {",": "a comma", ";": "a semicolon", "<": "an angle bracket",
               ">": "an angle bracket", '"': "a quote", "(": "a parenthesis",
               ")": "a parenthesis", "[": "a square bracket", "]": "a square bracket",
               ":": "a colon", "\\": "a backslash"}


class AddressError(ValueError):
    """Why a string is not one e-mail address, in words for the person who typed it."""


def parse_address(text: object) -> str:
    """The address, lower-cased, or AddressError saying what is wrong."""
    if not isinstance(text, str) or not text.strip():
        raise AddressError("is empty; give one e-mail address such as name@example.com")
    text = text.strip()
    for char in text:
        why = _why_not(char)
        if why:
            raise AddressError(f"contains {why}: give exactly one address, like "
                               f"name@example.com")
    if len(text) > MAX_LENGTH:
        raise AddressError(f"is longer than {MAX_LENGTH} characters")
    if text.count("@") != 1:
        raise AddressError("must contain exactly one @, like name@example.com")
    local, domain = text.split("@")
    _check_local(local)
    _check_domain(domain)
    # the standard parser must read the very same single address; it refuses
    # non-ASCII local parts (checked letter by letter above), so those are
    # read with a stand-in local part
    probe_local = local if local.isascii() else "x"
    try:
        parsed = Address(addr_spec=f"{probe_local}@{domain}")
    except (HeaderParseError, ValueError, IndexError):
        raise AddressError("is not an e-mail address, like name@example.com") from None
    if parsed.username != probe_local or parsed.domain != domain:
        raise AddressError("is not an e-mail address, like name@example.com")
    return text.lower()


def _why_not(char: str) -> str | None:
    if char in _SEPARATORS:
        return _SEPARATORS[char]
    category = unicodedata.category(char)
    if category[0] == "Z" or char.isspace():  # spaces, U+2028/U+2029 line/paragraph breaks
        return f"a space or line break (U+{ord(char):04X})"
    if category[0] == "C":  # controls, format characters (zero-width, bidi), unassigned
        return f"an invisible or control character (U+{ord(char):04X})"
    return None


def _check_local(local: str) -> None:
    if not local:
        raise AddressError("has nothing before the @")
    if len(local.encode()) > MAX_LOCAL:
        raise AddressError(f"has more than {MAX_LOCAL} bytes before the @")
    if local.startswith(".") or local.endswith(".") or ".." in local:
        raise AddressError("has a dot at the start or end, or two in a row, before the @")
    for char in local:
        if char.isascii():
            if not _LOCAL_ASCII.fullmatch(char):
                raise AddressError(f"contains {char!r}, which an address cannot hold")
        elif unicodedata.category(char)[0] not in "LMN":
            raise AddressError(f"contains {char!r}, which an address cannot hold")


def _check_domain(domain: str) -> str:
    """The domain in ASCII (IDNA), or AddressError."""
    if not domain:
        raise AddressError("has nothing after the @")
    try:
        ascii_domain = domain.encode("idna").decode("ascii").lower()
    except UnicodeError:
        raise AddressError(f"has a domain, {domain!r}, that is not a valid host name") from None
    labels = ascii_domain.split(".")
    if len(labels) < 2 or not all(_LABEL.fullmatch(label) for label in labels):
        raise AddressError(f"has a domain, {domain!r}, that is not a host name "
                           f"like example.com")
    if labels[-1].isdigit():
        raise AddressError("has an IP address after the @; give a host name")
    return ascii_domain


def domain_of(address: str) -> str:
    """The address's domain in ASCII, lower-cased (for allow-lists)."""
    domain = address.rpartition("@")[2]
    try:
        return domain.encode("idna").decode("ascii").lower()
    except UnicodeError:
        return domain.lower()
