"""Every page fits a phone: at 390 and 320 CSS pixels wide nothing scrolls
sideways, the header wraps with "Log out" on screen, every table's rows become
stacked "label value" lines with every cell (amounts, status, download) inside
the window, and long names, e-mails, ids and tokens break. At 1280 px the
same pages do not overflow either, and a table wider than the window would
scroll inside its own labelled box. The walk covers every page of the app,
the schedule pages with a run and the dashboard included, with real data. A
"Skip to content" link is the first stop of the Tab key and moves focus to the
main content.

Set PHONE_LAYOUT_SCREENSHOTS to a folder to save a full-page screenshot of
every page checked (to look at them; the test does not compare images)."""
from __future__ import annotations

import json
import os
import time
import urllib.request
from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.browser import axe
from tests.browser.steps import log_in
from tests.conftest import PASSWORD

pytestmark = pytest.mark.browser

PHONES = [(390, 844), (320, 640)]
DESKTOP = (1280, 800)
EMAIL = "accounts-payable.north-america@wolfeschlegelsteinhausenbergerdorff-holdings.example.com"
LONG_CUSTOMER = ("Donaudampfschifffahrtselektrizitätenhauptbetriebswerkbauunterbeamtengesellschaft"
                 " Holding International")
LONG_PRODUCT = "SKU-4F9A2C7E-0B1D-4E8F-9A3C-5D7E1F2A4B6C-EXPRESS-REFRIGERATED-PALLET"
URL_PRODUCT = "https://catalogue.example.com/products/espresso-machines/la-marzocco?ref=abcdefghijk"
TOKEN_NAME = "nightly-export-to-the-warehouse-management-system-without-any-spaces-at-all"
SHOTS = os.environ.get("PHONE_LAYOUT_SCREENSHOTS")

# document and body no wider than the window; the Log out button, when there is
# one, inside it; every table a table.data inside a keyboard-focusable, labelled
# region; every body cell labelled (data-label) and, on a phone, inside the window
# with nothing overflowing it
MEASURE = """() => {
  const out = {
    inner: window.innerWidth,
    title: document.title,
    doc: document.documentElement.scrollWidth,
    body: document.body.scrollWidth,
    logout: null,
    tables: [],
  };
  const button = [...document.querySelectorAll("header button")]
    .find(b => b.textContent.trim() === "Log out");
  if (button) {
    const r = button.getBoundingClientRect();
    out.logout = {left: r.left, right: r.right, top: r.top, bottom: r.bottom};
  }
  for (const table of document.querySelectorAll("main table")) {
    const box = table.closest(".table-scroll");
    const cells = [...table.querySelectorAll("tbody td, tfoot td")];
    const outside = cells.filter(c => {
      const r = c.getBoundingClientRect();
      return r.width > 0 && (r.left < 0 || r.right > window.innerWidth + 0.5
                             || c.scrollWidth > c.clientWidth + 1);
    });
    out.tables.push({
      data: table.classList.contains("data") || table.classList.contains("items-table"),
      form: table.classList.contains("items-table"),
      region: box && box.getAttribute("role"), tabindex: box && box.getAttribute("tabindex"),
      label: box && (box.getAttribute("aria-label") || box.getAttribute("aria-labelledby")),
      overflowX: box && getComputedStyle(box).overflowX,
      cells: cells.length,
      unlabelled: table.classList.contains("items-table") ? 0
        : table.querySelectorAll("tbody td:not([data-label]):not(.row-actions)").length,
      outside: outside.slice(0, 3).map(c => c.textContent.trim().slice(0, 40)),
    });
  }
  return out;
}"""


def _api(server, token, method, path, body=None):
    request = urllib.request.Request(
        f"{server}/api{path}", method=method,
        data=json.dumps(body).encode() if body is not None else None,
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=30) as response:
        raw = response.read()
        return json.loads(raw) if response.headers.get_content_type() == "application/json" \
            else raw


def _item(product, quantity=1, price="9.99"):
    return {"product": product, "quantity": quantity, "unit_price": price}


@pytest.fixture(scope="module")
def shop(browser, server):
    """A user with a long e-mail (signed up through the form), an API token made
    on the account page, 23 orders through the API (the newest with a long
    customer name and three long items), a completed order report downloaded
    often enough for a long history, and a summary report."""
    context = browser.new_context()
    page = context.new_page()
    page.goto(f"{server}/signup")
    page.fill("#email", EMAIL)
    page.fill("#password", PASSWORD)
    page.fill("#confirm", PASSWORD)
    page.click("button:has-text('Sign up')")
    page.wait_for_url("**/orders/new")
    page.goto(f"{server}/account")
    page.fill("#name", "seed")
    page.select_option("#scope", "write")
    page.click("button:has-text('Create token')")
    token = page.inner_text("#new-token").strip()
    context.close()

    for n in range(22):
        _api(server, token, "POST", "/orders",
             {"customer": f"Customer {n:02d}", "items": [_item("Tea", n + 1)]})
    order = _api(server, token, "POST", "/orders", {
        "customer": LONG_CUSTOMER,
        "items": [_item(LONG_PRODUCT, 3, "4.20"), _item(URL_PRODUCT, 2, "1999.80"),
                  _item("Ελληνικά βιβλία", 1, "15.00")]})
    job = _api(server, token, "POST", "/reports",
               {"kind": "order", "format": "csv", "order_id": order["id"]})
    deadline = time.monotonic() + 60
    while job["status"] != "COMPLETED":
        assert job["status"] in ("PENDING", "PROCESSING"), job
        assert time.monotonic() < deadline, "the worker did not finish the report"
        time.sleep(0.2)
        job = _api(server, token, "GET", f"/reports/{job['id']}")
    for _ in range(25):  # each download is an event in the report's history
        _api(server, token, "GET", f"/reports/{job['id']}/download")
    _api(server, token, "POST", "/reports", {
        "kind": "summary", "format": "pdf", "date_from": "2021-01-01",
        "date_to": "2030-12-31", "customer": LONG_CUSTOMER})
    schedule = _api(server, token, "POST", "/schedules", {
        "name": "Weekly sales for the management board of the northern region",
        "cron": "0 7 * * 1", "timezone": "Europe/Berlin",
        "report": {"kind": "summary", "format": "pdf", "range": "last_7_days",
                   "customer": LONG_CUSTOMER}})
    run = _api(server, token, "POST", f"/schedules/{schedule['id']}/run")
    deadline = time.monotonic() + 60
    while run["status"] not in ("COMPLETED", "FAILED"):
        assert time.monotonic() < deadline, "the worker did not finish the schedule's run"
        time.sleep(0.2)
        run = _api(server, token, "GET", f"/reports/{run['id']}")
    return {"order": order["id"], "job": job["id"], "customer": order["customer_id"],
            "schedule": schedule["id"]}


def _context(browser, server, size, logged_in=True):
    width, height = size
    context = browser.new_context(viewport={"width": width, "height": height})
    page = context.new_page()
    errors = []
    page.on("console", lambda msg: msg.type == "error" and errors.append(msg.text))
    if logged_in:
        log_in(page, server, EMAIL)
    return context, page, errors


def _check(page, name, size, problems, logged_in=True):
    page.wait_for_load_state()
    # the header is measured where it is drawn, at the top: a focus moved to a
    # new row (+ Add item) scrolls a long form past it, which is no layout fault
    page.evaluate("window.scrollTo(0, 0)")
    m = page.evaluate(MEASURE)
    if SHOTS:
        Path(SHOTS).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=f"{SHOTS}/{size[0]}-{name}.png", full_page=True)
        for n, box in enumerate(page.locator(".table-scroll").all()):
            if box.evaluate("b => (b.scrollLeft = b.scrollWidth) && b.scrollLeft > 0"):
                box.screenshot(path=f"{SHOTS}/{size[0]}-{name}-table{n}-scrolled.png")
    where = f"{name} at {size[0]}px"
    problems.extend(axe.problems(page, where))
    if m["doc"] > m["inner"] or m["body"] > m["inner"]:
        problems.append(f"{where}: page {m['doc']} px (body {m['body']} px) wide "
                        f"in a {m['inner']} px window")
    if not m["title"].strip() or "<" in m["title"] or ">" in m["title"]:
        problems.append(f"{where}: the tab's title is {m['title']!r}")
    if logged_in and m["logout"] is None:
        problems.append(f"{where}: no Log out button in the header")
    if m["logout"] is not None:
        box = m["logout"]
        if box["left"] < 0 or box["right"] > m["inner"] or box["top"] < 0:
            problems.append(f"{where}: Log out button at {box}, outside the window")
    phone = size[0] < 640
    for table in m["tables"]:
        if table["form"]:  # the order form's rows: a form, laid out on its own
            continue
        if not table["data"] or (table["region"], table["tabindex"]) != ("region", "0") \
                or not table["label"]:
            problems.append(f"{where}: a table outside the one pattern (table.data in a "
                            f"labelled region): {table}")
        if table["unlabelled"]:
            problems.append(f"{where}: {table['unlabelled']} cell(s) without data-label")
        if phone and table["outside"]:
            problems.append(f"{where}: cells past the window's edge: {table['outside']}")
        if not phone and table["overflowX"] != "auto":
            problems.append(f"{where}: a wide table would not scroll in its box: {table}")
    return m


def _visit_all(browser, server, shop, size):
    problems = []
    context, page, errors = _context(browser, server, size, logged_in=False)
    page.goto(f"{server}/login")
    _check(page, "login", size, problems, logged_in=False)
    page.goto(f"{server}/signup")
    _check(page, "signup", size, problems, logged_in=False)
    page.goto(f"{server}/password/forgot")
    _check(page, "forgot-password", size, problems, logged_in=False)
    context.close()
    logged_out_errors = errors

    context, page, errors = _context(browser, server, size)
    page.goto(f"{server}/orders/")
    assert LONG_CUSTOMER in page.inner_text("main")
    assert page.locator("main table.data tbody tr").count() == 20  # a full page
    _check(page, "orders", size, problems)
    page.goto(f"{server}/orders/new")
    page.fill("#customer", LONG_CUSTOMER)
    for index in (1, 2):
        page.click("text=+ Add item")
        # static/js/forms.js moves the focus into the new row after the swap,
        # which scrolls the page: wait for it, or it may scroll after _check
        # has scrolled back to the top and measured the header
        expect(page.locator(f"#items-{index}-product")).to_be_focused()
    assert page.locator(".item-row").count() == 3
    _check(page, "order-new", size, problems)
    page.goto(f"{server}/orders/{shop['order']}/edit")
    assert page.locator(".item-row").count() == 3
    _check(page, "order-edit", size, problems)
    page.goto(f"{server}/orders/{shop['order']}")
    assert page.locator(".job-status").count() >= 1
    _check(page, "order", size, problems)
    # the money of the order: every line's gross and the total on screen
    for cell in [*page.locator(".order-items tbody td:last-child").all(),
                 page.locator("#order-total")]:
        box = cell.bounding_box()
        if not box or box["x"] < 0 or box["x"] + box["width"] > size[0]:
            problems.append(f"order at {size[0]}px: {cell.inner_text()!r} at {box}")
    page.goto(f"{server}/orders/{shop['order']}/delete")
    _check(page, "order-delete", size, problems)
    page.goto(f"{server}/customers/")
    _check(page, "customers", size, problems)
    page.goto(f"{server}/customers/{shop['customer']}")
    _check(page, "customer", size, problems)
    page.goto(f"{server}/customers/{shop['customer']}/edit")
    _check(page, "customer-edit", size, problems)
    page.goto(f"{server}/customers/new")
    _check(page, "customer-new", size, problems)
    page.goto(f"{server}/dashboard?preset=last_30_days")
    _check(page, "dashboard", size, problems)
    page.goto(f"{server}/schedules/")
    assert page.locator("table.schedules tbody tr").count() == 1
    _check(page, "schedules", size, problems)
    page.goto(f"{server}/schedules/{shop['schedule']}")
    assert page.locator("table.runs tbody tr").count() == 1
    _check(page, "schedule", size, problems)
    page.goto(f"{server}/schedules/{shop['schedule']}/edit")
    _check(page, "schedule-edit", size, problems)
    page.goto(f"{server}/schedules/new")
    _check(page, "schedule-new", size, problems)
    page.goto(f"{server}/schedules/{shop['schedule']}/delete")
    _check(page, "schedule-delete", size, problems)
    page.goto(f"{server}/notices/")
    _check(page, "notices", size, problems)
    page.goto(f"{server}/team/")
    _check(page, "team", size, problems)
    page.goto(f"{server}/team/settings")
    _check(page, "team-settings", size, problems)
    page.goto(f"{server}/team/audit/")
    assert page.locator("table.audit tbody tr").count() > 0
    _check(page, "audit", size, problems)
    page.goto(f"{server}/reports/")
    _check(page, "reports", size, problems)
    page.goto(f"{server}/reports/{shop['job']}")
    assert page.locator(".events li").count() > 25
    _check(page, "report", size, problems)
    page.goto(f"{server}/account")
    page.fill("#name", TOKEN_NAME)
    page.click("button:has-text('Create token')")
    page.wait_for_selector("#new-token")
    _check(page, "account", size, problems)
    assert page.goto(f"{server}/orders/987654321").status == 404
    _check(page, "error", size, problems)
    context.close()
    errors += logged_out_errors
    assert not [e for e in errors if "Content Security Policy" in e], errors
    return problems


@pytest.mark.parametrize("size", PHONES, ids=lambda s: f"{s[0]}px")
def test_no_page_is_wider_than_a_phone(browser, server, shop, size):
    problems = _visit_all(browser, server, shop, size)
    assert not problems, "\n".join(problems)


def test_no_page_is_wider_than_a_desktop_window(browser, server, shop):
    problems = _visit_all(browser, server, shop, DESKTOP)
    assert not problems, "\n".join(problems)


def _focused(page):
    return page.evaluate("""() => {
      const el = document.activeElement;
      const r = el.getBoundingClientRect();
      return {tag: el.tagName, id: el.id, text: el.textContent.trim().slice(0, 40),
              href: el.getAttribute("href"), visible: r.width > 1 && r.height > 1
              && r.left >= 0 && r.top >= 0 && r.right <= innerWidth && r.bottom <= innerHeight};
    }""")


def test_skip_link_is_the_first_tab_stop_and_moves_focus_to_main(browser, server, shop):
    context, page, _ = _context(browser, server, PHONES[0])
    for size in (PHONES[0], DESKTOP):
        page.set_viewport_size({"width": size[0], "height": size[1]})
        for path in ("/orders/", f"/orders/{shop['order']}", "/account"):
            where = f"{path} at {size[0]}px"
            page.goto(f"{server}{path}")
            box = page.locator("a.skip-link").bounding_box()
            assert box is None or box["y"] + box["height"] <= 0, \
                f"{where}: the skip link shows before it is focused: {box}"
            page.keyboard.press("Tab")
            if SHOTS:
                page.screenshot(path=f"{SHOTS}/{size[0]}-skip-link{path.replace('/', '-')}.png")
            assert _focused(page) == {"tag": "A", "id": "", "text": "Skip to content",
                                      "href": "#content", "visible": True}, where
            page.keyboard.press("Enter")
            focused = _focused(page)
            assert (focused["tag"], focused["id"]) == ("MAIN", "content"), where
            # the next Tab goes on from the content, past the header's links
            page.keyboard.press("Tab")
            assert page.evaluate(
                "document.querySelector('header').contains(document.activeElement)") is False, \
                where
    context.close()

    context, page, _ = _context(browser, server, PHONES[0], logged_in=False)
    page.goto(f"{server}/login")  # its e-mail field has autofocus; the link still comes first
    first = page.evaluate("""() => document.querySelector(
        'a[href], button, input:not([type=hidden]), select, textarea, [tabindex]').className""")
    assert first == "skip-link"
    context.close()
