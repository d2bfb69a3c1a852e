"""Links that leave the app: absolute URLs under PUBLIC_URL (e-mails,
webhooks) and signed tokens for links that act without a log-in
(itsdangerous, one salt per purpose, every key of a rotation accepted).
Part of the core: imports nothing of the app."""
from __future__ import annotations

from flask import current_app
from itsdangerous import URLSafeTimedSerializer


def public_url(path: str) -> str:
    return current_app.config["PUBLIC_URL"].rstrip("/") + path


def serializer(salt: str) -> URLSafeTimedSerializer:
    config = current_app.config
    # the last key signs; every key (old ones after a rotation) still opens
    keys = [*(config.get("SECRET_KEY_FALLBACKS") or []), config["SECRET_KEY"]]
    return URLSafeTimedSerializer(keys, salt=salt)
