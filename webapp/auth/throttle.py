"""Throttles for log-in, sign-up and password-reset e-mails, counted before
any password is hashed (each scrypt hash costs ~50 ms of CPU and 16 MB:
unthrottled guessing is a denial of service as well as a guessing attack).

An attempt is counted and judged in one storage operation (an atomic
increment that answers whether the count is still within the limit), so
parallel requests cannot all pass a check made before any of them was
counted. Log-ins: per account (the e-mail, hashed) and per client address;
only failures count (a success gives its count back). Sign-ups: per e-mail
address (hashed) and per network (IPv4 /24, IPv6 /64: one person easily
holds many addresses of one network, and every address of an IPv6 /64).
Password-reset e-mails: per e-mail address (hashed) and per network, every
request counted (known and unknown addresses alike, so the count tells
nothing). Wrong two-factor codes count as failed log-ins.

Counts live in the rate-limit storage (Redis when there is one, so every web
process shares them). If that storage stops answering, counting goes on in
this process's memory, logged, and goes back to it after a while."""
from __future__ import annotations

import hashlib
import ipaddress
import logging
import math
import time

from flask import current_app
from limits import RateLimitItem, parse
from limits.storage import MemoryStorage
from limits.strategies import FixedWindowRateLimiter

from ..extensions import limiter

log = logging.getLogger(__name__)

RETRY_STORAGE_AFTER = 30.0  # seconds on the in-memory fallback before trying the storage again

_memory = FixedWindowRateLimiter(MemoryStorage())
_storage_down_until = 0.0


def _call(method: str, *args, **kwargs):
    global _storage_down_until
    if time.monotonic() >= _storage_down_until:
        try:
            return getattr(limiter.limiter, method)(*args, **kwargs)
        except Exception as exc:  # any storage error: count in memory instead
            log.warning("rate-limit storage unreachable (%s); counting log-ins in memory "
                        "for %.0f s", type(exc).__name__, RETRY_STORAGE_AFTER)
            _storage_down_until = time.monotonic() + RETRY_STORAGE_AFTER
    return getattr(_memory, method)(*args, **kwargs)


def reset_memory() -> None:
    """Forget the in-memory fallback counts (tests)."""
    global _storage_down_until
    _memory.storage.reset()
    _storage_down_until = 0.0


def _digest(email: str) -> str:
    # hashed: the storage never holds the e-mail addresses people tried
    return hashlib.sha256(email.strip().lower().encode()).hexdigest()[:32]


def network(address: str) -> str:
    """The /24 (IPv4) or /64 (IPv6) network holding `address`; an IPv4 address
    written as IPv6 (::ffff:a.b.c.d) counts as IPv4. Anything else as is."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return address
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped:
        ip = ip.ipv4_mapped
    if isinstance(ip, ipaddress.IPv4Address):
        return str(ipaddress.IPv4Network((int(ip), 24), strict=False))
    return str(ipaddress.IPv6Network((int(ip), 64), strict=False))


def _keys(kind: str, *, email: str | None, address: str | None) -> list[tuple[str, str]]:
    """(setting that holds the limit, storage key) for each count that applies."""
    keys = []
    if kind == "login":
        if email is not None:
            keys.append(("LOGIN_RATE_LIMIT_ACCOUNT", f"login-account:{_digest(email)}"))
        if address is not None:
            keys.append(("LOGIN_RATE_LIMIT_ADDRESS", f"login-address:{address}"))
    elif kind == "signup":
        if email is not None:
            keys.append(("SIGNUP_RATE_LIMIT_EMAIL", f"signup-email:{_digest(email)}"))
        if address is not None:
            keys.append(("SIGNUP_RATE_LIMIT", f"signup-network:{network(address)}"))
    elif kind == "reset":
        if email is not None:
            keys.append(("RESET_RATE_LIMIT_EMAIL", f"reset-email:{_digest(email)}"))
        if address is not None:
            keys.append(("RESET_RATE_LIMIT_ADDRESS", f"reset-network:{network(address)}"))
    else:
        raise ValueError(f"no throttle named {kind!r}")
    return keys


def _counts(kind: str, email: str | None, address: str | None) -> list[tuple[RateLimitItem, str]]:
    return [(parse(current_app.config[setting]), key)
            for setting, key in _keys(kind, email=email, address=address)]


def attempt(kind: str, *, email: str | None = None, address: str | None = None) -> int:
    """Count one attempt before any work is done for it: 0 when it may go
    ahead, else the seconds until one may. A refused attempt gives back what
    it counted, so it uses up nothing (a guesser stopped per address does not
    eat into the account's count, and the reverse)."""
    counted, refused = [], []
    for item, key in _counts(kind, email, address):
        (counted if _call("hit", item, "throttle", key) else refused).append((item, key))
    if not refused:
        return 0
    # The refused counts stay above their limit until their window ends,
    # which is the answer anyway; giving them back would change nothing.
    for item, key in counted:
        _give_back(item, key)
    return max(_seconds_left(item, key) for item, key in refused)


def refund(kind: str, *, email: str | None = None, address: str | None = None) -> None:
    """Give back an attempt that attempt() allowed and that must not count
    (a log-in that succeeded)."""
    for item, key in _counts(kind, email, address):
        _give_back(item, key)


def _give_back(item: RateLimitItem, key: str) -> None:
    # One atomic decrement. If the window ended in between, the next window
    # starts one lower: at most one extra attempt, never a lost refusal.
    _call("hit", item, "throttle", key, cost=-1)


def _seconds_left(item: RateLimitItem, key: str) -> int:
    reset_at, _ = _call("get_window_stats", item, "throttle", key)
    return max(math.ceil(reset_at - time.time()), 1)


def first_use(key: str, seconds: int) -> bool:
    """True the first time `key` is seen within `seconds`, False after: one
    atomic increment in the same storage, so two processes cannot both see
    it first (a one-time code used twice at once). While the storage is down
    each process remembers on its own."""
    return bool(_call("hit", parse(f"1 per {int(seconds)} seconds"), "once", key))
