"""accounts: users, API tokens, and an owner for every order and report job

Existing orders and jobs go to the owner named by DEFAULT_OWNER_EMAIL
(default owner@localhost), created as an admin with no usable password
(set one with `flask create-user --reset`).

Revision ID: 0003
Revises: 0002
"""
import os
import secrets

import sqlalchemy as sa
from alembic import op
from werkzeug.security import generate_password_hash

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade():
    users = op.create_table(
        "users",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("email", sa.String(length=254), nullable=False),
        sa.Column("password_hash", sa.String(length=300), nullable=False),
        sa.Column("is_admin", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_users")),
        sa.UniqueConstraint("email", name=op.f("uq_users_email")),
    )
    op.create_table(
        "api_tokens",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("prefix", sa.String(length=12), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_used_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"],
                                name=op.f("fk_api_tokens_user_id_users"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_api_tokens")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_api_tokens_token_hash")),
    )
    with op.batch_alter_table("api_tokens", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_api_tokens_user_id"), ["user_id"], unique=False)

    conn = op.get_bind()
    owner_id = None
    has_rows = conn.execute(sa.text("SELECT 1 FROM orders UNION ALL SELECT 1 FROM report_jobs"
                                    " LIMIT 1")).first()
    if has_rows:
        email = os.environ.get("DEFAULT_OWNER_EMAIL", "owner@localhost").strip().lower()
        conn.execute(users.insert().values(
            email=email, is_admin=True, created_at=sa.func.now(),
            password_hash=generate_password_hash(secrets.token_urlsafe(32))))
        owner_id = conn.execute(sa.text("SELECT id FROM users WHERE email = :e"),
                                {"e": email}).scalar_one()

    for table in ("orders", "report_jobs"):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(sa.Column("owner_id", sa.Integer(), nullable=True))
        if owner_id is not None:
            conn.execute(sa.text(f"UPDATE {table} SET owner_id = :o"), {"o": owner_id})
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.alter_column("owner_id", existing_type=sa.Integer(), nullable=False)
            batch_op.create_index(batch_op.f(f"ix_{table}_owner_id"), ["owner_id"], unique=False)
            batch_op.create_foreign_key(batch_op.f(f"fk_{table}_owner_id_users"), "users",
                                        ["owner_id"], ["id"], ondelete="CASCADE")


def downgrade():
    for table in ("report_jobs", "orders"):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_constraint(batch_op.f(f"fk_{table}_owner_id_users"), type_="foreignkey")
            batch_op.drop_index(batch_op.f(f"ix_{table}_owner_id"))
            batch_op.drop_column("owner_id")
    op.drop_table("api_tokens")
    op.drop_table("users")
