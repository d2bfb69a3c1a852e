"""The audit trail is append-only: no code path changes or removes an entry,
and a change that rolls back leaves none."""
from __future__ import annotations

import re
from decimal import Decimal
from pathlib import Path

import pytest
import sqlalchemy as sa

from webapp.errors import Forbidden
from webapp.extensions import db
from webapp.models import AuditEntry, Customer
from webapp.orders.services import ItemInput, create_order

ROOT = Path(__file__).resolve().parents[2]
WRITES = re.compile(r"(sa\.)?(update|delete)\(\s*(AuditEntry|audit_entries)|"
                    r"(UPDATE|DELETE FROM)\s+audit_entries|session\.delete\(\s*\w*entr",
                    re.IGNORECASE)


def test_no_code_updates_or_deletes_an_entry():
    found = [f"{path.relative_to(ROOT)}:{n}" for package in ("webapp", "tasks")
             for path in (ROOT / package).rglob("*.py")
             for n, line in enumerate(path.read_text().splitlines(), 1) if WRITES.search(line)]
    assert found == []


def test_the_only_writer_inserts():
    source = (ROOT / "webapp" / "audit.py").read_text()
    assert "sa.insert(AuditEntry.__table__)" in source and "db.session.add(" in source
    assert not re.search(r"\.(update|delete)\(", source)


def test_an_action_records_its_entry_and_a_refused_one_none(app, user):
    from tests.conftest import make_user
    from webapp.auth.current import as_actor
    from webapp.enums import Role
    from webapp.models import Membership

    order = create_order(user, "ACME", [ItemInput("Tea", 1, Decimal("1.00"))])
    entries = db.session.scalars(sa.select(AuditEntry).order_by(AuditEntry.id)).all()
    # a new name makes its customer record first, each action its own entry
    assert [(e.action, e.target, e.actor) for e in entries] == [
        ("customer.created", f"customer {order.customer_id}", user.email),
        ("order.created", f"order {order.id}", user.email)]
    viewer = make_user("viewer@example.com")
    db.session.add(Membership(workspace_id=order.workspace_id, user_id=viewer.id,
                              role=Role.VIEWER))
    db.session.commit()
    here = as_actor(viewer).at(order.workspace_id)
    with pytest.raises(Forbidden, match="Viewers cannot create orders."):
        create_order(here, "Nope", [ItemInput("Tea", 1, Decimal("1.00"))])
    assert db.session.scalar(sa.select(sa.func.count()).select_from(AuditEntry)) == 2
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Customer)) == 1  # no "Nope"
