"""The API against its own description: schemathesis generates requests for
every operation in /api/openapi.json from the document's schemas (valid and
invalid data) and checks every answer against the document, on a real HTTP
server (werkzeug, threaded) over SQLite.

Report jobs are recorded but never published (no worker): new ones stay
PENDING. Limits are high, so the run checks conformance, not throttling. Ids in
paths are now and then swapped for ids that exist (seeded, or created during
the run), so answers with bodies are checked too, not only 404s."""
from __future__ import annotations

import datetime as dt
import sys
import threading
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from werkzeug.serving import make_server

from tests.conftest import SESSION, _migrate_fresh, build_app, make_user

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance,
          response_schema_conformance, response_headers_conformance]
EXAMPLES = 40  # per operation and generation phase; the whole run takes well under 2 minutes
ITEM = {"product": "Tea", "quantity": 2, "unit_price": "12.50"}


@dataclass
class LiveApi:
    url: str
    token: str
    published: list[int]
    # ids that exist now, by path parameter name
    known: dict[str, set[int]] = field(default_factory=lambda: {
        "order_id": set(), "job_id": set(), "schedule_id": set()})
    answers: dict[str, set[int]] = field(default_factory=dict)  # "GET /api/…": status codes


def _publisher():
    """The module whose _publish hands job ids to the broker (wherever enqueue lives)."""
    from webapp.reports import services

    return sys.modules[services.enqueue.__module__]


def _seed(app, user) -> dict[str, set[int]]:
    """Orders, and jobs in the states that make each report route answer
    differently: PENDING, CANCELLED, COMPLETED with a CSV or PDF file, EXPIRED."""
    from webapp.extensions import db
    from webapp.models import JobStatus, ReportFormat, ReportJob
    from webapp.orders.services import ItemInput, create_order
    from webapp.reports.services import cancel_job, request_order_report

    orders = [create_order(user, f"Customer {n}", [ItemInput("Tea", 2, Decimal("12.50"))])
              for n in range(60)]
    jobs = [request_order_report(user, o.id, fmt)[0]
            for o in orders for fmt in (ReportFormat.CSV, ReportFormat.PDF)]
    now = dt.datetime.now(dt.UTC)
    for n, job in enumerate(jobs):
        # more COMPLETED than anything else: the run deletes some before it
        # downloads, and a download's 200 must still be reached
        if n >= 60 or n % 4 == 2:
            name = f"seed-{job.id}.{job.format.value}"
            data = b"%PDF-1.4 seed" if job.format is ReportFormat.PDF else b"customer\r\nACME\r\n"
            (Path(app.config["REPORTS_DIR"]) / name).write_bytes(data)
            row = db.session.get(ReportJob, job.id)
            row.status, row.file_name, row.size = JobStatus.COMPLETED, name, len(data)
            row.finished_at, row.expires_at = now, now + dt.timedelta(days=7)
        elif n % 4 == 1:
            cancel_job(user, job.id)
        elif n % 8 == 3:
            row = db.session.get(ReportJob, job.id)
            row.status, row.finished_at = JobStatus.EXPIRED, now
    db.session.commit()
    from webapp.models import ReportKind
    from webapp.schedules.services import ScheduleSpec, create

    schedules = [create(user, ScheduleSpec(
        name=f"Schedule {n}", kind=ReportKind.SUMMARY, format=ReportFormat.CSV,
        cron="0 7 * * 1", timezone="Europe/Berlin", range="last_7_days"))[0]
        for n in range(10)]
    return {"order_id": {o.id for o in orders}, "job_id": {j.id for j in jobs},
            "schedule_id": {s.id for s in schedules}}


@pytest.fixture(scope="module")
def live_api(tmp_path_factory, redis_url):
    from flask import request

    from webapp.auth.services import create_token

    base = tmp_path_factory.mktemp("schemathesis")
    app = build_app(f"sqlite:///{base / 'api.sqlite3'}", base / "reports", f"api-{SESSION}",
                    redis_url, TESTING=False, REPORT_RATE_LIMIT="100000 per minute",
                    ORDER_WRITE_RATE_LIMIT="100000 per minute", REPORT_MAX_OPEN_JOBS=100_000)
    _migrate_fresh(app)
    live = LiveApi(url="", token="", published=[])

    @app.after_request
    def _track(response):
        rule = request.url_rule.rule if request.url_rule else request.path
        live.answers.setdefault(f"{request.method} {rule}", set()).add(response.status_code)
        args = request.view_args or {}
        if response.status_code in (200, 201, 202) and response.is_json:
            body = response.get_json()
            if "order_id" in args or rule == "/api/orders" and request.method == "POST":
                live.known["order_id"].add(body["id"])
            elif request.path.startswith("/api/reports") and "id" in body:
                live.known["job_id"].add(body["id"])
            elif rule == "/api/schedules" and request.method == "POST":
                live.known["schedule_id"].add(body["id"])
        elif response.status_code in (204, 404):
            for name, value in args.items():
                live.known.get(name, set()).discard(value)
        return response

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(_publisher(), "_publish", live.published.append)
        with app.app_context():
            user = make_user("schemathesis@example.com")
            live.token = create_token(user, "schemathesis")[1]
            live.known = _seed(app, user)
        httpd = make_server("127.0.0.1", 0, app, threaded=True)
        thread = threading.Thread(target=httpd.serve_forever, daemon=True)
        thread.start()
        live.url = f"http://127.0.0.1:{httpd.server_port}"
        yield live
        httpd.shutdown()


@pytest.fixture(scope="module")
def api_schema(live_api):
    schema = schemathesis.openapi.from_url(f"{live_api.url}/api/openapi.json")
    schema.config.generation.update(max_examples=EXAMPLES, deterministic=True)

    @schema.hook
    def flatmap_path_parameters(context, path_parameters):
        """Keep the generated ids, or take one that exists right now."""
        names = [n for n, v in (path_parameters or {}).items()
                 if isinstance(v, int) and n in live_api.known]
        if not names:
            return st.just(path_parameters)

        def existing(index: int) -> dict:
            # the draw has one shape whatever exists; what it points at is read now
            found = {n: sorted(live_api.known[n]) for n in names}
            return {**path_parameters,
                    **{n: ids[index % len(ids)] for n, ids in found.items() if ids}}

        return st.one_of(st.just(path_parameters),
                         st.integers(min_value=0, max_value=2**16).map(existing))

    return schema


schema = schemathesis.pytest.from_fixture("api_schema")


@schema.parametrize()
@settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
          suppress_health_check=list(HealthCheck))
def test_every_operation_conforms_to_the_document(case, live_api):
    case.call_and_validate(headers={"Authorization": f"Bearer {live_api.token}"},
                           checks=CHECKS, timeout=10)


def test_the_run_reached_the_answers_with_bodies(live_api):
    """Runs after the operations (same module, file order): valid data was
    accepted and existing ids were found, so the answers' schemas were
    checked, not only the errors."""
    if not live_api.answers:
        pytest.skip("the schemathesis run did not happen in this session")
    expected = {
        "POST /api/orders": {201}, "GET /api/orders": {200}, "POST /api/reports": {202},
        "GET /api/reports": {200}, "GET /api/orders/<int:order_id>": {200},
        "PATCH /api/orders/<int:order_id>": {200}, "DELETE /api/orders/<int:order_id>": {204},
        "GET /api/reports/<int:job_id>": {200}, "DELETE /api/reports/<int:job_id>": {204},
        "GET /api/reports/<int:job_id>/download": {200, 409},
        "POST /api/reports/<int:job_id>/cancel": {200, 409},
        "POST /api/reports/<int:job_id>/retry": {202, 409},
        "POST /api/schedules": {201, 400}, "GET /api/schedules": {200},
        "GET /api/schedules/<int:schedule_id>": {200},
        "PATCH /api/schedules/<int:schedule_id>": {200, 400},
        "POST /api/schedules/<int:schedule_id>/run": {202},
        "GET /api/schedules/<int:schedule_id>/runs": {200},
        "DELETE /api/schedules/<int:schedule_id>": {204},
    }
    missing = {op: codes - live_api.answers.get(op, set()) for op, codes in expected.items()}
    # the message: what each operation that missed an answer got instead
    assert not {op: c for op, c in missing.items() if c}, {
        op: live_api.answers.get(op) for op, c in missing.items() if c}
    assert live_api.published, "no report request reached the (replaced) broker"
