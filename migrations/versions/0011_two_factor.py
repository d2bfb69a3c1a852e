"""two-factor log-in: a TOTP secret (encrypted) and recovery codes per user

Revision ID: 0011
Revises: 0010
"""
import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("users") as batch:
        batch.add_column(sa.Column("totp_secret", sa.Text(), nullable=True))
        batch.add_column(sa.Column("totp_enabled_at", sa.DateTime(timezone=True),
                                   nullable=True))
        batch.add_column(sa.Column("recovery_codes", sa.JSON(), nullable=True))


def downgrade():
    with op.batch_alter_table("users") as batch:
        batch.drop_column("recovery_codes")
        batch.drop_column("totp_enabled_at")
        batch.drop_column("totp_secret")
