"""workspaces: orders, reports, schedules, deliveries, notices and API tokens
belong to a workspace, and people are its members with a role

Every existing user gets a workspace of their own with the user's id as its
id, and becomes its owner; each table's owner_id (a user) becomes
workspace_id (that same number, now a workspace), so no row and no id
changes. created_by_id keeps who made an order, report or schedule. The old
global admin flag becomes site_admin, which opens no one's data.

Revision ID: 0012
Revises: 0011
"""
import datetime as dt

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

# tables whose owner_id becomes workspace_id, with the indexes on it
OWNED = {
    "orders": {"ix_orders_owner_id": ("ix_orders_workspace_id", ["workspace_id"]),
               "ix_orders_owner_status_created_at": (
                   "ix_orders_workspace_status_created_at",
                   ["workspace_id", "status", "created_at"])},
    "report_jobs": {"ix_report_jobs_owner_id": ("ix_report_jobs_workspace_id",
                                                ["workspace_id"])},
    "schedules": {"ix_schedules_owner_id": ("ix_schedules_workspace_id", ["workspace_id"])},
    "product_months": {},
    "sender_blocks": {},
    "mail_sends": {"ix_mail_sends_owner_id_at": ("ix_mail_sends_workspace_id_at",
                                                 ["workspace_id", "at"])},
}
MADE_BY = ("orders", "report_jobs", "schedules")
# SQLite rebuilds a table in a batch: these keep AUTOINCREMENT (ids never reused)
AUTOINCREMENT = {"orders", "report_jobs", "schedules", "mail_sends", "api_tokens", "notices",
                 "users"}


def _sqlite_counters(conn) -> dict[str, int]:
    """SQLite's highest-id-ever per AUTOINCREMENT table: a batch rebuild would
    restart it at the highest id still present, handing out the ids of rows
    deleted before the upgrade again."""
    if conn.dialect.name != "sqlite":
        return {}
    return dict(conn.execute(sa.text("SELECT name, seq FROM sqlite_sequence")).all())


def _restore_counters(conn, counters: dict[str, int]) -> None:
    for table, seq in counters.items():
        if table not in AUTOINCREMENT:
            continue
        done = conn.execute(sa.text("UPDATE sqlite_sequence SET seq = max(seq, :seq) "
                                    "WHERE name = :t"), {"seq": seq, "t": table}).rowcount
        if not done:
            conn.execute(sa.text("INSERT INTO sqlite_sequence (name, seq) VALUES (:t, :seq)"),
                         {"t": table, "seq": seq})


def _batch(table):
    kwargs = {"sqlite_autoincrement": True} if table in AUTOINCREMENT else {}
    return op.batch_alter_table(table, table_kwargs=kwargs)


def _time(name, nullable=True):
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def _fk(table, column, target, ondelete):
    return sa.ForeignKeyConstraint([column], [f"{target}.id"],
                                   name=op.f(f"fk_{table}_{column}_{target}"), ondelete=ondelete)


def _workspace_name(email: str) -> str:
    return f"{email.split('@')[0][:80]}’s workspace"


def upgrade():
    workspaces = op.create_table(
        "workspaces",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("currency", sa.String(3), nullable=False, server_default="USD"),
        sa.Column("default_timezone", sa.String(64), nullable=False, server_default="UTC"),
        sa.Column("legal_name", sa.String(200), nullable=True),
        sa.Column("address", sa.Text(), nullable=True),
        sa.Column("tax_id", sa.String(50), nullable=True),
        sa.Column("logo", sa.LargeBinary(), nullable=True),
        sa.Column("logo_type", sa.String(20), nullable=True),
        sa.Column("require_two_factor", sa.Boolean(), nullable=False,
                  server_default=sa.false()),
        _time("created_at", False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_workspaces")),
        sqlite_autoincrement=True,
    )
    memberships = op.create_table(
        "memberships",
        sa.Column("workspace_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("role", sa.String(20), nullable=False),
        _time("created_at", False),
        _fk("memberships", "workspace_id", "workspaces", "CASCADE"),
        _fk("memberships", "user_id", "users", "CASCADE"),
        sa.PrimaryKeyConstraint("workspace_id", "user_id", name=op.f("pk_memberships")),
    )
    op.create_index("ix_memberships_user_id", "memberships", ["user_id"])
    op.create_table(
        "invitations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("workspace_id", sa.Integer(), nullable=False),
        sa.Column("email", sa.String(254), nullable=False),
        sa.Column("role", sa.String(20), nullable=False),
        sa.Column("nonce", sa.String(32), nullable=False),
        sa.Column("invited_by_id", sa.Integer(), nullable=True),
        _time("created_at", False),
        _time("sent_at", False),
        _time("expires_at", False),
        _time("accepted_at"),
        sa.Column("accepted_by_id", sa.Integer(), nullable=True),
        _time("revoked_at"),
        _fk("invitations", "workspace_id", "workspaces", "CASCADE"),
        _fk("invitations", "invited_by_id", "users", "SET NULL"),
        _fk("invitations", "accepted_by_id", "users", "SET NULL"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_invitations")),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_invitations_workspace_id", "invitations", ["workspace_id"])
    op.create_table(
        "audit_entries",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("workspace_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("actor", sa.String(254), nullable=False),
        sa.Column("action", sa.String(40), nullable=False),
        sa.Column("target", sa.String(60), nullable=True),
        sa.Column("detail", sa.Text(), nullable=True),
        sa.Column("via", sa.String(10), nullable=False),
        _time("at", False),
        _fk("audit_entries", "workspace_id", "workspaces", "CASCADE"),
        _fk("audit_entries", "user_id", "users", "SET NULL"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_entries")),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_audit_entries_workspace_id_at", "audit_entries",
                    ["workspace_id", "at"])

    # a workspace per user, numbered as the user
    conn = op.get_bind()
    counters = _sqlite_counters(conn)
    now = dt.datetime.now(dt.UTC)
    people = conn.execute(sa.text("SELECT id, email, timezone FROM users ORDER BY id")).all()
    if people:
        conn.execute(workspaces.insert(), [
            {"id": p.id, "name": _workspace_name(p.email), "currency": "USD",
             "default_timezone": p.timezone or "UTC", "require_two_factor": False,
             "created_at": now} for p in people])
        conn.execute(memberships.insert(), [
            {"workspace_id": p.id, "user_id": p.id, "role": "owner", "created_at": now}
            for p in people])
    if conn.dialect.name == "postgresql":
        conn.execute(sa.text(
            "SELECT setval(pg_get_serial_sequence('workspaces', 'id'), "
            "COALESCE((SELECT max(id) FROM workspaces), 0) + 1, false)"))

    with _batch("users") as batch:
        batch.alter_column("is_admin", new_column_name="site_admin",
                           existing_type=sa.Boolean(), existing_nullable=False)

    for table, indexes in OWNED.items():
        for old in indexes:
            op.drop_index(old, table_name=table)
        with _batch(table) as batch:
            batch.drop_constraint(f"fk_{table}_owner_id_users", type_="foreignkey")
            batch.alter_column("owner_id", new_column_name="workspace_id",
                               existing_type=sa.Integer(), existing_nullable=False)
            if table in MADE_BY:
                batch.add_column(sa.Column("created_by_id", sa.Integer(), nullable=True))
        if table in MADE_BY:
            conn.execute(sa.text(f"UPDATE {table} SET created_by_id = workspace_id"))
        with _batch(table) as batch:
            batch.create_foreign_key(op.f(f"fk_{table}_workspace_id_workspaces"), "workspaces",
                                     ["workspace_id"], ["id"], ondelete="CASCADE")
            if table in MADE_BY:
                batch.create_foreign_key(op.f(f"fk_{table}_created_by_id_users"), "users",
                                         ["created_by_id"], ["id"], ondelete="SET NULL")
        for new, columns in indexes.values():
            op.create_index(new, table, columns)

    # API tokens open their person's own workspace, with every right, as before
    with _batch("api_tokens") as batch:
        batch.add_column(sa.Column("workspace_id", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("scope", sa.String(5), nullable=False,
                                   server_default="write"))
    conn.execute(sa.text("UPDATE api_tokens SET workspace_id = user_id"))
    with _batch("api_tokens") as batch:
        batch.alter_column("workspace_id", existing_type=sa.Integer(), nullable=False)
        batch.create_foreign_key(op.f("fk_api_tokens_workspace_id_workspaces"), "workspaces",
                                 ["workspace_id"], ["id"], ondelete="CASCADE")
    op.create_index("ix_api_tokens_workspace_id", "api_tokens", ["workspace_id"])

    with _batch("notices") as batch:
        batch.add_column(sa.Column("workspace_id", sa.Integer(), nullable=True))
    conn.execute(sa.text("UPDATE notices SET workspace_id = user_id"))
    with _batch("notices") as batch:
        batch.alter_column("workspace_id", existing_type=sa.Integer(), nullable=False)
        batch.create_foreign_key(op.f("fk_notices_workspace_id_workspaces"), "workspaces",
                                 ["workspace_id"], ["id"], ondelete="CASCADE")
    _restore_counters(conn, counters)


def downgrade():
    """Each workspace's rows go back to its first owner; memberships,
    invitations and the audit trail are dropped."""
    conn = op.get_bind()
    counters = _sqlite_counters(conn)
    first_owner = ("(SELECT m.user_id FROM memberships m WHERE m.workspace_id = {t}.workspace_id"
                   " AND m.role = 'owner' ORDER BY m.created_at, m.user_id LIMIT 1)")
    with _batch("notices") as batch:
        batch.drop_constraint("fk_notices_workspace_id_workspaces", type_="foreignkey")
        batch.drop_column("workspace_id")
    op.drop_index("ix_api_tokens_workspace_id", table_name="api_tokens")
    with _batch("api_tokens") as batch:
        batch.drop_constraint("fk_api_tokens_workspace_id_workspaces", type_="foreignkey")
        batch.drop_column("scope")
        batch.drop_column("workspace_id")
    for table, indexes in OWNED.items():
        for new, _columns in indexes.values():
            op.drop_index(new, table_name=table)
        with _batch(table) as batch:
            batch.drop_constraint(f"fk_{table}_workspace_id_workspaces", type_="foreignkey")
            if table in MADE_BY:
                batch.drop_constraint(f"fk_{table}_created_by_id_users", type_="foreignkey")
                batch.drop_column("created_by_id")
        conn.execute(sa.text(f"UPDATE {table} SET workspace_id = "
                             f"{first_owner.format(t=table)}"))
        with _batch(table) as batch:
            batch.alter_column("workspace_id", new_column_name="owner_id",
                               existing_type=sa.Integer(), existing_nullable=False)
        with _batch(table) as batch:
            batch.create_foreign_key(f"fk_{table}_owner_id_users", "users", ["owner_id"], ["id"],
                                     ondelete="CASCADE")
        for old, (_new, columns) in indexes.items():
            op.create_index(old, table, ["owner_id", *columns[1:]])
    with _batch("users") as batch:
        batch.alter_column("site_admin", new_column_name="is_admin",
                           existing_type=sa.Boolean(), existing_nullable=False)
    for table in ("audit_entries", "invitations", "memberships", "workspaces"):
        op.drop_table(table)
    _restore_counters(conn, counters)
