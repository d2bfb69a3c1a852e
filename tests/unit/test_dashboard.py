"""The dashboard (/dashboard) as a user meets it, on SQLite and PostgreSQL:
the numbers are the overview's, ranges are of order dates, nobody sees
another user's orders (an admin sees everyone's), htmx gets the panel alone,
bad ranges are refused on the page with what was typed kept, and "Download
this as …" records a summary report of the same range. Then the charts'
SVG on its own: well-formed, labelled, proportional, thinned and escaped,
text in CSS pixels; big figures compact with the exact one at hand; partial
periods marked and out of the averages; a change over a near-empty base
reads "new" or "n/m"."""
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
from webapp.reports.overview import (
    Change,
    Grain,
    Kpis,
    Overview,
    Period,
    Ranked,
    compare,
    compute,
    empty_periods,
)
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
    """A tile's figure as it is seen (the short form when it is compact)."""
    found = re.search(rf'id="kpi-{name}">.*?class="kpi-value"[^>]*>(.*?)</span>\s*<span '
                      r'class="kpi-change', _text(resp), re.S)
    assert found, name
    seen = re.sub(r'<span class="visually-hidden">.*?</span>', "", found.group(1))
    return html.unescape(re.sub(r"<[^>]+>", "", seen))


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
    # the previous 30 days held one order of 2.50: orders doubled; revenue x14
    # is over a base too small for a percentage to mean anything
    assert "up 100.0 % on Jan 31 – Mar 1" in text and "1300.0 %" not in text
    assert "n/m (not meaningful): Jan 31 – Mar 1 was almost empty (2.50 USD)" in text
    # items and units: 3 and 11 now, 1 and 1 before
    assert "up 200.0 % on Jan 31 – Mar 1" in text and "up 1000.0 % on Jan 31 – Mar 1" in text
    assert "Bolt &amp; Co" in _text(resp) and "Cake" in text


@pytest.mark.parametrize(("preset", "start", "end"), [
    ("last_7_days", "2026-03-25", "2026-03-31"),
    ("last_90_days", "2026-01-01", "2026-03-31"),
    ("this_month", "2026-03-01", "2026-03-31"),
    ("last_month", "2026-02-01", "2026-02-28"),
    ("this_quarter", "2026-01-01", "2026-03-31"),
    ("this_year", "2026-01-01", "2026-03-31"),  # "Year to date" (year_to_date, an alias)
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

def _overview(periods, customers=(), grain=Grain.DAY, start=dt.date(2026, 11, 1),
              partial=(), today=None) -> Overview:
    """Day periods from `start` with these revenues; the indexes in `partial`
    are not over yet."""
    periods = [Period(start=start + dt.timedelta(days=i), label=f"Nov {i + 1}",
                      revenue=Decimal(v), orders=1 if Decimal(v) else 0,
                      unfinished=i in partial)
               for i, v in enumerate(periods)]
    revenue = sum((p.revenue for p in periods), Decimal("0.00"))
    ranked = [Ranked(name=n, revenue=Decimal(v), orders=1, units=1) for n, v in customers]
    end = start + dt.timedelta(days=max(1, len(periods)) - 1)
    return Overview(title="Completed orders", scope=[], date_from=start, date_to=end,
                    timezone="UTC", currency="USD",
                    kpis=Kpis(orders=len(periods), revenue=revenue), previous=Kpis(),
                    previous_from=start - dt.timedelta(days=30),
                    previous_to=start - dt.timedelta(days=1), grain=grain, periods=periods,
                    top_customers=ranked, top_products=[], today=today)


def _bars(svg: ET.Element) -> list[ET.Element]:
    return [r for r in svg.findall(f"{SVG}rect") if "bar" in r.get("class", "").split()]


def _percent(length: str) -> float:
    assert length.endswith("%"), length
    return float(length[:-1])


def test_the_revenue_chart_is_labelled_svg_with_one_proportional_bar_per_nonzero_period():
    ov = _overview(["100.00", "0", "50.00", "25.50", "1234.00"])
    svg = ET.fromstring(str(charts.revenue_chart(ov)))
    assert svg.get("role") == "img"
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
    # y ticks are round values, from 0 to at least the highest bar; the top names the currency
    ticks = [t.text for t in svg.findall(f"{SVG}text[@class='tick']")]
    assert ticks == ["0", "500", "1,000", "1,500 USD"]
    # bars side by side across the whole width, in percent of it
    xs = [_percent(b.get("x")) for b in bars]
    assert xs == sorted(xs) and xs[0] >= 0 and xs[-1] + _percent(bars[-1].get("width")) <= 100


def test_chart_text_is_in_css_pixels_whatever_the_charts_width():
    # No viewBox on the outer <svg>: a user unit is a CSS pixel, so font-size
    # 12 stays 12 px on a phone and on a desktop; what follows the width is in %.
    ov = _overview(["100.00"] * 31, customers=[("ACME", "10.00")])
    for markup in (charts.revenue_chart(ov), charts.customers_chart(ov)):
        svg = ET.fromstring(str(markup))
        assert svg.get("viewBox") is None and svg.get("width") == "100%"
        assert float(svg.get("height")) > 0
        assert svg.findall(f".//{SVG}svg") == []  # no nested, stretched drawing
        sizes = {float(t.get("font-size", svg.get("font-size"))) for t in svg.iter(f"{SVG}text")}
        assert sizes and min(sizes) >= 11 and max(sizes) <= 16, sizes
        for text in svg.iter(f"{SVG}text"):
            if text.get("x") not in ("1", "2"):
                _percent(text.get("x"))  # placed across the width, not at a fixed pixel


def test_the_x_labels_are_thinned_and_wider_charts_add_labels_between():
    few = ET.fromstring(str(charts.revenue_chart(_overview(["1"] * 7))))
    many = ET.fromstring(str(charts.revenue_chart(_overview(["1"] * 31))))

    def labels(svg, tiers=("",)):
        return [t.text for t in svg.findall(f"{SVG}text")
                if "x-label" in t.get("class", "")
                and (t.get("class").split() + [""])[1] in tiers]

    # a phone shows every other day of seven, a wider chart all of them
    assert labels(few) == ["Nov 1", "Nov 3", "Nov 5", "Nov 7"]
    assert labels(few, ("", "wide", "wider")) == [f"Nov {d}" for d in range(1, 8)]
    phone = labels(many)
    assert phone[0] == "Nov 1" and 3 <= len(phone) <= 5
    step = int(phone[1].split()[1]) - 1
    assert phone == [f"Nov {d}" for d in range(1, 32, step)]
    every = labels(many, ("", "wide", "wider"))
    assert set(phone) < set(every) and 8 <= len(every) <= 16  # added between, none moved


def test_label_tiers_divide_each_other():
    for count in (7, 14, 26, 31, 90, 92, 120):
        tiers = charts.label_tiers(count, 57)
        steps = []
        for name in ("", "wide", "wider"):
            upto = ("", "wide", "wider")[:("", "wide", "wider").index(name) + 1]
            shown = sorted(i for i, t in tiers.items() if t in upto)
            assert shown[0] == 0
            steps.append(shown[1] - shown[0] if len(shown) > 1 else count)
            assert {b - a for a, b in zip(shown, shown[1:], strict=False)} <= {steps[-1]}
        assert steps[0] % steps[1] == 0 and steps[1] % steps[2] == 0, (count, steps)
        assert len([t for t in tiers.values() if t == ""]) <= charts.PHONE_PX // 57 + 1


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
    widths = [_percent(b.get("width")) for b in _bars(svg)]
    assert widths == [100, 50]


def test_long_names_are_cut_in_the_picture_but_whole_in_the_bar_title():
    name = "Donaudampfschifffahrtselektrizitätenhauptbetriebswerkbauunterbeamtengesellschaft"
    svg = ET.fromstring(str(charts.customers_chart(_overview(["1"], [(name, "1.00")]))))
    shown = svg.find(f"{SVG}text[@class='name']").text
    assert shown.endswith("…") and len(shown) < len(name)
    assert charts.text_width(shown) <= charts.PHONE_PX
    assert _bars(svg)[0].find(f"{SVG}title").text == f"{name}: 1.00 USD"


def test_ranked_values_are_compact_inside_a_long_bar_and_past_a_short_one():
    ov = _overview(["1"], customers=[("Big", "77736083.58"), ("Half", "38868041.79"),
                                     ("Small", "1234.50"), ("Refunds", "-20.00")])
    svg = ET.fromstring(str(charts.customers_chart(ov)))
    values = svg.findall(f"{SVG}text")
    values = [t for t in values if "value" in t.get("class", "")]
    assert [t.text for t in values] == ["77.7M USD", "38.9M USD", "1.23k USD", "-20.0 USD"]
    big, half, small, refunds = values
    # a bar of at least half the width holds its value at its end, inside it
    for text, share in ((big, 100), (half, 50)):
        assert "inside" in text.get("class") and text.get("text-anchor") == "end"
        assert _percent(text.get("x")) == pytest.approx(share) and float(text.get("dx")) < 0
    # a shorter bar has it just past its end (which leaves the value room to its right)
    assert "inside" not in small.get("class") and small.get("text-anchor") is None
    assert _percent(small.get("x")) < 50 and float(small.get("dx")) > 0
    assert _percent(refunds.get("x")) == 0  # no bar: the value at the start
    # the exact amount is in the bar's title (and the table)
    assert _bars(svg)[0].find(f"{SVG}title").text == "Big: 77,736,083.58 USD"
    assert len(_bars(svg)) == 3


def test_change_words():
    oct_ = (dt.date(2026, 10, 2), dt.date(2026, 10, 31))
    assert charts.change_words(Change(Change.NONE), *oct_) == ("", "no earlier data")
    assert charts.change_words(compare(Decimal("112.5"), Decimal("100")), *oct_) == (
        "▲", "up 12.5 % on Oct 2 – Oct 31")
    assert charts.change_words(compare(97, 100), dt.date(2025, 12, 2),
                               dt.date(2026, 1, 1)) == (
        "▼", "down 3.0 % on Dec 2, 2025 – Jan 1, 2026")
    assert charts.change_words(compare(5, 0), *oct_) == ("▲", "new: none on Oct 2 – Oct 31")
    assert charts.change_words(compare(Decimal("185873.00"), Decimal("100.00")), *oct_,
                               "100.00 USD") == (
        "", "n/m (not meaningful): Oct 2 – Oct 31 was almost empty (100.00 USD)")


# --- a change over a near-empty base ----------------------------------------------------

@pytest.mark.parametrize(("now", "before", "kind", "percent"), [
    (Decimal("125.00"), Decimal("100.00"), Change.PERCENT, Decimal("25.0")),
    (0, 7, Change.PERCENT, Decimal("-100.0")),
    (11, 1, Change.PERCENT, Decimal("1000.0")),  # the edge: still a percentage
    (Decimal("1858.74"), Decimal("1.00"), Change.NOT_MEANINGFUL, None),  # +185,774 %
    (12, 1, Change.NOT_MEANINGFUL, None),
    (Decimal("-20.00"), Decimal("1.00"), Change.NOT_MEANINGFUL, None),  # -2,100 %
    (Decimal("50.00"), Decimal("-10.00"), Change.NOT_MEANINGFUL, None),  # a negative base
    (5, 0, Change.NEW, None),
    (Decimal("-5.00"), 0, Change.NOT_MEANINGFUL, None),
    (0, 0, Change.NONE, None),
])
def test_one_rule_says_new_or_not_meaningful_over_a_near_empty_base(now, before, kind,
                                                                    percent):
    got = compare(now, before)
    assert (got.kind, got.percent) == (kind, percent)
    ov = _overview(["1"])
    ov = Overview(**{**ov.__dict__, "kpis": Kpis(orders=now if isinstance(now, int) else 1,
                                                 revenue=Decimal(now)),
                     "previous": Kpis(revenue=Decimal(before))})
    assert ov.compare("revenue") == compare(Decimal(now), Decimal(before))
    assert ov.change("revenue") == percent  # a percentage only where one means something


def test_the_dashboard_says_new_and_n_m_instead_of_a_huge_percentage(user, client, today):
    _order(user, "ACME", TODAY - dt.timedelta(days=31), ("Tea", 1, Decimal("1.00")))
    _order(user, "ACME", TODAY, ("Tea", 1, Decimal("1858.74")), ("Cake", 1, Decimal("1.00")))
    text = html.unescape(_text(client.get("/dashboard")))
    assert "%" not in re.search(r'id="kpi-revenue">(.*?)</li>', text, re.S).group(1)
    assert "n/m (not meaningful): Jan 31 – Mar 1 was almost empty (1.00 USD)" in text
    assert "up 100.0 % on Jan 31 – Mar 1" in text  # line items: 2 against 1
    assert "185" not in re.sub(r"1,859.74", "", re.search(
        r'class="kpis".*?</ul>', text, re.S).group(0))
    # today alone: the day before had nothing
    text = html.unescape(_text(client.get("/dashboard", query_string={
        "date_from": "2026-03-31", "date_to": "2026-03-31"})))
    assert text.count("new: none on Mar 30") == 5 and "%" not in re.search(
        r'class="kpis".*?</ul>', text, re.S).group(0)


# --- big figures -------------------------------------------------------------------------

@pytest.mark.parametrize(("value", "shown"), [
    ("77736083.58", "77.7M"), ("999950", "1.00M"), ("1234", "1.23k"), ("123456", "123k"),
    ("100000", "100k"), ("99.5", "99.5"), ("-77736083.58", "-77.7M"),
    ("1234567890", "1.23B"), ("0", "0"), ("0.5", "0.50"), ("12345678901234", "12.3T"),
])
def test_compact_numbers_have_three_significant_digits(value, shown):
    assert charts.compact_number(Decimal(value)) == shown


def test_a_kpi_figure_is_exact_while_it_fits_and_compact_with_its_exact_value_beyond():
    fig = charts.kpi_figure(Decimal("99999.99"), "USD")
    assert (fig.number, fig.unit, fig.compact) == ("99,999.99", "USD", False)
    fig = charts.kpi_figure(Decimal("77736083.58"), "USD")
    assert (fig.number, fig.unit, fig.exact, fig.compact) == (
        "77.7M", "USD", "77,736,083.58 USD", True)
    assert charts.kpi_figure(Decimal("-100000.00"), "USD").number == "-100k"
    assert charts.kpi_figure(9_999_999) == charts.Figure("9,999,999", "", "9,999,999", False)
    assert charts.kpi_figure(12_345_678) == charts.Figure("12.3M", "", "12,345,678", True)


def test_the_revenue_tile_shows_a_big_total_compact_with_the_exact_one_at_hand(user, client,
                                                                             today):
    _order(user, "Big", TODAY - dt.timedelta(days=3), ("Plant", 1, Decimal("77736083.58")))
    resp = client.get("/dashboard")
    assert _kpi(resp, "revenue") == "77.7M USD"
    tile = re.search(r'id="kpi-revenue">(.*?)</li>', _text(resp), re.S).group(1)
    assert 'title="77,736,083.58 USD"' in tile  # for the mouse
    assert '<span class="visually-hidden">77,736,083.58 USD</span>' in tile  # screen readers
    assert '<span aria-hidden="true">77.7M' in tile  # read once, exactly
    # the table views keep exact amounts
    assert "77,736,083.58 USD</td>" in _text(resp)
    assert _kpi(resp, "orders") == "1"


# --- partial periods ---------------------------------------------------------------------

def _flags(periods) -> list[tuple]:
    return [(p.start, p.last, p.cut_start, p.cut_end, p.unfinished) for p in periods]


def test_weeks_cut_by_the_range_at_both_ends_are_partial():
    # Wed Sep 9 to Tue Oct 20, 2026, seen long after
    got = empty_periods(dt.date(2026, 9, 9), dt.date(2026, 10, 20), Grain.WEEK,
                        today=dt.date(2027, 1, 1))
    assert dt.date(2026, 9, 9).weekday() == 2
    assert _flags(got)[0] == (dt.date(2026, 9, 9), dt.date(2026, 9, 13), True, False, False)
    assert _flags(got)[-1] == (dt.date(2026, 10, 19), dt.date(2026, 10, 20), False, True, False)
    assert [p.partial for p in got] == [True, False, False, False, False, False, True]
    assert all(p.start.weekday() == 0 for p in got[1:])


def test_months_cut_by_the_range_at_both_ends_are_partial():
    got = empty_periods(dt.date(2026, 1, 15), dt.date(2026, 8, 10), Grain.MONTH,
                        today=dt.date(2027, 1, 1))
    assert _flags(got)[0] == (dt.date(2026, 1, 15), dt.date(2026, 1, 31), True, False, False)
    assert _flags(got)[-1] == (dt.date(2026, 8, 1), dt.date(2026, 8, 10), False, True, False)
    assert [p.partial for p in got] == [True] + [False] * 6 + [True]
    # whole months at both ends: none is cut (February of a leap year included)
    whole = empty_periods(dt.date(2024, 1, 1), dt.date(2024, 12, 31), Grain.MONTH,
                          today=dt.date(2025, 1, 1))
    assert not any(p.partial for p in whole) and whole[1].last == dt.date(2024, 2, 29)


@pytest.mark.parametrize(("grain", "start", "end", "today", "partial"), [
    # today's day is not over, nor the days after it
    (Grain.DAY, "2026-03-25", "2026-03-31", "2026-03-31", [6]),
    (Grain.DAY, "2026-03-25", "2026-03-31", "2026-03-29", [4, 5, 6]),
    # the week holding today (Tue Mar 31): not over even though the range holds all of it
    (Grain.WEEK, "2026-03-02", "2026-04-05", "2026-03-31", [4]),
    # the month holding today, the range cut at today as well
    (Grain.MONTH, "2025-10-01", "2026-03-31", "2026-03-15", [5]),
])
def test_the_period_holding_today_or_later_is_not_over(grain, start, end, today, partial):
    got = empty_periods(dt.date.fromisoformat(start), dt.date.fromisoformat(end), grain,
                        today=dt.date.fromisoformat(today))
    assert [i for i, p in enumerate(got) if p.partial] == partial
    assert all(p.unfinished for p in got if p.partial)


def test_a_range_wholly_in_the_past_has_no_partial_period():
    for grain, start, end in ((Grain.DAY, "2026-03-01", "2026-03-31"),
                              (Grain.WEEK, "2026-01-05", "2026-03-29"),
                              (Grain.MONTH, "2025-04-01", "2026-02-28")):
        got = empty_periods(dt.date.fromisoformat(start), dt.date.fromisoformat(end), grain,
                            today=dt.date(2026, 4, 1))
        assert got and not any(p.partial for p in got), grain


def test_compute_marks_partial_periods_and_averages_the_full_ones_only(app, user):
    # Wed Sep 9 to Tue Oct 20, 2026 (weeks) seen on Tue Sep 29: the first week
    # cut by the start, the week of today and those after it not over yet
    for day, price in ((dt.date(2026, 9, 9), "10.00"), (dt.date(2026, 9, 14), "100.00"),
                       (dt.date(2026, 9, 21), "300.00"), (dt.date(2026, 9, 29), "1.00")):
        _order(user, "ACME", day, ("Tea", 1, Decimal(price)))
    params = ReportParams.summary(dt.date(2026, 9, 9), dt.date(2026, 10, 20))
    got = compute(user.id, params, "USD", today=dt.date(2026, 9, 29))
    assert got.grain == Grain.WEEK and got.today == dt.date(2026, 9, 29)
    weeks = [(p.start, p.revenue, p.partial) for p in got.periods][:4]
    assert weeks == [(dt.date(2026, 9, 9), Decimal("10.00"), True),
                     (dt.date(2026, 9, 14), Decimal("100.00"), False),
                     (dt.date(2026, 9, 21), Decimal("300.00"), False),
                     (dt.date(2026, 9, 28), Decimal("1.00"), True)]
    assert [p.partial for p in got.periods] == [True, False, False, True, True, True, True]
    assert got.average_per_full_period() == Decimal("200.00")  # (100 + 300) / 2
    # the same range seen later: only the weeks the range cuts are partial
    later = compute(user.id, params, "USD", today=dt.date(2026, 12, 1))
    assert [p.partial for p in later.periods] == [True, False, False, False, False, False, True]
    assert later.average_per_full_period() == Decimal("80.20")  # (100 + 300 + 1) / 5
    # without a today, the range's zone's today: long past, so as `later`
    assert compute(user.id, params, "USD").periods == later.periods


def test_averages_leave_partial_periods_out_and_say_so_when_none_is_whole():
    ov = _overview(["100.00", "300.00", "2.00"], partial=(2,), today=dt.date(2026, 11, 3))
    assert ov.average_per_full_period() == Decimal("200.00")
    assert charts.average_words(ov) == ("Average per full day: 200.00 USD "
                                        "(1 partial day left out).")
    none = _overview(["5.00"], partial=(0,), today=dt.date(2026, 11, 1))
    assert none.average_per_full_period() is None
    assert charts.average_words(none) == "No full day in this range yet, so no average per day."
    assert charts.average_words(_overview(["1.00", "2.00"])) == "Average per full day: 1.50 USD."


def test_a_partial_bar_is_drawn_apart_and_named_partial_in_title_table_and_text():
    ov = _overview(["100.00", "300.00", "2.00"], partial=(2,), today=dt.date(2026, 11, 3))
    svg = ET.fromstring(str(charts.revenue_chart(ov)))
    bars = _bars(svg)
    assert [b.get("class") for b in bars] == ["bar", "bar", "bar partial"]
    assert bars[2].get("fill") == charts.PARTIAL_FILL and bars[2].get("stroke-dasharray")
    assert bars[2].find(f"{SVG}title").text == (
        "Nov 3 (partial: today, not over yet): 2.00 USD")
    assert "partial" not in bars[0].find(f"{SVG}title").text
    desc = svg.find(f"{SVG}desc").text
    assert "Average per full day: 200.00 USD" in desc
    assert "Lighter, outlined bars are partial: Nov 3 (partial: today, not over yet)." in desc
    week = replace_period(ov, Grain.WEEK, cut_start=True)
    assert charts.period_words(week, week.periods[0]) == "Nov 1–3 (partial week)"
    assert charts.period_words(week, week.periods[0].__class__(
        start=dt.date(2026, 11, 2), label="Nov 2", revenue=Decimal(0), orders=0,
        end=dt.date(2026, 11, 8))) == "week of Nov 2"


def replace_period(ov: Overview, grain: str, **flags) -> Overview:
    first = Period(start=dt.date(2026, 11, 1), label="Nov 1", revenue=Decimal("1.00"), orders=1,
                   end=dt.date(2026, 11, 3), **flags)
    return Overview(**{**ov.__dict__, "grain": grain, "periods": [first]})


def test_the_page_marks_todays_partial_day_in_the_chart_table_and_note(user, client):
    # the real today in the user's zone (UTC): the page's range ends on it
    from webapp.timezones import today as today_in

    now = today_in("UTC")
    _order(user, "ACME", now - dt.timedelta(days=1), ("Tea", 1, Decimal("500.00")))
    _order(user, "ACME", now, ("Tea", 1, Decimal("5.00")))
    text = html.unescape(_text(client.get("/dashboard", query_string={"preset": "last_7_days"})))
    day = charts.day_words(now)
    assert re.search(r'<rect class="bar partial"[^>]*><title>'
                     + re.escape(f"{day} (partial: today, not over yet): 5.00 USD"), text)
    assert f'<tr class="partial"><th scope="row">{day} (partial: today, not over yet)</th>' \
        in text
    assert f"Lighter, outlined bars are partial: {day} (partial: today, not over yet)." in text
    assert "Average per full day: 83.33 USD (1 partial day left out)." in text  # 500 / 6
