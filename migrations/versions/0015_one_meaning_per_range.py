"""one meaning per range name: "Last 7 days" includes today everywhere

Schedules said "last_7_days" and "last_30_days" for the whole days before the
run's day, while the dashboard and the summary form counted today in under
the same words. The words now mean one thing everywhere (webapp/ranges.py);
the schedules made before keep what they reported, under the names that say
so: last_7_full_days and last_30_full_days. Downgrade renames them back.

Revision ID: 0015
Revises: 0014
"""
import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None

RENAMED = {"last_7_days": "last_7_full_days", "last_30_days": "last_30_full_days"}

schedules = sa.table("schedules", sa.column("range", sa.String))


def upgrade() -> None:
    for old, new in RENAMED.items():
        op.execute(schedules.update().where(schedules.c.range == old).values(range=new))


def downgrade() -> None:
    for old, new in RENAMED.items():
        op.execute(schedules.update().where(schedules.c.range == new).values(range=old))
