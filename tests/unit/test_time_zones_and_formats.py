"""Each user's time zone and CSV style, and the files a summary makes of them,
on SQLite and PostgreSQL: the account page saves the choices (bad ones keep
the input and say why), sign-up takes a zone, pages show times in it, a
summary's range is the user's days, and the task writes XLSX and PDF with the
overview and the zone (read back with openpyxl and pdftotext)."""
from __future__ import annotations

import datetime as dt
import subprocess
from decimal import Decimal
from pathlib import Path

import openpyxl
import sqlalchemy as sa

from tasks.reports import run_job
from webapp.extensions import db
from webapp.models import JobStatus, OrderStatus, ReportFormat, ReportJob, User
from webapp.orders.services import ItemInput, create_order
from webapp.reports import services
from webapp.reports.params import params_of


def _completed(user, customer: str, when: dt.datetime, *items) -> None:
    order = create_order(user, customer, [ItemInput(*i) for i in items])
    order.status = OrderStatus.COMPLETED
    order.created_at = when.replace(tzinfo=dt.UTC)
    db.session.commit()


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


def test_pages_show_times_in_the_users_zone(client, user):
    order = create_order(user, "ACME", [ItemInput("Widget", 1, Decimal("1.00"))])
    order.created_at = dt.datetime(2026, 7, 1, 22, 30, tzinfo=dt.UTC)
    db.session.commit()
    assert "2026-07-01 22:30 UTC" in client.get("/orders/").get_data(as_text=True)
    user.timezone = "Europe/Berlin"
    db.session.commit()
    assert "2026-07-02 00:30 CEST" in client.get("/orders/").get_data(as_text=True)
    reports = client.get("/reports/").get_data(as_text=True)
    assert "days in your time zone, Europe/Berlin" in reports


def test_a_summary_covers_the_users_days_and_says_so(app, user, sent):
    user.timezone = "America/New_York"
    db.session.commit()
    # 2026-11-04 03:00 UTC is still Nov 3 in New York; 05:30 UTC is Nov 4
    _completed(user, "Late", dt.datetime(2026, 11, 4, 3, 0), ("Widget", 1, Decimal("10.00")))
    _completed(user, "Next", dt.datetime(2026, 11, 4, 5, 30), ("Widget", 1, Decimal("20.00")))
    job, _ = services.request_summary_report(user, dt.date(2026, 11, 3), dt.date(2026, 11, 3),
                                             None, ReportFormat.CSV)
    assert job.params["timezone"] == "America/New_York"
    run_job(job.id)
    lines = _file(app, job.id).read_text("utf-8").splitlines()
    assert len(lines) == 2 and ",Late," in lines[1]
    assert lines[1].split(",")[1] == "2026-11-03T22:00:00-05:00"
    # changing the zone later does not change what an asked-for report covers
    user.timezone = "UTC"
    db.session.commit()
    db.session.expire_all()
    assert params_of(db.session.get(ReportJob, job.id)).timezone == "America/New_York"


def test_the_csv_of_a_user_who_asked_for_excel_with_a_decimal_comma(app, user, sent):
    user.csv_excel, user.csv_decimal_comma = True, True
    db.session.commit()
    _completed(user, "Müller", dt.datetime(2026, 11, 3, 12), ("Bolt", 3, Decimal("1.50")))
    job, _ = services.request_summary_report(user, dt.date(2026, 11, 1), dt.date(2026, 11, 30),
                                             None, ReportFormat.CSV)
    run_job(job.id)
    raw = _file(app, job.id).read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    assert raw.decode("utf-8-sig").splitlines()[1].endswith(
        ";Müller;completed;Bolt;3;1,50;4,50;USD")


def test_an_xlsx_summary_has_the_overview_and_typed_lines(app, user, sent):
    user.timezone = "Europe/Berlin"
    db.session.commit()
    _completed(user, "ACME", dt.datetime(2026, 11, 3, 23, 30), ("Widget", 3, Decimal("19.90")),
               ("Gadget", 1, Decimal("1250.00")))
    _completed(user, "Globex", dt.datetime(2026, 11, 10, 9, 0), ("Widget", 2, Decimal("19.90")))
    _completed(user, "ACME", dt.datetime(2026, 10, 20, 9, 0), ("Widget", 1, Decimal("5.00")))
    job, _ = services.request_summary_report(user, dt.date(2026, 11, 1), dt.date(2026, 11, 30),
                                             None, ReportFormat.XLSX)
    assert run_job(job.id) == "completed"
    path = _file(app, job.id)
    assert path.suffix == ".xlsx"
    book = openpyxl.load_workbook(path)
    assert book.sheetnames == ["Summary", "Lines"]
    lines = list(book["Lines"].iter_rows(values_only=True))
    assert len(lines) == 4  # header + 3 line items, in time order
    first = lines[1]
    assert first[0] == 1 and first[1] == dt.datetime(2026, 11, 4, 0, 30)  # Berlin wall clock
    assert first[5] == 3 and Decimal(str(first[6])) == Decimal("19.90")
    summary = [[c for c in row if c is not None]
               for row in book["Summary"].iter_rows(values_only=True)]
    flat = [c for row in summary for c in row]
    assert any("Europe/Berlin" in str(c) for c in flat)
    revenue = next(row for row in summary if row and row[0] == "Revenue")
    assert Decimal(str(revenue[1])) == Decimal("1349.50")  # 59.70 + 1250 + 39.80
    assert Decimal(str(revenue[2])) == Decimal("5.00")  # the previous 30 days


def test_a_pdf_summary_opens_with_the_overview(app, user, sent):
    _completed(user, "ACME", dt.datetime(2026, 11, 3, 12), ("Widget", 3, Decimal("19.90")))
    _completed(user, "Globex", dt.datetime(2026, 11, 5, 12), ("Gadget", 1, Decimal("250.00")))
    job, _ = services.request_summary_report(user, dt.date(2026, 11, 1), dt.date(2026, 11, 30),
                                             None, ReportFormat.PDF)
    assert run_job(job.id) == "completed"
    text = subprocess.run(["pdftotext", "-layout", "-f", "1", "-l", "1",
                           str(_file(app, job.id)), "-"],
                          capture_output=True, text=True, check=True).stdout
    assert "309.70" in text and "Revenue per day" in text
    assert "ACME" in text and "Globex" in text and "Times in UTC" in text
