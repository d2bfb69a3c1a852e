"""search keys fold German transliterations: "Mueller" finds "Müller" and back

search_key (webapp/orders/validation.py) now folds "ae", "oe", "ue" into "a",
"o", "u" where they may stand for an umlaut, so "Mueller", "Müller" and
"Muller" key alike. orders.customer_key and customers.name_key are
recomputed from the names, in Python (the key is Python's), a batch of rows
at a time in id order (a million orders never sit in memory), writing only
the rows whose key changes.

Customers are not merged: a workspace holding "Mueller GmbH" and "Müller
GmbH" keeps both records (they may be two companies), now with one key;
name_key has no unique constraint, so nothing can fail on it. Both are found
by either spelling; a free-text name that keys as both (the API's `customer`
string, a report's customer filter) goes to the older one, as "ACME" and
"Acme" always did.

The downgrade recomputes the keys by the rule before this one (frozen here,
so it stays that rule whatever search_key becomes), so 0013's code finds
what it found before.

Revision ID: 0014
Revises: 0013
"""
import re
import unicodedata

import sqlalchemy as sa
from alembic import op

from webapp.orders.validation import search_key

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None

BATCH = 5000

TABLES = (
    sa.table("orders", sa.column("id", sa.Integer), sa.column("customer", sa.String),
             sa.column("customer_key", sa.Text)),
    sa.table("customers", sa.column("id", sa.Integer), sa.column("name", sa.String),
             sa.column("name_key", sa.Text)),
)

# search_key as 0005-0013 knew it: accents, case, strokes and spaces folded
_ACCENTS = re.compile("[\u0300-\u036f\u1ab0-\u1aff\u1dc0-\u1dff\u20d0-\u20ff\ufe20-\ufe2f]")
_STROKES = str.maketrans({"ø": "o", "ł": "l", "đ": "d", "ħ": "h", "ŧ": "t"})


def _key_0013(text):
    if not text:
        return ""
    folded = unicodedata.normalize("NFKD", unicodedata.normalize("NFKD", text).casefold())
    folded = unicodedata.normalize("NFC", _ACCENTS.sub("", folded)).translate(_STROKES)
    return " ".join(folded.split())


def _rekey(conn, table, key_of) -> None:
    """Each row's key recomputed from its name, BATCH rows at a time by id."""
    row_id, name, key = table.columns
    update = (table.update().where(row_id == sa.bindparam("row_id"))
              .values({key.name: sa.bindparam("new_key")}))
    last = 0
    while True:
        rows = conn.execute(sa.select(row_id, name, key).where(row_id > last)
                            .order_by(row_id).limit(BATCH)).all()
        if not rows:
            return
        changed = [{"row_id": i, "new_key": new} for i, text, old in rows
                   if (new := key_of(text)) != old]
        if changed:
            conn.execute(update, changed)
        last = rows[-1][0]


def upgrade():
    conn = op.get_bind()
    for table in TABLES:
        _rekey(conn, table, search_key)


def downgrade():
    conn = op.get_bind()
    for table in TABLES:
        _rekey(conn, table, _key_0013)
