"""Throttles for log-in and sign-up, checked before any password is hashed
(each scrypt hash costs ~50 ms of CPU and 16 MB: unthrottled guessing is a
denial of service as well as a guessing attack).

Counts live in the rate-limit storage (Redis when there is one, so every web
process shares them). If that storage stops answering, counting goes on in
this process's memory, logged, and goes back to it after a while."""
from __future__ import annotations

import hashlib
import logging
import math
import time

from flask import current_app
from limits import parse
from limits.storage import MemoryStorage
from limits.strategies import FixedWindowRateLimiter

from ..security import limiter

log = logging.getLogger(__name__)

RETRY_STORAGE_AFTER = 30.0  # seconds on the in-memory fallback before trying the storage again

_memory = FixedWindowRateLimiter(MemoryStorage())
_storage_down_until = 0.0


def _call(method: str, *args):
    global _storage_down_until
    if time.monotonic() >= _storage_down_until:
        try:
            return getattr(limiter.limiter, method)(*args)
        except Exception as exc:  # any storage error: count in memory instead
            log.warning("rate-limit storage unreachable (%s); counting log-ins in memory "
                        "for %.0f s", type(exc).__name__, RETRY_STORAGE_AFTER)
            _storage_down_until = time.monotonic() + RETRY_STORAGE_AFTER
    return getattr(_memory, method)(*args)


def reset_memory() -> None:
    """Forget the in-memory fallback counts (tests)."""
    global _storage_down_until
    _memory.storage.reset()
    _storage_down_until = 0.0


def _keys(kind: str, *, email: str | None, address: str | None) -> list[tuple[str, str]]:
    """(setting that holds the limit, storage key) for each count that applies."""
    keys = []
    if kind == "login" and email is not None:
        # hashed: the storage never holds the e-mail addresses people tried
        digest = hashlib.sha256(email.strip().lower().encode()).hexdigest()[:32]
        keys.append(("LOGIN_RATE_LIMIT_ACCOUNT", f"login-account:{digest}"))
    if kind == "login" and address is not None:
        keys.append(("LOGIN_RATE_LIMIT_ADDRESS", f"login-address:{address}"))
    if kind == "signup" and address is not None:
        keys.append(("SIGNUP_RATE_LIMIT", f"signup-address:{address}"))
    return keys


def wait_seconds(kind: str, *, email: str | None = None, address: str | None = None) -> int:
    """0 when another attempt is allowed now; else seconds until it is."""
    longest = 0
    for setting, key in _keys(kind, email=email, address=address):
        item = parse(current_app.config[setting])
        if not _call("test", item, "throttle", key):
            reset_at, _ = _call("get_window_stats", item, "throttle", key)
            longest = max(longest, math.ceil(reset_at - time.time()), 1)
    return longest


def count(kind: str, *, email: str | None = None, address: str | None = None) -> None:
    for setting, key in _keys(kind, email=email, address=address):
        _call("hit", parse(current_app.config[setting]), "throttle", key)


def in_words(seconds: int) -> str:
    minutes = math.ceil(seconds / 60)
    if seconds < 60:
        return f"{seconds} second{'s' if seconds != 1 else ''}"
    return f"{minutes} minute{'s' if minutes != 1 else ''}"
