"""Bounded work for summaries: a summary covers at most ten years, refused
the same way by the report form, the API, the dashboard and the worker; and
the overview's revenue per period is one statement whose size does not grow
with the number of periods, with the same numbers as before, clock changes
and odd zones included."""
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
from webapp.orders.services import ItemInput, create_order
from webapp.reports import overview
from webapp.reports.params import SUMMARY_MAX_DAYS, ReportParams, local_midnight

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
    order.created_at = dt.datetime(9999, 12, 30, 12, tzinfo=dt.UTC)
    db.session.commit()
    resp = client.post("/api/reports", json=_summary_body("9990-01-02", "9999-12-31"))
    assert resp.status_code == 202
    assert run_job(resp.get_json()["id"]) == "completed"
    got = overview.compute(user.id, ReportParams.summary(
        dt.date(9990, 1, 2), dt.date(9999, 12, 31), timezone=zone), "USD")
    assert got.kpis.orders == 1 and sum(p.orders for p in got.periods) == 1


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


@pytest.mark.parametrize(("zone", "date_from", "date_to", "cases"), [
    ("UTC", dt.date(2016, 4, 1), dt.date(2026, 3, 31), 0),  # 120 months, no clock change
    ("Asia/Kolkata", dt.date(2016, 4, 1), dt.date(2026, 3, 31), 0),
    ("Europe/Berlin", dt.date(2016, 4, 1), dt.date(2026, 3, 31), 20),  # two changes a year
    ("Europe/Berlin", dt.date(2026, 4, 1), dt.date(2026, 4, 30), 0),  # 30 days, none
    ("Europe/Berlin", dt.date(2026, 3, 1), dt.date(2026, 3, 31), 1),
])
def test_the_period_query_grows_with_clock_changes_not_with_periods(app, user, zone, date_from,
                                                                    date_to, cases):
    params = ReportParams.summary(date_from, date_to, timezone=zone)
    statements = _statements_of(lambda: overview.compute(user.id, params, "USD"))
    [periods] = [s for s in statements if " AS day" in s]
    # counted in the select list (GROUP BY may repeat the expression)
    assert periods.split("\nFROM ")[0].upper().count("CASE WHEN") == cases


# Zones whose clocks do odd things, each with a day near a change: half-hour
# DST (Lord Howe), clocks changed at midnight (Santiago), a skipped day (Apia,
# 2011-12-30), a quarter-hour offset changed once (Kathmandu, 1986), 45-minute
# offsets (Chatham), and two ordinary DST zones.
ODD = [("Australia/Lord_Howe", dt.date(2021, 10, 3)), ("America/Santiago", dt.date(2022, 9, 11)),
       ("America/Santiago", dt.date(2022, 4, 3)), ("Pacific/Apia", dt.date(2011, 12, 30)),
       ("Asia/Kathmandu", dt.date(1986, 1, 1)), ("Pacific/Chatham", dt.date(2021, 4, 4)),
       ("Europe/Berlin", dt.date(2025, 10, 26)), ("America/New_York", dt.date(2024, 3, 10))]


@pytest.mark.parametrize(("zone", "change"), ODD)
@pytest.mark.parametrize("length", [31, 120, 400, SUMMARY_MAX_DAYS])  # days, weeks, months
def test_every_order_lands_in_the_period_its_local_midnights_say(app, user, zone, change,
                                                                 length):
    """Orders a second before, at and a second after every period's first
    local midnight (and the range's end): each is counted in the period whose
    midnights (local_midnight, as the range's own bounds) hold it."""
    date_from = change - dt.timedelta(days=15)
    date_to = date_from + dt.timedelta(days=length - 1)
    params = ReportParams.summary(date_from, date_to, timezone=zone)
    starts = overview.period_starts(date_from, date_to, overview.grain_for(length))
    edges = [local_midnight(day, zone) for day in [*starts, date_to + dt.timedelta(days=1)]]
    instants = sorted({edge + dt.timedelta(seconds=s) for edge in edges for s in (-1, 0, 1)})
    with db.engine.begin() as conn:
        conn.execute(sa.insert(Order.__table__), [
            {"workspace_id": user.id, "customer": "ACME", "status": OrderStatus.COMPLETED,
             "created_at": at, "item_count": 1, "units": 1, "total": Decimal(n % 7 + 1)}
            for n, at in enumerate(instants)])
    expected = [[0, Decimal("0.00")] for _ in starts]
    for n, at in enumerate(instants):
        if edges[0] <= at < edges[-1]:
            i = max(k for k, edge in enumerate(edges[:-1]) if edge <= at)
            expected[i][0] += 1
            expected[i][1] += Decimal(n % 7 + 1)
    got = overview.compute(user.id, params, "USD")
    assert [[p.orders, p.revenue] for p in got.periods] == expected
    assert got.kpis.orders == sum(count for count, _ in expected)
