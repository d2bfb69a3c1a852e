"""Password reset by e-mail: the answer is the same for any address, the link
(read from the mail a real SMTP server received) works once and for an
hour, sets a password by the sign-up rules, ends every other session,
verifies the address and logs this browser in; asking is throttled per
address and per network; without a mail server the page says whom to ask.
Both databases, the Flask test client, no worker (mail is sent at once)."""
from __future__ import annotations

import html
import re
import time

import pytest
from flask import current_app
from itsdangerous import TimestampSigner

from tests.conftest import PASSWORD
from tests.unit.test_sessions_and_throttles import browser, field_errors, lands_on_login, login
from webapp.auth import reset
from webapp.extensions import db
from webapp.links import serializer
from webapp.models import User

NEW_PASSWORD = "velvet-otter-quarry-9"
SAME_ANSWER = "If an account exists for"


@pytest.fixture
def mailed(app, smtp_server, monkeypatch):
    """Mail on, and what the app publishes sent at once to the real SMTP
    server (the worker's part, without a worker)."""
    from webapp.delivery import outbox

    app.config.update(SMTP_URL=smtp_server.url, MAIL_FROM="reports@example.com",
                      PUBLIC_URL="http://reports.example")

    def now(to, body, *, workspace_id=None):
        outbox.send(to, body, workspace_id=workspace_id)
        return True

    monkeypatch.setattr(outbox, "queue", now)
    return smtp_server


def ask(email, **environ):
    """POST the forgot-password form from a new browser."""
    return current_app.test_client().post("/password/forgot", data={"email": email},
                                          environ_base=environ)


def text_of(received) -> str:
    return received.message.get_body(("plain",)).get_content()


def link_in(received) -> str:
    found = re.search(r"http://reports\.example(/password/reset/\S+)", text_of(received))
    assert found, text_of(received)
    return found.group(1)


def reset_link(mailed, email) -> str:
    assert ask(email).status_code == 200
    [got] = [m for m in mailed.wait_for(1) if m.rcpt_tos == [email]]
    return link_in(got)


def set_password(client, path, password=NEW_PASSWORD, confirm=None):
    return client.post(path, data={"password": password,
                                   "confirm": password if confirm is None else confirm})


def page_text(resp) -> str:
    return html.unescape(resp.get_data(as_text=True))


def signed_at(seconds_ago: int, payload) -> str:
    """A token of the reset salt signed `seconds_ago` in the past."""

    class Past(TimestampSigner):
        def get_timestamp(self) -> int:
            return int(time.time()) - seconds_ago

    signer = serializer(reset.RESET_SALT)
    signer.signer = Past
    return signer.dumps(payload)


# --- asking for a link -------------------------------------------------------------

def test_the_log_in_page_links_to_forgot_password(app):
    page = app.test_client().get("/login").get_data(as_text=True)
    assert 'href="/password/forgot"' in page and "Forgot password?" in page


def test_the_answer_is_the_same_for_known_and_unknown_addresses(app, user, mailed):
    known, unknown = ask(user.email), ask("ghost@example.com")
    assert known.status_code == unknown.status_code == 200
    assert (page_text(known).replace(user.email, "X")
            == page_text(unknown).replace("ghost@example.com", "X"))
    assert SAME_ANSWER in page_text(known)
    [got] = mailed.wait_for(1)
    assert got.rcpt_tos == [user.email] and got.message["Subject"] == "Reset your password"
    assert len(mailed.messages) == 1  # nothing to the unknown address
    assert "60 minutes, once" in text_of(got)
    html_part = got.message.get_body(("html",)).get_content()
    assert link_in(got) in html.unescape(html_part)


def test_an_invalid_address_is_a_form_error_not_a_mail(app, mailed):
    resp = ask("not an address")
    assert resp.status_code == 422 and "Enter a valid e-mail address." in field_errors(resp)
    assert mailed.messages == []


def test_without_a_mail_server_the_page_says_to_ask_the_operator(app, user):
    app.config["SMTP_URL"] = ""
    for resp in (app.test_client().get("/password/forgot"), ask(user.email)):
        assert resp.status_code == 200
        text = page_text(resp)
        assert "not available on this server" in text and "flask create-user EMAIL --reset" in text
        assert SAME_ANSWER not in text


def test_asking_is_throttled_per_address_known_or_not(app, user, mailed):
    app.config["RESET_RATE_LIMIT_EMAIL"] = "2 per hour"
    for email in (user.email, "ghost@example.com"):
        codes = [ask(email, REMOTE_ADDR=f"198.51.{n}.1").status_code for n in range(3)]
        assert codes == [200, 200, 429], email
    resp = ask(user.email, REMOTE_ADDR="192.0.2.1")
    assert resp.status_code == 429
    assert any("Too many reset requests" in e and "Try again in" in e for e in field_errors(resp))
    assert len(mailed.wait_for(2)) == 2  # the refused request sent nothing
    assert ask("someone@example.com", REMOTE_ADDR="192.0.2.1").status_code == 200


def test_asking_is_throttled_per_network(app, user, mailed):
    app.config["RESET_RATE_LIMIT_ADDRESS"] = "2 per hour"
    codes = [ask(f"user{n}@example.com", REMOTE_ADDR=f"198.51.100.{n}").status_code
             for n in range(3)]
    assert codes == [200, 200, 429]
    assert ask(user.email, REMOTE_ADDR="198.51.101.1").status_code == 200


# --- using the link ------------------------------------------------------------------

def test_the_link_sets_a_new_password_logs_in_here_and_works_once(app, user, mailed):
    path = reset_link(mailed, user.email)
    web = app.test_client()
    form = web.get(path)
    assert form.status_code == 200 and user.email in page_text(form)
    resp = set_password(web, path)
    assert resp.status_code == 303 and resp.headers["Location"].endswith("/orders/")
    orders = web.get("/orders/")
    assert orders.status_code == 200 and "Your password is changed" in page_text(orders)
    assert login(app.test_client(), user.email, PASSWORD).status_code == 422
    assert login(app.test_client(), user.email, NEW_PASSWORD).status_code == 303
    for again in (app.test_client().get(path), set_password(app.test_client(), path,
                                                            "another-quiet-lantern-4")):
        assert again.status_code == 410
        assert "used already" in page_text(again) and 'href="/password/forgot"' in page_text(again)
    assert login(app.test_client(), user.email, NEW_PASSWORD).status_code == 303


def test_using_the_link_ends_every_other_session_and_verifies_the_address(app, user, mailed):
    assert not user.email_verified
    elsewhere = browser(app, user.email)
    set_password(app.test_client(), reset_link(mailed, user.email))
    lands_on_login(elsewhere, "/orders/", "You were logged out")
    db.session.expire_all()
    assert db.session.get(User, user.id).email_verified


def test_a_link_stops_working_when_the_password_changes_another_way(app, user, mailed):
    path = reset_link(mailed, user.email)
    web = browser(app, user.email)
    assert web.post("/account/password", data={
        "current_password": PASSWORD, "new_password": NEW_PASSWORD,
        "confirm": NEW_PASSWORD}).status_code == 303
    resp = app.test_client().get(path)
    assert resp.status_code == 410 and "password was changed" in page_text(resp)


def test_a_weak_password_is_refused_and_the_link_still_works(app, user, mailed):
    path = reset_link(mailed, user.email)
    web = app.test_client()
    resp = set_password(web, path, "password123")
    assert resp.status_code == 422 and field_errors(resp)
    differ = set_password(web, path, NEW_PASSWORD, confirm="something-else-entirely")
    assert differ.status_code == 422 and "The passwords differ." in field_errors(differ)
    assert web.get("/orders/").status_code == 302  # not logged in
    assert login(app.test_client(), user.email, PASSWORD).status_code == 303
    assert set_password(web, path).status_code == 303


def test_an_expired_link_says_so_and_offers_a_new_one(app, user, mailed):
    payload = [user.id, reset._fingerprint(user)]
    fresh = app.test_client().get(f"/password/reset/{signed_at(reset.RESET_SECONDS - 60, payload)}")
    assert fresh.status_code == 200
    path = f"/password/reset/{signed_at(reset.RESET_SECONDS + 1, payload)}"
    for resp in (app.test_client().get(path), set_password(app.test_client(), path)):
        assert resp.status_code == 410
        text = page_text(resp)
        assert "expired" in text and 'href="/password/forgot"' in text
    assert login(app.test_client(), user.email, PASSWORD).status_code == 303


@pytest.mark.parametrize("token", [
    "garbage", "", "a.b.c", "x" * 500,
    "cut-short",  # a real link, its end lost in a line break
    "other-salt",  # a verification link's token
    "not-a-pair", "wrong-types", "no-such-user",
])
def test_a_garbled_or_foreign_link_is_a_clear_page_never_a_500(app, user, token):
    made = {
        "cut-short": reset.token_for(user)[:-6],
        "other-salt": serializer("verify-email").dumps([user.id, user.email]),
        "not-a-pair": serializer(reset.RESET_SALT).dumps("just a string"),
        "wrong-types": serializer(reset.RESET_SALT).dumps([str(user.id), 7]),
        "no-such-user": serializer(reset.RESET_SALT).dumps([user.id + 99, "x" * 32]),
    }
    path = f"/password/reset/{made.get(token, token)}" if token else "/password/reset/"
    resp = app.test_client().get(path)
    assert resp.status_code in (400, 404, 410), resp.status_code
    if token:
        assert resp.status_code in (400, 410)
        assert "not valid" in page_text(resp) or "used already" in page_text(resp)
        assert 'href="/password/forgot"' in page_text(resp)


def test_the_reset_pages_need_no_session_and_have_plain_titles(app, user, mailed):
    path = reset_link(mailed, user.email)
    for page in ("/password/forgot", path, "/password/reset/garbage"):
        resp = app.test_client().get(page)
        assert resp.status_code in (200, 400), page
        [title] = re.findall(r"<title>(.*?)</title>", resp.get_data(as_text=True), re.S)
        assert "<" not in title and ">" not in title
