"""business orders: customers as records, order numbers and dates, tax,
discounts and shipping

- customers: one record per customer of a workspace. Today's names become
  records: the spellings of one name that search alike ("ACME", "Acme",
  "acmé") are one customer, named as most of its orders spell it (the most
  recent spelling on a tie), and every order points at it and carries that
  name. No order is lost or changes id.
- orders get a number (prefix "SO-" and the workspace's sequence, in id
  order), an optional external_ref unique in the workspace, an order_date (the
  day it was made, in its maker's time zone, else the workspace's), notes, and
  shipping with its own tax rate; their totals gain net, tax and discount
  (today: net = gross = total, tax and discount 0).
- order items get a tax rate and a discount rate (0) and their stored
  amounts: net = gross = quantity × unit price, discount and tax 0.
- product_months is counted by order date and gains net cents.
- workspaces get the order prefix and sequence, prices_include_tax and the
  document's title.

Revision ID: 0013
Revises: 0012
"""
import datetime as dt
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None

AUTOINCREMENT = {"orders", "order_items", "customers"}
BATCH = 5000


def _sqlite_counters(conn) -> dict[str, int]:
    # a batch rebuild restarts SQLite's AUTOINCREMENT counter at the highest id
    # still present; ids deleted before the upgrade must never come back
    if conn.dialect.name != "sqlite":
        return {}
    return dict(conn.execute(sa.text("SELECT name, seq FROM sqlite_sequence")).all())


def _restore_counters(conn, counters: dict[str, int]) -> None:
    for table, seq in counters.items():
        done = conn.execute(sa.text("UPDATE sqlite_sequence SET seq = max(seq, :seq) "
                                    "WHERE name = :t"), {"seq": seq, "t": table}).rowcount
        if not done:
            conn.execute(sa.text("INSERT INTO sqlite_sequence (name, seq) VALUES (:t, :seq)"),
                         {"t": table, "seq": seq})


def _batch(table):
    kwargs = {"sqlite_autoincrement": True} if table in AUTOINCREMENT else {}
    return op.batch_alter_table(table, table_kwargs=kwargs)


def _money(name):
    return sa.Column(name, sa.Numeric(12, 2), nullable=False, server_default="0")


def _total(name):
    return sa.Column(name, sa.Numeric(16, 2), nullable=False, server_default="0")


def _rate(name):
    return sa.Column(name, sa.Numeric(6, 3), nullable=False, server_default="0")


def upgrade():
    conn = op.get_bind()
    counters = _sqlite_counters(conn)
    postgresql = conn.dialect.name == "postgresql"

    with _batch("workspaces") as batch:
        batch.add_column(sa.Column("order_prefix", sa.String(20), nullable=False,
                                   server_default="SO-"))
        batch.add_column(sa.Column("next_order_number", sa.Integer(), nullable=False,
                                   server_default="1"))
        batch.add_column(sa.Column("prices_include_tax", sa.Boolean(), nullable=False,
                                   server_default=sa.false()))
        batch.add_column(sa.Column("document_title", sa.String(40), nullable=False,
                                   server_default="Order confirmation"))

    customers = op.create_table(
        "customers",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("workspace_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("name_key", sa.Text(), nullable=False),
        sa.Column("email", sa.String(254), nullable=True),
        sa.Column("address", sa.Text(), nullable=True),
        sa.Column("postcode", sa.String(20), nullable=True),
        sa.Column("city", sa.String(100), nullable=True),
        sa.Column("country", sa.String(2), nullable=True),
        sa.Column("tax_id", sa.String(50), nullable=True),
        sa.Column("notes", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["workspace_id"], ["workspaces.id"],
                                name=op.f("fk_customers_workspace_id_workspaces"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_customers")),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_customers_workspace_id", "customers", ["workspace_id"])
    op.create_index("ix_customers_workspace_name_key", "customers", ["workspace_id", "name_key"])

    # --- items: rates and stored amounts -------------------------------------------
    with _batch("order_items") as batch:
        for name in ("tax_rate", "discount_rate"):
            batch.add_column(_rate(name))
        for name in ("discount", "net", "tax", "gross"):
            # a line is up to 10,000 × 1,000,000.00 (gross twice that at 100 % tax):
            # more than Numeric(12, 2) holds
            batch.add_column(_total(name))
    amount = "quantity * unit_price" if postgresql else "round(quantity * unit_price, 2)"
    conn.execute(sa.text(f"UPDATE order_items SET net = {amount}, gross = {amount}"))

    # --- orders: new columns, filled, then required ---------------------------------
    with _batch("orders") as batch:
        batch.add_column(sa.Column("customer_id", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("number", sa.String(40), nullable=True))
        batch.add_column(sa.Column("external_ref", sa.String(100), nullable=True))
        batch.add_column(sa.Column("order_date", sa.Date(), nullable=True))
        batch.add_column(sa.Column("notes", sa.Text(), nullable=True))
        batch.add_column(sa.Column("prices_include_tax", sa.Boolean(), nullable=False,
                                   server_default=sa.false()))
        batch.add_column(_money("shipping"))
        batch.add_column(_rate("shipping_tax_rate"))
        batch.add_column(_money("shipping_net"))
        batch.add_column(_money("shipping_tax"))
        for name in ("net_total", "tax_total", "discount_total"):
            batch.add_column(_total(name))
    conn.execute(sa.text("UPDATE orders SET net_total = total"))
    _fill_customers(conn, customers)
    _fill_numbers(conn, postgresql)
    _fill_dates(conn, postgresql)

    with _batch("orders") as batch:
        batch.alter_column("customer_id", existing_type=sa.Integer(), nullable=False)
        batch.alter_column("number", existing_type=sa.String(40), nullable=False)
        batch.alter_column("order_date", existing_type=sa.Date(), nullable=False)
        batch.create_foreign_key(op.f("fk_orders_customer_id_customers"), "customers",
                                 ["customer_id"], ["id"], ondelete="RESTRICT")
        batch.create_unique_constraint("uq_orders_workspace_number", ["workspace_id", "number"])
        batch.create_unique_constraint("uq_orders_workspace_external_ref",
                                       ["workspace_id", "external_ref"])
    op.create_index("ix_orders_customer_id", "orders", ["customer_id"])
    op.create_index("ix_orders_workspace_status_order_date", "orders",
                    ["workspace_id", "status", "order_date"])

    # --- the product rollup, now by order date, with net ----------------------------
    with _batch("product_months") as batch:
        batch.add_column(sa.Column("net_cents", sa.BigInteger(), nullable=False,
                                   server_default="0"))
    _rebuild_product_months(conn, postgresql)
    _restore_counters(conn, counters)


def _fill_customers(conn, customers) -> None:
    """One customer per workspace and search key, named by its most used
    spelling; orders point at it and carry that name."""
    spellings = conn.execute(sa.text(
        "SELECT workspace_id, customer_key, customer, count(*), max(id), min(created_at) "
        "FROM orders GROUP BY workspace_id, customer_key, customer")).all()
    best: dict[tuple[int, str], tuple] = {}
    first: dict[tuple[int, str], object] = {}
    for workspace_id, key, name, count, newest, created in spellings:
        group = (workspace_id, key)
        if group not in best or (count, newest) > best[group][1:]:
            best[group] = (name, count, newest)
        if group not in first or created < first[group]:
            first[group] = created
    sqlite = conn.dialect.name == "sqlite"
    now = _moment(dt.datetime.now(dt.UTC), sqlite)
    rows = [{"workspace_id": workspace_id, "name": name, "name_key": key,
             "created_at": _moment(first[(workspace_id, key)], sqlite), "updated_at": now}
            for (workspace_id, key), (name, _count, _newest) in sorted(best.items())]
    for start in range(0, len(rows), BATCH):
        conn.execute(customers.insert(), rows[start:start + BATCH])
    conn.execute(sa.text(
        "UPDATE orders SET customer_id = (SELECT c.id FROM customers c "
        "WHERE c.workspace_id = orders.workspace_id AND c.name_key = orders.customer_key)"))
    conn.execute(sa.text(
        "UPDATE orders SET customer = (SELECT c.name FROM customers c "
        "WHERE c.id = orders.customer_id) WHERE customer <> (SELECT c.name FROM customers c "
        "WHERE c.id = orders.customer_id)"))


def _moment(value, sqlite: bool) -> dt.datetime:
    """A time as the app's UTCDateTime keeps it: naive UTC on SQLite (whose
    driver hands back text), aware elsewhere."""
    if isinstance(value, str):
        value = dt.datetime.fromisoformat(value)
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)
    value = value.astimezone(dt.UTC)
    return value.replace(tzinfo=None) if sqlite else value


def _fill_numbers(conn, postgresql: bool) -> None:
    """SO-000001 … per workspace in id order (more than six digits grow)."""
    text = "CAST(n AS TEXT)"
    padded = (f"CASE WHEN n < 1000000 THEN lpad({text}, 6, '0') ELSE {text} END" if postgresql
              else f"CASE WHEN n < 1000000 THEN substr('000000' || {text}, -6) ELSE {text} END")
    conn.execute(sa.text(
        f"UPDATE orders SET number = 'SO-' || ({padded}) FROM (SELECT id AS oid, "
        "row_number() OVER (PARTITION BY workspace_id ORDER BY id) AS n FROM orders) AS seq "
        "WHERE seq.oid = orders.id"))
    conn.execute(sa.text(
        "UPDATE workspaces SET next_order_number = 1 + (SELECT count(*) FROM orders o "
        "WHERE o.workspace_id = workspaces.id)"))


def _fill_dates(conn, postgresql: bool) -> None:
    """The day each order was made, in its maker's zone (the workspace's if
    they are gone)."""
    zone_of = ("COALESCE((SELECT u.timezone FROM users u WHERE u.id = orders.created_by_id), "
               "(SELECT w.default_timezone FROM workspaces w WHERE w.id = orders.workspace_id), "
               "'UTC')")
    zones = [z for (z,) in conn.execute(sa.text(f"SELECT DISTINCT {zone_of} FROM orders"))]
    if postgresql and all(_pg_knows(conn, z) for z in zones):
        conn.execute(sa.text(
            f"UPDATE orders SET order_date = CAST(timezone({zone_of}, created_at) AS date)"))
        return
    # SQLite has no time zones: Python converts, in batches
    rows = conn.execute(sa.text(f"SELECT id, created_at, {zone_of} FROM orders")).all()
    cache: dict[str, ZoneInfo] = {}
    updates = []
    for order_id, created, zone in rows:
        if isinstance(created, str):
            created = dt.datetime.fromisoformat(created)
        if created.tzinfo is None:
            created = created.replace(tzinfo=dt.UTC)
        try:
            tz = cache.get(zone) or cache.setdefault(zone, ZoneInfo(zone))
        except Exception:  # a zone this machine does not know: UTC
            tz = dt.UTC
        updates.append({"d": created.astimezone(tz).date(), "i": order_id})
    stmt = sa.text("UPDATE orders SET order_date = :d WHERE id = :i").bindparams(
        sa.bindparam("d", type_=sa.Date()))
    for start in range(0, len(updates), BATCH):
        conn.execute(stmt, updates[start:start + BATCH])


def _pg_knows(conn, zone: str) -> bool:
    return bool(conn.scalar(sa.text("SELECT count(*) FROM pg_timezone_names WHERE name = :z"),
                            {"z": zone}))


def _rebuild_product_months(conn, postgresql: bool) -> None:
    if postgresql:
        month = "CAST(date_trunc('month', o.order_date) AS date)"
        gross, net = "CAST(SUM(i.gross * 100) AS BIGINT)", "CAST(SUM(i.net * 100) AS BIGINT)"
    else:
        month = "date(o.order_date, 'start of month')"
        gross = "SUM(CAST(round(i.gross * 100) AS INTEGER))"
        net = "SUM(CAST(round(i.net * 100) AS INTEGER))"
    conn.execute(sa.text("DELETE FROM product_months"))
    conn.execute(sa.text(
        "INSERT INTO product_months (workspace_id, month, product, revenue_cents, net_cents, "
        f"units, orders) SELECT o.workspace_id, {month}, i.product, {gross}, {net}, "
        "SUM(i.quantity), COUNT(DISTINCT o.id) FROM orders o JOIN order_items i "
        "ON i.order_id = o.id WHERE o.status = 'completed' "
        f"GROUP BY o.workspace_id, {month}, i.product"))


def downgrade():
    """Back to free-text customers: names stay on the orders (they always
    carried them); numbers, dates, rates and amounts go. Orders with tax,
    discounts or shipping get the old schema's total back: the sum of
    quantity × unit price."""
    conn = op.get_bind()
    counters = _sqlite_counters(conn)
    postgresql = conn.dialect.name == "postgresql"
    conn.execute(sa.text(
        "UPDATE orders SET total = COALESCE((SELECT SUM(i.quantity * i.unit_price) FROM "
        "order_items i WHERE i.order_id = orders.id), 0)"))
    op.drop_index("ix_orders_workspace_status_order_date", table_name="orders")
    op.drop_index("ix_orders_customer_id", table_name="orders")
    with _batch("orders") as batch:
        batch.drop_constraint("uq_orders_workspace_external_ref", type_="unique")
        batch.drop_constraint("uq_orders_workspace_number", type_="unique")
        batch.drop_constraint(op.f("fk_orders_customer_id_customers"), type_="foreignkey")
        for name in ("customer_id", "number", "external_ref", "order_date", "notes",
                     "prices_include_tax", "shipping", "shipping_tax_rate", "shipping_net",
                     "shipping_tax", "net_total", "tax_total", "discount_total"):
            batch.drop_column(name)
    with _batch("order_items") as batch:
        for name in ("tax_rate", "discount_rate", "discount", "net", "tax", "gross"):
            batch.drop_column(name)
    op.drop_index("ix_customers_workspace_name_key", table_name="customers")
    op.drop_index("ix_customers_workspace_id", table_name="customers")
    op.drop_table("customers")
    with _batch("workspaces") as batch:
        for name in ("order_prefix", "next_order_number", "prices_include_tax",
                     "document_title"):
            batch.drop_column(name)
    with _batch("product_months") as batch:
        batch.drop_column("net_cents")
    # the rollup by the orders' UTC months again, as 0007 made it
    month = ("CAST(date_trunc('month', o.created_at AT TIME ZONE 'UTC') AS date)" if postgresql
             else "date(o.created_at, 'start of month')")
    cents = ("CAST(SUM(i.quantity * i.unit_price * 100) AS BIGINT)" if postgresql
             else "SUM(i.quantity * CAST(round(i.unit_price * 100) AS INTEGER))")
    conn.execute(sa.text("DELETE FROM product_months"))
    conn.execute(sa.text(
        "INSERT INTO product_months (workspace_id, month, product, revenue_cents, units, orders) "
        f"SELECT o.workspace_id, {month}, i.product, {cents}, SUM(i.quantity), "
        "COUNT(DISTINCT o.id) FROM orders o JOIN order_items i ON i.order_id = o.id "
        f"WHERE o.status = 'completed' GROUP BY o.workspace_id, {month}, i.product"))
    _restore_counters(conn, counters)

