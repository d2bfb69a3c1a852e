"""Two-factor log-in (TOTP): enrolment from the account page with a code
computed by pyotp, then a log-in takes the password and a code (or a
recovery code, once); wrong codes are refused and throttled like wrong
passwords, a code is good once, the waiting log-in expires; turning it off
needs the password and a code; a reset link does not skip it; `flask
rotate-secrets` re-encrypts the secrets. Real HTTP requests through the
Flask test client, on both databases."""
from __future__ import annotations

import hashlib
import html
import re
import secrets
import time

import pyotp
import pytest
import sqlalchemy as sa

from tests.conftest import PASSWORD, logged_in_client
from tests.unit.test_sessions_and_throttles import field_errors, lands_on_login, login
from webapp.auth import reset, twofactor
from webapp.auth.services import end_every_session
from webapp.extensions import db
from webapp.models import User

CODE_FORMAT = re.compile(r"[a-z2-9]{4}-[a-z2-9]{4}-[a-z2-9]{2}")


def fresh(user) -> User:
    db.session.expire_all()
    return db.session.get(User, user.id)


def code(secret: str, steps: int = 0) -> str:
    """The app's code now, or `steps` time steps (30 s) away."""
    return pyotp.TOTP(secret).at(time.time() + 30 * steps)


def enable(user) -> tuple[str, list[str]]:
    """Two-factor log-in on (the service, as the enrolment page calls it),
    confirmed with the previous step's code so that the current one is free."""
    secret = twofactor.begin(user)
    return secret, twofactor.confirm(user, PASSWORD, code(secret, -1))


def password_step(app, user, next_path=None):
    web = app.test_client()
    query = f"?next={next_path}" if next_path else ""
    resp = web.post(f"/login{query}", data={"email": user.email, "password": PASSWORD})
    assert resp.status_code == 303 and resp.headers["Location"].endswith("/login/two-factor")
    return web


def give(web, typed):
    return web.post("/login/two-factor", data={"code": typed})


def logged_in(web) -> bool:
    return web.get("/orders/").status_code == 200


def text(resp) -> str:
    return html.unescape(resp.get_data(as_text=True))


# --- enrolment ------------------------------------------------------------------------

def test_enrolment_from_the_account_page_with_a_code_from_the_app(app, user, client):
    account = text(client.get("/account"))
    assert "Two-factor log-in" in account and "Set up" in account
    resp = client.post("/account/two-factor/setup")
    assert resp.status_code == 303 and resp.headers["Location"].endswith("/account/two-factor")
    page = client.get("/account/two-factor")
    body = page.get_data(as_text=True)
    assert page.status_code == 200
    [secret] = re.findall(r'id="totp-secret">([A-Z2-7]+)<', body)
    assert fresh(user).totp_secret == secret and not fresh(user).two_factor
    [svg] = re.findall(r'<svg[^>]*class="qr-code".*?</svg>', body, re.S)
    assert "<path" in svg and "style" not in svg  # the CSP allows no inline styles
    assert "style=" not in body and "<script>" not in body
    assert 'autocomplete="one-time-code"' in body and 'inputmode="numeric"' in body

    wrong = client.post("/account/two-factor", data={"password": PASSWORD, "code": "000000"})
    assert wrong.status_code == 422 and any("not right" in e for e in field_errors(wrong))
    no_password = client.post("/account/two-factor",
                              data={"password": "not-my-password", "code": code(secret)})
    assert no_password.status_code == 422 and "The password is wrong." in field_errors(no_password)
    assert not fresh(user).two_factor

    done = client.post("/account/two-factor", data={"password": PASSWORD,
                                                    "code": code(secret, -1)})
    assert done.status_code == 200
    shown = CODE_FORMAT.findall(done.get_data(as_text=True))
    assert len(set(shown)) == 10
    stored = fresh(user).recovery_codes
    assert sorted(stored) == sorted(hashlib.sha256(c.replace("-", "").encode()).hexdigest()
                                    for c in shown)
    assert not set(shown) & set(stored)  # only their hashes are kept
    assert fresh(user).two_factor
    again = text(client.get("/account"))
    assert "On since" in again and "10 unused recovery codes left" in again
    assert not CODE_FORMAT.search(again)  # shown once, on the answer only
    assert client.get("/account/two-factor").status_code == 303  # on already


def test_set_up_again_makes_a_new_secret_the_old_one_never_counted(app, user, client):
    client.post("/account/two-factor/setup")
    first = fresh(user).totp_secret
    client.post("/account/two-factor/setup")
    second = fresh(user).totp_secret
    assert first != second
    resp = client.post("/account/two-factor", data={"password": PASSWORD, "code": code(first)})
    assert resp.status_code == 422 and not fresh(user).two_factor


def test_the_provisioning_uri_names_the_issuer_and_the_account(app, user):
    secret = twofactor.begin(user)
    uri = twofactor.provisioning_uri(user, secret)
    assert uri.startswith("otpauth://totp/Order%20reports:alice%40example.com?")
    assert f"secret={secret}" in uri and "issuer=Order%20reports" in uri


# --- log-in ---------------------------------------------------------------------------

def test_log_in_needs_the_code_after_the_password(app, user):
    secret, _ = enable(user)
    web = password_step(app, user, next_path="/reports/")
    assert not logged_in(web)
    with web.session_transaction() as session:
        assert "_user_id" not in session  # flask-login knows nothing yet
    page = web.get("/login/two-factor").get_data(as_text=True)
    assert re.search(r'<input[^>]*autocomplete="one-time-code"[^>]*autofocus', page)
    assert 'inputmode="numeric"' in page
    resp = give(web, code(secret))
    assert resp.status_code == 303 and resp.headers["Location"].endswith("/reports/")
    assert logged_in(web)


def test_a_wrong_code_is_refused_and_counted_like_a_wrong_password(app, user):
    secret, _ = enable(user)
    app.config["LOGIN_RATE_LIMIT_ACCOUNT"] = "3 per 15 minutes"
    web = password_step(app, user)  # a right password gives its count back
    for typed in ("123456", "abcd-efgh-jk", "12345"):
        resp = give(web, typed)
        assert resp.status_code == 422 and any("not right" in e for e in field_errors(resp))
    resp = give(web, code(secret))  # the right code, but throttled
    assert resp.status_code == 429 and any("Try again in" in e for e in field_errors(resp))
    assert not logged_in(web)


def test_a_code_logs_in_once(app, user):
    secret, _ = enable(user)
    now = code(secret)
    assert give(password_step(app, user), now).status_code == 303
    replay = password_step(app, user)
    resp = give(replay, now)
    assert resp.status_code == 422 and any("used already" in e for e in field_errors(resp))
    assert not logged_in(replay)
    assert give(replay, code(secret, 1)).status_code == 303  # the next step's code is new


def test_a_recovery_code_logs_in_once(app, user):
    _, codes = enable(user)
    web = password_step(app, user)
    resp = give(web, codes[3].upper().replace("-", " "))  # as read out or typed
    assert resp.status_code == 303
    landed = web.get(resp.headers["Location"])
    assert landed.status_code == 200 and "9 left" in text(landed)
    assert len(fresh(user).recovery_codes) == 9
    again = password_step(app, user)
    assert give(again, codes[3]).status_code == 422 and not logged_in(again)
    assert give(again, codes[4]).status_code == 303


def test_the_waiting_log_in_expires_after_five_minutes(app, user):
    secret, _ = enable(user)
    web = password_step(app, user)
    with web.session_transaction() as session:
        session["two_factor"] = {**session["two_factor"],
                                 "at": int(time.time()) - twofactor.PENDING_SECONDS - 1}
    resp = give(web, code(secret))
    assert resp.status_code == 303 and resp.headers["Location"].endswith("/login")
    assert "Log in again" in text(web.get("/login")) and not logged_in(web)
    # nothing pending at all: straight to the log-in page
    resp = app.test_client().get("/login/two-factor")
    assert resp.status_code == 303 and resp.headers["Location"].endswith("/login")


def test_the_waiting_log_in_ends_with_every_session(app, user):
    secret, _ = enable(user)
    web = password_step(app, user)
    end_every_session(user)  # log-out everywhere, a password change
    assert give(web, code(secret)).status_code == 303 and not logged_in(web)


def test_without_two_factor_the_password_alone_logs_in(app, user):
    resp = login(app.test_client(), user.email, PASSWORD)
    assert resp.status_code == 303 and not resp.headers["Location"].endswith("/two-factor")


def test_a_required_two_factor_sends_to_enrolment_after_the_password(app, user, monkeypatch):
    monkeypatch.setattr(twofactor, "required_for", lambda u: True)
    web = app.test_client()
    resp = login(web, user.email, PASSWORD)
    assert resp.status_code == 303 and resp.headers["Location"].endswith("/account/two-factor")
    page = web.get("/account/two-factor")
    assert page.status_code == 200
    assert "This workspace requires two-factor log-in: set it up now." in text(page)


def test_a_reset_link_does_not_skip_the_code(app, user):
    secret, _ = enable(user)
    web = app.test_client()
    new = "velvet-otter-quarry-9"
    resp = web.post(f"/password/reset/{reset.token_for(user)}",
                    data={"password": new, "confirm": new})
    assert resp.status_code == 303 and resp.headers["Location"].endswith("/login/two-factor")
    assert not logged_in(web)
    assert "Enter a code" in text(web.get("/login/two-factor"))
    assert give(web, code(secret)).status_code == 303 and logged_in(web)


# --- once it is on ----------------------------------------------------------------------

def test_turning_it_off_needs_the_password_and_a_code(app, user):
    secret, _ = enable(user)
    web = logged_in_client(app, user)
    for data, field in (({"off-password": "wrong-password", "off-code": code(secret)},
                         "The password is wrong."),
                        ({"off-password": PASSWORD, "off-code": "000000"}, "not right")):
        resp = web.post("/account/two-factor/off", data=data)
        assert resp.status_code == 422 and any(field in e for e in field_errors(resp))
        assert fresh(user).two_factor
    resp = web.post("/account/two-factor/off",
                    data={"off-password": PASSWORD, "off-code": code(secret)})
    assert resp.status_code == 303
    gone = fresh(user)
    assert not gone.two_factor and gone.totp_secret is None and gone.recovery_codes is None
    assert "Off." in text(web.get("/account"))
    assert login(app.test_client(), user.email, PASSWORD).headers["Location"].endswith("/dashboard")


def test_new_recovery_codes_replace_the_old_ones(app, user):
    secret, old = enable(user)
    web = logged_in_client(app, user)
    wrong = web.post("/account/two-factor/recovery-codes", data={"recovery-code": "000000"})
    assert wrong.status_code == 422
    resp = web.post("/account/two-factor/recovery-codes", data={"recovery-code": code(secret)})
    assert resp.status_code == 200
    new = CODE_FORMAT.findall(resp.get_data(as_text=True))
    assert len(set(new)) == 10 and not set(new) & set(old)
    assert give(password_step(app, user), old[0]).status_code == 422
    assert give(password_step(app, user), new[0]).status_code == 303


def test_rotate_secrets_re_encrypts_the_two_factor_secrets(app, user):
    secret, _ = enable(user)
    stored = db.session.scalar(sa.text("SELECT totp_secret FROM users"))
    assert secret not in stored and stored.startswith("gAAAAA")
    old_key = app.config["SECRET_KEY"]
    app.config.update(SECRET_KEY=secrets.token_urlsafe(48), SECRET_KEY_FALLBACKS=[old_key])
    result = app.test_cli_runner().invoke(args=["rotate-secrets"])
    assert result.exit_code == 0, result.output
    assert "Two-factor secrets: 1 re-encrypted with the current key" in result.output
    app.config["SECRET_KEY_FALLBACKS"] = []
    assert fresh(user).totp_secret == secret
    assert give(password_step(app, user), code(secret)).status_code == 303


def test_recovery_codes_still_work_when_no_key_opens_the_secret(app, user):
    _, codes = enable(user)
    db.session.execute(sa.text("UPDATE users SET totp_secret = 'gAAAAA-not-ours'"))
    db.session.commit()
    result = app.test_cli_runner().invoke(args=["rotate-secrets"])
    assert result.exit_code == 1
    assert f"1 two-factor secret(s) open with no key (users {user.id})" in result.output
    web = password_step(app, user)
    assert give(web, "123456").status_code == 422
    assert give(web, codes[0]).status_code == 303


@pytest.mark.parametrize("path", ["/account/two-factor", "/account/two-factor/setup",
                                  "/account/two-factor/off",
                                  "/account/two-factor/recovery-codes"])
def test_the_account_two_factor_pages_need_a_session(app, path):
    resp = app.test_client().post(path)
    assert resp.status_code == 302 and "/login" in resp.headers["Location"]


def test_the_two_factor_pages_have_plain_titles(app, user, client):
    enable(user)
    pages = [(password_step(app, user), "/login/two-factor")]
    for web, path in pages:
        resp = web.get(path)
        [title] = re.findall(r"<title>(.*?)</title>", resp.get_data(as_text=True), re.S)
        assert "<" not in title and resp.status_code == 200
    lands_on_login(app.test_client(), "/account/two-factor")
