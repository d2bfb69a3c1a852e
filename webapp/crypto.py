"""Secrets the app must read back (a webhook's signing secret) are stored
encrypted, so that the database alone (a backup, a copied SQLite file, a
read-only SQL injection) does not hand them out.

Fernet (AES-128-CBC + HMAC-SHA256, from `cryptography`) with keys derived
from SECRET_KEY by HKDF with a purpose of their own: the session-signing key
itself never encrypts anything, and one purpose's key opens nothing of
another's. Decryption also tries each SECRET_KEY_FALLBACKS key, so existing
secrets keep working while a key is rotated; `flask rotate-secrets`
(reencrypt_column) then re-encrypts them with the current key, after which
the old key can leave SECRET_KEY_FALLBACKS."""
from __future__ import annotations

import base64
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import lru_cache

import sqlalchemy as sa
from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from flask import current_app

log = logging.getLogger(__name__)

WEBHOOK_SECRETS = b"webhook-secrets"
TOTP_SECRETS = b"totp-secrets"
BATCH = 500


def _fernet(secret_key: str | bytes, purpose: bytes) -> Fernet:
    raw = secret_key if isinstance(secret_key, bytes) else str(secret_key).encode()
    derived = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=purpose).derive(raw)
    return Fernet(base64.urlsafe_b64encode(derived))


@lru_cache(maxsize=16)
def _keyring(keys: tuple, purpose: bytes) -> MultiFernet:
    # HKDF per value would cost more than the encryption itself
    return MultiFernet([_fernet(key, purpose) for key in keys])


def _keys(config: Mapping | None) -> tuple:
    config = current_app.config if config is None else config
    return (config["SECRET_KEY"], *(config.get("SECRET_KEY_FALLBACKS") or ()))


def keyring(purpose: bytes = WEBHOOK_SECRETS, config: Mapping | None = None) -> MultiFernet:
    """Encrypts with SECRET_KEY; decrypts with it or any SECRET_KEY_FALLBACKS key."""
    return _keyring(_keys(config), purpose)


def current_key(purpose: bytes = WEBHOOK_SECRETS, config: Mapping | None = None) -> MultiFernet:
    """SECRET_KEY's key alone: what decrypts once a rotation is complete."""
    return _keyring(_keys(config)[:1], purpose)


def encrypt(text: str, purpose: bytes = WEBHOOK_SECRETS, config: Mapping | None = None) -> str:
    return keyring(purpose, config).encrypt(text.encode()).decode("ascii")


def decrypt(token: str, purpose: bytes = WEBHOOK_SECRETS, config: Mapping | None = None) -> str:
    """The clear text; raises InvalidToken when no key opens it."""
    return keyring(purpose, config).decrypt(token.encode()).decode()


class EncryptedText(sa.TypeDecorator):
    """A text column stored encrypted (see the module's docstring); Python
    code reads and writes the clear text. Needs an app context (the key)."""

    impl = sa.Text
    cache_ok = True

    def __init__(self, purpose: bytes = WEBHOOK_SECRETS):
        super().__init__()
        self.purpose = purpose

    def process_bind_param(self, value, dialect):
        return None if value is None else encrypt(value, self.purpose)

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        try:
            return decrypt(value, self.purpose)
        except InvalidToken:
            # One unreadable value must not break every page that lists its
            # rows: it reads as missing (a webhook then fails saying it has no
            # secret, and rotating the secret makes a new one).
            log.error("a stored %s value opens with no key (SECRET_KEY changed without "
                      "the old key in SECRET_KEY_FALLBACKS?)", self.purpose.decode())
            return None


@dataclass
class Reencrypted:
    """What reencrypt_column did."""

    current: int = 0  # already under SECRET_KEY: left alone
    rotated: int = 0  # were under a fallback key: now under SECRET_KEY
    encrypted: int = 0  # were clear text (only with encrypt_clear)
    unreadable: list = field(default_factory=list)  # ids no key opens


def reencrypt_column(conn, table: str, column: str, *, purpose: bytes = WEBHOOK_SECRETS,
                     encrypt_clear: bool = False, config: Mapping | None = None) -> Reencrypted:
    """Bring every value of `table.column` (rows with an integer `id`) under
    SECRET_KEY: a value under a fallback key is re-encrypted, one under
    SECRET_KEY is left alone, a clear value is encrypted when `encrypt_clear`
    (the migration that started encrypting) and otherwise reported unreadable.
    Each update names the old value, so a secret changed meanwhile is kept."""
    rows = sa.table(table, sa.column("id", sa.Integer), sa.column(column, sa.Text))
    value = rows.c[column]
    update = (rows.update().where(rows.c.id == sa.bindparam("row_id"),
                                  value == sa.bindparam("old"))
              .values({column: sa.bindparam("new")}))
    every, primary = keyring(purpose, config), current_key(purpose, config)
    done, last = Reencrypted(), 0
    while True:
        batch = conn.execute(sa.select(rows.c.id, value).where(
            rows.c.id > last, value.is_not(None)).order_by(rows.c.id).limit(BATCH)).all()
        if not batch:
            return done
        changes = []
        for row_id, old in batch:
            new = _under_current_key(old, every, primary, encrypt_clear, done)
            if new is None:
                done.unreadable.append(row_id)
            elif new != old:
                changes.append({"row_id": row_id, "old": old, "new": new})
        if changes:
            conn.execute(update, changes)
        last = batch[-1][0]


def _under_current_key(old: str, every: MultiFernet, primary: MultiFernet,
                       encrypt_clear: bool, done: Reencrypted) -> str | None:
    token = old.encode()
    try:
        primary.decrypt(token)
        done.current += 1
        return old
    except InvalidToken:
        pass
    try:
        new = every.rotate(token).decode("ascii")
        done.rotated += 1
        return new
    except InvalidToken:
        if not encrypt_clear:
            return None
    done.encrypted += 1
    return every.encrypt(token).decode("ascii")
