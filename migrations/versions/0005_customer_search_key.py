"""customer search key: case- and accent-insensitive search on every database

orders.customer_key holds search_key(customer) (webapp/orders/validation.py:
NFKD, casefolded, accents removed, whitespace folded), so "cafe", "CAFÉ" and
"Café" find "Café Lumière" on SQLite too, whose LIKE folds ASCII letters only,
and on PostgreSQL, whose ILIKE keeps accents. The key is Python's, so existing
rows are filled here in Python, in batches, on both databases.

The index: a trigram GIN index on PostgreSQL (the search is "contains", which a
B-tree cannot serve; pg_trgm ships with PostgreSQL and is a trusted extension,
so the database owner may create it), a plain index on SQLite.

Revision ID: 0005
Revises: 0004
"""
import sqlalchemy as sa
from alembic import op

from webapp.orders.validation import search_key

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

BATCH = 1000

orders = sa.table("orders", sa.column("id", sa.Integer), sa.column("customer", sa.String),
                  sa.column("customer_key", sa.Text))


def _fill_keys(conn) -> None:
    last = 0
    update = (orders.update().where(orders.c.id == sa.bindparam("row_id"))
              .values(customer_key=sa.bindparam("key")))
    while True:
        rows = conn.execute(sa.select(orders.c.id, orders.c.customer)
                            .where(orders.c.id > last).order_by(orders.c.id)
                            .limit(BATCH)).all()
        if not rows:
            return
        conn.execute(update, [{"row_id": row.id, "key": search_key(row.customer)}
                              for row in rows])
        last = rows[-1].id


def upgrade():
    conn = op.get_bind()
    op.add_column("orders", sa.Column("customer_key", sa.Text(), nullable=True))
    _fill_keys(conn)
    # SQLite rebuilds the table for NOT NULL (foreign keys are off while
    # migrating, see env.py); AUTOINCREMENT (0004) has to be asked for again.
    with op.batch_alter_table("orders", table_kwargs={"sqlite_autoincrement": True}) as batch_op:
        batch_op.alter_column("customer_key", existing_type=sa.Text(), nullable=False)
    if conn.dialect.name == "postgresql":
        op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    op.create_index("ix_orders_customer_key", "orders", ["customer_key"],
                    postgresql_using="gin", postgresql_ops={"customer_key": "gin_trgm_ops"})


def downgrade():
    # pg_trgm stays: other objects may use it by now.
    op.drop_index("ix_orders_customer_key", table_name="orders")
    with op.batch_alter_table("orders", table_kwargs={"sqlite_autoincrement": True}) as batch_op:
        batch_op.drop_column("customer_key")
