"""trust: ids are never reused, sessions can be revoked, worker names kept apart

- SQLite hands a deleted newest row's id to the next insert unless the table
  is AUTOINCREMENT: every table is rebuilt with it, so an old report job or
  link can never come to mean another user's order. (PostgreSQL sequences
  never go back; nothing to do there.)
- users.session_generation: bumped by log-out, password change and "log out
  everywhere"; a session cookie of an older generation is refused.
- report_events.worker: the host:pid that ran a step, shown to admins only
  (it used to be part of the event text everyone sees).

Revision ID: 0004
Revises: 0003
"""
import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

# parents before children, so each rebuilt child points at a rebuilt parent
TABLES = ("users", "api_tokens", "orders", "order_items", "report_jobs", "report_events")


def upgrade():
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.add_column(sa.Column("session_generation", sa.Integer(), nullable=False,
                                      server_default="0"))
    with op.batch_alter_table("report_events", schema=None) as batch_op:
        batch_op.add_column(sa.Column("worker", sa.String(length=200), nullable=True))
    if op.get_bind().dialect.name != "sqlite":
        return
    for table in TABLES:
        with op.batch_alter_table(table, recreate="always",
                                  table_kwargs={"sqlite_autoincrement": True}):
            pass
    # Batch mode does not carry a partial index's WHERE clause over: put it back.
    op.execute("DROP INDEX IF EXISTS uq_report_jobs_active_dedupe_key")
    op.execute("CREATE UNIQUE INDEX uq_report_jobs_active_dedupe_key ON report_jobs "
               "(dedupe_key) WHERE status IN ('PENDING', 'PROCESSING')")


def downgrade():
    # AUTOINCREMENT stays: giving ids back out is what this migration prevents.
    with op.batch_alter_table("report_events", schema=None) as batch_op:
        batch_op.drop_column("worker")
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_column("session_generation")
