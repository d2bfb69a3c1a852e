"""The dashboard (/dashboard) as a user meets it, on SQLite and PostgreSQL:
the numbers are the overview's, ranges are of order dates, nobody sees
another user's orders (an admin sees everyone's), htmx gets the panel alone,
bad ranges are refused on the page with what was typed kept, and "Download
this as …" records a summary report of the same range. Then the charts'
SVG on its own: well-formed, labelled, proportional, thinned and escaped."""
from __future__ import annotations

import datetime as dt
import html
import re
import xml.etree.ElementTree as ET
from decimal import Decimal

import pytest

from tests.conftest import logged_in_client, make_user
from webapp.dashboard import charts
from webapp.dashboard import views as dashboard_views
from webapp.extensions import db
from webapp.models import OrderStatus, ReportFormat, ReportJob
from webapp.orders.services import ItemInput, create_order
from webapp.reports.overview import Grain, Kpis, Overview, Period, Ranked, compute
from webapp.reports.params import ReportParams

SVG = "{http://www.w3.org/2000/svg}"
TODAY = dt.date(2026, 3, 31)


def _order(user, customer: str, day: dt.date, *items, status=OrderStatus.COMPLETED,
           created_at: dt.datetime | None = None):
    """An order dated `day` (what the dashboard counts by); created_at, when
    it was typed in, is left as it is unless given."""
    order = create_order(user, customer, [ItemInput(*i) for i in items], order_date=day)
    order.status = status
    if created_at is not None:
        order.created_at = created_at
    db.session.commit()
    return order


def _at(day: dt.date, hour: int = 12, minute: int = 0) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour, minute), dt.UTC)


@pytest.fixture
def today(monkeypatch):
    """The user's today, frozen (the presets and the default range count from it)."""
    monkeypatch.setattr(dashboard_views, "user_today", lambda: TODAY)
    return TODAY


def _text(resp) -> str:
    return resp.get_data(as_text=True)


def _kpi(resp, name: str) -> str:
    found = re.search(rf'id="kpi-{name}">.*?class="kpi-value">([^<]*)<', _text(resp), re.S)
    assert found, name
    return html.unescape(found.group(1))


def _date_inputs(resp) -> dict[str, str]:
    return {name: html.unescape(value) for name, value in re.findall(
        r'<input type="date" id="range-\w+" name="(\w+)" value="([^"]*)"', _text(resp))}


def _svgs(resp) -> list[ET.Element]:
    return [ET.fromstring(s) for s in re.findall(r"<svg.*?</svg>", _text(resp), re.S)]


# --- the page -------------------------------------------------------------------------

def test_the_dashboard_renders_for_a_user_without_orders(client, today):
    resp = client.get("/dashboard")
    assert resp.status_code == 200
    text = _text(resp)
    assert "<h1>Dashboard</h1>" in text and "<html" in text
    assert _kpi(resp, "orders") == "0" and _kpi(resp, "revenue") == "0.00 USD"
    assert text.count("no earlier data") == 5
    assert "No revenue in this range" in text and "No completed orders in this range." in text
    # the default range is the last 30 days, marked as the one in use
    assert _date_inputs(resp) == {"date_from": "2026-03-02", "date_to": "2026-03-31"}
    assert re.search(r'id="range-last_30_days"[^>]*aria-current="true"', text)


def test_the_kpis_shown_are_the_overviews_numbers(app, user, client, today):
    _order(user, "ACME", TODAY - dt.timedelta(days=1), ("Tea", 3, Decimal("2.50")),
           ("Cake", 1, Decimal("10.00")))
    _order(user, "Bolt & Co", TODAY - dt.timedelta(days=2), ("Tea", 7, Decimal("2.50")))
    _order(user, "ACME", TODAY - dt.timedelta(days=40), ("Tea", 1, Decimal("2.50")))
    _order(user, "ACME", TODAY, ("Tea", 99, Decimal("1.00")), status=OrderStatus.OPEN)
    resp = client.get("/dashboard")
    params = ReportParams.summary(TODAY - dt.timedelta(days=29), TODAY)
    expected = compute(user.id, params, app.config["CURRENCY"])
    assert _kpi(resp, "orders") == f"{expected.kpis.orders:,}" == "2"
    assert _kpi(resp, "items") == str(expected.kpis.items) == "3"
    assert _kpi(resp, "units") == str(expected.kpis.units) == "11"
    assert _kpi(resp, "revenue") == f"{expected.kpis.revenue:,.2f} USD" == "35.00 USD"
    assert _kpi(resp, "average_order_value") == "17.50 USD"
    text = html.unescape(_text(resp))
    # the previous 30 days held one order of 2.50: orders doubled, revenue x14
    assert "up 100.0 % on Jan 31 – Mar 1" in text and "up 1300.0 % on Jan 31 – Mar 1" in text
    assert "Bolt &amp; Co" in _text(resp) and "Cake" in text


@pytest.mark.parametrize(("preset", "start", "end"), [
    ("last_7_days", "2026-03-25", "2026-03-31"),
    ("last_90_days", "2026-01-01", "2026-03-31"),
    ("this_month", "2026-03-01", "2026-03-31"),
    ("last_month", "2026-02-01", "2026-02-28"),
    ("this_quarter", "2026-01-01", "2026-03-31"),
    ("year_to_date", "2026-01-01", "2026-03-31"),
])
def test_each_preset_shows_its_dates_and_is_marked(client, today, preset, start, end):
    resp = client.get("/dashboard", query_string={"preset": preset})
    assert resp.status_code == 200
    assert _date_inputs(resp) == {"date_from": start, "date_to": end}
    assert re.search(rf'id="range-{preset}"[^>]*aria-current="true"', _text(resp))
    # the download buttons ask for exactly these dates
    assert f'name="date_from" value="{start}"' in _text(resp)


def test_an_evening_order_counts_on_its_order_date_in_any_viewers_zone(user, client, today):
    # Ranges once cut created_at at the viewer's local midnights; now they
    # are ranges of order dates, so the viewer's zone moves no order. Typed
    # in at 23:30 UTC on March 10 (00:30 on March 11 in Berlin), dated March 10.
    _order(user, "Late", dt.date(2026, 3, 10), ("Tea", 1, Decimal("5.00")),
           created_at=_at(dt.date(2026, 3, 10), 23, 30))
    dated = {"date_from": "2026-03-10", "date_to": "2026-03-10"}
    typed_in_berlin = {"date_from": "2026-03-11", "date_to": "2026-03-11"}
    for zone in ("UTC", "Europe/Berlin"):
        user.timezone = zone
        db.session.commit()
        resp = client.get("/dashboard", query_string=dated)
        assert _kpi(resp, "orders") == "1" and _kpi(resp, "revenue") == "5.00 USD"
        assert f"{zone} dates" in _text(resp)
        assert _kpi(client.get("/dashboard", query_string=typed_in_berlin), "orders") == "0"


def test_another_workspaces_orders_never_show_not_even_to_a_site_admin(app, user, client,
                                                                       today):
    _order(user, "Mine", TODAY, ("Tea", 1, Decimal("1.00")))
    bob = make_user("bob@example.com")
    _order(bob, "Bobs Secret Customer", TODAY, ("Secret Sauce", 1, Decimal("100.00")))
    resp = client.get("/dashboard")
    assert _kpi(resp, "orders") == "1" and _kpi(resp, "revenue") == "1.00 USD"
    assert "Bobs Secret Customer" not in _text(resp) and "Secret Sauce" not in _text(resp)
    admin = logged_in_client(app, make_user("root@example.com", site_admin=True))
    resp = admin.get("/dashboard")
    assert _kpi(resp, "orders") == "0" and "Bobs Secret Customer" not in _text(resp)


def test_an_htmx_request_gets_the_panel_alone(client, today):
    resp = client.get("/dashboard?preset=last_7_days", headers={"HX-Request": "true"})
    assert resp.status_code == 200
    text = _text(resp)
    assert "<html" not in text and "<h1>" not in text
    assert text.lstrip().startswith("<section id=\"dashboard-panel\"")
    assert "HX-Request" in resp.headers["Vary"]
    # a history restore (cache miss) gets the whole page
    full = client.get("/dashboard?preset=last_7_days",
                      headers={"HX-Request": "true", "HX-History-Restore-Request": "true"})
    assert "<html" in _text(full)


@pytest.mark.parametrize(("query", "message", "kept"), [
    ({"date_from": "2026-03-31", "date_to": "2026-03-01"}, "The start date is after the end date.",
     {"date_from": "2026-03-31", "date_to": "2026-03-01"}),
    ({"date_from": "2026-13-01", "date_to": "2026-03-01"}, "“2026-13-01” is not a date",
     {"date_from": "2026-13-01", "date_to": "2026-03-01"}),
    ({"date_from": "yesterday", "date_to": ""}, "“yesterday” is not a date",
     {"date_from": "yesterday", "date_to": ""}),
    ({"date_from": "2010-01-01", "date_to": "2026-03-01"}, "at most 10 years",
     {"date_from": "2010-01-01", "date_to": "2026-03-01"}),
    ({"date_from": "0001-01-01", "date_to": "0001-01-02"}, "Pick a date between",
     {"date_from": "0001-01-01", "date_to": "0001-01-02"}),
    ({"preset": "next_year"}, "That quick range does not exist", {"date_from": "", "date_to": ""}),
])
def test_a_bad_range_is_refused_on_the_page_with_the_input_kept(client, today, query, message,
                                                                 kept):
    resp = client.get("/dashboard", query_string=query)
    assert resp.status_code == 400
    text = html.unescape(_text(resp))
    assert message in text and "This range cannot be shown" in text and "<html" in text
    assert _date_inputs(resp) == kept
    assert "Download this as" not in text
    panel = client.get("/dashboard", query_string=query, headers={"HX-Request": "true"})
    # htmx 2 swaps only 2xx answers: the refusal is a panel like any other
    assert panel.status_code == 200 and message in html.unescape(_text(panel))
    assert "<html" not in _text(panel)


def test_ten_years_exactly_is_accepted(client, today):
    resp = client.get("/dashboard", query_string={"date_from": "2016-04-01",
                                                  "date_to": "2026-03-31"})
    assert resp.status_code == 200 and "Revenue per month" in _text(resp)


@pytest.mark.parametrize("fmt", [ReportFormat.XLSX, ReportFormat.PDF, ReportFormat.CSV])
def test_download_records_a_summary_job_of_the_range_and_goes_to_it(user, client, sent, today,
                                                                    fmt):
    user.timezone = "Europe/Berlin"
    db.session.commit()
    resp = client.post("/dashboard/report", data={
        "date_from": "2026-02-01", "date_to": "2026-02-28", "format": fmt.value})
    assert resp.status_code == 303
    job = db.session.scalars(db.select(ReportJob)).one()
    assert resp.headers["Location"] == f"/reports/{job.id}"
    assert sent == [job.id]
    assert job.format is fmt and job.workspace_id == user.id
    assert job.params == {"date_from": "2026-02-01", "date_to": "2026-02-28", "customer": None,
                          "timezone": "Europe/Berlin"}
    page = client.get(resp.headers["Location"])
    assert f"Report #{job.id} ({fmt.value.upper()})" in _text(page)


def test_download_refuses_a_bad_range_or_format_without_a_job(client, sent, today):
    bad = client.post("/dashboard/report", data={"date_from": "2026-03-05",
                                                 "date_to": "2026-03-01", "format": "pdf"})
    assert bad.status_code == 422 and "The start date is after the end date." in _text(bad)
    odd = client.post("/dashboard/report", data={"date_from": "2026-03-01",
                                                 "date_to": "2026-03-05", "format": "exe"})
    assert odd.status_code == 422 and "Pick PDF, XLSX or CSV." in _text(odd)
    assert db.session.scalars(db.select(ReportJob)).all() == [] and sent == []


def test_log_in_lands_on_the_dashboard_and_the_nav_leads_there_first(app, user, client):
    from tests.conftest import PASSWORD

    web = app.test_client()
    resp = web.post("/login", data={"email": user.email, "password": PASSWORD})
    assert resp.status_code == 303 and resp.headers["Location"] == "/dashboard"
    nav = re.search(r"<nav>(.*?)</nav>", _text(client.get("/dashboard")), re.S).group(1)
    assert re.findall(r">(\w+)</a>", nav)[0] == "Dashboard"
    assert 'aria-current="page">Dashboard' in nav


# --- the charts alone ---------------------------------------------------------------------

def _overview(periods, customers=(), grain=Grain.DAY, start=dt.date(2026, 11, 1)) -> Overview:
    periods = [Period(start=start + dt.timedelta(days=i), label=f"Nov {i + 1}",
                      revenue=Decimal(v), orders=1 if Decimal(v) else 0)
               for i, v in enumerate(periods)]
    revenue = sum((p.revenue for p in periods), Decimal("0.00"))
    ranked = [Ranked(name=n, revenue=Decimal(v), orders=1, units=1) for n, v in customers]
    end = start + dt.timedelta(days=max(1, len(periods)) - 1)
    return Overview(title="Completed orders", scope=[], date_from=start, date_to=end,
                    timezone="UTC", currency="USD",
                    kpis=Kpis(orders=len(periods), revenue=revenue), previous=Kpis(),
                    previous_from=start - dt.timedelta(days=30),
                    previous_to=start - dt.timedelta(days=1), grain=grain, periods=periods,
                    top_customers=ranked, top_products=[])


def _bars(svg: ET.Element) -> list[ET.Element]:
    return svg.findall(f"{SVG}rect[@class='bar']")


def test_the_revenue_chart_is_labelled_svg_with_one_proportional_bar_per_nonzero_period():
    ov = _overview(["100.00", "0", "50.00", "25.50", "1234.00"])
    svg = ET.fromstring(str(charts.revenue_chart(ov)))
    assert svg.get("role") == "img" and svg.get("viewBox").startswith("0 0 ")
    title = svg.find(f"{SVG}title")
    assert svg.get("aria-labelledby") == title.get("id")
    assert svg.find(f"{SVG}desc").get("id") == svg.get("aria-describedby")
    assert title.text == ("Revenue per day, Nov 1 – Nov 5: highest Nov 5 with 1,234.00 USD; "
                          "total 1,409.50 USD")
    bars = _bars(svg)
    assert len(bars) == 4  # the empty day has no bar
    heights = [float(b.get("height")) for b in bars]
    for value, height in zip(("100.00", "50.00", "25.50", "1234.00"), heights, strict=True):
        assert height / heights[-1] == pytest.approx(float(value) / 1234, rel=1e-3)
    # y ticks are round values, from 0 to at least the highest bar
    ticks = [t.text for t in svg.findall(f"{SVG}text") if t.get("text-anchor") == "end"]
    assert ticks == ["0", "500", "1,000", "1,500"]


def test_the_x_labels_are_thinned_when_there_are_many_periods():
    few = ET.fromstring(str(charts.revenue_chart(_overview(["1"] * 7))))
    many = ET.fromstring(str(charts.revenue_chart(_overview(["1"] * 31))))
    labels = lambda svg: [t.text for t in svg.findall(f"{SVG}text[@class='x-label']")]  # noqa: E731
    assert labels(few) == [f"Nov {d}" for d in range(1, 8)]
    shown = labels(many)
    assert shown[0] == "Nov 1" and 5 <= len(shown) < 31
    step = int(shown[1].split()[1]) - 1
    assert shown == [f"Nov {d}" for d in range(1, 32, step)]


def test_nice_ticks_and_tick_labels_are_round():
    assert charts.nice_ticks(Decimal("0")) == [0, 1]
    assert charts.nice_ticks(Decimal("7")) == [0, 2, 4, 6, 8]
    assert charts.nice_ticks(Decimal("48000"))[-1] == 50000
    assert [charts.tick_text(Decimal(v)) for v in ("0", "1500", "25000", "1500000")] == [
        "0", "1,500", "25k", "1.5M"]


@pytest.mark.parametrize("name", ["<script>alert(1)</script>", '" onload="x', "Bolt & Co"])
def test_names_in_the_ranked_charts_are_escaped(name):
    ov = _overview(["10"], customers=[(name, "10.00"), ("Other", "5.00")])
    markup = str(charts.customers_chart(ov))
    svg = ET.fromstring(markup)  # still well-formed XML
    assert "<script>" not in markup and 'onload="x' not in markup
    names = [t.text for t in svg.findall(f"{SVG}text[@class='name']")]
    assert name.startswith(names[0].removesuffix("…")) and names[1] == "Other"
    assert _bars(svg)[0].find(f"{SVG}title").text == f"{name}: 10.00 USD"
    title = svg.find(f"{SVG}title").text
    assert title.startswith(f"Top 2 customers by revenue, Nov 1: first {name}")
    widths = [float(b.get("width")) for b in _bars(svg)]
    assert widths[1] / widths[0] == pytest.approx(0.5)


def test_long_names_are_cut_in_the_picture_but_whole_in_the_bar_title():
    name = "Donaudampfschifffahrtselektrizitätenhauptbetriebswerkbauunterbeamtengesellschaft"
    svg = ET.fromstring(str(charts.customers_chart(_overview(["1"], [(name, "1.00")]))))
    shown = svg.find(f"{SVG}text[@class='name']").text
    assert shown.endswith("…") and len(shown) < len(name)
    assert _bars(svg)[0].find(f"{SVG}title").text == f"{name}: 1.00 USD"


def test_change_words():
    assert charts.change_words(None, dt.date(2026, 10, 2), dt.date(2026, 10, 31)) == (
        "", "no earlier data")
    assert charts.change_words(Decimal("12.5"), dt.date(2026, 10, 2), dt.date(2026, 10, 31)) == (
        "▲", "up 12.5 % on Oct 2 – Oct 31")
    assert charts.change_words(Decimal("-3.0"), dt.date(2025, 12, 2), dt.date(2026, 1, 1)) == (
        "▼", "down 3.0 % on Dec 2, 2025 – Jan 1, 2026")
