"""webapp.delivery.webhooks: Standard Webhooks signatures, where a webhook may
go, and the POST itself against a real receiver (tests/webhook_receiver.py)."""
from __future__ import annotations

import base64
import json
import socket
import time

import pytest

from tests.harness import free_port
from tests.leaks import internals, no_internals
from webapp.delivery.webhooks import (
    USER_AGENT,
    SignatureError,
    WebhookUrlError,
    check_url,
    headers_for,
    new_secret,
    post,
    sign,
    verify,
)

# the fixtures webhook_receiver and webhook_receiver_tls (and throwaway_ca)

# the example in the Standard Webhooks specification and its reference libraries
SPEC_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
SPEC_ID = "msg_p5jXN8AQM9LWM0D4loKWxJek"
SPEC_TIMESTAMP = 1614265330
SPEC_BODY = b'{"test": 2432232314}'
SPEC_SIGNATURE = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
BODY = json.dumps({"report": 42, "status": "done", "name": "Umsätze"}).encode()


def resolves(name: str) -> bool:
    try:
        socket.getaddrinfo(name, None)
        return True
    except OSError:
        return False


# --- signing ------------------------------------------------------------------

def test_sign_matches_the_specifications_example():
    assert sign(SPEC_SECRET, SPEC_ID, SPEC_TIMESTAMP, SPEC_BODY) == SPEC_SIGNATURE


def test_new_secrets_are_24_random_bytes_behind_the_prefix():
    first, second = new_secret(), new_secret()
    assert first.startswith("whsec_") and first != second
    assert len(base64.b64decode(first.removeprefix("whsec_"))) == 24


def test_headers_for_carries_id_timestamp_signature_and_agent():
    headers = headers_for(SPEC_SECRET, SPEC_ID, SPEC_BODY, now=SPEC_TIMESTAMP)
    assert headers == {"Content-Type": "application/json", "webhook-id": SPEC_ID,
                       "webhook-timestamp": str(SPEC_TIMESTAMP),
                       "webhook-signature": SPEC_SIGNATURE, "User-Agent": USER_AGENT}


def test_verify_accepts_a_good_signature_in_any_header_case_and_among_others():
    headers = headers_for(SPEC_SECRET, SPEC_ID, SPEC_BODY, now=SPEC_TIMESTAMP)
    verify(SPEC_SECRET, headers, SPEC_BODY, now=SPEC_TIMESTAMP + 299)
    upper = {name.upper(): value for name, value in headers.items()}
    upper["WEBHOOK-SIGNATURE"] = f"v1,bm90IGl0 v2,xyz {SPEC_SIGNATURE}"  # a rotated secret
    verify(SPEC_SECRET, upper, SPEC_BODY, now=SPEC_TIMESTAMP)


@pytest.mark.parametrize(("change", "words"), [
    ({"body": SPEC_BODY + b" "}, "no webhook-signature matches"),
    ({"secret": new_secret()}, "no webhook-signature matches"),
    ({"now": SPEC_TIMESTAMP + 301}, "tolerance"),
    ({"now": SPEC_TIMESTAMP - 301}, "tolerance"),  # from the future
    ({"headers": {"webhook-id": "msg_other"}}, "no webhook-signature matches"),
    ({"headers": {"webhook-signature": "v1," + "A" * 44}}, "no webhook-signature matches"),
    ({"headers": {"webhook-signature": SPEC_SIGNATURE.replace("v1,", "v2,")}},
     "no webhook-signature matches"),
    ({"headers": {"webhook-timestamp": "soon"}}, "not a number"),
    ({"headers": {"webhook-id": ""}}, "required"),
])
def test_verify_refuses(change, words):
    headers = {**headers_for(SPEC_SECRET, SPEC_ID, SPEC_BODY, now=SPEC_TIMESTAMP),
               **change.get("headers", {})}
    with pytest.raises(SignatureError, match=words):
        verify(change.get("secret", SPEC_SECRET), headers, change.get("body", SPEC_BODY),
               now=change.get("now", SPEC_TIMESTAMP))


# --- where a webhook may go ---------------------------------------------------------

PRIVATE_URLS = [
    ("http://127.0.0.1/hook", "loopback"),
    ("http://localhost:8080/hook", "loopback"),
    ("http://10.1.2.3/hook", "private"),
    ("http://192.168.0.10/hook", "private"),
    ("http://172.16.5.4/hook", "private"),
    ("http://169.254.169.254/latest/meta-data/", "link-local"),  # cloud metadata
    ("http://[::1]/hook", "loopback"),
    ("http://[fd00::1]/hook", "unique-local"),
    ("http://[fe80::1]/hook", "link-local"),
    ("http://[::ffff:127.0.0.1]/hook", "loopback"),  # IPv4-mapped
    ("http://[::ffff:10.0.0.1]/hook", "private"),
    ("http://[2002:7f00:1::]/hook", "loopback"),  # 6to4 around 127.0.0.1
    ("http://[64:ff9b::a00:1]/hook", "private"),  # NAT64 around 10.0.0.1
    ("http://100.64.0.1/hook", "shared"),
    ("http://0.0.0.0/hook", "unspecified"),
    ("http://224.0.0.1/hook", "multicast"),
    ("http://240.0.0.1/hook", "reserved"),
    ("http://2130706433/hook", "loopback"),  # 127.0.0.1 written as one number
    ("http://0x7f.1/hook", "loopback"),
    ("https://192.0.2.10/hook", "private"),  # documentation range (Python calls it private)
]


@pytest.mark.parametrize(("url", "kind"), PRIVATE_URLS)
def test_check_url_refuses_addresses_that_are_not_public(url, kind):
    if "localhost" in url and not resolves("localhost"):
        pytest.skip("localhost does not resolve here")
    with pytest.raises(WebhookUrlError, match=kind):
        check_url(url, allow_private=False)


@pytest.mark.parametrize(("url", "kind"), PRIVATE_URLS)
def test_check_url_allows_them_when_private_targets_are_allowed(url, kind):
    if "localhost" in url and not resolves("localhost"):
        pytest.skip("localhost does not resolve here")
    assert check_url(url, allow_private=True)


@pytest.mark.parametrize(("url", "words"), [
    ("ftp://example.com/hook", "https:// or http://"),
    ("file:///etc/passwd", "https:// or http://"),
    ("example.com/hook", "https:// or http://"),
    ("http://user:pass@example.com/hook", "user name or password"),
    ("http://user@example.com/hook", "user name or password"),
    ("http:///hook", "no host"),
    ("http://example.com:99999/hook", "port"),
    ("http://example.com:0/hook", "port"),
    ("http://example.com/a b", "spaces"),
    ("http://example.com/\r\nX-Evil: 1", "control"),
    ("https://example.com/" + "a" * 2000, "longer than 2000"),
    ("https://reports.nowhere.invalid/hook", "could not be resolved"),
])
@pytest.mark.parametrize("allow_private", [False, True])
def test_check_url_refuses_bad_urls_whatever_the_setting(url, words, allow_private):
    with pytest.raises(WebhookUrlError, match=words):
        check_url(url, allow_private=allow_private)


def test_check_url_returns_the_addresses_it_checked():
    [address] = check_url("https://8.8.8.8/hook", allow_private=False)
    assert str(address) == "8.8.8.8"


# --- posting ------------------------------------------------------------------------

def signed(receiver, body: bytes = BODY) -> dict[str, str]:
    return headers_for(receiver.secret, "msg_" + str(time.time_ns()), body, now=int(time.time()))


def test_post_delivers_a_body_the_receiver_verifies_independently(webhook_receiver):
    result = post(webhook_receiver.url("/hook?tenant=7"), BODY, signed(webhook_receiver),
                  allow_private=True)
    assert (result.ok, result.status) == (True, 200)
    assert result.detail == "webhook answered 200"
    assert result.log_detail == (f"127.0.0.1:{webhook_receiver.port}: HTTP 200: status 200 "
                                 "from the test receiver")
    [request] = webhook_receiver.wait_for(1)
    assert (request.method, request.path, request.body) == ("POST", "/hook?tenant=7", BODY)
    assert request.verified
    assert request.headers["host"] == f"127.0.0.1:{webhook_receiver.port}"
    assert request.headers["user-agent"] == USER_AGENT
    assert request.headers["content-type"] == "application/json"


def test_the_receiver_catches_a_wrong_signature(webhook_receiver):
    headers = headers_for(new_secret(), "msg_1", BODY, now=int(time.time()))
    assert post(webhook_receiver.url(), BODY, headers, allow_private=True).ok
    assert not webhook_receiver.wait_for(1)[0].verified


def test_a_500_is_a_failure_with_its_status_and_the_answer_only_in_the_log(webhook_receiver):
    webhook_receiver.script([500])
    result = post(webhook_receiver.url(), BODY, signed(webhook_receiver), allow_private=True)
    assert (result.ok, result.status) == (False, 500)
    assert result.detail == "webhook answered 500"
    assert result.log_detail.endswith(": HTTP 500: status 500 from the test receiver")
    assert post(webhook_receiver.url(), BODY, signed(webhook_receiver), allow_private=True).ok


def test_a_redirect_is_not_followed(webhook_receiver):
    webhook_receiver.script([302])
    result = post(webhook_receiver.url(), BODY, signed(webhook_receiver), allow_private=True)
    assert (result.ok, result.status) == (False, 302)
    assert result.detail == "webhook answered 302 (redirects are not followed)"
    assert f"redirect to {webhook_receiver.url('/elsewhere')} not followed" in result.log_detail
    assert [r.path for r in webhook_receiver.wait_for(1)] == ["/hook"]  # not /elsewhere


def test_a_long_answer_is_logged_cut_to_one_line_of_200_characters(webhook_receiver):
    webhook_receiver.script([422])
    webhook_receiver.reply_body = b"field missing:\n  report_id\r\n" + b"x" * 5_000_000
    started = time.monotonic()
    result = post(webhook_receiver.url(), BODY, signed(webhook_receiver), allow_private=True)
    assert (result.ok, result.status, result.detail) == (False, 422, "webhook answered 422")
    prefix = f"127.0.0.1:{webhook_receiver.port}: HTTP 422: "
    assert result.log_detail.startswith(prefix + "field missing: report_id xxx")
    assert len(result.log_detail) == len(prefix) + 200
    assert time.monotonic() - started < 5  # the 5 MB were not read


def test_a_closed_port_is_could_not_connect_without_an_exception():
    port = free_port()
    result = post(f"http://127.0.0.1:{port}/hook", BODY, {}, allow_private=True, timeout=2)
    assert (result.ok, result.status, result.detail) == (False, None, "could not connect")
    assert result.log_detail.startswith(f"127.0.0.1:{port}: could not connect: ")
    assert "refused" in result.log_detail.lower()


def test_a_server_that_never_answers_times_out():
    with socket.socket() as listener:  # the kernel accepts; nobody ever reads or answers
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        started = time.monotonic()
        result = post(f"http://127.0.0.1:{listener.getsockname()[1]}/hook", BODY, {},
                      allow_private=True, timeout=0.3)
    assert (result.ok, result.status, result.detail) == (False, None, "timed out after 0.3 s")
    assert time.monotonic() - started < 3


def test_a_private_address_is_refused_before_connecting(webhook_receiver):
    result = post(webhook_receiver.url(), BODY, signed(webhook_receiver), allow_private=False)
    assert (result.ok, result.status) == (False, None)
    assert result.detail == "address refused: the host resolves to a loopback address"
    assert result.log_detail == ("address refused: 127.0.0.1 resolves to 127.0.0.1, "
                                 "a loopback address")
    time.sleep(0.2)
    assert webhook_receiver.requests == []


def test_a_bad_url_is_a_failed_result_not_an_exception():
    result = post("ftp://example.com/x", BODY, {}, allow_private=True)
    assert not result.ok and result.detail.startswith("URL refused: ")


def test_post_resolves_once_and_connects_to_the_checked_address(webhook_receiver,
                                                                monkeypatch):
    """A rebinding name could answer a harmless address to the check and another
    one to whoever asks next: post() must connect to what it checked, and must
    not let anything (urllib3 included) ask again."""
    real_getaddrinfo = socket.getaddrinfo
    asked: list[str] = []

    def rebinding(host, port, *args, **kwargs):
        if host == "rebind.example":
            asked.append(host)
            # the first answer is the receiver; any later one a blackhole
            host = "127.0.0.1" if len(asked) == 1 else "192.0.2.1"
        return real_getaddrinfo(host, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", rebinding)
    result = post(f"http://rebind.example:{webhook_receiver.port}/hook", BODY,
                  signed(webhook_receiver), allow_private=True, timeout=2)
    assert result.ok, result
    assert asked == ["rebind.example"]
    [request] = webhook_receiver.wait_for(1)
    assert request.headers["host"] == f"rebind.example:{webhook_receiver.port}"


def test_https_verifies_the_url_name_while_connecting_to_the_checked_address(
        webhook_receiver_tls, throwaway_ca):
    url = webhook_receiver_tls.url("/hook", host="localhost")
    if not resolves("localhost"):
        pytest.skip("localhost does not resolve here")
    result = post(url, BODY, signed(webhook_receiver_tls), allow_private=True,
                  cafile=throwaway_ca.cafile)
    assert result.ok, result
    [request] = webhook_receiver_tls.wait_for(1)
    assert request.verified and request.headers["host"] == f"localhost:{webhook_receiver_tls.port}"


def test_https_with_an_untrusted_certificate_fails(webhook_receiver_tls, throwaway_ca):
    for cafile in (throwaway_ca.other_cafile, None):  # None: the system's CAs
        result = post(webhook_receiver_tls.url(), BODY, signed(webhook_receiver_tls),
                      allow_private=True, cafile=cafile, timeout=2)
        assert (result.ok, result.status) == (False, None)
        assert result.detail == "TLS certificate not accepted"
        assert "CERTIFICATE_VERIFY_FAILED" in result.log_detail
    assert webhook_receiver_tls.requests == []


def test_https_refuses_a_trusted_certificate_for_another_name(webhook_receiver_factory,
                                                              throwaway_ca):
    # signed by the CA given, but for elsewhere.example, not for localhost
    receiver = webhook_receiver_factory(tls_context=throwaway_ca.server_context("elsewhere"))
    if not resolves("localhost"):
        pytest.skip("localhost does not resolve here")
    result = post(receiver.url(host="localhost"), BODY, signed(receiver), allow_private=True,
                  cafile=throwaway_ca.cafile, timeout=2)
    assert (result.ok, result.status) == (False, None)
    assert result.detail == "TLS certificate not accepted"
    assert "localhost" in result.log_detail  # the name that did not match
    assert receiver.requests == []


def test_a_connection_closed_without_an_answer_is_described_in_words(webhook_receiver_tls):
    # plain HTTP to a TLS port: the receiver drops the connection
    result = post(webhook_receiver_tls.url().replace("https://", "http://"), BODY, {},
                  allow_private=True, timeout=2)
    assert (result.ok, result.status) == (False, None)
    assert result.detail.startswith("connection failed: the receiver ")
    assert no_internals(result.detail)


# --- one name, two addresses: one POST per attempt ---------------------------------

DUAL_NAME = "dual.test"


def ipv6_loopback() -> bool:
    try:
        with socket.socket(socket.AF_INET6) as probe:
            probe.bind(("::1", 0))
        return True
    except OSError:
        return False


@pytest.fixture
def dual_name(monkeypatch):
    """A host name that resolves to ::1 and then 127.0.0.1, as `localhost` does
    on many machines (not here: /etc/hosts names only 127.0.0.1). Only the name
    lookup is stood in for; the connections are real."""
    if not ipv6_loopback():
        pytest.skip("no IPv6 loopback here")
    real_getaddrinfo = socket.getaddrinfo

    def both(host, port, *args, **kwargs):
        if host == DUAL_NAME:
            return [*real_getaddrinfo("::1", port, *args, **kwargs),
                    *real_getaddrinfo("127.0.0.1", port, *args, **kwargs)]
        return real_getaddrinfo(host, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", both)
    return DUAL_NAME


def receivers_on_both_addresses(factory):
    """A receiver on 127.0.0.1 and one on [::1], on the same port."""
    for _ in range(10):  # the port free on 127.0.0.1 may be taken on ::1
        v4 = factory()
        try:
            return factory(host="::1", port=v4.port), v4
        except OSError:
            v4.stop()
    pytest.fail("no port free on both 127.0.0.1 and ::1")


@pytest.mark.parametrize("status", [200, 500, 302])
def test_one_post_per_attempt_when_both_addresses_of_a_name_answer(
        dual_name, webhook_receiver_factory, status):
    v6, v4 = receivers_on_both_addresses(webhook_receiver_factory)
    v6.script([status])
    v4.secret = v6.secret
    result = post(f"http://{dual_name}:{v4.port}/hook", BODY, signed(v6), allow_private=True,
                  timeout=2)
    # post() returns after the answer it got: any second POST would be in by now
    assert (result.status, result.detail) == (status, f"webhook answered {status}"
                                              + (" (redirects are not followed)"
                                                 if status == 302 else ""))
    assert [r.path for r in v6.requests] == ["/hook"]
    assert v4.requests == []


def test_a_refused_first_address_falls_through_to_the_second(dual_name,
                                                              webhook_receiver_factory):
    v4 = webhook_receiver_factory()  # nothing listens on [::1] at this port
    result = post(f"http://{dual_name}:{v4.port}/hook", BODY, signed(v4), allow_private=True,
                  timeout=2)
    assert (result.ok, result.status, result.detail) == (True, 200, "webhook answered 200")
    [request] = v4.wait_for(1)
    assert request.verified and request.headers["host"] == f"{dual_name}:{v4.port}"
    assert result.log_detail.startswith(f"[::1]:{v4.port}: could not connect: ")
    assert f"; 127.0.0.1:{v4.port}: HTTP 200" in result.log_detail


def test_a_first_address_that_connects_but_never_answers_ends_the_attempt(
        dual_name, webhook_receiver_factory):
    v4 = webhook_receiver_factory()
    with socket.socket(socket.AF_INET6) as silent:  # accepts, never reads or answers
        silent.bind(("::1", v4.port))
        silent.listen()
        result = post(f"http://{dual_name}:{v4.port}/hook", BODY, signed(v4),
                      allow_private=True, timeout=0.3)
    # the request may have arrived: sending it to the next address could deliver it twice
    assert (result.ok, result.status, result.detail) == (False, None, "timed out after 0.3 s")
    assert v4.requests == []


def test_when_no_address_connects_every_one_is_in_the_log(dual_name):
    port = free_port()
    result = post(f"http://{dual_name}:{port}/hook", BODY, {}, allow_private=True, timeout=2)
    assert (result.ok, result.status, result.detail) == (False, None, "could not connect")
    assert result.log_detail.startswith(f"[::1]:{port}: could not connect: ")
    assert f"; 127.0.0.1:{port}: could not connect: " in result.log_detail


# --- what the user sees of a failure ------------------------------------------------

BANNER = b"nginx/1.25.3 upstream 10.20.30.40:8443 (internal-admin.corp) says hello"


@pytest.mark.parametrize("status", [200, 302, 404, 500])
def test_the_receivers_answer_is_never_in_the_detail(webhook_receiver, status):
    webhook_receiver.script([status])
    webhook_receiver.reply_body = BANNER
    result = post(webhook_receiver.url(), BODY, signed(webhook_receiver), allow_private=True)
    assert result.status == status
    assert no_internals(result.detail)
    assert "nginx" not in result.detail and "corp" not in result.detail
    assert BANNER.decode() in result.log_detail or status == 302
    assert f"127.0.0.1:{webhook_receiver.port}" in result.log_detail


def test_failures_to_connect_name_no_address_or_port(webhook_receiver_tls):
    closed = post(f"http://127.0.0.1:{free_port()}/hook", BODY, {}, allow_private=True,
                  timeout=2)
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        silent = post(f"http://127.0.0.1:{listener.getsockname()[1]}/hook", BODY, {},
                      allow_private=True, timeout=0.3)
    untrusted = post(webhook_receiver_tls.url(), BODY, {}, allow_private=True, timeout=2)
    refused = post(webhook_receiver_tls.url(), BODY, {}, allow_private=False)
    for result in (closed, silent, untrusted, refused):
        assert no_internals(result.detail)
        assert internals(result.log_detail), result  # the log does say where
