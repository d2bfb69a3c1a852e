"""Bounded work for summaries: a summary covers at most ten years, refused
the same way by the report form, the API, the dashboard and the worker; and
the overview is a fixed set of statements whose number and size do not grow
with the number of periods (the revenue per period is one GROUP BY on the
order date), with every order in the period its order date says."""
from __future__ import annotations

import datetime as dt
import html
import re
from decimal import Decimal

import pytest
import sqlalchemy as sa

from tasks.reports import run_job
from webapp.errors import InvalidInput
from webapp.extensions import db
from webapp.models import JobStatus, Order, OrderStatus, ReportFormat, ReportJob, ReportKind
from webapp.orders.bulk import order_rows
from webapp.orders.services import ItemInput, create_order
from webapp.reports import overview
from webapp.reports.params import SUMMARY_MAX_DAYS, ReportParams

CENTURIES = ("1900-01-01", "2999-12-31")
CENTURIES_REFUSED = ("A summary covers at most 10 years; this range is 1,100 years. "
                     "Pick a later start date or an earlier end date.")


def _summary_body(date_from: str, date_to: str, **extra) -> dict:
    return {"kind": "summary", "format": "pdf", "date_from": date_from, "date_to": date_to,
            **extra}


def _jobs() -> int:
    with db.engine.connect() as conn:
        return conn.scalar(sa.select(sa.func.count()).select_from(ReportJob.__table__))


# --- the ten-year rule ------------------------------------------------------------------

def test_the_report_form_refuses_1900_to_2999_on_the_start_date_and_keeps_the_input(
        client, sent):
    resp = client.post("/reports/", data={"date_from": CENTURIES[0], "date_to": CENTURIES[1],
                                          "customer": "ACME", "format": "pdf"})
    assert resp.status_code == 422
    page = resp.get_data(as_text=True)
    # the sentence sits right after the start date's input
    start = re.search(r'<input[^>]*id="date_from"[^>]*>\s*<span class="field-error"[^>]*>'
                      r'([^<]+)<', page)
    assert start and html.unescape(start.group(1)) == CENTURIES_REFUSED
    for name, value in [("date_from", CENTURIES[0]), ("date_to", CENTURIES[1]),
                        ("customer", "ACME")]:
        assert re.search(rf'<input[^>]*name="{name}"[^>]*value="{value}"', page), name
    assert re.search(r'<input[^>]*checked[^>]*value="pdf"|<input[^>]*value="pdf"[^>]*checked',
                     page)
    assert _jobs() == 0 and sent == []


@pytest.mark.parametrize(("dates", "years"), [(CENTURIES, "1,100 years"),
                                              (("5000-01-01", "8999-12-31"), "4,000 years"),
                                              (("2010-01-01", "2026-03-01"),
                                               "16 years and 60 days")])
def test_the_api_refuses_a_summary_over_ten_years_with_a_problem_naming_the_field(
        client, sent, dates, years):
    resp = client.post("/api/reports", json=_summary_body(*dates))
    assert resp.status_code == 400
    assert resp.content_type == "application/problem+json"
    body = resp.get_json()
    message = (f"A summary covers at most 10 years; this range is {years}. "
               "Pick a later start date or an earlier end date.")
    assert body["detail"] == message
    assert body["errors"] == {"date_from": [message]}
    assert _jobs() == 0 and sent == []


def test_ten_years_is_the_longest_summary_everywhere(client, sent):
    # 2016-01-01 to 2025-12-31 is 10 calendar years with three leap days
    assert (dt.date(2025, 12, 31) - dt.date(2016, 1, 1)).days + 1 == SUMMARY_MAX_DAYS
    longest = _summary_body("2016-01-01", "2025-12-31", format="csv")
    assert client.post("/api/reports", json=longest).status_code == 202
    one_day_more = _summary_body("2015-12-31", "2025-12-31", format="csv")
    assert client.post("/api/reports", json=one_day_more).get_json()["errors"] == {
        "date_from": ["A summary covers at most 10 years; this range is 10 years and 1 day. "
                      "Pick a later start date or an earlier end date."]}
    assert client.post("/reports/", data={"date_from": "2015-12-31", "date_to": "2025-12-31",
                                          "format": "csv"}).status_code == 422
    assert len(sent) == 1


def test_the_dashboard_and_every_other_caller_of_reportparams_share_the_rule(client):
    resp = client.get("/dashboard", query_string=dict(zip(("date_from", "date_to"), CENTURIES,
                                                          strict=True)))
    assert resp.status_code == 400
    assert CENTURIES_REFUSED in html.unescape(resp.get_data(as_text=True))
    # schedules build their (short, relative) ranges with ReportParams.summary too
    with pytest.raises(InvalidInput, match="at most 10 years"):
        ReportParams.summary(dt.date(1900, 1, 1), dt.date(2999, 12, 31), timezone="UTC")


def test_a_stored_summary_over_ten_years_fails_with_the_reason_before_any_work(app, user):
    """A job queued before the rule (or a retry of one) never reaches the overview."""
    job = ReportJob(workspace_id=user.id, kind=ReportKind.SUMMARY, format=ReportFormat.PDF,
                    params={"date_from": CENTURIES[0], "date_to": CENTURIES[1],
                            "customer": None},
                    dedupe_key="centuries", status=JobStatus.PENDING)
    db.session.add(job)
    db.session.commit()
    assert run_job(job.id) == "failed"
    db.session.expire_all()
    failed = db.session.get(ReportJob, job.id)
    assert failed.status is JobStatus.FAILED and failed.error == CENTURIES_REFUSED
    with pytest.raises(ValueError, match="at most 10 years"):
        overview.compute(user.id, ReportParams.from_json("summary", job.params), "USD")


@pytest.mark.parametrize("zone", ["UTC", "America/New_York", "Asia/Tokyo"])
def test_the_calendars_last_ten_years_can_be_summarised(client, sent, user, zone):
    user.timezone = zone
    order = create_order(user, "ACME", [ItemInput("Tea", 1, Decimal("2.50"))])
    order.status = OrderStatus.COMPLETED
    # the calendar's last day (set directly: the service refuses dates ahead)
    order.order_date = dt.date(9999, 12, 31)
    db.session.commit()
    resp = client.post("/api/reports", json=_summary_body("9990-01-02", "9999-12-31"))
    assert resp.status_code == 202
    assert run_job(resp.get_json()["id"]) == "completed"
    got = overview.compute(user.id, ReportParams.summary(
        dt.date(9990, 1, 2), dt.date(9999, 12, 31), timezone=zone), "USD")
    assert got.kpis.orders == 1 and sum(p.orders for p in got.periods) == 1
    assert got.periods[-1].start == dt.date(9999, 12, 1) and got.periods[-1].orders == 1


# --- the period query ----------------------------------------------------------------------

def _statements_of(fn) -> list[str]:
    seen: list[str] = []

    def record(conn, cursor, statement, parameters, context, executemany):
        seen.append(statement)

    sa.event.listen(db.engine, "before_cursor_execute", record)
    try:
        fn()
    finally:
        sa.event.remove(db.engine, "before_cursor_execute", record)
    return seen


def _seed(user, dates: list[dt.date]) -> None:
    """Completed orders on these dates (through Core, as bulk loads do), the
    n-th with a total of n % 7 + 1, each typed in at noon UTC the day after
    its date: no zone (UTC-12 to UTC+14) puts that instant on the order's
    date, so an overview counting by created_at could not pass."""
    with db.engine.begin() as conn:
        conn.execute(sa.insert(Order.__table__), order_rows(conn, [
            {"workspace_id": user.id, "customer": "ACME", "status": OrderStatus.COMPLETED,
             "order_date": day, "item_count": 1, "units": 1, "total": Decimal(n % 7 + 1),
             "created_at": dt.datetime.combine(day + dt.timedelta(days=1), dt.time(12),
                                               dt.UTC)}
            for n, day in enumerate(dates)]))


# The period query once grouped by the local day of created_at, with one CASE
# per clock change in the range (so its size grew with those, not with the
# periods). Grouping by order_date needs no zone and no clock changes: what
# is left to prove is that the work stays bounded, the same statements for a
# day as for ten years of months, in any zone, with no query per period.
@pytest.mark.parametrize(("zone", "date_from", "date_to"), [
    ("UTC", dt.date(2016, 4, 1), dt.date(2026, 3, 31)),  # 120 months
    ("Asia/Kolkata", dt.date(2016, 4, 1), dt.date(2026, 3, 31)),
    ("Europe/Berlin", dt.date(2016, 4, 1), dt.date(2026, 3, 31)),  # 20 clock changes
    ("Europe/Berlin", dt.date(2026, 1, 5), dt.date(2026, 7, 5)),  # 27 weeks
    ("Europe/Berlin", dt.date(2026, 3, 1), dt.date(2026, 3, 31)),  # 31 days, one change
])
def test_the_overviews_statements_do_not_grow_with_the_periods(app, user, zone, date_from,
                                                                date_to):
    _seed(user, [date_from, date_to, date_from + (date_to - date_from) // 2])

    def statements(params) -> list[str]:
        return _statements_of(lambda: overview.compute(user.id, params, "USD"))

    one_day = statements(ReportParams.summary(date_from, date_from, timezone="UTC"))
    got = statements(ReportParams.summary(date_from, date_to, timezone=zone))
    assert len(got) == len(one_day)  # no statement per period (or per anything else)
    [periods] = [s for s in got if "GROUP BY orders.order_date" in s]
    assert [s for s in one_day if "GROUP BY orders.order_date" in s] == [periods]
    assert "CASE" not in periods.upper()


@pytest.mark.parametrize("start", [
    dt.date(2024, 2, 15),  # a leap day in the first month
    dt.date(2025, 10, 12),  # clock changes and a year's end within weeks
    dt.date(2026, 1, 31),  # a month's last day
])
@pytest.mark.parametrize("length", [31, 120, 400, SUMMARY_MAX_DAYS])  # days, weeks, months
def test_every_order_lands_in_the_period_its_order_date_says(app, user, start, length):
    """Orders dated the day before, the first and the last day of every
    period (and the day after the range) are each counted in the period
    whose first and last days hold their date, and nowhere else. (This was
    about instants a second around local midnights in zones with odd clocks;
    an order date is a plain date, so zones have nothing left to move.)"""
    date_to = start + dt.timedelta(days=length - 1)
    grain = overview.grain_for(length)
    starts = overview.period_starts(start, date_to, grain)
    ends = [day - dt.timedelta(days=1) for day in starts[1:]] + [date_to]
    dates = sorted({day + dt.timedelta(days=shift) for day in [*starts, *ends]
                    for shift in (-1, 0, 1)})
    _seed(user, dates)
    expected = [[0, Decimal("0.00")] for _ in starts]
    for n, day in enumerate(dates):
        for i, (first, last) in enumerate(zip(starts, ends, strict=True)):
            if first <= day <= last:
                expected[i][0] += 1
                expected[i][1] += Decimal(n % 7 + 1)
    assert sum(count for count, _ in expected) < len(dates)  # some lie outside
    got = overview.compute(user.id, ReportParams.summary(start, date_to), "USD")
    assert [p.start for p in got.periods] == starts
    assert [[p.orders, p.revenue] for p in got.periods] == expected
    assert got.kpis.orders == sum(count for count, _ in expected)
