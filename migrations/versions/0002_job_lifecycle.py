"""job lifecycle: attempts limit, lease, expiry, retries, soft delete, worker beats

Revision ID: 0002
Revises: 0001
"""
import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("report_jobs", schema=None) as batch_op:
        batch_op.add_column(sa.Column("max_attempts", sa.Integer(), nullable=False,
                                      server_default="3"))
        batch_op.add_column(sa.Column("claimed_by", sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column("heartbeat_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("enqueued_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("retry_of_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.create_foreign_key(batch_op.f("fk_report_jobs_retry_of_id_report_jobs"),
                                    "report_jobs", ["retry_of_id"], ["id"], ondelete="SET NULL")
        batch_op.create_index("ix_report_jobs_status_heartbeat_at", ["status", "heartbeat_at"])
    op.create_table(
        "worker_beats",
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_worker_beats")),
    )


def downgrade():
    op.drop_table("worker_beats")
    with op.batch_alter_table("report_jobs", schema=None) as batch_op:
        batch_op.drop_index("ix_report_jobs_status_heartbeat_at")
        batch_op.drop_constraint(batch_op.f("fk_report_jobs_retry_of_id_report_jobs"),
                                 type_="foreignkey")
        for column in ("deleted_at", "retry_of_id", "expires_at", "enqueued_at", "heartbeat_at",
                       "claimed_by", "max_attempts"):
            batch_op.drop_column(column)
