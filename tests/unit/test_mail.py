"""webapp.delivery.mail against a real SMTP server (aiosmtpd, tests/smtp.py)."""
from __future__ import annotations

import email.policy
import socket
import time
from email.utils import parsedate_to_datetime

import pytest

from tests.harness import free_port
from tests.leaks import no_internals
from webapp.delivery.mail import (
    MailConfigError,
    SmtpSettings,
    build_message,
    parse_smtp_url,
    send,
)

PDF = b"%PDF-1.7\n" + bytes(range(256)) * 40 + b"\r\n.\r\n..\n%%EOF\n"  # dots, CRLFs, NULs
# the fixtures smtp_server, smtp_tls_server, smtps_server, smtp_server_factory, throwaway_ca

NAME = "Umsätze März – 2026.pdf"


def report_message(**overrides):
    fields = dict(sender="Order Reports <reports@example.com>", to=["anna@example.org"],
                  subject="Monthly sales (März)", text="The report is attached.\n")
    fields.update(overrides)
    return build_message(**fields)


# --- URL parsing ----------------------------------------------------------------

def test_plain_url_defaults_to_port_25_without_tls_or_login():
    s = parse_smtp_url("smtp://mail.example.com")
    assert s == SmtpSettings(host="mail.example.com", port=25, username=None, password=None,
                             security="none", timeout=10, cafile=None)


def test_starttls_url_with_percent_encoded_credentials_defaults_to_587():
    s = parse_smtp_url("smtp://me%40example.com:p%40ss%3Aw%C3%B6rd%2F@mail.example.com"
                       "?starttls=1")
    assert (s.host, s.port, s.security) == ("mail.example.com", 587, "starttls")
    assert (s.username, s.password) == ("me@example.com", "p@ss:wörd/")


def test_smtps_url_defaults_to_465_and_takes_timeout_and_cafile():
    s = parse_smtp_url("smtps://u:p@mail.example.com?timeout=2.5&cafile=%2Fetc%2Fca.pem")
    assert (s.port, s.security, s.timeout, s.cafile) == (465, "tls", 2.5, "/etc/ca.pem")


def test_explicit_port_wins_over_the_default():
    assert parse_smtp_url("smtp://u:p@h:2525?starttls=1").port == 2525
    assert parse_smtp_url("smtps://u:p@[::1]:1465").host == "::1"
    assert parse_smtp_url("smtp://h?starttls=0").security == "none"


def test_the_password_is_not_in_the_settings_repr():
    assert "hunter2" not in repr(parse_smtp_url("smtps://u:hunter2@h"))


@pytest.mark.parametrize(("url", "words"), [
    ("http://mail.example.com", "smtp:// or smtps://"),
    ("mail.example.com:25", "smtp:// or smtps://"),
    ("smtp://", "no host"),
    ("smtp://:25", "no host"),
    ("smtp://h:99999", "port"),
    ("smtp://h:0", "port"),
    ("smtp://h:abc", "port"),
    ("smtp://h/path", "no path"),
    ("smtp://h?tls=1", "unknown"),
    ("smtp://h?verify=0", "unknown"),
    ("smtp://h?starttls=maybe", "starttls"),
    ("smtp://h?starttls=1&starttls=0", "more than once"),
    ("smtps://u:p@h?starttls=1", "starttls"),
    ("smtp://h?timeout=0", "timeout"),
    ("smtp://h?timeout=-1", "timeout"),
    ("smtp://h?timeout=nan", "timeout"),
    ("smtp://h?timeout=soon", "timeout"),
    ("smtp://h?cafile=", "cafile"),
    ("smtp://user@h?starttls=1", "user name and a password"),
    ("smtp://:pw@h?starttls=1", "user name and a password"),
    ("smtp://user:pw@h", "unencrypted"),
])
def test_odd_urls_are_refused_with_a_reason(url, words):
    with pytest.raises(MailConfigError, match=words):
        parse_smtp_url(url)


def test_a_refused_url_is_not_echoed_with_its_password():
    with pytest.raises(MailConfigError) as caught:
        parse_smtp_url("smtpx://u:hunter2@h")
    assert "hunter2" not in str(caught.value)


# --- the message ------------------------------------------------------------------

def test_message_has_date_message_id_and_alternatives():
    message = report_message(html="<p>The report is attached.</p>",
                             attachment=(NAME, PDF, "application/pdf"))
    assert message["Message-ID"].endswith("@example.com>")
    assert abs(parsedate_to_datetime(message["Date"]).timestamp() - time.time()) < 60
    assert message.get_content_type() == "multipart/mixed"
    body = message.get_body(("html", "plain"))
    assert body.get_content_type() == "text/html"
    attachment = next(message.iter_attachments())
    assert attachment.get_filename() == NAME
    # on the wire the name is RFC 2231 encoded, not raw UTF-8 in the header
    wire = message.as_bytes(policy=email.policy.SMTP)
    assert b"filename*=utf-8''Ums%C3%A4tze%20M%C3%A4rz" in wire and wire.isascii()


def test_message_refuses_a_bad_mimetype_and_no_recipients():
    with pytest.raises(ValueError, match="mimetype"):
        report_message(attachment=("a.pdf", b"x", "pdf"))
    with pytest.raises(ValueError, match="non-empty"):
        report_message(to=[])


# --- sending ----------------------------------------------------------------------

def test_attachment_arrives_intact_and_the_result_carries_the_250_reply(smtp_server):
    message = report_message(to=["anna@example.org", "Bernd <bernd@example.org>"],
                             html="<p>Umsätze</p>", attachment=(NAME, PDF, "application/pdf"))
    result = send(parse_smtp_url(smtp_server.url), message)

    assert result.ok and result.code == 250 and not result.transient
    assert result.reply == "mail server accepted the message (250)"
    assert result.log_detail.startswith(f"127.0.0.1:{smtp_server.port}: 250 2.0.0 Ok: queued as ")
    [got] = smtp_server.wait_for(1)
    assert got.mail_from == "reports@example.com"
    assert got.rcpt_tos == ["anna@example.org", "bernd@example.org"]
    assert got.message["Subject"] == "Monthly sales (März)"
    assert got.message["Message-ID"] == message["Message-ID"]
    assert got.message.get_body(("plain",)).get_content() == "The report is attached.\n"
    assert got.message.get_body(("html",)).get_content().strip() == "<p>Umsätze</p>"
    [attachment] = got.message.iter_attachments()
    assert attachment.get_filename() == NAME
    assert attachment.get_content_type() == "application/pdf"
    assert attachment.get_content() == PDF


def test_bcc_recipients_get_the_mail_but_not_the_header(smtp_server):
    message = report_message()
    message["Bcc"] = "hidden@example.org"
    assert send(parse_smtp_url(smtp_server.url), message).ok
    [got] = smtp_server.wait_for(1)
    assert got.rcpt_tos == ["anna@example.org", "hidden@example.org"]
    assert got.message["Bcc"] is None and b"hidden@" not in got.raw


def test_451_at_rcpt_is_a_transient_failure_with_the_servers_words_in_the_log(smtp_server):
    smtp_server.reject("RCPT", 451, "4.3.0 mailbox busy, try later")
    result = send(parse_smtp_url(smtp_server.url), report_message())
    assert (result.ok, result.code, result.transient) == (False, 451, True)
    assert result.reply == "mail server temporarily refused the recipient (451)"
    assert "4.3.0 mailbox busy, try later" in result.log_detail
    assert smtp_server.messages == []


def test_550_at_data_is_a_permanent_failure(smtp_server):
    smtp_server.reject("DATA", 550, "5.7.1 message content rejected")
    result = send(parse_smtp_url(smtp_server.url), report_message())
    assert (result.ok, result.code, result.transient) == (False, 550, False)
    assert result.reply == "mail server refused the message (550)"
    assert result.log_detail.endswith(": 550 5.7.1 message content rejected")
    assert smtp_server.messages == []


def test_a_refused_recipient_does_not_stop_the_others(smtp_server):
    smtp_server.reject("RCPT", 550, "5.1.1 no such user")
    message = report_message(to=["gone@example.org", "anna@example.org"])
    result = send(parse_smtp_url(smtp_server.url), message)

    assert (result.ok, result.code, result.transient) == (False, 550, False)
    assert result.refused == {"gone@example.org": (550, "5.1.1 no such user")}
    assert result.reply == ("mail server refused 1 of 2 recipients: gone@example.org (550); "
                            "sent to the others (250)")
    assert "5.1.1 no such user" in result.log_detail and "queued as" in result.log_detail
    [got] = smtp_server.wait_for(1)
    assert got.rcpt_tos == ["anna@example.org"]


def test_starttls_with_auth_and_the_throwaway_ca(smtp_tls_server):
    settings = parse_smtp_url(smtp_tls_server.url_starttls)
    assert settings.security == "starttls" and settings.password == smtp_tls_server.password
    result = send(settings, report_message(attachment=(NAME, PDF, "application/pdf")))
    assert result.ok, result
    [got] = smtp_tls_server.wait_for(1)
    assert got.login == smtp_tls_server.username
    assert next(got.message.iter_attachments()).get_content() == PDF


def test_implicit_tls_with_auth(smtps_server):
    result = send(parse_smtp_url(smtps_server.url_smtps), report_message())
    assert result.ok, result
    assert smtps_server.wait_for(1)[0].login == smtps_server.username


def test_a_wrong_password_is_a_permanent_failure(smtp_tls_server):
    settings = parse_smtp_url(smtp_tls_server.url_starttls)
    wrong = SmtpSettings(**{**settings.__dict__, "password": "not it"})
    result = send(wrong, report_message())
    assert (result.ok, result.code, result.transient) == (False, 535, False)
    assert result.reply == "mail server refused the login (535)"
    assert "credentials invalid" in result.log_detail.lower()
    assert smtp_tls_server.messages == []


def test_a_cafile_that_does_not_trust_the_server_stops_the_send(smtp_tls_server, throwaway_ca):
    settings = parse_smtp_url(smtp_tls_server.url_starttls)
    stranger = SmtpSettings(**{**settings.__dict__, "cafile": throwaway_ca.other_cafile})
    result = send(stranger, report_message())
    assert not result.ok and not result.transient and "certificate" in result.reply
    assert smtp_tls_server.messages == []


def test_implicit_tls_with_an_untrusted_certificate_stops_the_send(smtps_server, throwaway_ca):
    settings = parse_smtp_url(smtps_server.url_smtps)
    stranger = SmtpSettings(**{**settings.__dict__, "cafile": throwaway_ca.other_cafile})
    result = send(stranger, report_message())
    assert not result.ok and not result.transient and "certificate" in result.reply
    assert smtps_server.messages == []


def test_the_certificate_must_name_the_host_connected_to(smtp_server_factory, throwaway_ca):
    # signed by the trusted CA, but for elsewhere.example, not for localhost
    server = smtp_server_factory(tls_context=throwaway_ca.server_context("elsewhere"),
                                 cafile=throwaway_ca.cafile)
    result = send(parse_smtp_url(server.url_starttls), report_message())
    assert not result.ok and not result.transient
    assert result.reply == "TLS certificate of the mail server not accepted"
    assert "localhost" in result.log_detail  # the name that did not match
    assert server.messages == []


def test_a_missing_cafile_is_a_permanent_failure(smtp_tls_server, tmp_path):
    settings = parse_smtp_url(smtp_tls_server.url_starttls)
    missing = SmtpSettings(**{**settings.__dict__, "cafile": str(tmp_path / "nope.pem")})
    result = send(missing, report_message())
    assert not result.ok and not result.transient
    assert result.reply == "the mail server's CA file could not be loaded"
    assert "nope.pem" in result.log_detail


def test_starttls_is_never_skipped_when_the_server_lacks_it(smtp_server):
    settings = SmtpSettings(host=smtp_server.host, port=smtp_server.port, security="starttls")
    result = send(settings, report_message())
    assert not result.ok and not result.transient and "STARTTLS" in result.reply
    assert smtp_server.messages == []


def test_a_server_that_wants_auth_refuses_a_send_without_it(smtp_tls_server, throwaway_ca):
    settings = SmtpSettings(host="localhost", port=smtp_tls_server.port, security="starttls",
                            cafile=throwaway_ca.cafile, timeout=5)
    result = send(settings, report_message())
    assert not result.ok and result.code == 530 and not result.transient
    assert result.reply == "mail server requires a login (530)"


def test_a_closed_port_is_a_transient_failure_not_an_exception():
    settings = SmtpSettings(host="127.0.0.1", port=free_port(), timeout=2)
    result = send(settings, report_message())
    assert (result.ok, result.code, result.transient) == (False, None, True)
    assert result.reply == "could not connect to the mail server"
    assert f"127.0.0.1:{settings.port}" in result.log_detail and "refused" in result.log_detail


def test_a_silent_server_times_out_as_a_transient_failure():
    with socket.socket() as listener:  # accepts connections, never says a word
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        settings = SmtpSettings(host="127.0.0.1", port=listener.getsockname()[1], timeout=0.3)
        started = time.monotonic()
        result = send(settings, report_message())
    assert (result.ok, result.transient) == (False, True)
    assert result.reply == "mail server timed out after 0.3 s"
    assert time.monotonic() - started < 3


def test_an_unresolvable_server_name_is_a_transient_failure():
    result = send(SmtpSettings(host="mail.nowhere.invalid", port=25, timeout=2),
                  report_message())
    assert not result.ok and result.transient and "could not be resolved" in result.reply


# --- what the user sees of a failure ----------------------------------------------

# what a server says may name its own network: it must reach the log only
BANNER = "5.1.1 <gone@example.org>: relay mx7.corp.internal [10.20.30.40]:2525 says no"


def assert_safe(result, *, server_words: str | None, where: str) -> None:
    assert no_internals(result.reply)
    if server_words:
        assert server_words not in result.reply
        assert "corp.internal" not in result.reply and "says no" not in result.reply
        assert server_words in result.log_detail
    assert result.log_detail.startswith(where + ": ")


@pytest.mark.parametrize(("stage", "code", "reply", "transient"), [
    ("RCPT", 550, "mail server refused the recipient (550)", False),
    ("RCPT", 451, "mail server temporarily refused the recipient (451)", True),
    ("DATA", 554, "mail server refused the message (554)", False),
    ("DATA", 421, "mail server unavailable (421)", True),
])
def test_a_refusal_shows_a_category_and_the_code_and_logs_the_servers_words(
        smtp_server, stage, code, reply, transient):
    smtp_server.reject(stage, code, BANNER)
    result = send(parse_smtp_url(smtp_server.url), report_message())
    assert (result.ok, result.code, result.reply, result.transient) == (False, code, reply,
                                                                          transient)
    assert_safe(result, server_words=BANNER, where=f"127.0.0.1:{smtp_server.port}")


def test_several_refused_recipients_show_their_addresses_and_codes_only(smtp_server):
    smtp_server.reject("RCPT", 550, BANNER, times=2)
    result = send(parse_smtp_url(smtp_server.url),
                  report_message(to=["gone@example.org", "left@example.org"]))
    assert result.reply == "mail server refused all 2 recipients (550)"
    assert_safe(result, server_words=BANNER, where=f"127.0.0.1:{smtp_server.port}")
    assert result.log_detail.count(BANNER) == 2


def test_connection_failures_name_no_address_or_port():
    closed = SmtpSettings(host="127.0.0.1", port=free_port(), timeout=2)
    refused = send(closed, report_message())
    assert_safe(refused, server_words=None, where=f"127.0.0.1:{closed.port}")
    assert "refused" in refused.log_detail.lower()
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        silent = SmtpSettings(host="127.0.0.1", port=listener.getsockname()[1], timeout=0.3)
        timed_out = send(silent, report_message())
    assert timed_out.reply == "mail server timed out after 0.3 s" and timed_out.transient
    assert_safe(timed_out, server_words=None, where=f"127.0.0.1:{silent.port}")


def test_tls_failures_name_no_host_or_port(smtp_tls_server, throwaway_ca):
    settings = parse_smtp_url(smtp_tls_server.url_starttls)
    stranger = SmtpSettings(**{**settings.__dict__, "cafile": throwaway_ca.other_cafile})
    result = send(stranger, report_message())
    assert "localhost" not in result.reply
    assert_safe(result, server_words=None, where=f"localhost:{smtp_tls_server.port}")
