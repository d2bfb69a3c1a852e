"""product months: what each product sold per UTC month and owner

The overview's top products read whole months from here and only the partial
months at a range's edges from the line items (a year of a million items took
0.7 s on SQLite to group). Kept in step by webapp/orders/rollup.py; filled
here from the completed orders' items, in SQL, on both databases.

Revision ID: 0007
Revises: 0006
"""
import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

MONTH = {
    "postgresql": "CAST(date_trunc('month', o.created_at AT TIME ZONE 'UTC') AS date)",
    # SQLite keeps naive UTC text
    "sqlite": "date(o.created_at, 'start of month')",
}
CENTS = {
    "postgresql": "CAST(SUM(i.quantity * i.unit_price * 100) AS BIGINT)",
    "sqlite": "SUM(i.quantity * CAST(round(i.unit_price * 100) AS INTEGER))",
}


def upgrade():
    op.create_table(
        "product_months",
        sa.Column("owner_id", sa.Integer(), nullable=False),
        sa.Column("month", sa.Date(), nullable=False),
        sa.Column("product", sa.String(200), nullable=False),
        sa.Column("revenue_cents", sa.BigInteger(), nullable=False),
        sa.Column("units", sa.BigInteger(), nullable=False),
        sa.Column("orders", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["owner_id"], ["users.id"],
                                name=op.f("fk_product_months_owner_id_users"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("owner_id", "month", "product",
                                name=op.f("pk_product_months")),
    )
    dialect = op.get_bind().dialect.name
    month = MONTH.get(dialect, MONTH["postgresql"])
    op.execute(
        "INSERT INTO product_months (owner_id, month, product, revenue_cents, units, orders) "
        f"SELECT o.owner_id, {month}, i.product, {CENTS.get(dialect, CENTS['postgresql'])}, "
        "SUM(i.quantity), COUNT(DISTINCT o.id) "
        "FROM orders o JOIN order_items i ON i.order_id = o.id "
        "WHERE o.status = 'completed' "
        f"GROUP BY o.owner_id, {month}, i.product")


def downgrade():
    op.drop_table("product_months")
