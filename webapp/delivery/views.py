"""The pages a recipient reaches from an e-mail, without an account:
confirm a schedule's reports, "never from this sender", unsubscribe.

Opening a link (GET) only shows what it is about; a button (POST) acts, so
mail scanners that open every link change nothing. The POSTs need no CSRF
token and no log-in: the signed token in the URL is the authority, and mail
clients send RFC 8058 one-click unsubscribes as a bare POST."""
from __future__ import annotations

from flask import Blueprint, render_template, request

from . import consent

bp = Blueprint("recipients", __name__)


@bp.get("/recipients/<token>")
def ask(token: str):
    asked = consent.read_link(token, consent.CONFIRM, expires=not request.args.get("never"))
    return render_template("recipients/answer.html", asked=asked, token=token,
                           state="ask", never=bool(request.args.get("never")))


@bp.post("/recipients/<token>/confirm")
def confirm(token: str):
    asked = consent.confirm(token)
    return render_template("recipients/answer.html", asked=asked, token=token,
                           state="unsubscribed" if asked.status == "unsubscribed"
                           else "confirmed")


@bp.post("/recipients/<token>/never")
def never(token: str):
    asked = consent.decline(token)
    return render_template("recipients/answer.html", asked=asked, token=token, state="never")


@bp.get("/unsubscribe/<token>")
def unsubscribe_page(token: str):
    asked = consent.read_link(token, consent.UNSUBSCRIBE, expires=False)
    return render_template("recipients/answer.html", asked=asked, token=token,
                           state="unsubscribe")


@bp.post("/unsubscribe/<token>")
def unsubscribe(token: str):
    asked = consent.unsubscribe(token)
    return render_template("recipients/answer.html", asked=asked, token=token,
                           state="unsubscribed")
