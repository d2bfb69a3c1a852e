"""What every page says to a person, walked over the whole app: the tab title is
text (no markup or template code), no table has a header a screen reader
reads as nothing, no developer hint reaches users; every paged list says when
a page is past its end and links to the last one; forms put the focus where
the person has to type; a report whose retry would fail the same way offers
none, and says what to do instead in words fit for its kind; a schedule's
deliveries and outcomes are said in words, once."""
from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal

import pytest
import sqlalchemy as sa

from tasks.reports import run_job
from tests.conftest import PASSWORD
from tests.unit.test_route_matrix import EXPECTED, PUBLIC, World, _routes
from tests.unit.test_schedules import MONDAY_7_BERLIN, _create, _end_job, _runs, _send_all, _set
from webapp.auth.current import as_actor
from webapp.enums import JobStatus, ReportFormat
from webapp.extensions import db
from webapp.models import ReportJob
from webapp.orders.services import ItemInput, create_order
from webapp.reports import services as reports
from webapp.reports.params import ReportParams
from webapp.schedules import runs

TITLE = re.compile(r"<title>(.*?)</title>", re.S)
EMPTY_HEADER = re.compile(r"<th(?:\s[^>]*)?>\s*</th>")
# the operator's commands belong in the README (the page for a forgotten
# password without e-mail names one for the operator, which is its point)
DEVELOPER_HINTS = ("demo-data", "flask run", "make run")


def _title_problems(where: str, html: str) -> list[str]:
    problems = []
    # the document's title (an inline SVG, such as a QR code, has its own)
    titles = TITLE.findall(html.split("</head>", 1)[0])
    if html.lstrip().lower().startswith("<!doctype") and len(titles) != 1:
        problems.append(f"{where}: a page needs one <title>, it has {len(titles)}")
    for title in titles:
        if any(mark in title for mark in "<>{}"):
            problems.append(f"{where}: the title carries markup or code: {title!r}")
        elif not title.strip(" ·").replace("Order reports", "").strip(" ·"):
            problems.append(f"{where}: the title names no page: {title!r}")
    if EMPTY_HEADER.search(html):
        problems.append(f"{where}: a table header is empty ({EMPTY_HEADER.search(html)[0]})")
    problems += [f"{where}: a developer hint ({hint!r})" for hint in DEVELOPER_HINTS
                 if hint in html]
    return problems


def _failed_forms(world) -> list[tuple[str, object, str, dict]]:
    """Forms sent back with errors: the same pages, rendered again."""
    return [
        ("nobody", "POST", "/signup", {"email": "new@example.com", "password": "short",
                                        "confirm": "short", "timezone": "UTC"}),
        ("nobody", "POST", "/login", {"email": "owner@example.com", "password": "wrong!"}),
        ("owner", "POST", "/schedules/new", {"name": "", "kind": "summary", "range": "nope",
                                          "format": "csv", "frequency": "daily",
                                          "time": "25:99", "timezone": "UTC"}),
        ("owner", "POST", "/orders/new", {"customer": "", "items-0-product": ""}),
    ]


def test_every_page_has_a_text_title_and_no_empty_header_or_developer_hint(app, world):
    """Every GET page of the app (from its URL map, as the route matrix fills
    the URLs) as the workspace's owner (who may open them all), the public ones
    also as nobody, and the forms that come back with errors."""
    problems, seen = [], 0
    for endpoint, route in _routes(app):
        if route.skip or "GET" not in route.methods or endpoint.startswith("api."):
            continue
        people = ["owner"] + (["nobody"] if route.scope == PUBLIC else [])
        for who in people:
            response = world.send(world.people[who], endpoint, "GET", route)
            if response.mimetype != "text/html":
                continue
            seen += 1
            problems += _title_problems(f"GET {endpoint} as {who} ({response.status_code})",
                                        response.get_data(as_text=True))
    for who, method, path, form in _failed_forms(world):
        response = world.people[who].client.open(path, method=method, data=form)
        assert response.status_code in (400, 401, 422), (path, response.status_code)
        seen += 1
        problems += _title_problems(f"{method} {path} as {who} ({response.status_code})",
                                    response.get_data(as_text=True))
    assert not problems, "\n".join(problems)
    # the walk reached the pages (not only redirects and files)
    assert seen >= len([e for e in EXPECTED if not e.startswith("api.")]) // 2


def test_a_new_users_empty_lists_say_how_to_begin(client):
    orders = client.get("/orders/").get_data(as_text=True)
    assert "No orders yet" in orders and 'href="/orders/new"' in orders
    for path in ("/orders/", "/customers/", "/reports/", "/schedules/"):
        html = client.get(path).get_data(as_text=True)
        assert "past the end" not in html and "demo-data" not in html, path


# --- past the end --------------------------------------------------------------------


def _one_of_each(user, client) -> dict[str, str]:
    """One item in every paged list; the list's URL for each."""
    here = as_actor(user)
    order = create_order(here, "Past End GmbH", [ItemInput("Tea", 1, Decimal("1.00"))])
    reports.request_order_report(here, order.id, ReportFormat.CSV)
    schedule = _create(client)
    assert client.post(f"/api/schedules/{schedule['id']}/run").status_code == 202
    return {"orders": "/orders/", "customers": "/customers/", "reports": "/reports/",
            "schedules": "/schedules/", "audit": "/team/audit/",
            "a customer's orders": f"/customers/{order.customer_id}",
            "a schedule's runs": f"/schedules/{schedule['id']}"}


def test_every_paged_list_says_a_page_past_the_end_is_past_it(client, user, sent):
    lists = _one_of_each(user, client)
    for name, path in lists.items():
        first = client.get(path)
        assert first.status_code == 200, (name, first.status_code)
        assert "past the end" not in first.get_data(as_text=True), name
        html = client.get(path, query_string={"page": 999}).get_data(as_text=True)
        assert re.search(r"Page 999 is past the end: there is 1 page \(\d+ in all\)\.", html), name
        last = re.search(r'href="([^"]*[?&]page=1[^"]*)">Go to the last page</a>', html)
        assert last, name
        assert client.get(last[1].replace("&amp;", "&")).status_code == 200
        for empty in ("No orders yet", "No reports yet", "No schedules yet", "No runs yet",
                      "No customers yet", "Nothing matches"):
            assert empty not in html, (name, empty)


def test_past_the_end_keeps_the_search_and_counts_with_separators(client, user, app):
    app.config["ORDERS_PER_PAGE"] = 2
    for n in range(5):
        create_order(user, f"Searched {n}", [ItemInput("Tea", 1, Decimal("1.00"))])
    html = client.get("/orders/?q=searched&page=7").get_data(as_text=True)
    assert "Page 7 is past the end: there are 3 pages (5 in all)." in html
    assert 'href="/orders/?page=3&amp;q=searched"' in html or \
        'href="/orders/?q=searched&amp;page=3"' in html


# --- focus ---------------------------------------------------------------------------


def _autofocused(html: str) -> list[str]:
    return re.findall(r'<(?:input|select|textarea)[^>]*\bautofocus\b[^>]*\bid="([^"]+)"', html) \
        + re.findall(r'<(?:input|select|textarea)[^>]*\bid="([^"]+)"[^>]*\bautofocus\b', html)


def test_a_failed_sign_up_focuses_the_field_that_failed(app):
    anonymous = app.test_client()
    assert _autofocused(anonymous.get("/signup").get_data(as_text=True)) == ["email"]
    short = anonymous.post("/signup", data={"email": "new@example.com", "password": "short",
                                            "confirm": "short", "timezone": "UTC"})
    html = short.get_data(as_text=True)
    assert short.status_code == 422 and "at least" in html
    assert _autofocused(html) == ["password"]
    [password] = re.findall(r'<input[^>]*\bid="password"[^>]*>', html)
    assert 'aria-invalid="true"' in password
    differ = anonymous.post("/signup", data={"email": "new@example.com", "password": PASSWORD,
                                             "confirm": PASSWORD + "x", "timezone": "UTC"})
    assert _autofocused(differ.get_data(as_text=True)) == ["confirm"]
    no_email = anonymous.post("/signup", data={"email": "", "password": "short",
                                               "confirm": "short", "timezone": "UTC"})
    assert _autofocused(no_email.get_data(as_text=True)) == ["email"]  # the first that failed


def test_the_schedule_form_focuses_its_first_field_or_the_first_that_failed(client):
    assert _autofocused(client.get("/schedules/new").get_data(as_text=True)) == ["name"]
    made = _create(client)
    assert _autofocused(client.get(f"/schedules/{made['id']}/edit")
                        .get_data(as_text=True)) == ["name"]
    bad_time = client.post("/schedules/new", data={
        "name": "Daily", "kind": "summary", "range": "last_7_days", "format": "csv",
        "frequency": "daily", "time": "25:99", "timezone": "UTC"})
    assert bad_time.status_code in (400, 422)
    assert _autofocused(bad_time.get_data(as_text=True)) == ["time"]


# --- reports that cannot be retried, and the advice of a PDF over the cap -----------


def _failed_pdf(user, params: ReportParams) -> ReportJob:
    job, _ = reports.request_report(as_actor(user), params, ReportFormat.PDF)
    assert run_job(job.id) == "failed"
    return db.session.get(ReportJob, job.id, populate_existing=True)


def test_a_pdf_over_the_row_cap_says_what_fits_its_kind_and_offers_no_retry(
        app, client, user, sent):
    app.config["REPORT_PDF_MAX_ROWS"] = 1
    order = create_order(user, "Big Buyer", [ItemInput("Tea", 1, Decimal("1.00")),
                                             ItemInput("Cake", 1, Decimal("2.00"))])
    export = _failed_pdf(user, ReportParams.listing(""))
    assert export.rows_total == 2
    assert "2 line items; PDFs stop at 1." in export.error
    assert "narrow the list with a search" in export.error and "dates" not in export.error
    one_order = _failed_pdf(user, ReportParams.order(order.id))
    assert "CSV" in one_order.error and "narrow" not in one_order.error
    today = order.order_date
    client.post(f"/orders/{order.id}/status", data={"status": "completed"})
    summary = _failed_pdf(user, ReportParams.summary(today, today))
    assert "narrow the dates or pick one customer" in summary.error

    listed = client.get("/reports/").get_data(as_text=True)
    for job in (export, one_order, summary):
        assert f'id="job-{job.id}-retry"' not in listed
        assert f'id="job-{job.id}-retry"' not in client.get(f"/reports/{job.id}") \
            .get_data(as_text=True)
        refused = client.post(f"/api/reports/{job.id}/retry")
        assert refused.status_code == 409
        assert "would fail the same way" in refused.get_json()["detail"]
        assert "Ask for the CSV" in refused.get_json()["detail"]

    # a cap raised since: the same report fits now, and Retry is offered again
    app.config["REPORT_PDF_MAX_ROWS"] = 10
    assert f'id="job-{export.id}-retry"' in client.get("/reports/").get_data(as_text=True)
    assert client.post(f"/api/reports/{export.id}/retry").status_code == 202


def test_other_failures_still_offer_retry(client, user, sent):
    job, _ = reports.request_report(as_actor(user), ReportParams.listing(""), ReportFormat.PDF)
    table = ReportJob.__table__
    with db.engine.begin() as conn:
        conn.execute(sa.update(table).where(table.c.id == job.id).values(
            status=JobStatus.FAILED.value, error="The database could not be read."))
    db.session.expire_all()
    assert f'id="job-{job.id}-retry"' in client.get("/reports/").get_data(as_text=True)


# --- a schedule's deliveries and outcomes, in words -------------------------------------


def _cell(html: str, cell_id: str) -> str:
    found = re.search(rf'<td [^>]*id="{cell_id}"[^>]*>(.*?)</td>', html, re.S)
    assert found, cell_id
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", found[1])).strip()


def test_deliveries_say_what_happened_in_words_not_codes(client, app, user, smtp_server):
    app.config.update(SMTP_URL=smtp_server.url, DELIVERY_RETRY_DELAYS="1",
                      MAIL_ALLOWED_DOMAINS="example.com")
    # the colleagues' domain: no confirmation first (consent has its own tests)
    made = _create(client, email=["colleague@example.com"])
    _set(made["id"], next_run_at=MONDAY_7_BERLIN)
    runs.tick(MONDAY_7_BERLIN)
    _end_job(_runs()[0].job_id, JobStatus.COMPLETED)
    assert "delivered" in _send_all(MONDAY_7_BERLIN + dt.timedelta(minutes=1))
    run = _runs()[0]
    html = client.get(f"/schedules/{made['id']}").get_data(as_text=True)
    deliveries = _cell(html, f"run-{run.id}-deliveries")
    assert "delivered" in deliveries and "colleague@example.com" in deliveries
    assert "250" not in deliveries and "attempt" not in deliveries  # one try: no count

    smtp_server.reject("RCPT", 550, "5.1.1 no such user")
    assert client.post(f"/api/schedules/{made['id']}/run").status_code == 202
    second = _runs(made["id"])[-1]
    _end_job(second.job_id, JobStatus.COMPLETED)
    assert "failed" in _send_all()  # 5xx: final at once
    html = client.get(f"/schedules/{made['id']}").get_data(as_text=True)
    failed = _cell(html, f"run-{second.id}-deliveries")
    assert "failed" in failed and "refused the recipient (550)" in failed
    assert "no such user" not in failed  # the server's own words are for the log


def test_a_cancelled_run_and_report_say_cancelled_once(client, sent):
    made = _create(client)
    _set(made["id"], next_run_at=MONDAY_7_BERLIN)
    runs.tick(MONDAY_7_BERLIN)
    run = _runs()[0]
    assert client.post(f"/api/reports/{run.job_id}/cancel").status_code == 200
    _send_all(MONDAY_7_BERLIN + dt.timedelta(minutes=1))
    html = client.get(f"/schedules/{made['id']}").get_data(as_text=True)
    outcome = _cell(html, f"run-{run.id}-outcome")
    assert outcome.lower().count("cancel") == 1, outcome
    status = re.search(rf'<span class="job-status" id="job-{run.job_id}-status".*?</span>\s*'
                       r'(?:<button|</span>)', html, re.S)
    words = re.sub(r"<[^>]+>", " ", status[0].rsplit("<button", 1)[0])
    assert words.lower().count("cancelled") == 1, words


@pytest.fixture
def world(app, sent):
    app.config.update(REPORT_MAX_OPEN_JOBS=10_000, SCHEDULES_MAX_PER_USER=10_000)
    return World(app)

