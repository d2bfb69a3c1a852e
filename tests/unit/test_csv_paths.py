"""The two CSV paths: PostgreSQL's COPY (cells formatted in SQL) and the Python
writer over streamed rows must give byte-identical files (the CSV's every cell
is specified in tasks/generators/csv_report.py's docstring)."""
from __future__ import annotations

import csv
import datetime as dt
import io
import itertools
from decimal import Decimal
from pathlib import Path

import pytest
import sqlalchemy as sa
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy.dialects.postgresql import ARRAY

from tasks.generators import PROGRESS_EVERY, ReportMeta
from tasks.generators.csv_report import HEADER, neutralise, text_cell, write_csv
from tasks.pg_copy import _text_cell, copy_csv
from tasks.reports import run_job
from tasks.rows import SHIPPING, count_rows, stream_rows
from tests.conftest import _empty_tables, make_user
from webapp.auth.current import as_actor
from webapp.extensions import db
from webapp.models import (
    Customer,
    Order,
    OrderItem,
    OrderStatus,
    ReportFormat,
    ReportJob,
    ReportKind,
)
from webapp.orders.bulk import take_numbers
from webapp.reports import services
from webapp.reports.params import ReportParams

# the CSV's columns by name (the header is csv_report.HEADER)
COL = {name: n for n, name in enumerate(HEADER)}

TRICKY = ["Plain", "Café crème, \"quoted\"", "=HYPERLINK(\"x\")", "+1", "-2+3", "@SUM(A1)",
          "\tTab first", "mid\ttab", "Z;=2*21;", "日本茶 Ελληνικά Ürün", "a,b", "'already",
          "x" * 200, "P,=3*14,", "a;b", "Tea; \u200b@x"]
# Formula starts the guard must also catch: fullwidth = + - @, and = + - @ behind
# leading spaces, tabs or invisible characters (no CR or LF here: a line break
# in a cell makes COPY fall back, see the tests below)
FORMULA_PREFIXED = ["\uff1d1+1", "\uff0b1", "\uff0d1", "\uff20SUM(A1)", "\u200b=1+1",
                    "\u200c+1", "\u200d-1", "\u2060@x", "\ufeff=HYPERLINK(\"x\")", " =1+1",
                    "  @x", " \t=x", "\u200b\ufeff \u2060\uff1dx", "\t\u200b\uff0b1",
                    "\u200b\u200c\u200d\u2060\ufeff -", "a;=1", "b,\uff0b1", "c\t\u200b@x"]
LOOK_ALIKES = ["Tea", "a=b", "5-3", "\u200bTea", " Tea", "a\uff1db", "\u2060 \u200b", "\u00a0=x",
               "\u2212x", "x\u200b=1"]


@pytest.fixture
def pg_app(pg_app_session):
    _empty_tables(pg_app_session)
    with pg_app_session.app_context():
        yield pg_app_session
        db.session.remove()


def _order(owner, customer: str, day: dt.date, items, *, number: str | None = None,
           shipping: str = "0", shipping_tax_rate: str = "0",
           status: OrderStatus = OrderStatus.COMPLETED) -> Order:
    """An order as the services store it (a customer record, a number of the
    workspace's sequence, the amounts by the money rules), but behind
    validation's back: the record is made here, one per order, so a name
    stays exactly as given (validation would fold line breaks and control
    characters away, and name matching would merge look-alikes).

    items: (product, quantity, unit price[, tax rate[, discount rate]])."""
    workspace_id = as_actor(owner).workspace_id
    first, prefix = take_numbers(db.session.connection(), workspace_id, 1)
    order = Order(workspace_id=workspace_id, status=status, customer=customer,
                  customer_record=Customer(workspace_id=workspace_id, name=customer),
                  number=number if number is not None else f"{prefix}{first:06d}",
                  order_date=day, shipping=Decimal(shipping),
                  shipping_tax_rate=Decimal(shipping_tax_rate))
    order.items = [OrderItem(product=product, quantity=qty, unit_price=Decimal(price),
                             tax_rate=Decimal(tax), discount_rate=Decimal(discount))
                   for product, qty, price, tax, discount
                   in ((*item, "0", "0")[:5] for item in items)]
    order.recompute_totals()
    db.session.add(order)
    return order


def _seed(owner, names, day: dt.date) -> None:
    """An order per name, its three items: another name, a big amount, its own
    name; with tax and discount rates of every shape, and shipping on every
    other order (the extra row both paths write after the items)."""
    for n, name in enumerate(names):
        _order(owner, name, day, ((names[-n - 1], 1, "0.01", "19"),
                                  ("Plain", 10000, "999999.99"),
                                  (name, 3, "4.20", ("7", "5.5", "8.125", "100")[n % 4],
                                   ("0", "12.5", "100", "3")[n % 4])),
               shipping="4.90" if n % 2 else "0", shipping_tax_rate="19")
    db.session.commit()


def _shipped(names) -> int:
    """How many of _seed's orders charge shipping."""
    return len(names) // 2


def _summary_job(owner, day):
    job, _ = services.request_summary_report(owner, day, day, None, ReportFormat.CSV)
    return job


def test_copy_and_python_writer_give_byte_identical_files(pg_app, sent, tmp_path):
    owner = make_user("copy@example.com")
    day = dt.date(2026, 11, 28)
    _seed(owner, TRICKY, day)
    # a number is a text cell too (a workspace's prefix is the owner's own text)
    _order(owner, "Numbered", day, [("Tea", 2, "1.50", "19")], number="=SO;-1")
    db.session.commit()
    job = _summary_job(owner, day)
    total = count_rows(db.engine, job)
    assert total == 3 * len(TRICKY) + _shipped(TRICKY) + 1
    copied, written = tmp_path / "copy.csv", tmp_path / "python.csv"
    seen = []
    meta = ReportMeta(kind=ReportKind.SUMMARY, title="t")
    assert copy_csv(db.engine, job, meta, copied, total, seen.append) == total
    assert write_csv(stream_rows(db.engine, job), meta, written) == total
    assert copied.read_bytes() == written.read_bytes()
    assert seen[-1] == total
    text = copied.read_bytes().decode("utf-8")
    assert text.startswith(",".join(HEADER) + "\r\n")
    assert "'=HYPERLINK" in text and "\r\n" in text and "9999999900.00" in text
    assert ',"Z;\'=2*21;",' in text and ',"P,\'=3*14,",' in text
    assert ',"\'=SO;\'-1",2026-11-28,Numbered,' in text
    records = list(csv.reader(io.StringIO(text, newline="")))[1:]
    assert {r[COL["order_date"]] for r in records} == {"2026-11-28"}  # a date: no zone
    assert {r[COL["currency"]] for r in records} == {"USD"}
    # percentages without trailing zeros, money with two decimals, as the spec says
    assert {r[COL["tax_percent"]] for r in records} == {"0", "7", "5.5", "8.125", "100", "19"}
    assert {r[COL["discount_percent"]] for r in records} == {"0", "12.5", "100", "3"}
    big = [r for r in records if r[COL["quantity"]] == "10000"]
    assert len(big) == len(TRICKY) and {r[COL["product"]] for r in big} == {"Plain"}
    assert {tuple(r[COL["quantity"]:COL["currency"]]) for r in big} == {
        ("10000", "999999.99", "0", "0.00", "9999999900.00", "0", "0.00", "9999999900.00")}
    shipping = [r for r in records if r[COL["product"]] == SHIPPING]
    assert len(shipping) == _shipped(TRICKY)
    assert {tuple(r[COL["quantity"]:COL["currency"]]) for r in shipping} == {
        ("1", "4.90", "0", "0.00", "4.90", "19", "0.93", "5.83")}
    # an order's shipping row follows its items
    for n, record in enumerate(records):
        if record[COL["product"]] == SHIPPING:
            assert records[n - 1][COL["order_id"]] == record[COL["order_id"]]
            assert n + 1 == len(records) or records[n + 1][COL["order_id"]] != record[0]


@pytest.mark.parametrize("zone, excel, comma", [
    ("Europe/Berlin", False, False), ("America/New_York", True, False),
    ("Asia/Kolkata", True, True), ("UTC", True, True)])
def test_both_paths_agree_in_every_zone_and_csv_style(pg_app, sent, tmp_path, zone, excel,
                                                      comma):
    owner = make_user("zones@example.com")
    # names with either style's separator, a tab, quotes, and formulas behind them
    customers = ["Z;=2*21;", "P,=3*14,", "a\t=1+1", "@SUM(1)", "C4"]
    product = 'Widget, large; "XL"\t-1'
    # the days of Berlin's and New York's autumn DST changes, and the first and
    # last day of the range: an order date is a calendar day, so no zone moves it
    days = [dt.date(2026, 10, 1), dt.date(2026, 10, 25), dt.date(2026, 11, 1),
            dt.date(2026, 11, 1), dt.date(2026, 11, 30)]
    for customer, day in zip(customers, days, strict=True):
        _order(owner, customer, day, [(product, 3, "4.25", "5.5", "12.5")],
               shipping="1.50", shipping_tax_rate="8.125")
    _order(owner, "Too early", dt.date(2026, 9, 30), [(product, 1, "1.00")])
    _order(owner, "Too late", dt.date(2026, 12, 1), [(product, 1, "1.00")])
    _order(owner, "Still open", dt.date(2026, 11, 2), [(product, 1, "1.00")],
           status=OrderStatus.OPEN)
    db.session.commit()
    job, _ = services.request_summary_report(owner, dt.date(2026, 10, 1), dt.date(2026, 11, 30),
                                             None, ReportFormat.CSV)
    meta = ReportMeta(kind=ReportKind.SUMMARY, title="t", timezone=zone, currency="EUR",
                      csv_excel=excel, decimal_comma=comma)
    copied, written = tmp_path / "copy.csv", tmp_path / "python.csv"
    assert copy_csv(db.engine, job, meta, copied, 10) == 10
    assert write_csv(stream_rows(db.engine, job), meta, written) == 10
    assert copied.read_bytes() == written.read_bytes()
    raw = written.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf") == excel
    text = raw.decode("utf-8-sig")
    records = list(csv.reader(io.StringIO(text, newline=""), delimiter=";" if comma else ","))
    assert records[0] == list(HEADER) and all(r[-1] == "EUR" for r in records[1:])
    items, shipping = records[1::2], records[2::2]
    point = (lambda cell: cell.replace(".", ",")) if comma else (lambda cell: cell)
    # 3 × 4.25 = 12.75, 12.5% off: 1.59 (half up), net 11.16, 5.5% tax: 0.61
    assert {tuple(r[COL["quantity"]:COL["currency"]]) for r in items} == {
        ("3", *map(point, ("4.25", "12.5", "1.59", "11.16", "5.5", "0.61", "11.77")))}
    # shipping 1.50 at 8.125%: 0.12 tax
    assert {tuple(r[COL["product"]:COL["currency"]]) for r in shipping} == {
        (SHIPPING, "1", *map(point, ("1.50", "0", "0.00", "1.50", "8.125", "0.12", "1.62")))}
    assert [r[COL["customer"]] for r in items] == [
        "Z;'=2*21;", "P,'=3*14,", "a\t'=1+1", "'@SUM(1)", "C4"]
    assert {r[COL["product"]] for r in items} == {"Widget, large; \"XL\"\t'-1"}
    # quoted whichever the separator: a reader guessing it keeps each name one cell
    for cell, times in (("\"Z;'=2*21;\"", 2), ("\"P,'=3*14,\"", 2), ("\"a\t'=1+1\"", 2),
                        ("\"Widget, large; \"\"XL\"\"\t'-1\"", 5)):
        assert text.count(cell) == times
    # each order's own day, the same in every zone, earliest first
    assert [r[COL["order_date"]] for r in items] == [d.isoformat() for d in days]
    assert [r[COL["order_date"]] for r in shipping] == [d.isoformat() for d in days]


def test_both_paths_guard_the_new_formula_starts_identically(pg_app, sent, tmp_path):
    owner = make_user("prefix@example.com")
    day = dt.date(2026, 11, 27)
    names = FORMULA_PREFIXED + LOOK_ALIKES
    _seed(owner, names, day)
    job = _summary_job(owner, day)
    total = count_rows(db.engine, job)
    assert total == 3 * len(names) + _shipped(names)
    copied, written = tmp_path / "copy.csv", tmp_path / "python.csv"
    meta = ReportMeta(kind=ReportKind.SUMMARY, title="t")
    assert copy_csv(db.engine, job, meta, copied, total) == total
    assert write_csv(stream_rows(db.engine, job), meta, written) == total
    assert copied.read_bytes() == written.read_bytes()

    expected = {"Plain": "Plain", SHIPPING: SHIPPING,
                **{name: neutralise(name) for name in FORMULA_PREFIXED},
                **{name: name for name in LOOK_ALIKES}}
    assert all(expected[name] != name for name in FORMULA_PREFIXED)
    records = list(csv.reader(io.StringIO(copied.read_bytes().decode("utf-8"), newline="")))
    assert len(records) == total + 1
    customer_of = dict(db.session.execute(sa.select(Order.id, Order.customer)).all())
    products_of = {order_id: {SHIPPING} for order_id in customer_of}
    for order_id, product in db.session.execute(sa.select(OrderItem.order_id,
                                                          OrderItem.product)):
        products_of[order_id].add(product)
    for record in records[1:]:
        order_id = int(record[COL["order_id"]])
        assert record[COL["customer"]] == expected[customer_of[order_id]]
        assert record[COL["product"]] in {expected[product] for product in products_of[order_id]}
    assert sorted({r[COL["product"]] for r in records[1:]}) == sorted(expected.values())


def test_line_break_prefixed_formulas_are_guarded_by_the_fallback_writer(pg_app, sent):
    owner = make_user("lf@example.com")
    day = dt.date(2026, 11, 26)
    names = ["\n=cmd", " \n@x", "\n\u200b\uff0b1", "\r\n-1", "\nTea", " \r=x", "mid\rcr",
             "x\n=1+2"]
    _seed(owner, names, day)  # inserted behind validation's back, which folds them away
    job = _summary_job(owner, day)
    assert run_job(job.id) == "completed"
    db.session.expire_all()
    done = db.session.get(ReportJob, job.id)
    data = (Path(pg_app.config["REPORTS_DIR"]) / done.file_name).read_bytes()
    records = list(csv.reader(io.StringIO(data.decode("utf-8"), newline="")))[1:]
    # a ' before every piece behind a line break that holds a formula
    assert sorted({r[COL["customer"]] for r in records}) == sorted(
        ["'\n'=cmd", "' \n'@x", "'\n'\u200b\uff0b1", "'\r'\n'-1", "\nTea", "' \r'=x",
         "mid\rcr", "x\n'=1+2"])


# Every character the guard treats specially, and a few neighbours it must not
GUARD_ALPHABET = ("=+-@\t\r\n \uff1d\uff0b\uff0d\uff20\u200b\u200c\u200d\u2060\ufeff"
                  "'a1,;\"\u00a0\u2212\u3000\uff1e日")


def _sql_cells(engine, texts: list[str]) -> dict[str, str]:
    """Each text through pg_copy's SQL text cell (guard and quotes), on
    PostgreSQL, in one query."""
    cells = sa.func.unnest(sa.bindparam("texts", texts, type_=ARRAY(sa.Text))
                           ).table_valued("s").render_derived()
    with engine.connect() as conn:
        return dict(conn.execute(sa.select(cells.c.s, _text_cell(cells.c.s))).all())


def test_sql_text_cell_matches_the_python_one_on_every_short_string(pg_app_session):
    texts = ["".join(chars) for size in range(4)
             for chars in itertools.product(GUARD_ALPHABET, repeat=size)]
    with pg_app_session.app_context():
        cells = _sql_cells(db.engine, texts)
    assert len(cells) == len(texts)
    mismatches = [(t, cells[t], text_cell(t)) for t in texts if cells[t] != text_cell(t)]
    assert mismatches == []
    assert cells["\u200b\uff1d"] == "'\u200b\uff1d" and cells["\u200ba"] == "\u200ba"
    assert cells[";=1"] == '";\'=1"' and cells['\t"-'] == '"\'\t""-"'


@settings(max_examples=100, deadline=None, derandomize=True, database=None)
@given(st.lists(st.text(alphabet=GUARD_ALPHABET, max_size=12), min_size=1, max_size=50))
def test_sql_text_cell_matches_the_python_one_on_random_strings(pg_app_session, texts):
    with pg_app_session.app_context():
        cells = _sql_cells(db.engine, texts)
    assert {t: text_cell(t) for t in texts} == cells


@pytest.mark.parametrize("name", ["line\nbreak", "line\rbreak", "line\r\nbreak", "",
                                  "unit\x1fseparator", "record\x1eseparator"])
def test_a_cell_copy_would_quote_falls_back_to_the_python_writer(pg_app, sent, tmp_path, name):
    # COPY separates with \x1f and quotes with \x1e, so none of our cells needs
    # its quotes: one that does (a line break, an empty text, one of the two)
    # would come out wrong. Inserted behind validation's back.
    owner = make_user("newline@example.com")
    day = dt.date(2026, 11, 1)
    _seed(owner, [name, "fine"], day)
    job = _summary_job(owner, day)
    meta = ReportMeta(kind=ReportKind.SUMMARY, title="t")
    assert copy_csv(db.engine, job, meta, tmp_path / "x.csv", count_rows(db.engine, job)) is None
    assert run_job(job.id) == "completed"
    db.session.expire_all()
    done = db.session.get(ReportJob, job.id)
    data = (Path(pg_app.config["REPORTS_DIR"]) / done.file_name).read_bytes()
    write_csv(stream_rows(db.engine, job), meta, tmp_path / "python.csv")
    assert data == (tmp_path / "python.csv").read_bytes()
    records = list(csv.reader(io.StringIO(data.decode("utf-8"), newline="")))
    # two orders of three items, the second one with shipping
    assert len(records) == 1 + 3 + 4 and {r[COL["customer"]] for r in records[1:]} == {name,
                                                                                      "fine"}


def test_a_number_copy_would_quote_falls_back_to_the_python_writer(pg_app, sent, tmp_path):
    owner = make_user("number@example.com")
    day = dt.date(2026, 11, 1)
    _order(owner, "ACME", day, [("Tea", 1, "2.00")], number="SO\n1")
    db.session.commit()
    job = _summary_job(owner, day)
    meta = ReportMeta(kind=ReportKind.SUMMARY, title="t")
    assert copy_csv(db.engine, job, meta, tmp_path / "x.csv", count_rows(db.engine, job)) is None
    assert run_job(job.id) == "completed"
    db.session.expire_all()
    done = db.session.get(ReportJob, job.id)
    data = (Path(pg_app.config["REPORTS_DIR"]) / done.file_name).read_bytes()
    records = list(csv.reader(io.StringIO(data.decode("utf-8"), newline="")))
    assert [r[COL["order_number"]] for r in records[1:]] == ["SO\n1"]


def test_the_task_uses_copy_on_postgresql(pg_app, sent, monkeypatch):
    import tasks.reports as task

    owner = make_user("fast@example.com")
    _seed(owner, ["A", "B"], dt.date(2026, 11, 2))
    calls = []
    real = task.copy_csv
    monkeypatch.setattr(task, "copy_csv", lambda *a, **k: calls.append(a) or real(*a, **k))
    job = _summary_job(owner, dt.date(2026, 11, 2))
    assert run_job(job.id) == "completed" and len(calls) == 1
    db.session.expire_all()
    assert db.session.get(ReportJob, job.id).rows_done == 7  # 2 × 3 items, 1 shipping


def test_streamed_rows_carry_decimal_money_and_rates_and_plain_dates(app, user, sent):
    day = dt.date(2026, 11, 3)
    _seed(user, ["Decimal Co", "Second"], day)
    rows = list(stream_rows(db.engine, _summary_job(user, day)))
    assert len(rows) == 7 and rows[-1].product == SHIPPING
    for row in rows:
        assert all(type(value) is Decimal for value in (
            row.unit_price, row.discount_rate, row.discount, row.net, row.tax_rate, row.tax,
            row.gross))
        assert row.net + row.tax == row.gross
        assert type(row.order_date) is dt.date and row.order_date == day  # no time, no zone
        assert type(row.order_id) is int and type(row.quantity) is int
        assert row.status == "completed" and row.number.startswith("SO-")
    assert rows[1].net == Decimal("9999999900.00")
    # rates as the CSV writes them: no trailing zeros, never an exponent
    assert [str(r.tax_rate) for r in rows] == ["19", "0", "7", "19", "0", "5.5", "19"]
    assert [str(r.discount_rate) for r in rows] == ["0", "0", "0", "0", "0", "12.5", "0"]
    # 3 × 4.20 = 12.60, 12.5% off (1.575, half up: 1.58), 11.02 net, 5.5% tax: 0.61
    assert rows[5][7:] == (Decimal("4.20"), Decimal("12.5"), Decimal("1.58"),
                           Decimal("11.02"), Decimal("5.5"), Decimal("0.61"), Decimal("11.63"))
    assert rows[6][5:] == (SHIPPING, 1, Decimal("4.90"), Decimal(0), Decimal("0.00"),
                           Decimal("4.90"), Decimal("19"), Decimal("0.93"), Decimal("5.83"))


def _seed_out_of_order(owner, orders: int, items: int):
    """Orders whose ids run against their dates (the newest order has the lowest
    id; two orders a day, so a summary orders a day's by id), so an order by
    date and one by id differ; items inserted in reverse product order within
    each order; shipping on every third order."""
    base = dt.date(2026, 11, 20)
    for n in range(orders):
        _order(owner, TRICKY[n % len(TRICKY)], base - dt.timedelta(days=n // 2),
               [(f"P{items - k:04d}", k + 1, str(Decimal("1.05") * (k + 1)), ("19", "7")[k % 2])
                for k in range(items)],
               shipping="4.90" if n % 3 == 0 else "0", shipping_tax_rate="19")
    db.session.commit()


@pytest.mark.parametrize("kind", [ReportKind.SUMMARY, ReportKind.ORDERS, ReportKind.ORDER])
def test_both_paths_agree_for_every_kind_in_its_own_order(pg_app, sent, tmp_path, kind):
    # more rows than copy_csv's batches and the progress interval, in several orders
    owner = make_user("kinds@example.com")
    _seed_out_of_order(owner, orders=9, items=500)
    ids = db.session.scalars(sa.select(Order.id).order_by(Order.id)).all()
    day_of = dict(db.session.execute(sa.select(Order.id, Order.order_date)).all())
    params = {ReportKind.SUMMARY: ReportParams.summary(dt.date(2026, 11, 16),
                                                       dt.date(2026, 11, 20)),
              ReportKind.ORDERS: ReportParams.listing(),
              ReportKind.ORDER: ReportParams.order(ids[3])}[kind]
    job, _ = services.request_report(owner, params, ReportFormat.CSV)
    total = count_rows(db.engine, job)
    assert total == {ReportKind.ORDER: 501, ReportKind.SUMMARY: 4503,  # ids[3]: shipping
                     ReportKind.ORDERS: 4503}[kind]
    copied, written = tmp_path / "copy.csv", tmp_path / "python.csv"
    meta = ReportMeta(kind=kind, title="t", timezone="Europe/Berlin")
    seen = []
    assert copy_csv(db.engine, job, meta, copied, total, seen.append) == total
    assert write_csv(stream_rows(db.engine, job), meta, written) == total
    assert copied.read_bytes() == written.read_bytes()
    assert seen == sorted(seen) and seen[-1] == total and len(seen) > total // PROGRESS_EVERY
    records = list(csv.reader(io.StringIO(copied.read_bytes().decode("utf-8"), newline="")))
    order_ids = [int(r[COL["order_id"]]) for r in records[1:]]
    expected = {ReportKind.SUMMARY: sorted(ids, key=lambda i: (day_of[i], i)),
                ReportKind.ORDERS: ids, ReportKind.ORDER: [ids[3]]}[kind]
    assert expected != ids or kind is not ReportKind.SUMMARY
    assert list(dict.fromkeys(order_ids)) == expected  # by date and id for summaries, else id
    first = [r for r in records[1:] if int(r[COL["order_id"]]) == expected[0]]
    # an order's items in item id order (the products were inserted P0500 … P0001),
    # then its shipping row if it has one
    assert [r[COL["product"]] for r in first[:500]] == [f"P{500 - k:04d}" for k in range(500)]
    assert [r[COL["product"]] for r in first[500:]] == (
        [SHIPPING] if ids.index(expected[0]) % 3 == 0 else [])


def test_count_rows_is_the_number_of_rows_streamed(pg_app, sent):
    owner, other = make_user("count@example.com"), make_user("other@example.com")
    _seed_out_of_order(owner, orders=4, items=3)
    _seed(other, ["Not mine", "Nor this"], dt.date(2026, 11, 20))
    for params in (ReportParams.summary(dt.date(2026, 11, 20), dt.date(2026, 11, 20)),
                   ReportParams.summary(dt.date(2026, 11, 1), dt.date(2026, 11, 30)),
                   ReportParams.listing(), ReportParams.listing("café")):
        job, _ = services.request_report(owner, params, ReportFormat.CSV)
        assert count_rows(db.engine, job) == len(list(stream_rows(db.engine, job)))
    job, _ = services.request_report(owner, ReportParams.listing(), ReportFormat.CSV)
    assert count_rows(db.engine, job) == 4 * 3 + 2  # orders 0 and 3 charge shipping
    nothing, _ = services.request_report(
        owner, ReportParams.summary(dt.date(2020, 1, 1), dt.date(2020, 1, 2)), ReportFormat.CSV)
    assert count_rows(db.engine, nothing) == 0


def test_a_stale_item_count_costs_the_copy_not_the_rows(pg_app, sent, tmp_path):
    owner = make_user("stale@example.com")
    day = dt.date(2026, 11, 5)
    _seed(owner, ["A", "B"], day)
    with db.engine.begin() as conn:  # a writer that forgot the order's counts
        conn.execute(sa.update(Order).values(item_count=Order.item_count + 1))
    job = _summary_job(owner, day)
    assert count_rows(db.engine, job) == 9
    meta = ReportMeta(kind=ReportKind.SUMMARY, title="t")
    assert copy_csv(db.engine, job, meta, tmp_path / "x.csv", 9) is None
    assert run_job(job.id) == "completed"
    db.session.expire_all()
    done = db.session.get(ReportJob, job.id)
    write_csv(stream_rows(db.engine, job), meta, tmp_path / "python.csv")
    data = (Path(pg_app.config["REPORTS_DIR"]) / done.file_name).read_bytes()
    assert data.count(b"\r\n") == 8 and done.rows_done == 7  # header + the 7 real rows
    assert data.splitlines()[1:] == (tmp_path / "python.csv").read_bytes().splitlines()[1:]


def test_a_line_break_in_a_cell_is_seen_even_when_the_line_count_matches(pg_app, sent,
                                                                        tmp_path):
    # one extra line from the cell, one row fewer expected: the lines add up,
    # the rows do not
    owner = make_user("evens@example.com")
    day = dt.date(2026, 11, 6)
    _seed(owner, ["line\nbreak", "fine"], day)
    job = _summary_job(owner, day)
    assert copy_csv(db.engine, job, ReportMeta(kind=ReportKind.SUMMARY, title="t"),
                    tmp_path / "x.csv", count_rows(db.engine, job) + 1) is None
