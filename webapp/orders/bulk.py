"""Rows for bulk loads that bypass the ORM (demo and bench data, test
seeds, and imports): what the services would have filled in, for many orders
at once. An order row needs workspace_id and customer (a name); this adds its
customer record (found by the name's search key, or made), its number (a
block of the workspace's sequence, taken under the workspace row's lock in
the caller's transaction), its customer_key, an order_date from
created_at (its UTC day) if it has none, and a net_total equal to its total
(no tax) if it has none. Items need no help: their net and
gross default to quantity × unit price (no tax, no discount)."""
from __future__ import annotations

import datetime as dt
from collections import defaultdict

import sqlalchemy as sa

from ..models import Customer, Workspace, utcnow
from .validation import search_key


def order_rows(conn, rows: list[dict]) -> list[dict]:
    """`rows` completed as above (new dicts; the input is left as it is)."""
    out = [dict(row) for row in rows]
    by_workspace: dict[int, list[dict]] = defaultdict(list)
    for row in out:
        by_workspace[row["workspace_id"]].append(row)
    for workspace_id, group in by_workspace.items():
        ids = _customer_ids(conn, workspace_id, [row["customer"] for row in group])
        first, prefix = take_numbers(conn, workspace_id, len(group))
        for n, row in enumerate(group):
            key = search_key(row["customer"])
            row["customer_id"], row["customer"] = ids[key]
            row["customer_key"] = key
            row.setdefault("number", f"{prefix}{first + n:06d}")
            # no tax on such rows (their items default to net = gross)
            row.setdefault("net_total", row.get("total", 0))
            if row.get("order_date") is None:
                created = row.get("created_at") or utcnow()
                row["order_date"] = (created.astimezone(dt.UTC) if created.tzinfo
                                     else created).date()
    return out


def _customer_ids(conn, workspace_id: int, names: list[str]) -> dict[str, tuple[int, str]]:
    """search key -> (customer id, the record's name), making the missing ones."""
    wanted: dict[str, str] = {}
    for name in names:
        wanted.setdefault(search_key(name), name)
    table = Customer.__table__
    found: dict[str, tuple[int, str]] = {}
    keys = sorted(wanted)
    for start in range(0, len(keys), 500):
        chunk = keys[start:start + 500]
        for cid, name, key in conn.execute(
                sa.select(table.c.id, table.c.name, table.c.name_key)
                .where(table.c.workspace_id == workspace_id, table.c.name_key.in_(chunk))
                .order_by(table.c.id.desc())):
            found[key] = (cid, name)  # the oldest wins: read last
    missing = [key for key in keys if key not in found]
    if missing:
        now = utcnow()
        conn.execute(sa.insert(table), [
            {"workspace_id": workspace_id, "name": wanted[key], "name_key": key,
             "created_at": now, "updated_at": now} for key in missing])
        for start in range(0, len(missing), 500):
            chunk = missing[start:start + 500]
            for cid, name, key in conn.execute(
                    sa.select(table.c.id, table.c.name, table.c.name_key)
                    .where(table.c.workspace_id == workspace_id, table.c.name_key.in_(chunk))):
                found.setdefault(key, (cid, name))
    return found


def take_numbers(conn, workspace_id: int, count: int) -> tuple[int, str]:
    """The first of `count` numbers taken from the sequence, and the prefix."""
    prefix, after = conn.execute(
        sa.update(Workspace.__table__).where(Workspace.__table__.c.id == workspace_id)
        .values(next_order_number=Workspace.__table__.c.next_order_number + count)
        .returning(Workspace.__table__.c.order_prefix,
                   Workspace.__table__.c.next_order_number)).one()
    return after - count, prefix
