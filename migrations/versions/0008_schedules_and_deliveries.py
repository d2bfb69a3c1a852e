"""schedules and deliveries: saved reports that run by themselves

schedules: a report definition (kind, format, a relative date range), a
5-field cron in an IANA zone, and where the result goes (e-mail recipients, a
signed webhook). schedule_runs: each slot that ran, unique per (schedule,
due time) so that two beats never run a slot twice. deliveries and
delivery_attempts: each place a finished report goes to, with every attempt.
notices: the bell's in-app notices.

Revision ID: 0008
Revises: 0007
"""
import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

KINDS = ("order", "summary", "orders")
FORMATS = ("csv", "pdf", "xlsx")


def _id():
    return sa.Column("id", sa.Integer(), nullable=False)


def _time(name, nullable=True):
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def _fk(table, column, target, ondelete):
    return sa.ForeignKeyConstraint([column], [f"{target}.id"],
                                   name=op.f(f"fk_{table}_{column}_{target}"), ondelete=ondelete)


def upgrade():
    op.create_table(
        "schedules",
        _id(),
        sa.Column("owner_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("kind", sa.Enum(*KINDS, name="reportkind", native_enum=False, length=20),
                  nullable=False),
        sa.Column("format", sa.Enum(*FORMATS, name="reportformat", native_enum=False,
                                    length=20), nullable=False),
        sa.Column("range", sa.String(20), nullable=True),
        sa.Column("customer", sa.String(200), nullable=True),
        sa.Column("order_id", sa.Integer(), nullable=True),
        sa.Column("cron", sa.String(100), nullable=False),
        sa.Column("timezone", sa.String(64), nullable=False),
        sa.Column("emails", sa.JSON(), nullable=False),
        sa.Column("webhook_url", sa.Text(), nullable=True),
        sa.Column("webhook_secret", sa.String(100), nullable=True),
        _time("paused_at"),
        sa.Column("pause_reason", sa.Text(), nullable=True),
        sa.Column("failed_runs", sa.Integer(), nullable=False),
        _time("next_run_at"),
        _time("created_at", False),
        _time("updated_at", False),
        _fk("schedules", "owner_id", "users", "CASCADE"),
        _fk("schedules", "order_id", "orders", "SET NULL"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_schedules")),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_schedules_owner_id", "schedules", ["owner_id"])
    op.create_index("ix_schedules_next_run_at", "schedules", ["next_run_at"])

    op.create_table(
        "schedule_runs",
        _id(),
        sa.Column("schedule_id", sa.Integer(), nullable=False),
        _time("due_at", False),
        sa.Column("trigger", sa.String(20), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("job_id", sa.Integer(), nullable=True),
        sa.Column("outcome", sa.String(20), nullable=True),
        sa.Column("detail", sa.Text(), nullable=True),
        _time("created_at", False),
        _time("finished_at"),
        _fk("schedule_runs", "schedule_id", "schedules", "CASCADE"),
        _fk("schedule_runs", "job_id", "report_jobs", "SET NULL"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_schedule_runs")),
        sa.UniqueConstraint("schedule_id", "due_at", name="uq_schedule_runs_schedule_id_due_at"),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_schedule_runs_schedule_id", "schedule_runs", ["schedule_id"])
    op.create_index("ix_schedule_runs_job_id", "schedule_runs", ["job_id"])

    op.create_table(
        "deliveries",
        _id(),
        sa.Column("job_id", sa.Integer(), nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=True),
        sa.Column("channel", sa.String(10), nullable=False),
        sa.Column("target", sa.Text(), nullable=False),
        sa.Column("status", sa.String(12), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        _time("next_attempt_at"),
        _time("claimed_at"),
        sa.Column("message_id", sa.String(60), nullable=True),
        sa.Column("payload", sa.Text(), nullable=True),
        sa.Column("detail", sa.Text(), nullable=True),
        _time("created_at", False),
        _time("finished_at"),
        _fk("deliveries", "job_id", "report_jobs", "CASCADE"),
        _fk("deliveries", "run_id", "schedule_runs", "CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_deliveries")),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_deliveries_job_id", "deliveries", ["job_id"])
    op.create_index("ix_deliveries_run_id", "deliveries", ["run_id"])
    op.create_index("ix_deliveries_status_next_attempt_at", "deliveries",
                    ["status", "next_attempt_at"])

    op.create_table(
        "delivery_attempts",
        _id(),
        sa.Column("delivery_id", sa.Integer(), nullable=False),
        sa.Column("attempt", sa.Integer(), nullable=False),
        _time("at", False),
        sa.Column("ok", sa.Boolean(), nullable=False),
        sa.Column("code", sa.Integer(), nullable=True),
        sa.Column("detail", sa.Text(), nullable=True),
        _fk("delivery_attempts", "delivery_id", "deliveries", "CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_delivery_attempts")),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_delivery_attempts_delivery_id", "delivery_attempts", ["delivery_id"])

    op.create_table(
        "notices",
        _id(),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("job_id", sa.Integer(), nullable=True),
        sa.Column("schedule_id", sa.Integer(), nullable=True),
        _time("created_at", False),
        _time("read_at"),
        _fk("notices", "user_id", "users", "CASCADE"),
        _fk("notices", "job_id", "report_jobs", "SET NULL"),
        _fk("notices", "schedule_id", "schedules", "SET NULL"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notices")),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_notices_user_id_read_at", "notices", ["user_id", "read_at"])


def downgrade():
    for table in ("notices", "delivery_attempts", "deliveries", "schedule_runs", "schedules"):
        op.drop_table(table)
