"""Each user's time zone and CSV style, and the files a summary makes of them,
on SQLite and PostgreSQL: the account page saves the choices (bad ones keep
the input and say why), sign-up takes a zone, pages show times in it, a
order is dated with its maker's day, a summary covers order dates (calendar
days: no zone moves them in a file), and the task writes XLSX and PDF with
the overview and the zone (read back with openpyxl and pdftotext)."""
from __future__ import annotations

import datetime as dt
import subprocess
from decimal import Decimal
from pathlib import Path

import openpyxl
import pytest
import sqlalchemy as sa

from tasks.reports import run_job
from webapp.extensions import db
from webapp.models import JobStatus, OrderStatus, ReportFormat, ReportJob, User
from webapp.orders import services as order_services
from webapp.orders.services import ItemInput, create_order
from webapp.reports import services
from webapp.reports.params import params_of
from webapp.timezones import local


@pytest.fixture
def entered_at(monkeypatch):
    """entered_at(when): the orders made from now on are entered at `when`
    (UTC), so the service dates each one with that instant's day in its
    maker's zone."""
    def enter(when: dt.datetime) -> None:
        monkeypatch.setattr(order_services, "today", lambda zone: local(when, zone).date())
    return enter


def _completed(user, customer: str, when: dt.datetime, *items):
    """A completed order entered at `when` (UTC) and dated as the service dates it."""
    order = create_order(user, customer, [ItemInput(*i) for i in items],
                         status=OrderStatus.COMPLETED)
    order.created_at = when.replace(tzinfo=dt.UTC)
    db.session.commit()
    return order


def _file(app, job_id: int) -> Path:
    db.session.expire_all()
    job = db.session.get(ReportJob, job_id)
    assert job.status is JobStatus.COMPLETED, job.error
    return Path(app.config["REPORTS_DIR"]) / job.file_name


def test_the_account_page_saves_the_zone_and_csv_style(client, user):
    page = client.get("/account").get_data(as_text=True)
    assert '<option selected value="UTC">UTC</option>' in page
    assert '<option value="Europe/Berlin">Europe/Berlin</option>' in page
    resp = client.post("/account/preferences", data={
        "timezone": "America/New_York", "csv_excel": "y", "csv_decimal_comma": "y"})
    assert resp.status_code == 303
    db.session.expire_all()
    saved = db.session.get(User, user.id)
    assert (saved.timezone, saved.csv_excel, saved.csv_decimal_comma) == (
        "America/New_York", True, True)
    assert "Times are shown in America/New_York" in client.get("/account").get_data(as_text=True)


def test_a_zone_that_does_not_exist_is_refused_and_the_input_kept(client, user):
    resp = client.post("/account/preferences", data={"timezone": "Mars/Olympus_Mons",
                                                     "csv_excel": "y"})
    page = resp.get_data(as_text=True)
    assert resp.status_code == 422 and "Pick a time zone from the list." in page
    assert '<option selected value="Mars/Olympus_Mons">' in page  # what was sent, kept
    assert 'checked id="csv_excel"' in page  # what was ticked, kept
    db.session.expire_all()
    assert db.session.get(User, user.id).timezone == "UTC"


def test_sign_up_keeps_the_zone_chosen(app):
    client = app.test_client()
    page = client.get("/signup").get_data(as_text=True)
    assert 'data-browser-zone="1"' in page and "js/timezone.js" in page
    resp = client.post("/signup", data={"email": "zoe@example.com",
                                        "password": "correct horse battery staple",
                                        "confirm": "correct horse battery staple",
                                        "timezone": "Asia/Kolkata"})
    assert resp.status_code == 303
    assert db.session.scalar(sa.select(User.timezone).where(
        User.email == "zoe@example.com")) == "Asia/Kolkata"


def test_pages_show_times_in_the_users_zone(client, user, entered_at):
    when = dt.datetime(2026, 7, 1, 22, 30, tzinfo=dt.UTC)
    entered_at(when)
    order = create_order(user, "ACME", [ItemInput("Widget", 1, Decimal("1.00"))])
    order.created_at = when
    db.session.commit()
    page = f"/orders/{order.id}"
    assert order.order_date == dt.date(2026, 7, 1)  # the maker's (UTC) day
    assert "entered 2026-07-01 22:30 UTC" in client.get(page).get_data(as_text=True)
    user.timezone = "Europe/Berlin"
    db.session.commit()
    assert "entered 2026-07-02 00:30 CEST" in client.get(page).get_data(as_text=True)
    # the order's date is a calendar day: another viewer's zone does not move it
    assert "dated 2026-07-01" in client.get(page).get_data(as_text=True)
    orders = client.get("/orders/").get_data(as_text=True)
    assert '<td class="nowrap" data-label="Date">2026-07-01</td>' in orders
    reports = client.get("/reports/").get_data(as_text=True)
    assert "days in your time zone, Europe/Berlin" in reports


def test_a_summary_covers_the_users_days_and_says_so(app, user, sent, entered_at):
    user.timezone = "America/New_York"
    db.session.commit()
    # 2026-11-04 03:00 UTC is still Nov 3 in New York; 05:30 UTC is Nov 4
    entered_at(dt.datetime(2026, 11, 4, 3, 0, tzinfo=dt.UTC))
    late = _completed(user, "Late", dt.datetime(2026, 11, 4, 3, 0),
                      ("Widget", 1, Decimal("10.00")))
    entered_at(dt.datetime(2026, 11, 4, 5, 30, tzinfo=dt.UTC))
    _completed(user, "Next", dt.datetime(2026, 11, 4, 5, 30), ("Widget", 1, Decimal("20.00")))
    assert late.order_date == dt.date(2026, 11, 3)
    job, _ = services.request_summary_report(user, dt.date(2026, 11, 3), dt.date(2026, 11, 3),
                                             None, ReportFormat.CSV)
    assert job.params["timezone"] == "America/New_York"
    run_job(job.id)
    lines = _file(app, job.id).read_text("utf-8").splitlines()
    assert len(lines) == 2 and ",Late," in lines[1]
    assert lines[1].split(",")[2] == "2026-11-03"  # the order's date, as it is
    # changing the zone later does not change what an asked-for report covers
    user.timezone = "UTC"
    db.session.commit()
    db.session.expire_all()
    assert params_of(db.session.get(ReportJob, job.id)).timezone == "America/New_York"


def test_the_csv_of_a_user_who_asked_for_excel_with_a_decimal_comma(app, user, sent,
                                                                   entered_at):
    user.csv_excel, user.csv_decimal_comma = True, True
    db.session.commit()
    entered_at(dt.datetime(2026, 11, 3, 12, tzinfo=dt.UTC))
    _completed(user, "Müller", dt.datetime(2026, 11, 3, 12),
               ("Bolt", 3, Decimal("1.50"), Decimal("5.5"), Decimal("12.5")))
    job, _ = services.request_summary_report(user, dt.date(2026, 11, 1), dt.date(2026, 11, 30),
                                             None, ReportFormat.CSV)
    run_job(job.id)
    raw = _file(app, job.id).read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    # 4.50 less 12.5% (0.5625: 0.56) is 3.94 net, 5.5% tax on it 0.2167: 0.22
    assert raw.decode("utf-8-sig").splitlines()[1].endswith(
        ";2026-11-03;Müller;completed;Bolt;3;1,50;12,5;0,56;3,94;5,5;0,22;4,16;USD")


def test_an_xlsx_summary_has_the_overview_and_typed_lines(app, user, sent, entered_at):
    user.timezone = "Europe/Berlin"
    db.session.commit()
    orders = ((dt.datetime(2026, 11, 3, 23, 30), "ACME",  # Nov 4 in Berlin
               [("Widget", 3, Decimal("19.90"), Decimal(19)),
                ("Gadget", 1, Decimal("1250.00"), Decimal(7))]),
              (dt.datetime(2026, 11, 10, 9, 0), "Globex", [("Widget", 2, Decimal("19.90"),
                                                           Decimal(19))]),
              (dt.datetime(2026, 10, 20, 9, 0), "ACME", [("Widget", 1, Decimal("5.00"))]))
    for when, customer, items in orders:
        entered_at(when.replace(tzinfo=dt.UTC))
        _completed(user, customer, when, *items)
    job, _ = services.request_summary_report(user, dt.date(2026, 11, 1), dt.date(2026, 11, 30),
                                             None, ReportFormat.XLSX)
    assert run_job(job.id) == "completed"
    path = _file(app, job.id)
    assert path.suffix == ".xlsx"
    book = openpyxl.load_workbook(path)
    assert book.sheetnames == ["Summary", "Lines"]
    lines = list(book["Lines"].iter_rows(values_only=True))
    # header, 3 line items in date order, a blank row, the totals
    assert len(lines) == 6 and lines[4] == (None,) * 14
    first = lines[1]
    assert first[:3] == (1, "SO-000001", dt.datetime(2026, 11, 4))  # the Berlin day, no time
    assert first[6] == 3 and Decimal(str(first[7])) == Decimal("19.90")
    assert [Decimal(str(c)) for c in first[8:]] == [0, 0, Decimal("59.70"), 19,
                                                    Decimal("11.34"), Decimal("71.04")]
    assert [line[2] for line in lines[1:4]] == [dt.datetime(2026, 11, 4)] * 2 + [
        dt.datetime(2026, 11, 10)]
    total = lines[5]
    assert total[0] == "Total" and total[6] == 6
    assert Decimal(str(total[13])) == Decimal("1455.90")  # 71.04 + 1337.50 + 47.36
    summary = [[c for c in row if c is not None]
               for row in book["Summary"].iter_rows(values_only=True)]
    flat = [c for row in summary for c in row]
    assert any("Europe/Berlin" in str(c) for c in flat)

    def figure(label: str) -> tuple[Decimal, Decimal]:
        row = next(row for row in summary if row and row[0] == label)
        return Decimal(str(row[1])), Decimal(str(row[2]))  # this and the previous period

    assert figure("Net") == (Decimal("1349.50"), Decimal("5.00"))  # 59.70 + 1250 + 39.80
    assert figure("Tax") == (Decimal("106.40"), Decimal(0))  # 11.34 + 87.50 + 7.56
    assert figure("Revenue (gross)") == (Decimal("1455.90"), Decimal("5.00"))


def test_a_pdf_summary_opens_with_the_overview(app, user, sent, entered_at):
    entered_at(dt.datetime(2026, 11, 3, 12, tzinfo=dt.UTC))
    _completed(user, "ACME", dt.datetime(2026, 11, 3, 12), ("Widget", 3, Decimal("19.90")))
    entered_at(dt.datetime(2026, 11, 5, 12, tzinfo=dt.UTC))
    _completed(user, "Globex", dt.datetime(2026, 11, 5, 12), ("Gadget", 1, Decimal("250.00")))
    job, _ = services.request_summary_report(user, dt.date(2026, 11, 1), dt.date(2026, 11, 30),
                                             None, ReportFormat.PDF)
    assert run_job(job.id) == "completed"
    text = subprocess.run(["pdftotext", "-layout", "-f", "1", "-l", "1",
                           str(_file(app, job.id)), "-"],
                          capture_output=True, text=True, check=True).stdout
    assert "309.70" in text and "Revenue per day" in text
    assert "ACME" in text and "Globex" in text and "Times in UTC" in text
