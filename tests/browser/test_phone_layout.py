"""Every page fits a phone: at 390 and 320 CSS pixels wide nothing scrolls
sideways, the header wraps with "Log out" on screen, wide tables scroll inside
their own labelled box, and long names, e-mails, ids and tokens break. The
same pages at 1280 px do not overflow either. A "Skip to content" link is the
first stop of the Tab key and moves focus to the main content.

Set PHONE_LAYOUT_SCREENSHOTS to a folder to save a full-page screenshot of
every page checked (to look at them; the test does not compare images)."""
from __future__ import annotations

import json
import os
import time
import urllib.request
from pathlib import Path

import pytest

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
# one, inside it; every data table inside a keyboard-focusable, labelled region
# that scrolls sideways
MEASURE = """() => {
  const out = {
    inner: window.innerWidth,
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
  for (const table of document.querySelectorAll("main table.data")) {
    const box = table.closest(".table-scroll");
    out.tables.push(box ? {
      region: box.getAttribute("role"), tabindex: box.getAttribute("tabindex"),
      label: box.getAttribute("aria-label"), overflowX: getComputedStyle(box).overflowX,
    } : null);
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
    return {"order": order["id"], "job": job["id"]}


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
    if m["doc"] > m["inner"] or m["body"] > m["inner"]:
        problems.append(f"{where}: page {m['doc']} px (body {m['body']} px) wide "
                        f"in a {m['inner']} px window")
    if logged_in and m["logout"] is None:
        problems.append(f"{where}: no Log out button in the header")
    if m["logout"] is not None:
        box = m["logout"]
        if box["left"] < 0 or box["right"] > m["inner"] or box["top"] < 0:
            problems.append(f"{where}: Log out button at {box}, outside the window")
    for table in m["tables"]:
        if not table or (table["region"], table["tabindex"], table["overflowX"]) != (
                "region", "0", "auto") or not table["label"]:
            problems.append(f"{where}: a table outside a labelled scroll region: {table}")
    return m


def _visit_all(browser, server, shop, size):
    problems = []
    context, page, errors = _context(browser, server, size, logged_in=False)
    page.goto(f"{server}/login")
    _check(page, "login", size, problems, logged_in=False)
    page.goto(f"{server}/signup")
    _check(page, "signup", size, problems, logged_in=False)
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
        page.wait_for_selector(f"#items-{index}-product")
    assert page.locator(".item-row").count() == 3
    _check(page, "order-new", size, problems)
    page.goto(f"{server}/orders/{shop['order']}/edit")
    assert page.locator(".item-row").count() == 3
    _check(page, "order-edit", size, problems)
    page.goto(f"{server}/orders/{shop['order']}")
    assert page.locator(".job-status").count() >= 1
    _check(page, "order", size, problems)
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
