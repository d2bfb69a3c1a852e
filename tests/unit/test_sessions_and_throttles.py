"""Sessions end when they should (log-out, password change, idle, age, key
change), the secret key is never a known one, log-in/sign-up/write throttles
hold (also with the rate-limit storage down), and the security headers are
sent. Everything goes through real HTTP requests with the Flask test client."""
from __future__ import annotations

import datetime as dt
import html
import json
import logging
import os
import re
import secrets
import threading
import time
from contextlib import contextmanager, suppress
from urllib.parse import quote

import pytest
from flask import Flask
from flask.sessions import SecureCookieSessionInterface

from tests.conftest import (
    PASSWORD,
    SESSION,
    _migrate_fresh,
    build_app,
    logged_in_client,
    make_user,
)
from webapp.auth import services as auth_services
from webapp.auth import throttle
from webapp.auth.throttle import reset_memory
from webapp.extensions import db, limiter
from webapp.models import ReportFormat, User
from webapp.reports import lifecycle
from webapp.reports import services as report_services
from webapp.security import _instance_key, ensure_secret_key

NEW_PASSWORD = "velvet-otter-quarry-9"
ITEM = {"product": "Tea", "quantity": 2, "unit_price": "12.50"}
PROXY_HEADERS = {"X-Forwarded-Proto": "https", "X-Forwarded-For": "203.0.113.7"}


# --- helpers --------------------------------------------------------------------

def login(client, email, password, headers=None, **environ):
    """POST the real log-in form; `environ` goes to the WSGI environ (REMOTE_ADDR)."""
    return client.post("/login", data={"email": email, "password": password},
                       headers=headers or {}, environ_base=environ)


def browser(app, email, password=PASSWORD):
    """A new browser logged in through the log-in form."""
    client = app.test_client()
    resp = login(client, email, password)
    assert resp.status_code == 303, resp.get_data(as_text=True)
    assert client.get("/orders/").status_code == 200
    return client


def session_cookie(client) -> str:
    cookie = client.get_cookie("session")
    assert cookie is not None and cookie.value
    return cookie.value


def with_cookie(app, value):
    """A browser that only has a copy of someone's session cookie."""
    client = app.test_client()
    client.set_cookie("session", value)
    return client


def sign_cookie(key, payload) -> str:
    """A session cookie as Flask would sign it with `key`."""
    stub = Flask("cookie-forger")
    stub.config.update(SECRET_KEY=key, SECRET_KEY_FALLBACKS=[])
    return SecureCookieSessionInterface().get_signing_serializer(stub).dumps(payload)


def lands_on_login(client, path, message=None):
    resp = client.get(path)
    assert resp.status_code == 302 and "/login" in resp.headers["Location"], path
    page = client.get(resp.headers["Location"])
    assert page.status_code == 200
    if message:
        assert message in html.unescape(page.get_data(as_text=True)), path


def field_errors(resp) -> list[str]:
    return [html.unescape(e) for e in
            re.findall(r'class="field-error"[^>]*>([^<]+)<', resp.get_data(as_text=True))]


def keeps_email(resp, email):
    assert re.search(rf'<input[^>]*name="email"[^>]*value="{re.escape(email)}"',
                     resp.get_data(as_text=True)) or re.search(
        rf'<input[^>]*value="{re.escape(email)}"[^>]*name="email"', resp.get_data(as_text=True))


@contextmanager
def fresh_app(tmp_path, redis_url, **overrides):
    """An app of its own (sqlite), for settings read at creation; the global
    limiter (re-initialised by create_app) is put back afterwards."""
    saved = dict(vars(limiter))
    try:
        app = build_app(f"sqlite:///{tmp_path / 'own.sqlite3'}", tmp_path / "reports",
                        f"unit-{SESSION}", redis_url, **overrides)
        _migrate_fresh(app)
        with app.app_context():
            yield app
            db.session.remove()
    finally:
        with suppress(Exception):  # a dead storage cannot be reset
            limiter.reset()
        vars(limiter).clear()
        vars(limiter).update(saved)
        reset_memory()


# --- 1, 2: log-out ----------------------------------------------------------------

def test_logout_ends_the_session_for_good_even_for_a_copied_cookie(app, user):
    web = browser(app, user.email)
    stolen = session_cookie(web)
    assert with_cookie(app, stolen).get("/account").status_code == 200  # the copy works...
    resp = web.post("/logout")
    assert resp.status_code == 303 and resp.headers["Location"].endswith("/login")
    for path in ("/orders/", "/account"):  # ...and stops working at log-out
        lands_on_login(with_cookie(app, stolen), path, "You were logged out")
    assert web.get("/orders/").status_code == 302


def test_logout_in_one_browser_ends_every_session_of_the_account(app, user):
    first, second = browser(app, user.email), browser(app, user.email)
    other_user = make_user("bob@example.com")
    bob = browser(app, other_user.email)
    assert first.post("/logout").status_code == 303
    lands_on_login(second, "/orders/", "You were logged out")
    assert bob.get("/orders/").status_code == 200  # another account is untouched


def test_log_out_everywhere_ends_all_browsers_but_api_tokens_keep_working(app, user):
    here, there = browser(app, user.email), browser(app, user.email)
    _, secret = auth_services.create_token(user, "script")
    resp = here.post("/account/sessions/end")
    assert resp.status_code == 303 and resp.headers["Location"].endswith("/login")
    assert here.get("/orders/").status_code == 302
    lands_on_login(there, "/account", "You were logged out")
    api = app.test_client()
    resp = api.get("/api/orders", headers={"Authorization": f"Bearer {secret}"})
    assert resp.status_code == 200 and resp.get_json()["total"] == 0


# --- 3: password change ------------------------------------------------------------

def change_password(client, current, new, confirm=None):
    return client.post("/account/password", data={
        "current_password": current, "new_password": new,
        "confirm": new if confirm is None else confirm})


def test_password_change_needs_the_current_password(app, user):
    web = browser(app, user.email)
    resp = change_password(web, "not-my-password", NEW_PASSWORD)
    assert resp.status_code == 422
    assert "The current password is wrong." in field_errors(resp)
    assert web.get("/account").status_code == 200
    assert login(app.test_client(), user.email, NEW_PASSWORD).status_code == 422
    assert login(app.test_client(), user.email, PASSWORD).status_code == 303


@pytest.mark.parametrize("weak", ["password123", "qwertyuiop1", " " * 10])
def test_password_change_refuses_a_weak_new_password(app, user, weak):
    web = browser(app, user.email)
    resp = change_password(web, PASSWORD, weak)
    assert resp.status_code == 422
    errors = field_errors(resp)
    assert errors and all(len(e.strip()) > 10 for e in errors), errors
    assert login(app.test_client(), user.email, weak).status_code == 422
    assert login(app.test_client(), user.email, PASSWORD).status_code == 303


def test_password_change_keeps_this_browser_and_ends_the_others(app, user):
    here, there = browser(app, user.email), browser(app, user.email)
    resp = change_password(here, PASSWORD, NEW_PASSWORD)
    assert resp.status_code == 303 and resp.headers["Location"].endswith("/account")
    page = here.get("/account")
    assert page.status_code == 200 and "Password changed" in page.get_data(as_text=True)
    lands_on_login(there, "/orders/", "your password was changed")
    assert login(app.test_client(), user.email, PASSWORD).status_code == 422
    assert login(app.test_client(), user.email, NEW_PASSWORD).status_code == 303


# --- 4: idle and maximum age ------------------------------------------------------

def test_an_idle_session_ends_with_a_message(app, user):
    app.config["SESSION_IDLE_MINUTES"] = 1
    web = browser(app, user.email)
    assert web.get("/account").status_code == 200
    with web.session_transaction() as s:
        s["seen"] = int(time.time()) - 90
    lands_on_login(web, "/account", "Your session ended after 1 minutes without activity")
    assert web.get("/orders/").status_code == 302  # the cookie was dropped


def test_a_session_ends_at_its_maximum_age_however_active(app, user):
    app.config["SESSION_MAX_HOURS"] = 1
    web = browser(app, user.email)
    with web.session_transaction() as s:
        s["since"] = int(time.time()) - 3601
        s["seen"] = int(time.time())
    lands_on_login(web, "/orders/", "Sessions last 1 hours; yours has ended")


def test_status_polling_does_not_keep_a_session_alive_but_a_page_does(app, user, sent):
    day = dt.date(2026, 1, 1)
    job, _ = report_services.request_summary_report(user, day, day, None, ReportFormat.CSV)
    web = browser(app, user.email)
    old = int(time.time()) - 90
    with web.session_transaction() as s:
        s["seen"] = old
    for _ in range(2):
        assert web.get(f"/reports/{job.id}/status").status_code == 200
    with web.session_transaction() as s:
        assert s["seen"] == old
    assert web.get("/orders/").status_code == 200
    with web.session_transaction() as s:
        assert s["seen"] >= int(time.time()) - 5


# --- 5, 6: the secret key ----------------------------------------------------------

def _payload(user):
    now = int(time.time())
    return {"_user_id": str(user.id), "_fresh": True, "gen": user.session_generation,
            "since": now, "seen": now}


def test_a_cookie_signed_with_the_old_public_key_does_not_log_in(app, user):
    genuine = sign_cookie(app.config["SECRET_KEY"], _payload(user))
    assert with_cookie(app, genuine).get("/account").status_code == 200  # the forger works
    forged = sign_cookie("dev-only-change-me", _payload(user))
    resp = with_cookie(app, forged).get("/account")
    assert resp.status_code == 302 and "/login" in resp.headers["Location"]


@pytest.mark.parametrize("key", ["dev-only-change-me", "short", " DEV-ONLY-CHANGE-ME ",
                                 "change-me-to-64-random-characters", "k" * 31])
def test_create_app_refuses_a_known_or_short_secret_key(tmp_path, redis_url, key):
    with pytest.raises(RuntimeError, match="SECRET_KEY"), fresh_app(tmp_path, redis_url,
                                                                    SECRET_KEY=key):
        pass


def test_a_secret_key_of_32_characters_is_enough(tmp_path, redis_url):
    key = secrets.token_urlsafe(24)
    assert len(key) == 32
    with fresh_app(tmp_path, redis_url, SECRET_KEY=key, SECRET_KEY_FALLBACKS=[key[::-1]]) as app:
        assert app.config["SECRET_KEY"] == key


@pytest.mark.parametrize(("fallbacks", "words"), [
    (["dev-only-change-me"], "SECRET_KEY_FALLBACKS entry 1 of 1 is a well-known value"),
    (["abc"], "SECRET_KEY_FALLBACKS entry 1 of 1 is shorter than 32 characters"),
    ([secrets.token_urlsafe(32), "x" * 31],
     "SECRET_KEY_FALLBACKS entry 2 of 2 is shorter than 32 characters"),
])
def test_create_app_refuses_a_known_or_short_fallback_key_saying_which(
        tmp_path, redis_url, fallbacks, words):
    with pytest.raises(RuntimeError) as refused, fresh_app(
            tmp_path, redis_url, SECRET_KEY=secrets.token_urlsafe(32),
            SECRET_KEY_FALLBACKS=fallbacks):
        pass
    assert words in str(refused.value)
    assert not any(key in str(refused.value) for key in fallbacks)  # the key is not shown


def _mode(path) -> int:
    return os.stat(path).st_mode & 0o777


def test_the_instance_key_is_made_once_private_and_reused(tmp_path):
    stub = Flask("keyed", instance_path=str(tmp_path))
    stub.config["SECRET_KEY"] = None
    ensure_secret_key(stub)
    path = tmp_path / "secret_key"
    key = stub.config["SECRET_KEY"]
    assert len(key) >= 32 and path.read_text().strip() == key
    assert _mode(path) == 0o600
    again = Flask("keyed-again", instance_path=str(tmp_path))
    again.config["SECRET_KEY"] = None
    ensure_secret_key(again)
    assert again.config["SECRET_KEY"] == key == _instance_key(path)
    assert [p.name for p in tmp_path.iterdir()] == ["secret_key"]  # no temp files left


def test_a_readable_instance_key_is_made_private(tmp_path, caplog):
    path = tmp_path / "secret_key"
    path.write_text("an-existing-long-random-key-0123456789\n")
    path.chmod(0o644)
    with caplog.at_level(logging.WARNING):
        assert _instance_key(path) == "an-existing-long-random-key-0123456789"
    assert _mode(path) == 0o600
    assert "readable by others" in caplog.text


def test_concurrent_starts_agree_on_one_instance_key(tmp_path):
    for round_ in range(5):
        folder = tmp_path / f"round{round_}"
        folder.mkdir()
        start, keys = threading.Barrier(8), []

        def make(folder=folder, start=start, keys=keys):
            start.wait()
            keys.append(_instance_key(folder / "secret_key"))

        threads = [threading.Thread(target=make) for _ in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert len(keys) == 8 and len(set(keys)) == 1
        assert (folder / "secret_key").read_text().strip() == keys[0]
        assert [p.name for p in folder.iterdir()] == ["secret_key"]


def test_old_cookies_survive_a_key_rotation_only_with_the_fallback(app, user):
    old_key = app.config["SECRET_KEY"]
    cookie = session_cookie(browser(app, user.email))
    app.config["SECRET_KEY"] = secrets.token_urlsafe(32)
    app.config["SECRET_KEY_FALLBACKS"] = []
    resp = with_cookie(app, cookie).get("/account")
    assert resp.status_code == 302 and "/login" in resp.headers["Location"]
    app.config["SECRET_KEY_FALLBACKS"] = [old_key]
    assert with_cookie(app, cookie).get("/account").status_code == 200


# --- 7, 8, 9: throttles -----------------------------------------------------------

def test_login_is_throttled_per_account_before_the_password_is_hashed(app, user, monkeypatch):
    app.config["LOGIN_RATE_LIMIT_ACCOUNT"] = "3 per 15 minutes"
    calls = []
    real = auth_services.check_password_hash
    monkeypatch.setattr(auth_services, "check_password_hash",
                        lambda *a: calls.append(a) or real(*a))
    web = app.test_client()
    assert [login(web, user.email, f"wrong-{n}").status_code for n in range(3)] == [422] * 3
    assert len(calls) == 3
    resp = login(web, user.email, PASSWORD)  # the right password, but throttled
    assert resp.status_code == 429
    assert len(calls) == 3
    assert any("Try again in" in e for e in field_errors(resp))
    keeps_email(resp, user.email)
    assert web.get("/orders/").status_code == 302  # not logged in


def test_login_is_throttled_per_client_address_across_accounts(app, user):
    app.config["LOGIN_RATE_LIMIT_ADDRESS"] = "3 per 15 minutes"
    make_user("bob@example.com")
    web = app.test_client()
    for email in (user.email, "bob@example.com", "nobody@example.com"):
        assert login(web, email, "wrong-password").status_code == 422, email
    resp = login(web, "carol@example.com", "wrong-password")
    assert resp.status_code == 429 and any("Try again in" in e for e in field_errors(resp))
    assert login(web, user.email, PASSWORD).status_code == 429
    elsewhere = app.test_client()
    assert login(elsewhere, "carol@example.com", "wrong-password",
                 REMOTE_ADDR="10.0.0.9").status_code == 422
    assert login(elsewhere, user.email, PASSWORD, REMOTE_ADDR="10.0.0.9").status_code == 303


def test_unknown_emails_are_throttled_like_known_ones(app, user):
    app.config["LOGIN_RATE_LIMIT_ACCOUNT"] = "3 per 15 minutes"
    answers = {}
    for email in (user.email, "ghost@example.com"):
        web = app.test_client()
        codes = [login(web, email, "wrong-password").status_code for _ in range(4)]
        answers[email] = (codes, field_errors(login(web, email, "wrong-password")))
    assert answers[user.email][0] == answers["ghost@example.com"][0] == [422, 422, 422, 429]
    assert answers[user.email][1] == answers["ghost@example.com"][1]


def signup(client, email, password=PASSWORD, **environ):
    return client.post("/signup", data={"email": email, "password": password,
                                        "confirm": password}, environ_base=environ)


def test_signup_is_throttled_per_address(app):
    app.config["SIGNUP_RATE_LIMIT"] = "2 per hour"
    codes = [signup(app.test_client(), f"user{n}@example.com").status_code for n in (1, 2)]
    assert codes == [303, 303]
    resp = signup(app.test_client(), "third@example.com")
    assert resp.status_code == 429
    assert any("Too many sign-ups" in e and "Try again in" in e for e in field_errors(resp))
    keeps_email(resp, "third@example.com")
    assert db.session.scalar(db.select(User).filter_by(email="third@example.com")) is None
    other = signup(app.test_client(), "fourth@example.com", REMOTE_ADDR="10.0.0.9")
    assert other.status_code == 303


def test_signup_is_throttled_per_e_mail_address_whatever_the_network(app):
    app.config["SIGNUP_RATE_LIMIT_EMAIL"] = "2 per hour"
    first = signup(app.test_client(), "victim@example.com", REMOTE_ADDR="198.51.100.1")
    assert first.status_code == 303
    again = signup(app.test_client(), "Victim@Example.com ", REMOTE_ADDR="203.0.113.1")
    assert again.status_code != 429  # whatever it says, it was not throttled yet
    resp = signup(app.test_client(), "victim@example.com", REMOTE_ADDR="192.0.2.1")
    assert resp.status_code == 429
    assert any("Try again in" in e for e in field_errors(resp))
    other = signup(app.test_client(), "someone@example.com", REMOTE_ADDR="192.0.2.1")
    assert other.status_code == 303


@pytest.mark.parametrize(("same_network", "next_network"), [
    (["198.51.100.7", "198.51.100.200", "198.51.100.1"], "198.51.101.7"),
    (["2001:db8:1:2::1", "2001:db8:1:2:ffff:ffff:ffff:fffe", "2001:db8:1:2:abcd::9"],
     "2001:db8:1:3::1"),
], ids=["ipv4-24", "ipv6-64"])
def test_signup_is_throttled_per_network_not_per_single_address(
        app, same_network, next_network):
    app.config["SIGNUP_RATE_LIMIT"] = "2 per hour"
    codes = [signup(app.test_client(), f"user{n}@example.com", REMOTE_ADDR=address).status_code
             for n, address in enumerate(same_network)]
    assert codes == [303, 303, 429]
    assert db.session.scalar(db.select(User).filter_by(email="user2@example.com")) is None
    assert signup(app.test_client(), "next@example.com",
                  REMOTE_ADDR=next_network).status_code == 303


@pytest.mark.parametrize(("address", "network"), [
    ("198.51.100.77", "198.51.100.0/24"),
    ("::ffff:198.51.100.77", "198.51.100.0/24"),  # IPv4 written as IPv6
    ("2001:db8:aa:bb:cc:dd:ee:ff", "2001:db8:aa:bb::/64"),
    ("not-an-address", "not-an-address"),
])
def test_sign_up_networks_are_ipv4_24_and_ipv6_64(address, network):
    assert throttle.network(address) == network


def _parallel_wrong_log_ins(app, emails: list[str]) -> list[int]:
    """Every e-mail's wrong log-in sent at the same moment, one thread each."""
    start, codes = threading.Barrier(len(emails)), []

    def one(email):
        web = app.test_client()
        start.wait()
        codes.append(login(web, email, "wrong-password").status_code)

    threads = [threading.Thread(target=one, args=(email,)) for email in emails]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return codes


@pytest.mark.parametrize("storage", ["memory", "redis"])
@pytest.mark.parametrize("per", ["account", "address"])
def test_parallel_wrong_log_ins_hash_no_more_passwords_than_the_limit(
        tmp_path, redis_url, monkeypatch, storage, per):
    """40 wrong log-ins at once, limit 10: at most 10 passwords are hashed and
    answered "wrong", the rest are refused with 429 (a check before the hash
    and a count after it let 12 through)."""
    limits = {"LOGIN_RATE_LIMIT_ACCOUNT": "1000 per 15 minutes",
              "LOGIN_RATE_LIMIT_ADDRESS": "1000 per 15 minutes",
              f"LOGIN_RATE_LIMIT_{per.upper()}": "10 per 15 minutes"}
    with fresh_app(tmp_path, redis_url, PASSWORD_HASH_METHOD="scrypt",  # the real cost
                   RATELIMIT_STORAGE_URI=redis_url if storage == "redis" else "memory://",
                   **limits) as app:
        user = make_user("alice@example.com")
        hashed = []
        real = auth_services.check_password_hash
        monkeypatch.setattr(auth_services, "check_password_hash",
                            lambda *a: hashed.append(1) or real(*a))
        emails = ([user.email] * 40 if per == "account"
                  else [f"guess{n}@example.com" for n in range(40)])
        codes = _parallel_wrong_log_ins(app, emails)
        wrong = codes.count(422)
        assert sorted(set(codes)) <= [422, 429] and len(codes) == 40
        assert 0 < wrong <= 10 and len(hashed) == wrong, (codes, len(hashed))
        if storage == "redis":  # one atomic INCRBY per count: exactly the limit
            assert wrong == 10
        if per == "account":  # the right password now waits too, unhashed
            assert login(app.test_client(), user.email, PASSWORD).status_code == 429
            assert len(hashed) == wrong


def test_a_successful_log_in_does_not_use_up_the_throttle(app, user):
    app.config["LOGIN_RATE_LIMIT_ACCOUNT"] = "3 per 15 minutes"
    for _ in range(5):
        assert login(app.test_client(), user.email, PASSWORD).status_code == 303
    codes = [login(app.test_client(), user.email, "wrong").status_code for _ in range(4)]
    assert codes == [422, 422, 422, 429]


def test_order_writes_are_limited_per_user_but_reads_are_not(app, user, client):
    app.config["ORDER_WRITE_RATE_LIMIT"] = "3 per minute"
    codes = [client.post("/api/orders", json={"customer": f"C{n}", "items": [ITEM]}).status_code
             for n in range(4)]
    assert codes == [201, 201, 201, 429]
    resp = client.post("/api/orders", json={"customer": "C", "items": [ITEM]})
    assert resp.status_code == 429 and resp.is_json and resp.get_json()["detail"]
    assert all(client.get("/api/orders").status_code == 200 for _ in range(6))
    assert client.get("/api/orders").get_json()["total"] == 3
    bob = logged_in_client(app, make_user("bob@example.com"))  # same address, own count
    assert bob.post("/api/orders", json={"customer": "B", "items": [ITEM]}).status_code == 201


# --- 10: the rate-limit storage is down -------------------------------------------

def test_a_dead_rate_limit_storage_counts_in_memory_and_never_answers_500(
        tmp_path, redis_url, monkeypatch, caplog):
    caplog.set_level(logging.WARNING)
    sent = []
    monkeypatch.setattr(lifecycle, "_publish", sent.append)
    with fresh_app(tmp_path, redis_url, RATELIMIT_STORAGE_URI="redis://127.0.0.1:1/0",
                   REPORT_RATE_LIMIT="2 per minute",
                   LOGIN_RATE_LIMIT_ACCOUNT="2 per 15 minutes") as app:
        # the migration's logging.config.fileConfig dropped caplog's root handler
        logging.getLogger().addHandler(caplog.handler)
        user = make_user("alice@example.com")
        web = app.test_client()
        assert [login(web, user.email, "wrong-password").status_code
                for _ in range(3)] == [422, 422, 429]
        assert any("storage" in r.getMessage() and r.name == "webapp.auth.throttle"
                   for r in caplog.records), caplog.text
        api = logged_in_client(app, user)
        codes = [api.post("/api/reports", json={
            "kind": "summary", "format": "csv", "date_from": "2026-01-01",
            "date_to": f"2026-01-0{n}"}).status_code for n in (2, 3, 4)]
        assert codes == [202, 202, 429]
        assert len(sent) == 2
        assert login(app.test_client(), "bob@example.com", "wrong-password",
                     REMOTE_ADDR="10.0.0.9").status_code == 422
    logging.getLogger().removeHandler(caplog.handler)
    assert any(r.name.startswith("flask-limiter") and "storage" in r.getMessage().lower()
               for r in caplog.records), caplog.text


# --- 11: trusted proxies -----------------------------------------------------------

def test_behind_a_trusted_proxy_https_and_client_address_come_from_its_headers(
        tmp_path, redis_url):
    with fresh_app(tmp_path, redis_url, TRUSTED_PROXIES=1,
                   LOGIN_RATE_LIMIT_ADDRESS="2 per 15 minutes") as app:
        user = make_user("alice@example.com")
        resp = login(app.test_client(), user.email, PASSWORD, headers=PROXY_HEADERS)
        assert resp.status_code == 303
        assert resp.headers["Strict-Transport-Security"].startswith("max-age=")
        assert "Secure" in resp.headers["Set-Cookie"]
        web = app.test_client()
        for email in ("a@example.com", "b@example.com"):
            assert login(web, email, "wrong-password", headers=PROXY_HEADERS).status_code == 422
        assert login(web, "c@example.com", "wrong-password",
                     headers=PROXY_HEADERS).status_code == 429
        other = {**PROXY_HEADERS, "X-Forwarded-For": "198.51.100.1"}
        assert login(web, "c@example.com", "wrong-password", headers=other).status_code == 422
        assert login(web, "c@example.com", "wrong-password").status_code == 422  # the proxy


def test_without_trusted_proxies_forwarded_headers_are_ignored(app, user):
    app.config["LOGIN_RATE_LIMIT_ADDRESS"] = "2 per 15 minutes"
    resp = login(app.test_client(), user.email, PASSWORD, headers=PROXY_HEADERS)
    assert resp.status_code == 303
    assert "Strict-Transport-Security" not in resp.headers
    assert "Secure" not in resp.headers["Set-Cookie"]
    web = app.test_client()
    for n, email in enumerate(("a@example.com", "b@example.com")):
        spoofed = {"X-Forwarded-For": f"198.51.100.{n}"}
        assert login(web, email, "wrong-password", headers=spoofed).status_code == 422
    spoofed = {"X-Forwarded-For": "198.51.100.99"}  # a new fake address does not help
    assert login(web, "c@example.com", "wrong-password", headers=spoofed).status_code == 429


# --- 12: headers and small items ---------------------------------------------------

def test_authenticated_pages_and_api_answers_are_not_cached_but_static_files_may_be(app, user):
    web = browser(app, user.email)
    token_page = web.post("/account/tokens", data={"name": "nightly"})
    assert token_page.status_code == 200 and 'id="new-token"' in token_page.get_data(True)
    _, secret = auth_services.create_token(user, "api")
    api = app.test_client().get("/api/orders", headers={"Authorization": f"Bearer {secret}"})
    for resp in (web.get("/orders/"), web.get("/account"), token_page, api):
        assert resp.status_code == 200
        assert resp.headers["Cache-Control"] == "no-store", resp.request.path
    static = web.get("/static/css/app.css")
    assert static.status_code == 200
    assert "no-store" not in static.headers.get("Cache-Control", "")
    static.close()


def test_logout_asks_the_browser_to_clear_cache_and_storage(app, user):
    resp = browser(app, user.email).post("/logout")
    assert resp.status_code == 303
    clear = resp.headers["Clear-Site-Data"]
    assert '"cache"' in clear and '"storage"' in clear


def test_htmx_config_forbids_script_tags_and_history_cache(app, user):
    for page in (app.test_client().get("/login"), browser(app, user.email).get("/orders/")):
        match = re.search(r'<meta name="htmx-config" content=\'([^\']*)\'', page.get_data(True))
        assert match, "htmx-config meta missing"
        config = json.loads(html.unescape(match.group(1)))
        assert config["allowScriptTags"] is False and config["historyCacheSize"] == 0
        assert config["allowEval"] is False


def test_healthz_hides_error_text_from_anonymous_callers_but_not_from_admins(
        tmp_path, redis_url):
    with fresh_app(tmp_path, redis_url, CELERY_BROKER_URL="redis://127.0.0.1:1/0") as app:
        admin = make_user("root@example.com", site_admin=True)
        make_user("alice@example.com")
        anonymous = app.test_client().get("/healthz")
        assert anonymous.status_code == 503
        body = anonymous.get_json()
        assert body["database"]["ok"] is True and body["broker"]["ok"] is False
        assert "error" not in body["database"] and "error" not in body["broker"]
        assert "127.0.0.1" not in anonymous.get_data(as_text=True)
        user_view = browser(app, "alice@example.com").get("/healthz").get_json()
        assert "error" not in user_view["broker"]
        admin_view = browser(app, admin.email).get("/healthz").get_json()
        assert admin_view["broker"]["ok"] is False and admin_view["broker"]["error"]


def test_the_demo_password_file_is_private(app, tmp_path, monkeypatch):
    from webapp.cli import demo_user

    monkeypatch.setattr(app, "instance_path", str(tmp_path))
    user, password = demo_user()
    saved = tmp_path / "demo-password.txt"
    assert password and _mode(saved) == 0o600
    assert saved.read_text().strip() == password
    assert login(app.test_client(), user.email, password).status_code == 303
    assert demo_user() == (user, password)  # said again on the next run


@pytest.mark.parametrize("email, password", [
    ("new@example.com", " " * 10),
    ("new@example.com", "password1234"),
    ("zorblaxquintor@example.com", "zorblaxquintor1234"),  # strong, but for its owner's name
])
def test_signup_refuses_weak_passwords_with_a_message(app, email, password):
    resp = signup(app.test_client(), email, password)
    assert resp.status_code == 422
    errors = field_errors(resp)
    assert errors and all(len(e.strip()) > 10 for e in errors), errors
    keeps_email(resp, email)
    assert db.session.scalar(db.select(User).filter_by(email=email)) is None


@pytest.mark.parametrize("target", ["//evil.example/x", "/\\evil.example", "/\\/evil.example",
                                    "/\t/evil.example", "https://evil.example/",
                                    "/%0a/evil.example\n"])
def test_log_in_never_redirects_off_the_site(app, user, target):
    web = app.test_client()
    resp = web.post(f"/login?next={quote(target)}",
                    data={"email": user.email, "password": PASSWORD})
    assert resp.status_code == 303
    assert resp.headers["Location"] == "/dashboard"


def test_log_in_returns_to_the_page_it_interrupted(app, user):
    web = app.test_client()
    resp = web.post("/login?next=/reports/%3Fpage%3D2",
                    data={"email": user.email, "password": PASSWORD})
    assert resp.headers["Location"] == "/reports/?page=2"
