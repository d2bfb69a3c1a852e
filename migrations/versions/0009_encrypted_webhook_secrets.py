"""encrypted webhook secrets: schedules.webhook_secret is stored encrypted

The column becomes TEXT (a Fernet token of a 38-character secret is 140
characters) and every clear value in it is encrypted with a key derived from
the app's SECRET_KEY (webapp/crypto.py); a value that already decrypts with
SECRET_KEY or a SECRET_KEY_FALLBACKS key is left alone, so running this on a
database that was partly encrypted changes nothing twice. `flask db upgrade`
runs inside the app, whose config holds the keys.

Revision ID: 0009
Revises: 0008
"""
import logging

import sqlalchemy as sa
from alembic import op
from cryptography.fernet import InvalidToken

from webapp.crypto import decrypt, reencrypt_column

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

BATCH = 500

schedules = sa.table("schedules", sa.column("id", sa.Integer),
                     sa.column("webhook_secret", sa.Text))


def _alter(new_type, old_type):
    # SQLite rebuilds the table (foreign keys are off while migrating, see
    # env.py); AUTOINCREMENT (0008) has to be asked for again.
    with op.batch_alter_table("schedules",
                              table_kwargs={"sqlite_autoincrement": True}) as batch_op:
        batch_op.alter_column("webhook_secret", existing_type=old_type, type_=new_type,
                              existing_nullable=True)


def upgrade():
    _alter(sa.Text(), sa.String(100))
    done = reencrypt_column(op.get_bind(), "schedules", "webhook_secret", encrypt_clear=True)
    if done.encrypted:
        logging.getLogger("alembic.env").info("encrypted %s webhook secret(s)", done.encrypted)


def _decrypt_all(conn) -> None:
    last = 0
    update = (schedules.update().where(schedules.c.id == sa.bindparam("row_id"))
              .values(webhook_secret=sa.bindparam("clear")))
    while True:
        rows = conn.execute(sa.select(schedules.c.id, schedules.c.webhook_secret).where(
            schedules.c.id > last, schedules.c.webhook_secret.is_not(None))
            .order_by(schedules.c.id).limit(BATCH)).all()
        if not rows:
            return
        changes = []
        for row_id, token in rows:
            try:
                changes.append({"row_id": row_id, "clear": decrypt(token)})
            except InvalidToken:
                raise RuntimeError(
                    f"the webhook secret of schedule {row_id} opens with no key: put the "
                    "key it was made with in SECRET_KEY_FALLBACKS and run this again") from None
        conn.execute(update, changes)
        last = rows[-1].id


def downgrade():
    _decrypt_all(op.get_bind())
    _alter(sa.String(100), sa.Text())
