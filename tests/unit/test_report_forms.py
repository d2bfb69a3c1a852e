"""The report pages as a business user meets them: honest messages after a
request, refusals shown on the form with the input kept, quick date ranges
without JavaScript, a confirmation before deleting, and job details that do not
show empty values."""
from __future__ import annotations

import datetime as dt
import html
import re
from decimal import Decimal
from html.parser import HTMLParser
from urllib.parse import parse_qs, urlsplit

import pytest

from tests.conftest import logged_in_client, make_user
from webapp.customers.services import CustomerInput, create_customer
from webapp.extensions import db
from webapp.models import JobStatus, ReportJob
from webapp.orders.services import ItemInput, create_order
from webapp.reports import forms as report_forms
from webapp.reports import services
from webapp.reports import views as report_views
from webapp.reports.presets import preset_range, user_today
from webapp.worker_beats import beat, forget

WORKER = "test-worker@forms"
NO_WORKER = "queued; no worker is running right now, it will start when one does."
SUMMARY = {"date_from": "2026-10-01", "date_to": "2026-10-31", "customer": "Café Lumière",
           "format": "pdf"}


class _Page(HTMLParser):
    """The forms of a page: each with its method, action and inputs/buttons."""

    def __init__(self, text: str):
        super().__init__()
        self.forms: list[dict] = []
        self.loose: list[dict] = []  # inputs outside any form
        self._form: dict | None = None
        self.feed(text)

    def handle_starttag(self, tag, attrs):
        attrs = {k: (v if v is not None else "") for k, v in attrs}
        if tag == "form":
            self._form = {**attrs, "fields": []}
            self.forms.append(self._form)
        elif tag in ("input", "button"):
            (self._form["fields"] if self._form is not None else self.loose).append(
                {"tag": tag, **attrs})

    def handle_endtag(self, tag):
        if tag == "form":
            self._form = None


def _form(resp, method: str) -> dict:
    page = _Page(resp.get_data(as_text=True))
    found = [f for f in page.forms if f.get("method", "get").lower() == method
             and "/reports/" in f.get("action", "") and "delete" not in f.get("action", "")]
    assert found, f"no {method} form on the page"
    return found[0]


def _shown(resp) -> dict[str, str | None]:
    """What the summary form shows: its dates, customer and checked format."""
    fields = _form(resp, "post")["fields"]
    value = {f["name"]: f.get("value") for f in fields if f.get("type") in ("date", "text")}
    checked = [f["value"] for f in fields if f.get("type") == "radio" and "checked" in f]
    return {"date_from": value.get("date_from"), "date_to": value.get("date_to"),
            "customer": value.get("customer"), "format": checked[0] if checked else None}


def _flashes(resp) -> list[str]:
    return [html.unescape(m) for m in
            re.findall(r'<p class="flash flash-\w+" role="(?:status|alert)"[^>]*>([^<]+)<',
                       resp.get_data(as_text=True))]


@pytest.fixture
def worker_running(app):
    beat(WORKER)
    yield
    forget(WORKER)


@pytest.fixture
def no_worker(app):
    forget(WORKER)


def _order(user):
    return create_order(user, "ACME", [ItemInput("Tea", 2, Decimal("2.50"))])


@pytest.fixture
def lumiere(user):
    """The customer SUMMARY's typed name means (a summary's customer is a record)."""
    return create_customer(user, CustomerInput(name="Café Lumière"))


# --- the form fills in: defaults, query string, presets ---------------------------

def test_the_summary_form_defaults_to_this_month_so_far_in_csv(client):
    today = user_today()
    assert _shown(client.get("/reports/")) == {
        "date_from": today.replace(day=1).isoformat(), "date_to": today.isoformat(),
        "customer": "", "format": "csv"}


def test_the_summary_form_fills_in_from_the_query_string(client):
    resp = client.get("/reports/", query_string=SUMMARY)
    assert resp.status_code == 200
    assert _shown(resp) == SUMMARY


def test_a_preset_fills_in_both_dates_and_keeps_customer_and_format(client, monkeypatch):
    today = dt.date(2026, 3, 31)
    monkeypatch.setattr(report_forms, "user_today", lambda: today)
    monkeypatch.setattr(report_views, "user_today", lambda: today)
    resp = client.get("/reports/", query_string={"preset": "last_month", "customer": "ACME",
                                                  "format": "pdf",
                                                  "date_from": "2020-01-01"})  # the preset wins
    assert _shown(resp) == {"date_from": "2026-02-01", "date_to": "2026-02-28",
                            "customer": "ACME", "format": "pdf"}
    # the preset in use is marked for assistive technology
    assert re.search(r'value="last_month"[^>]*aria-current="true"', resp.get_data(as_text=True))
    for name in ("this_quarter", "year_to_date", "today"):
        start, end = preset_range(name, today)
        shown = _shown(client.get("/reports/", query_string={"preset": name}))
        assert (shown["date_from"], shown["date_to"]) == (start.isoformat(), end.isoformat())
        assert shown["format"] == "csv"  # absent fields keep their defaults
    # an unknown preset changes nothing: this month so far
    assert _shown(client.get("/reports/?preset=next_year"))["date_from"] == "2026-03-01"


def test_a_hand_edited_query_string_never_breaks_the_page(client, sent):
    for query in ("date_from=garbage&date_to=2026-13-45", "format=doc", "preset=",
                  "preset=last_month&preset=today", "customer=" + "x" * 5000,
                  "date_from=2026-11-30&date_to=2026-11-01"):
        resp = client.get(f"/reports/?{query}")
        assert resp.status_code == 200, query
        assert "Summary of completed orders" in resp.get_data(as_text=True)
    assert sent == []


def test_presets_are_buttons_of_a_get_form_that_work_without_javascript(client):
    resp = client.get("/reports/", query_string={"customer": "ACME", "format": "pdf"})
    presets = _form(resp, "get")
    buttons = [f for f in presets["fields"] if f.get("name") == "preset"]
    assert [b["value"] for b in buttons] == [
        "today", "last_7_days", "last_30_days", "last_90_days", "this_month", "last_month",
        "this_quarter", "last_quarter", "this_year"]
    assert all(b["tag"] == "button" and b["type"] == "submit" and b["id"] for b in buttons)
    hidden = {f["name"]: f["value"] for f in presets["fields"] if f.get("type") == "hidden"}
    # what the user chose so far rides along; the CSRF token never goes into a URL
    assert hidden == {"customer": "ACME", "format": "pdf"}
    text = resp.get_data(as_text=True)
    assert "<legend>Quick date range</legend>" in text
    assert '<label for="date_from">From</label>' in text


# --- honest messages ----------------------------------------------------------------

def test_a_summary_request_without_a_worker_says_it_is_queued_and_keeps_the_form(
        client, sent, lumiere, no_worker):
    resp = client.post("/reports/", data=SUMMARY)
    assert resp.status_code == 303
    location = urlsplit(resp.headers["Location"])
    assert location.path == "/reports/"
    assert {k: v[0] for k, v in parse_qs(location.query).items()} == SUMMARY
    page = client.get(resp.headers["Location"])
    job = ReportJob.query.one()
    assert _flashes(page) == [f"Report #{job.id} ({job.format.value.upper()}) {NO_WORKER}"]
    assert "being generated" not in page.get_data(as_text=True)
    assert _shown(page) == SUMMARY
    assert sent == [job.id]
    assert job.params["customer_id"] == lumiere.id  # the typed name meant the record


def test_a_summary_request_with_a_worker_says_it_is_being_generated(
        client, sent, lumiere, worker_running):
    resp = client.post("/reports/", data=SUMMARY, follow_redirects=True)
    job = ReportJob.query.one()
    assert _flashes(resp) == [f"Report #{job.id} (PDF) requested; it is being generated."]
    assert _shown(resp) == SUMMARY


def test_asking_again_names_the_same_report_and_says_whether_a_worker_runs(client, sent,
                                                                          lumiere):
    forget(WORKER)
    client.post("/reports/", data=SUMMARY, follow_redirects=True)
    job = ReportJob.query.one()
    again = client.post("/reports/", data=SUMMARY, follow_redirects=True)
    assert _flashes(again) == [f"The same report is already queued (report #{job.id}); "
                               "no worker is running right now, it will start when one does."]
    beat(WORKER)
    try:
        again = client.post("/reports/", data=SUMMARY, follow_redirects=True)
    finally:
        forget(WORKER)
    assert _flashes(again) == [f"The same report is already in progress (report #{job.id})."]
    assert len(sent) == 1


def test_the_order_pages_generate_buttons_tell_the_truth_too(client, user, sent):
    order = _order(user)
    forget(WORKER)
    htmx = client.post(f"/reports/order/{order.id}", data={"format": "csv"},
                       headers={"HX-Request": "true"})
    first = ReportJob.query.one()
    assert htmx.status_code == 200
    assert _flashes(htmx) == [f"Report #{first.id} ({first.format.value.upper()}) {NO_WORKER}"]
    beat(WORKER)
    try:
        htmx = client.post(f"/reports/order/{order.id}", data={"format": "pdf"},
                           headers={"HX-Request": "true"})
        second = ReportJob.query.filter_by(format="pdf").one()
        assert _flashes(htmx) == [f"Report #{second.id} ({second.format.value.upper()}) "
                                  "requested; it is being generated."]
        # without JavaScript: the same words on the order page
        client.post(f"/reports/{second.id}/cancel")
        plain = client.post(f"/reports/order/{order.id}", data={"format": "pdf"},
                            follow_redirects=True)
    finally:
        forget(WORKER)
    third = ReportJob.query.order_by(ReportJob.id.desc()).first()
    assert plain.request.path == f"/orders/{order.id}"
    assert (f"Report #{third.id} ({third.format.value.upper()}) requested; it is being "
            "generated.") in _flashes(plain)


# --- refusals on the form, input kept -------------------------------------------------

def test_the_open_jobs_cap_shows_on_the_form_with_the_input_kept(app, client, sent, lumiere):
    app.config["REPORT_MAX_OPEN_JOBS"] = 1
    assert client.post("/reports/", data={**SUMMARY, "date_from": "2026-09-01"}).status_code == 303
    resp = client.post("/reports/", data=SUMMARY)
    text = resp.get_data(as_text=True)
    assert resp.status_code == 429
    assert "Summary of completed orders" in text and "Request refused" not in text
    refused = re.search(r'id="summary-refused">([^<]+)<', text)
    assert refused and "1 reports in progress" in html.unescape(refused.group(1))
    assert _shown(resp) == SUMMARY
    assert len(sent) == 1


def test_the_rate_limit_shows_on_the_form_with_the_input_kept(app, client, sent, lumiere):
    app.config["REPORT_RATE_LIMIT"] = "1 per minute"
    assert client.post("/reports/", data={**SUMMARY, "date_from": "2026-09-01"}).status_code == 303
    resp = client.post("/reports/", data=SUMMARY)
    text = html.unescape(resp.get_data(as_text=True))
    assert resp.status_code == 429
    assert "Summary of completed orders" in text and "Request refused" not in text
    refused = re.search(r'id="summary-refused">([^<]+)<', text)
    assert refused and "Too many requests" in refused.group(1)
    assert re.search(r"try again in (\d+ seconds?|1 minute)\.", refused.group(1))
    assert int(resp.headers["Retry-After"]) > 0
    assert _shown(resp) == SUMMARY
    assert len(sent) == 1
    # the API's answer to the same limit is unchanged: an RFC 9457 problem
    api = client.post("/api/reports", json={"kind": "summary", "format": "csv",
                                            "date_from": "2026-01-01", "date_to": "2026-01-02"})
    assert api.status_code == 429 and api.mimetype == "application/problem+json"
    assert api.get_json()["detail"].startswith("Too many requests in a short time (limit: ")


def test_refused_generate_buttons_without_javascript_go_back_to_the_order_with_the_reason(
        app, client, user, sent):
    order = _order(user)
    app.config["REPORT_MAX_OPEN_JOBS"] = 1
    client.post(f"/reports/order/{order.id}", data={"format": "csv"})
    capped = client.post(f"/reports/order/{order.id}", data={"format": "pdf"})
    assert capped.status_code == 303 and capped.headers["Location"].endswith(f"/orders/{order.id}")
    assert any("reports in progress" in m for m in _flashes(client.get(f"/orders/{order.id}")))
    # with htmx the same refusal is a notice on the page (htmx does not swap a 429)
    notice = client.post(f"/reports/order/{order.id}", data={"format": "pdf"},
                         headers={"HX-Request": "true"})
    assert notice.status_code == 200 and notice.headers["HX-Retarget"] == "#notices"
    assert "reports in progress" in notice.get_data(as_text=True)
    app.config["REPORT_MAX_OPEN_JOBS"] = 10
    app.config["REPORT_RATE_LIMIT"] = "1 per minute"
    client.post(f"/reports/order/{order.id}", data={"format": "pdf"}, follow_redirects=True)
    limited = client.post(f"/reports/order/{order.id}", data={"format": "csv"})
    assert limited.status_code == 303 and limited.headers["Location"].endswith(
        f"/orders/{order.id}")
    assert any("Too many requests" in m for m in _flashes(client.get(f"/orders/{order.id}")))
    assert len(sent) == 2  # the CSV, then the PDF once the cap was raised


def test_the_customer_field_is_a_picker_that_posts_an_id(client, sent, lumiere):
    fields = _form(client.get("/reports/"), "post")["fields"]
    text = next(f for f in fields if f.get("name") == "customer")
    assert text["type"] == "text" and text["role"] == "combobox"
    # the picker's id rides along only once JavaScript enables it
    assert any(f.get("name") == "customer_id" and f["type"] == "hidden" and "disabled" in f
               for f in fields)
    resp = client.post("/reports/", data={**SUMMARY, "customer": "Café Lumière",
                                          "customer_id": str(lumiere.id)})
    assert resp.status_code == 303
    job = ReportJob.query.one()
    assert (job.params["customer_id"], job.params["customer"]) == (lumiere.id, "Café Lumière")


def test_a_typed_customer_is_matched_in_any_case_or_accent(client, sent, lumiere):
    assert client.post("/reports/", data={**SUMMARY, "customer": "CAFE LUMIERE"}
                       ).status_code == 303
    assert ReportJob.query.one().params["customer_id"] == lumiere.id


def test_a_customer_that_means_no_record_is_refused_on_the_form_naming_close_ones(
        app, client, sent, lumiere):
    resp = client.post("/reports/", data={**SUMMARY, "customer": "Cafe Lumiere SARL"})
    text = html.unescape(resp.get_data(as_text=True))
    assert resp.status_code == 422
    error = re.search(r'id="customer-error">([^<]+)<', text)
    assert error and "No customer matches “Cafe Lumiere SARL”" in error.group(1)
    assert f"did you mean “Café Lumière” (id {lumiere.id})?" in error.group(1)
    assert _shown(resp) == {**SUMMARY, "customer": "Cafe Lumiere SARL"}
    # an id that is not of this workspace is no customer either, whatever the text
    other = create_customer(make_user("bob@example.com"), CustomerInput(name="Café Lumière"))
    resp = client.post("/reports/", data={**SUMMARY, "customer_id": str(other.id)})
    text = html.unescape(resp.get_data(as_text=True))
    assert resp.status_code == 422 and f"Customer {other.id} does not exist." in text
    assert sent == [] and ReportJob.query.count() == 0


def test_invalid_input_still_answers_422_with_the_input_kept(client, sent):
    resp = client.post("/reports/", data={**SUMMARY, "date_to": "2026-09-30"})
    assert resp.status_code == 422
    assert _shown(resp) == {**SUMMARY, "date_to": "2026-09-30"}
    assert sent == []


# --- deleting asks first ----------------------------------------------------------------

def test_deleting_a_report_asks_for_confirmation_first(client, user, sent):
    order = _order(user)
    client.post(f"/reports/order/{order.id}", data={"format": "csv"})
    job = ReportJob.query.one()
    show = client.get(f"/reports/{job.id}")
    assert f'href="/reports/{job.id}/delete"' in show.get_data(as_text=True)
    assert not [f for f in _Page(show.get_data(as_text=True)).forms
                if f.get("action") == f"/reports/{job.id}/delete"]  # no one-click delete
    confirm = client.get(f"/reports/{job.id}/delete")
    text = confirm.get_data(as_text=True)
    assert confirm.status_code == 200
    assert f"Delete report #{job.id}?" in text and "cannot be undone" in text
    assert "deleting it cancels it first" in text  # it is still pending
    assert f'href="/reports/{job.id}"' in text  # "No, keep it"
    form = next(f for f in _Page(text).forms if f.get("action") == f"/reports/{job.id}/delete")
    assert form["method"] == "post"
    assert {f["name"]: f["value"] for f in form["fields"] if f.get("type") == "hidden"}[
        "next"] == "/reports/"
    db.session.expire_all()
    assert db.session.get(ReportJob, job.id).deleted_at is None  # asking deleted nothing
    done = client.post(f"/reports/{job.id}/delete", data={"next": "/reports/"})
    assert done.status_code == 303 and done.headers["Location"] == "/reports/"
    assert client.get(f"/reports/{job.id}").status_code == 404
    assert client.get(f"/reports/{job.id}/delete").status_code == 404


def test_the_confirmation_page_is_404_for_another_users_report(app, client, user, sent):
    order = _order(user)
    client.post(f"/reports/order/{order.id}", data={"format": "csv"})
    job = ReportJob.query.one()
    bob = logged_in_client(app, make_user("bob@example.com"))
    assert bob.get(f"/reports/{job.id}/delete").status_code == 404
    assert bob.post(f"/reports/{job.id}/delete").status_code == 404
    assert client.get("/reports/99999/delete").status_code == 404


def test_the_confirmation_page_keeps_only_a_local_next(client, user, sent):
    order = _order(user)
    client.post(f"/reports/order/{order.id}", data={"format": "csv"})
    job = ReportJob.query.one()
    for target, kept in ((f"/orders/{order.id}", f"/orders/{order.id}"),
                         ("//evil.example/x", "/reports/")):
        text = client.get(f"/reports/{job.id}/delete", query_string={"next": target}).get_data(
            as_text=True)
        assert f'name="next" value="{kept}"' in text


# --- the job page's details ------------------------------------------------------------------

def _details(resp) -> str:
    return re.search(r'<dl class="facts">(.*?)</dl>', resp.get_data(as_text=True), re.S).group(1)


def test_a_report_cancelled_before_it_started_says_so(client, user, sent):
    order = _order(user)
    client.post(f"/reports/order/{order.id}", data={"format": "csv"})
    job = ReportJob.query.one()
    pending = _details(client.get(f"/reports/{job.id}"))
    assert "Attempts" not in pending and "Finished" not in pending
    services.cancel_job(user, job.id)
    details = _details(client.get(f"/reports/{job.id}"))
    assert "Cancelled before it started" in details
    assert "()" not in details and "Attempts" not in details and "Started" not in details


def test_a_report_that_ran_shows_its_duration_and_attempts(client, user, sent):
    order = _order(user)
    client.post(f"/reports/order/{order.id}", data={"format": "csv"})
    job = ReportJob.query.one()
    start = dt.datetime(2026, 11, 2, 10, 0, 0, tzinfo=dt.UTC)
    job.status, job.attempts = JobStatus.CANCELLED, 1
    job.started_at, job.finished_at = start, start + dt.timedelta(seconds=3)
    db.session.commit()
    details = _details(client.get(f"/reports/{job.id}"))
    assert "2026-11-02 10:00:03 UTC (3.0 s)" in details
    assert re.search(r"<dt>Attempts</dt><dd>1</dd>", details)
    assert "Cancelled before it started" not in details
