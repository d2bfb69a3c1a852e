"""The two CSV paths: PostgreSQL's COPY (cells formatted in SQL) and the Python
writer over streamed rows must give byte-identical files."""
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
from tasks.generators.csv_report import neutralise, text_cell, write_csv
from tasks.pg_copy import _text_cell, copy_csv
from tasks.reports import run_job
from tasks.rows import count_rows, stream_rows
from tests.conftest import _empty_tables, make_user
from webapp.extensions import db
from webapp.models import Order, OrderItem, OrderStatus, ReportFormat, ReportJob, ReportKind
from webapp.reports import services
from webapp.reports.params import ReportParams

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


def _seed(owner, names, when):
    for n, name in enumerate(names):
        order = Order(workspace_id=owner.id, customer=name, status=OrderStatus.COMPLETED,
                      created_at=when + dt.timedelta(seconds=n, microseconds=999_999))
        order.items = [OrderItem(product=product, quantity=q, unit_price=Decimal(price))
                       for product, q, price in ((names[-n - 1], 1, "0.01"),
                                                 ("Plain", 10000, "999999.99"),
                                                 (name, 3, "4.20"))]
        order.recompute_totals()
        db.session.add(order)
    db.session.commit()


def _summary_job(owner, day):
    job, _ = services.request_summary_report(owner, day, day, None, ReportFormat.CSV)
    return job


def test_copy_and_python_writer_give_byte_identical_files(pg_app, sent, tmp_path):
    owner = make_user("copy@example.com")
    when = dt.datetime(2026, 11, 28, 23, 59, 0, tzinfo=dt.UTC)
    _seed(owner, TRICKY, when)
    job = _summary_job(owner, when.date())
    total = count_rows(db.engine, job)
    assert total == 3 * len(TRICKY)
    copied, written = tmp_path / "copy.csv", tmp_path / "python.csv"
    seen = []
    meta = ReportMeta(kind=ReportKind.SUMMARY, title="t")
    assert copy_csv(db.engine, job, meta, copied, total, seen.append) == total
    assert write_csv(stream_rows(db.engine, job), meta, written) == total
    assert copied.read_bytes() == written.read_bytes()
    assert seen[-1] == total
    text = copied.read_bytes().decode("utf-8")
    assert "'=HYPERLINK" in text and "\r\n" in text and "9999999900.00" in text
    assert ',"Z;\'=2*21;",' in text and ',"P,\'=3*14,",' in text
    assert "2026-11-28T23:59:00Z" in text  # microseconds dropped the same way


@pytest.mark.parametrize("zone, excel, comma", [
    ("Europe/Berlin", False, False), ("America/New_York", True, False),
    ("Asia/Kolkata", True, True), ("UTC", True, True)])
def test_both_paths_agree_in_every_zone_and_csv_style(pg_app, sent, tmp_path, zone, excel,
                                                      comma):
    owner = make_user("zones@example.com")
    # names with either style's separator, a tab, quotes, and formulas behind them
    customers = ["Z;=2*21;", "P,=3*14,", "a\t=1+1", "@SUM(1)", "C4"]
    product = 'Widget, large; "XL"\t-1'
    # either side of Berlin's and New York's autumn DST changes, and a day boundary
    for n, when in enumerate([dt.datetime(2026, 10, 25, 0, 30), dt.datetime(2026, 10, 25, 1, 30),
                              dt.datetime(2026, 11, 1, 5, 30), dt.datetime(2026, 11, 1, 6, 30),
                              dt.datetime(2026, 11, 3, 23, 30)]):
        order = Order(workspace_id=owner.id, customer=customers[n], status=OrderStatus.COMPLETED,
                      created_at=when.replace(tzinfo=dt.UTC))
        order.items = [OrderItem(product=product, quantity=3, unit_price=Decimal("4.25"))]
        order.recompute_totals()
        db.session.add(order)
    db.session.commit()
    job, _ = services.request_summary_report(owner, dt.date(2026, 10, 1), dt.date(2026, 11, 30),
                                             None, ReportFormat.CSV)
    meta = ReportMeta(kind=ReportKind.SUMMARY, title="t", timezone=zone, currency="EUR",
                      csv_excel=excel, decimal_comma=comma)
    copied, written = tmp_path / "copy.csv", tmp_path / "python.csv"
    assert copy_csv(db.engine, job, meta, copied, 5) == 5
    assert write_csv(stream_rows(db.engine, job), meta, written) == 5
    assert copied.read_bytes() == written.read_bytes()
    raw = written.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf") == excel
    text = raw.decode("utf-8-sig")
    records = list(csv.reader(io.StringIO(text, newline=""), delimiter=";" if comma else ","))
    assert records[0][-1] == "currency" and all(r[-1] == "EUR" for r in records[1:])
    assert [r[6] for r in records[1:]] == ["4,25" if comma else "4.25"] * 5
    assert [r[2] for r in records[1:]] == ["Z;'=2*21;", "P,'=3*14,", "a\t'=1+1", "'@SUM(1)", "C4"]
    assert {r[4] for r in records[1:]} == {"Widget, large; \"XL\"\t'-1"}
    # quoted whichever the separator: a reader guessing it keeps each name one cell
    for cell, times in (("\"Z;'=2*21;\"", 1), ("\"P,'=3*14,\"", 1), ("\"a\t'=1+1\"", 1),
                        ("\"Widget, large; \"\"XL\"\"\t'-1\"", 5)):
        assert text.count(cell) == times
    dates = [r[1] for r in records[1:]]
    expected = {
        "UTC": ["2026-10-25T00:30:00Z", "2026-10-25T01:30:00Z", "2026-11-01T05:30:00Z",
                "2026-11-01T06:30:00Z", "2026-11-03T23:30:00Z"],
        "Europe/Berlin": ["2026-10-25T02:30:00+02:00", "2026-10-25T02:30:00+01:00",
                          "2026-11-01T06:30:00+01:00", "2026-11-01T07:30:00+01:00",
                          "2026-11-04T00:30:00+01:00"],
        "America/New_York": ["2026-10-24T20:30:00-04:00", "2026-10-24T21:30:00-04:00",
                             "2026-11-01T01:30:00-04:00", "2026-11-01T01:30:00-05:00",
                             "2026-11-03T18:30:00-05:00"],
        "Asia/Kolkata": ["2026-10-25T06:00:00+05:30", "2026-10-25T07:00:00+05:30",
                         "2026-11-01T11:00:00+05:30", "2026-11-01T12:00:00+05:30",
                         "2026-11-04T05:00:00+05:30"],
    }[zone]
    assert dates == expected


def test_both_paths_guard_the_new_formula_starts_identically(pg_app, sent, tmp_path):
    owner = make_user("prefix@example.com")
    when = dt.datetime(2026, 11, 27, 8, tzinfo=dt.UTC)
    names = FORMULA_PREFIXED + LOOK_ALIKES
    _seed(owner, names, when)
    job = _summary_job(owner, when.date())
    total = count_rows(db.engine, job)
    assert total == 3 * len(names)
    copied, written = tmp_path / "copy.csv", tmp_path / "python.csv"
    meta = ReportMeta(kind=ReportKind.SUMMARY, title="t")
    assert copy_csv(db.engine, job, meta, copied, total) == total
    assert write_csv(stream_rows(db.engine, job), meta, written) == total
    assert copied.read_bytes() == written.read_bytes()

    expected = {"Plain": "Plain", **{name: neutralise(name) for name in FORMULA_PREFIXED},
                **{name: name for name in LOOK_ALIKES}}
    assert all(expected[name] != name for name in FORMULA_PREFIXED)
    records = list(csv.reader(io.StringIO(copied.read_bytes().decode("utf-8"), newline="")))
    assert len(records) == total + 1
    customer_of = dict(db.session.execute(sa.select(Order.id, Order.customer)).all())
    products_of = {order_id: set() for order_id in customer_of}
    for order_id, product in db.session.execute(sa.select(OrderItem.order_id,
                                                          OrderItem.product)):
        products_of[order_id].add(product)
    for record in records[1:]:
        order_id = int(record[0])
        assert record[2] == expected[customer_of[order_id]]
        assert record[4] in {expected[product] for product in products_of[order_id]}
    assert sorted({r[4] for r in records[1:]}) == sorted(expected.values())


def test_line_break_prefixed_formulas_are_guarded_by_the_fallback_writer(pg_app, sent):
    owner = make_user("lf@example.com")
    when = dt.datetime(2026, 11, 26, 12, tzinfo=dt.UTC)
    names = ["\n=cmd", " \n@x", "\n\u200b\uff0b1", "\r\n-1", "\nTea", " \r=x", "mid\rcr",
             "x\n=1+2"]
    _seed(owner, names, when)  # inserted behind validation's back, which folds them away
    job = _summary_job(owner, when.date())
    assert run_job(job.id) == "completed"
    db.session.expire_all()
    done = db.session.get(ReportJob, job.id)
    data = (Path(pg_app.config["REPORTS_DIR"]) / done.file_name).read_bytes()
    records = list(csv.reader(io.StringIO(data.decode("utf-8"), newline="")))[1:]
    # a ' before every piece behind a line break that holds a formula
    assert sorted({r[2] for r in records}) == sorted(
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
    when = dt.datetime(2026, 11, 1, 12, tzinfo=dt.UTC)
    _seed(owner, [name, "fine"], when)
    job = _summary_job(owner, when.date())
    meta = ReportMeta(kind=ReportKind.SUMMARY, title="t")
    assert copy_csv(db.engine, job, meta, tmp_path / "x.csv", count_rows(db.engine, job)) is None
    assert run_job(job.id) == "completed"
    db.session.expire_all()
    done = db.session.get(ReportJob, job.id)
    data = (Path(pg_app.config["REPORTS_DIR"]) / done.file_name).read_bytes()
    write_csv(stream_rows(db.engine, job), meta, tmp_path / "python.csv")
    assert data == (tmp_path / "python.csv").read_bytes()
    records = list(csv.reader(io.StringIO(data.decode("utf-8"), newline="")))
    assert len(records) == 7 and {r[2] for r in records[1:]} == {name, "fine"}


def test_the_task_uses_copy_on_postgresql(pg_app, sent, monkeypatch):
    import tasks.reports as task

    owner = make_user("fast@example.com")
    _seed(owner, ["A", "B"], dt.datetime(2026, 11, 2, tzinfo=dt.UTC))
    calls = []
    real = task.copy_csv
    monkeypatch.setattr(task, "copy_csv", lambda *a, **k: calls.append(a) or real(*a, **k))
    job = _summary_job(owner, dt.date(2026, 11, 2))
    assert run_job(job.id) == "completed" and len(calls) == 1
    db.session.expire_all()
    assert db.session.get(ReportJob, job.id).rows_done == 6


def test_streamed_rows_carry_decimal_money_and_aware_utc_dates(app, user, sent):
    when = dt.datetime(2026, 11, 3, 10, 30, tzinfo=dt.UTC)
    _seed(user, ["Decimal Co"], when)
    rows = list(stream_rows(db.engine, _summary_job(user, when.date())))
    assert [type(r.unit_price) for r in rows] == [Decimal] * 3
    assert rows[1].line_total == Decimal("9999999900.00")
    assert all(r.order_date.tzinfo is dt.UTC for r in rows)
    assert rows[0].order_date.replace(microsecond=0) == when


def _seed_out_of_order(owner, orders: int, items: int):
    """Orders whose ids run against their dates (the newest order has the lowest
    id), so an order by date and one by id differ; items inserted in reverse
    product order within each order."""
    base = dt.datetime(2026, 11, 20, 12, tzinfo=dt.UTC)
    for n in range(orders):
        order = Order(workspace_id=owner.id, customer=TRICKY[n % len(TRICKY)],
                      status=OrderStatus.COMPLETED,
                      created_at=base - dt.timedelta(minutes=n, microseconds=n))
        order.items = [OrderItem(product=f"P{items - k:04d}", quantity=k + 1,
                                 unit_price=Decimal("1.05") * (k + 1)) for k in range(items)]
        order.recompute_totals()
        db.session.add(order)
    db.session.commit()


@pytest.mark.parametrize("kind", [ReportKind.SUMMARY, ReportKind.ORDERS, ReportKind.ORDER])
def test_both_paths_agree_for_every_kind_in_its_own_order(pg_app, sent, tmp_path, kind):
    # more rows than copy_csv's batches and the progress interval, in several orders
    owner = make_user("kinds@example.com")
    _seed_out_of_order(owner, orders=9, items=500)
    ids = db.session.scalars(sa.select(Order.id).order_by(Order.id)).all()
    params = {ReportKind.SUMMARY: ReportParams.summary(dt.date(2026, 11, 20),
                                                       dt.date(2026, 11, 20)),
              ReportKind.ORDERS: ReportParams.listing(),
              ReportKind.ORDER: ReportParams.order(ids[4])}[kind]
    job, _ = services.request_report(owner, params, ReportFormat.CSV)
    total = count_rows(db.engine, job)
    assert total == (500 if kind is ReportKind.ORDER else 4500)
    copied, written = tmp_path / "copy.csv", tmp_path / "python.csv"
    meta = ReportMeta(kind=kind, title="t", timezone="Europe/Berlin")
    seen = []
    assert copy_csv(db.engine, job, meta, copied, total, seen.append) == total
    assert write_csv(stream_rows(db.engine, job), meta, written) == total
    assert copied.read_bytes() == written.read_bytes()
    assert seen == sorted(seen) and seen[-1] == total and len(seen) > total // PROGRESS_EVERY
    records = list(csv.reader(io.StringIO(copied.read_bytes().decode("utf-8"), newline="")))
    order_ids = [int(r[0]) for r in records[1:]]
    expected = {ReportKind.SUMMARY: ids[::-1], ReportKind.ORDERS: ids,
                ReportKind.ORDER: [ids[4]]}[kind]
    assert list(dict.fromkeys(order_ids)) == expected  # by date for summaries, else by id
    # an order's items in item id order: the products were inserted P0500 … P0001
    assert [r[4] for r in records[1:501]] == [f"P{500 - k:04d}" for k in range(500)]


def test_count_rows_is_the_number_of_rows_streamed(pg_app, sent):
    owner, other = make_user("count@example.com"), make_user("other@example.com")
    _seed_out_of_order(owner, orders=4, items=3)
    _seed(other, ["Not mine"], dt.datetime(2026, 11, 20, 9, tzinfo=dt.UTC))
    for params in (ReportParams.summary(dt.date(2026, 11, 20), dt.date(2026, 11, 20)),
                   ReportParams.listing(), ReportParams.listing("café")):
        job, _ = services.request_report(owner, params, ReportFormat.CSV)
        assert count_rows(db.engine, job) == len(list(stream_rows(db.engine, job)))
    nothing, _ = services.request_report(
        owner, ReportParams.summary(dt.date(2020, 1, 1), dt.date(2020, 1, 2)), ReportFormat.CSV)
    assert count_rows(db.engine, nothing) == 0


def test_a_stale_item_count_costs_the_copy_not_the_rows(pg_app, sent, tmp_path):
    owner = make_user("stale@example.com")
    when = dt.datetime(2026, 11, 5, 12, tzinfo=dt.UTC)
    _seed(owner, ["A", "B"], when)
    with db.engine.begin() as conn:  # a writer that forgot the order's counts
        conn.execute(sa.update(Order).values(item_count=Order.item_count + 1))
    job = _summary_job(owner, when.date())
    assert count_rows(db.engine, job) == 8
    meta = ReportMeta(kind=ReportKind.SUMMARY, title="t")
    assert copy_csv(db.engine, job, meta, tmp_path / "x.csv", 8) is None
    assert run_job(job.id) == "completed"
    db.session.expire_all()
    done = db.session.get(ReportJob, job.id)
    write_csv(stream_rows(db.engine, job), meta, tmp_path / "python.csv")
    data = (Path(pg_app.config["REPORTS_DIR"]) / done.file_name).read_bytes()
    assert data.count(b"\r\n") == 7 and done.rows_done == 6  # header + the 6 real rows
    assert data.splitlines()[1:] == (tmp_path / "python.csv").read_bytes().splitlines()[1:]


def test_a_line_break_in_a_cell_is_seen_even_when_the_line_count_matches(pg_app, sent,
                                                                        tmp_path):
    # one extra line from the cell, one row fewer expected: the lines add up,
    # the rows do not
    owner = make_user("evens@example.com")
    when = dt.datetime(2026, 11, 6, 12, tzinfo=dt.UTC)
    _seed(owner, ["line\nbreak", "fine"], when)
    job = _summary_job(owner, when.date())
    assert copy_csv(db.engine, job, ReportMeta(kind=ReportKind.SUMMARY, title="t"),
                    tmp_path / "x.csv", count_rows(db.engine, job) + 1) is None
