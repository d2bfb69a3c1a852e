"""How the app answers errors: domain errors (webapp/errors.py) and HTTP
errors as a page or a notice for people, as an RFC 9457 problem
(application/problem+json) for the API. Nothing here knows a particular view."""
from __future__ import annotations

import time
from collections.abc import Callable
from http import HTTPStatus

import sqlalchemy as sa
from flask import Flask, current_app, render_template, request
from flask_wtf.csrf import CSRFError
from pydantic import BaseModel, ConfigDict, Field
from pydantic.json_schema import SkipJsonSchema
from werkzeug.exceptions import HTTPException, RequestURITooLarge

from .errors import DomainError
from .extensions import db, limiter
from .htmx import is_htmx
from .storage import StorageError
from .words import seconds_in_words


def wants_json() -> bool:
    return request.path.startswith("/api/")


PROBLEM_JSON = "application/problem+json"

# The longest URL (path and query string, as sent) the app takes: longer ones
# are 414, a problem for the API. Just below the HTTP server's own limit
# (gunicorn's --limit-request-line 8190 in webapp/launcher.py and deploy/, which
# counts the method and protocol too), so that the app, not the server's bare
# HTML page, answers a long URL; a hand-edited page URL of a few thousand
# characters still gets its page.
MAX_URL_LENGTH = 8000


class Problem(BaseModel):
    """Every error answer of the API: an RFC 9457 problem."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{
        "type": "about:blank", "title": "Bad Request", "status": 400,
        "detail": "The order is not valid.",
        "errors": {"items[0].quantity": ["Quantity must be a whole number from 1 to 10,000."]},
    }]})

    type: str = Field("about:blank", description="A URI naming the kind of problem; "
                      "about:blank means the status code says it all.")
    title: str = Field(description="The HTTP status phrase.")
    status: int = Field(ge=400, le=599, description="The HTTP status code, repeated.")
    detail: str = Field(description="What went wrong, in words for a person.")
    errors: dict[str, list[str]] | SkipJsonSchema[None] = Field(
        None, json_schema_extra=lambda schema: schema.pop("default", None),
        description="For invalid input: messages per field, keyed by its path in "
                    "the body or query (customer, items[0].quantity, page).")


def problem(status: int, detail: str, errors: dict[str, list[str]] | None = None,
            headers: dict | None = None):
    """The API's answer for an error: application/problem+json."""
    body = Problem(title=HTTPStatus(status).phrase, status=status, detail=detail, errors=errors)
    response = current_app.response_class(
        current_app.json.dumps(body.model_dump(mode="json", exclude_none=True)),
        status=status, mimetype=PROBLEM_JSON)
    response.headers.update(headers or {})
    return response


STALE_FORM = ("This page was open too long or your session changed (you logged in or out "
              "elsewhere), so the action was refused to keep your account safe. Reload the page "
              "and try again.")


def _page_error(code: int, message: str, headers: dict | None = None):
    """An error for a person: a notice in place for HTMX requests (htmx does not
    swap 4xx/5xx answers, so a silent dead button is what the user would get
    otherwise), a full page for the rest."""
    if is_htmx():
        notice = render_template("_notice.html", code=code, message=message)
        return notice, 200, {"HX-Retarget": "#notices", "HX-Reswap": "innerHTML",
                             **(headers or {})}
    return render_template("error.html", code=code, message=message), code, headers or {}


# Pages that answer a rate limit in place (their form shown again with what the
# user typed) instead of with the error page: endpoint -> handler(message)
# returning the response, or None for the usual answer. The views that own
# those pages register them with @on_rate_limit(endpoint).
_RATE_LIMITED_PAGES: dict[str, Callable[[str], object | None]] = {}


def on_rate_limit(endpoint: str):
    def register(handler: Callable[[str], object | None]):
        _RATE_LIMITED_PAGES[endpoint] = handler
        return handler
    return register


def _limit_reset_in() -> int | None:
    """Seconds until the limit just hit lets a request through, if known."""
    try:
        current = limiter.current_limit
        if current is not None and current.breached:
            return max(1, int(current.reset_at - time.time()))
    except Exception:  # the counter's storage may be down: the callers say something true
        pass
    return None


def _rate_limit_wait() -> str:
    """How long until the limit just hit lets a request through, in words."""
    seconds = _limit_reset_in()
    return seconds_in_words(seconds) if seconds else "a minute"


def _url_length() -> int:
    environ = request.environ
    raw = environ.get("RAW_URI") or environ.get("REQUEST_URI")  # gunicorn, werkzeug
    if raw is not None:
        return len(raw)
    query = environ.get("QUERY_STRING", "")
    return len(environ.get("SCRIPT_NAME", "") + environ.get("PATH_INFO", "")) + (
        len(query) + 1 if query else 0)


def register_error_handlers(app: Flask) -> None:
    def refuse_long_urls():
        if _url_length() > MAX_URL_LENGTH:
            raise RequestURITooLarge(f"The URL is longer than {MAX_URL_LENGTH:,} characters; "
                                     "send less in the query string.")

    # first of all: before the identity checks, so the answer does not depend on them
    app.before_request_funcs.setdefault(None, []).insert(0, refuse_long_urls)

    @app.errorhandler(DomainError)
    def domain_error(exc: DomainError):
        headers = {"Retry-After": str(exc.retry_after)} if exc.retry_after else {}
        headers = {**headers, **(exc.headers or {})} or None
        if wants_json():
            return problem(exc.status_code, exc.message, exc.errors, headers=headers)
        return _page_error(exc.status_code, exc.message, headers)

    @app.errorhandler(CSRFError)
    def stale_form(exc: CSRFError):
        app.logger.info("CSRF refusal on %s: %s", request.path, exc.description)
        return _page_error(400, STALE_FORM)

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException):
        if wants_json():
            # werkzeug's own headers (Allow on 405, Retry-After, WWW-Authenticate)
            headers = {k: v for k, v in exc.get_headers() if k.lower() != "content-type"}
            if exc.code == 429:
                # flask-limiter sets Retry-After after the request, unless its
                # storage fails: the API documents the header, so it is always sent
                headers.setdefault("Retry-After", str(_limit_reset_in() or 60))
                return problem(429, "Too many requests in a short time (limit: "
                                    f"{exc.description}); wait and try again.", headers=headers)
            return problem(exc.code, exc.description, headers=headers)
        if exc.code == 429:
            in_place = _RATE_LIMITED_PAGES.get(request.endpoint)
            response = in_place and in_place(
                f"Too many requests in a short time (limit: {exc.description}); "
                f"try again in {_rate_limit_wait()}.")
            if response is not None:
                return response
            return _page_error(429, "Too many requests in a short time; wait a minute "
                                    f"and try again (limit: {exc.description}).")
        return _page_error(exc.code, exc.description)

    @app.errorhandler(sa.exc.OperationalError)
    @app.errorhandler(sa.exc.InterfaceError)
    def database_down(exc):
        db.session.rollback()
        app.logger.error("database unavailable on %s %s: %s", request.method, request.path, exc)
        message = "The database is not reachable right now; nothing was lost. Try again shortly."
        if wants_json():
            return problem(503, message, headers={"Retry-After": "5"})
        return _page_error(503, message, {"Retry-After": "5"})

    @app.errorhandler(StorageError)
    def store_down(exc: StorageError):
        # a download (or a look-up) while the file store does not answer: the
        # report and its file are kept, asking again later works
        app.logger.error("file store unavailable on %s %s: %s", request.method, request.path, exc)
        message = ("The file store is not reachable right now; the report is kept. "
                   "Try again shortly.")
        if wants_json():
            return problem(503, message, headers={"Retry-After": "5"})
        return _page_error(503, message, {"Retry-After": "5"})

    @app.errorhandler(Exception)
    def unexpected(exc: Exception):
        app.logger.exception("unhandled error on %s %s", request.method, request.path)
        message = "Something went wrong on our side; it has been logged."
        if wants_json():
            return problem(500, message)
        return _page_error(500, message)
