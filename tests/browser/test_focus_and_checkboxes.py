"""Where the keyboard starts and how a checkbox sits, in headless Chromium at a
desktop and a phone width: a failed sign-up puts the focus on the field that
failed (not back on E-mail), the schedule form starts on its first field (and
after a failed save on the one that failed), and "E-mail me when it's ready"
is one line, the box before its words, clickable on the words."""
from __future__ import annotations

import threading

import pytest
from werkzeug.serving import make_server

from tests.browser import axe
from tests.conftest import PASSWORD, SESSION, _migrate_fresh, build_app, make_user

pytestmark = pytest.mark.browser

WIDTHS = [1280, 390]


@pytest.fixture(scope="module")
def server(tmp_path_factory, redis_url):
    """The app with e-mail configured (the checkbox is offered only then); no
    worker: nothing here makes a report. Nothing is sent either: the only
    form sent that would mail (sign-up) is refused before it does."""
    base = tmp_path_factory.mktemp("browser-focus")
    db_url = f"sqlite:///{base / 'browser.sqlite3'}"
    app = build_app(db_url, base / "reports", f"it-browser-focus-{SESSION}", redis_url,
                    WTF_CSRF_ENABLED=True, TESTING=False, SMTP_URL="smtp://127.0.0.1:9")
    _migrate_fresh(app)
    with app.app_context():
        make_user("browser@example.com")
    httpd = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_port}"
    httpd.shutdown()


def _focused(page) -> str:
    return page.evaluate("document.activeElement && document.activeElement.id")


@pytest.mark.parametrize("width", WIDTHS)
def test_a_failed_sign_up_puts_the_focus_on_the_password(browser, server, width):
    context = browser.new_context(viewport={"width": width, "height": 800})
    page = context.new_page()
    try:
        page.goto(f"{server}/signup")
        assert _focused(page) == "email"
        page.fill("#email", f"new-{width}@example.com")
        page.fill("#password", "short")
        page.fill("#confirm", "short")
        page.click("button:has-text('Sign up')")
        page.wait_for_selector(".field-error")
        assert _focused(page) == "password"
        assert page.get_attribute("#password", "aria-invalid") == "true"
        axe.check(page, f"failed sign-up at {width}px")
        # typing goes where it failed
        page.keyboard.type(PASSWORD)
        assert page.input_value("#password") == PASSWORD
        page.fill("#confirm", PASSWORD + "-typo")
        page.click("button:has-text('Sign up')")
        page.wait_for_selector(".field-error")
        assert _focused(page) == "confirm"
    finally:
        context.close()


@pytest.mark.parametrize("width", WIDTHS)
def test_the_schedule_form_starts_on_its_first_field(page, server, width):
    page.set_viewport_size({"width": width, "height": 800})
    page.goto(f"{server}/schedules/new")
    assert _focused(page) == "name"
    page.keyboard.type("Monday sales")
    assert page.input_value("#name") == "Monday sales"
    page.fill("#time", "25:99")
    page.click("button:has-text('Save schedule')")
    page.wait_for_selector(".field-error")
    assert _focused(page) == "time"


@pytest.mark.parametrize("width", WIDTHS)
def test_the_e_mail_me_checkbox_sits_on_one_line_with_its_words(page, server, width):
    page.set_viewport_size({"width": width, "height": 800})
    page.goto(f"{server}/reports/")
    box = page.locator("#notify_email")
    label = page.locator("label.check", has=box)
    words = label.bounding_box()
    tick = box.bounding_box()
    line = page.evaluate("parseFloat(getComputedStyle(document.querySelector("
                         "'label.check')).lineHeight) || 24")
    # one line: the label is no taller than a line, and the box is inside it,
    # at its left edge, not centred above the words
    assert words["height"] <= line * 1.5, (words, line)
    assert words["y"] - 1 <= tick["y"] and tick["y"] + tick["height"] <= words["y"] + \
        words["height"] + 1, (tick, words)
    assert abs(tick["x"] - words["x"]) <= 2, (tick, words)
    assert words["width"] < page.viewport_size["width"]
    # the words tick the box
    assert not box.is_checked()
    label.get_by_text("E-mail me when it's ready").click()
    assert box.is_checked()
