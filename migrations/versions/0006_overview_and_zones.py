"""overview and time zones: orders.units, each user's zone and CSV style

orders.units (the sum of the items' quantities) joins item_count and total, so
the overview's numbers (orders, line items, units, revenue, per period and per
customer) are sums over orders alone; only the top products read the items.
An index on (owner_id, status, created_at) serves "this user's completed
orders in this range", the filter of every summary and of the dashboard.

users.timezone: an IANA name, 'UTC' until the user picks one. users.csv_excel
and users.csv_decimal_comma: the user's "CSV for Excel" choices.

Revision ID: 0006
Revises: 0005
"""
import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade():
    op.add_column("orders", sa.Column("units", sa.Integer(), nullable=False,
                                      server_default="0"))
    op.execute("UPDATE orders SET units = COALESCE((SELECT SUM(quantity) FROM order_items "
               "WHERE order_items.order_id = orders.id), 0)")
    op.create_index("ix_orders_owner_status_created_at", "orders",
                    ["owner_id", "status", "created_at"])
    op.add_column("users", sa.Column("timezone", sa.String(64), nullable=False,
                                     server_default="UTC"))
    op.add_column("users", sa.Column("csv_excel", sa.Boolean(), nullable=False,
                                     server_default=sa.false()))
    op.add_column("users", sa.Column("csv_decimal_comma", sa.Boolean(), nullable=False,
                                     server_default=sa.false()))


def downgrade():
    # SQLite drops columns by rebuilding the table; AUTOINCREMENT (0004) is kept
    with op.batch_alter_table("users", table_kwargs={"sqlite_autoincrement": True}) as batch_op:
        batch_op.drop_column("csv_decimal_comma")
        batch_op.drop_column("csv_excel")
        batch_op.drop_column("timezone")
    op.drop_index("ix_orders_owner_status_created_at", table_name="orders")
    with op.batch_alter_table("orders", table_kwargs={"sqlite_autoincrement": True}) as batch_op:
        batch_op.drop_column("units")
