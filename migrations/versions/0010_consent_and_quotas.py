"""consent and quotas: nobody gets mail they did not ask for

users.email_verified_at: an account's own address counts only once a link
sent to it was opened. signup_requests: a sign-up waiting for its link
(with SMTP, nothing is an account before that). schedule_recipients: each
address a schedule sends to, with its consent (pending, confirmed,
unsubscribed). sender_blocks: "never from this sender". mail_sends: every
e-mail sent for an account, for the hourly quota. schedule_runs.waiting: a
scheduled run that met the open-jobs budget and waits for its turn.

Revision ID: 0010
Revises: 0009
"""
import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def _time(name, nullable=True):
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def _fk(table, column, target, ondelete):
    return sa.ForeignKeyConstraint([column], [f"{target}.id"],
                                   name=op.f(f"fk_{table}_{column}_{target}"), ondelete=ondelete)


def upgrade():
    with op.batch_alter_table("users") as batch:
        batch.add_column(_time("email_verified_at"))
    with op.batch_alter_table("schedule_runs") as batch:
        batch.add_column(sa.Column("waiting", sa.Boolean(), nullable=False,
                                   server_default=sa.false()))
    op.create_index("ix_schedule_runs_waiting", "schedule_runs", ["waiting"])

    op.create_table(
        "signup_requests",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("email", sa.String(254), nullable=False),
        sa.Column("password_hash", sa.String(300), nullable=False),
        sa.Column("timezone", sa.String(64), nullable=False),
        sa.Column("token_hash", sa.String(64), nullable=False),
        _time("created_at", False),
        _time("expires_at", False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_signup_requests")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_signup_requests_token_hash")),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_signup_requests_email", "signup_requests", ["email"])

    op.create_table(
        "schedule_recipients",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("schedule_id", sa.Integer(), nullable=False),
        sa.Column("address", sa.String(254), nullable=False),
        sa.Column("status", sa.String(12), nullable=False),
        _time("asked_at"),
        _time("answered_at"),
        _time("created_at", False),
        _fk("schedule_recipients", "schedule_id", "schedules", "CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_schedule_recipients")),
        sa.UniqueConstraint("schedule_id", "address",
                            name="uq_schedule_recipients_schedule_id_address"),
        sqlite_autoincrement=True,
    )

    op.create_table(
        "sender_blocks",
        sa.Column("owner_id", sa.Integer(), nullable=False),
        sa.Column("address", sa.String(254), nullable=False),
        _time("created_at", False),
        _fk("sender_blocks", "owner_id", "users", "CASCADE"),
        sa.PrimaryKeyConstraint("owner_id", "address", name=op.f("pk_sender_blocks")),
    )

    op.create_table(
        "mail_sends",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("owner_id", sa.Integer(), nullable=False),
        _time("at", False),
        _fk("mail_sends", "owner_id", "users", "CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_mail_sends")),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_mail_sends_owner_id_at", "mail_sends", ["owner_id", "at"])

    # what the existing schedules send to, as recipients whose consent is not
    # known yet: each gets asked once by the next run (nothing goes out before)
    schedules = sa.table("schedules", sa.column("id"), sa.column("emails", sa.JSON),
                         sa.column("created_at"))
    recipients = sa.table("schedule_recipients", sa.column("schedule_id"),
                          sa.column("address"), sa.column("status"),
                          sa.column("created_at"))
    conn = op.get_bind()
    rows = []
    for schedule_id, emails, created_at in conn.execute(
            sa.select(schedules.c.id, schedules.c.emails, schedules.c.created_at)):
        for address in dict.fromkeys(emails or []):
            rows.append({"schedule_id": schedule_id, "address": address, "status": "pending",
                         "created_at": created_at})
    if rows:
        op.bulk_insert(recipients, rows)


def downgrade():
    for table in ("mail_sends", "sender_blocks", "schedule_recipients", "signup_requests"):
        op.drop_table(table)
    op.drop_index("ix_schedule_runs_waiting", table_name="schedule_runs")
    with op.batch_alter_table("schedule_runs") as batch:
        batch.drop_column("waiting")
    with op.batch_alter_table("users") as batch:
        batch.drop_column("email_verified_at")
