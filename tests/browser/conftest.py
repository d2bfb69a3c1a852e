"""Browser fixtures: the app served over HTTP (werkzeug, threaded) on SQLite
with a real worker on Redis, headless Chromium (Debian's package) through
Playwright, and a logged-in page. Module-scoped: each test module gets its
own server, database and worker."""
from __future__ import annotations

import shutil
import threading
from pathlib import Path

import pytest
from werkzeug.serving import make_server

from tests.browser import axe
from tests.browser.steps import log_in
from tests.conftest import SESSION, _migrate_fresh, build_app, make_user

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run"]


@pytest.fixture(scope="module")
def server(request, tmp_path_factory, redis_url, worker_factory):
    base = tmp_path_factory.mktemp("browser")
    db_url = f"sqlite:///{base / 'browser.sqlite3'}"
    reports = base / "reports"
    name = f"browser-{request.module.__name__.rsplit('.', 1)[-1]}"
    app = build_app(db_url, reports, f"it-{name}-{SESSION}", redis_url,
                    WTF_CSRF_ENABLED=True, TESTING=False)
    _migrate_fresh(app)
    with app.app_context():
        make_user("browser@example.com")
        make_user("other@example.com")
    worker_factory(db_url, reports, name)
    httpd = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_port}"
    httpd.shutdown()


@pytest.fixture(scope="module")
def browser():
    if not Path(CHROMIUM).exists():
        pytest.fail("Chromium is not installed: `apt-get install chromium` (see README).")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        yield browser
        browser.close()


@pytest.fixture
def page(browser, server):
    context = browser.new_context(accept_downloads=True)
    page = context.new_page()
    errors = []
    # a Content-Security-Policy violation shows up as a console error
    page.on("console", lambda msg: msg.type == "error" and errors.append(msg.text))
    log_in(page, server)
    yield page
    # the page each test ends on meets axe-core's rules (tests/browser/axe.py)
    violations = _axe_problems(page, server)
    context.close()
    assert not [e for e in errors if "Content Security Policy" in e], errors
    assert not violations, "accessibility violations (axe-core):\n" + "\n".join(violations)


def _axe_problems(page, server):
    """axe's findings on the page's document if it is one of the app's HTML pages
    (not a download, a JSON answer or a closed page)."""
    if page.is_closed() or not page.url.startswith(server):
        return []
    page.wait_for_load_state()
    if page.evaluate("document.contentType") != "text/html":
        return []
    return axe.problems(page, page.url.removeprefix(server))
