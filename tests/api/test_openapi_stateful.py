"""The API against its own description, as `make run` serves it: schemathesis
follows the document's OpenAPI links (create → the operations on the new id)
in its stateful phase, then makes a short stateless pass, against the real
launcher (gunicorn, a Celery worker and beat over Redis) with the DEFAULT rate
limits. A 429 is an answer the document promises, so it passes the checks; the
run is sized so the limits are met now and then, never slept around, and the
last test proves that the operations on real ids were reached all the same.

test_openapi_schemathesis.py stays the broad one (every operation, limits
raised, seeded jobs in every state); this one is about sequences and the real
system: jobs the worker really runs, cancels that race it, retries, downloads
of files it wrote, schedules run now."""
from __future__ import annotations

import os
import re
import secrets
import subprocess
import time
from collections import Counter
from dataclasses import dataclass, field

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, Phase, seed, settings
from hypothesis.errors import FlakyStrategyDefinition, InvalidDefinition
from schemathesis.checks import not_a_server_error
from schemathesis.core.failures import Failure, FailureGroup
from schemathesis.generation import GenerationMode
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.conftest import SESSION
from tests.harness import BIN, Proc, free_port

pytestmark = pytest.mark.integration

# exactly the checks the issue names (response headers are the other file's)
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance,
          response_schema_conformance]
# The stateful phase: SCENARIOS sequences of at most STEPS calls each. About
# 2 requests a second reach the server here, so ~230 calls spread over ~2
# minutes: order and schedule writes stay under 120 a minute and report
# requests meet their 30 a minute only now and then.
SCENARIOS, STEPS = 30, 8
# Full rounds: at least two (seeds differ), more while an operation has not been
# reached with a real id (the report limit, 30 a minute, may have answered 429
# where a link would have led on), for at most SECONDS
ROUNDS = 12
SECONDS = 150
STATELESS_EXAMPLES = 3  # per operation: the operations no link reaches get a look too
# settings of the developer's shell that would steer the app elsewhere (rate
# limits among them: this run is about the defaults)
STEERING = ("DATABASE_URL", "REDIS_URL", "CELERY_BROKER_URL", "BROKER_DIR", "REPORTS_DIR",
            "REPORTS_QUEUE", "SECRET_KEY", "SECRET_KEY_FALLBACKS", "PORT",
            "RATELIMIT_STORAGE_URI", "LAUNCHER_RUN_DIR", "ORDER_WRITE_RATE_LIMIT",
            "REPORT_RATE_LIMIT", "REPORT_MAX_OPEN_JOBS", "SMTP_URL", "WEBHOOK_ALLOW_PRIVATE")
CSRF = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')
NEW_TOKEN = re.compile(r'id="new-token">([^<]+)<')
EMAIL, PASSWORD = "stateful@example.com", "stateful-horse-battery-staple"


# what the run must reach with real ids (the answers for a thing that exists)
REACHED = {
    "POST /api/orders": {201}, "GET /api/orders/{order_id}": {200},
    "PATCH /api/orders/{order_id}": {200}, "DELETE /api/orders/{order_id}": {204},
    "POST /api/reports": {200, 202}, "GET /api/reports/{job_id}": {200},
    "POST /api/reports/{job_id}/cancel": {200, 409},
    "POST /api/reports/{job_id}/retry": {200, 202, 409},
    "GET /api/reports/{job_id}/download": {200, 409},  # 409: not finished (yet)
    "DELETE /api/reports/{job_id}": {204},
    "POST /api/schedules": {201}, "GET /api/schedules/{schedule_id}": {200},
    "PATCH /api/schedules/{schedule_id}": {200},
    "POST /api/schedules/{schedule_id}/run": {202},
    "GET /api/schedules/{schedule_id}/runs": {200},
    "DELETE /api/schedules/{schedule_id}": {204},
}


@dataclass
class Running:
    """The launcher, and what the run saw: "METHOD /path/{name}": status codes."""

    base: str
    token: str
    launcher: Proc
    seen: dict[str, Counter] = field(default_factory=dict)  # the stateful phase's
    stateless: dict[str, Counter] = field(default_factory=dict)
    steps: int = 0
    seconds: float = 0.0
    flaky_rounds: int = 0
    findings: list[str] = field(default_factory=list)

    def saw(self, label: str, status: int, *, stateful: bool = True) -> None:
        (self.seen if stateful else self.stateless).setdefault(label, Counter())[status] += 1


def _token(base: str) -> str:
    """A write token of the user, made on the account page as a person would."""
    web = requests.Session()
    page = web.get(f"{base}/login", timeout=10).text
    answer = web.post(f"{base}/login", timeout=30, allow_redirects=False, data={
        "email": EMAIL, "password": PASSWORD, "csrf_token": CSRF.search(page).group(1)})
    assert answer.status_code in (302, 303), answer.text[:2000]
    page = web.get(f"{base}/account", timeout=10).text
    answer = web.post(f"{base}/account/tokens", timeout=10, data={
        "name": "schemathesis", "scope": "write", "csrf_token": CSRF.search(page).group(1)})
    assert answer.status_code == 200, answer.text[:2000]
    return NEW_TOKEN.search(answer.text).group(1).strip()


@pytest.fixture(scope="module")
def running(tmp_path_factory, redis_url):
    """`python -m webapp.launcher` (what `make run` runs) on a free port, with its
    own SQLite file, reports folder, Redis queue and rate-limit keys (the
    test Redis db), and a user made with `flask create-user`."""
    tmp = tmp_path_factory.mktemp("stateful")
    port = free_port()
    env = {k: v for k, v in os.environ.items()
           if k not in STEERING and not k.startswith("FLASK_")}
    env.update({
        "DATABASE_URL": f"sqlite:///{tmp / 'api.sqlite3'}",
        "REPORTS_DIR": str(tmp / "reports"),
        "CELERY_BROKER_URL": redis_url,
        "REPORTS_QUEUE": f"st-{SESSION}",
        # the counts of this run apart from any other on the same Redis db
        # (the limits themselves are the defaults); dropped with the session's keys
        "FLASK_RATELIMIT_KEY_PREFIX": f"st-{SESSION}",
        "PORT": str(port),
        "SECRET_KEY": secrets.token_urlsafe(48),
        "FLASK_DEMO_PASSWORD_FILE": str(tmp / "demo-password.txt"),
        "LAUNCHER_RUN_DIR": str(tmp / "run"),
        "FLASK_APP": "wsgi.py",
        "PYTHONUNBUFFERED": "1",
    })
    launcher = Proc([str(BIN / "python"), "-m", "webapp.launcher"], env, tmp / "launcher.log")
    base = f"http://127.0.0.1:{port}"
    try:
        launcher.start()
        launcher.wait_until(lambda out: "* open http://" in out and " ready." in out,
                            timeout=120, what="serving, with a ready worker")
        # the launcher has migrated the database: the user goes into the same one
        subprocess.run([str(BIN / "flask"), "create-user", EMAIL, "--password", PASSWORD],
                       env=env, check=True, capture_output=True, timeout=60)
        yield Running(base=base, token=_token(base), launcher=launcher)
    finally:
        launcher.terminate()  # SIGTERM to its group: the launcher stops its children
        launcher.wait_stopped(30)


def _load(running, **generation):
    schema = schemathesis.openapi.from_url(f"{running.base}/api/openapi.json")
    schema.config.generation.update(**generation)

    @schema.hook
    def map_body(context, body):
        # A schedule's webhook would really be posted by the worker: not to
        # whatever host the run makes up (the other file covers webhook_url)
        if isinstance(body, dict) and context.operation.path.startswith("/api/schedules"):
            body.pop("webhook_url", None)
        return body

    return schema


@pytest.fixture(scope="module")
def api_schema(running):
    """For the stateless pass: valid and invalid data."""
    return _load(running, max_examples=STATELESS_EXAMPLES, deterministic=True)


def test_stateful_sequences_conform_to_the_document(running):
    """Every answer of every sequence conforms; a disagreement is recorded (the
    request as curl, the checks' words) and the run goes on, so one run lists
    them all. Valid data only: the limits allow a few hundred calls, and they
    go to sequences (the stateless pass sends the invalid data)."""
    headers = {"Authorization": f"Bearer {running.token}"}
    api = _load(running, modes=[GenerationMode.POSITIVE])
    # the document's own links only (what the issue asks of it), none guessed
    api.config.phases.stateful.inference.algorithms = []
    # customers have no link to the reports and schedules: their order-write
    # budget is left to the sequences (the stateless pass covers them)
    api = api.exclude(path_regex="^/api/customers")
    machine = api.as_state_machine()
    # A scenario may also start at cancel, retry or run with an id made up,
    # a 404 that still counts against the report limit: reach them by links
    made_up = [name for name in dir(machine)
               if name.startswith("RANDOM__") and name.endswith(("_id_cancel", "_id_retry",
                                                                 "_id_run"))]

    class Workflow(machine):
        def get_call_kwargs(self, case):
            return {"headers": headers, "timeout": 30}

        def after_call(self, response, case):
            super().after_call(response, case)
            running.steps += 1
            running.saw(case.operation.label, response.status_code)

        def validate_response(self, response, case, additional_checks=None, **kwargs):
            try:
                case.validate_response(response, checks=CHECKS, headers=headers,
                                       transport_kwargs=kwargs, recorder=self.recorder)
            except (Failure, FailureGroup) as exc:
                found = exc.exceptions if isinstance(exc, FailureGroup) else (exc,)
                running.findings.append(
                    f"{case.operation.label} -> {response.status_code}: "
                    + "; ".join(f.title for f in found)
                    + f"\n    {case.as_curl_command(headers=headers)}")

    for name in made_up:
        setattr(Workflow, name, None)  # no longer a rule
    assert made_up, "the made-up-id roots are named differently now: update the filter"

    # First, sequences that start at a new schedule, then at a new order, with
    # no DELETE link to follow: "Run now" shares the report limit (30 a minute)
    # with POST /api/reports, which the full run would spend first, and a
    # sequence that deletes what it made first never patches it
    def only(roots: str, reached: tuple[tuple[str, int], ...]):
        cls = type(f"Only_{roots}", (Workflow,), {"reached": reached})
        for name in dir(machine):
            root = name.startswith("RANDOM__")
            if (root and roots not in name) or (not root and "DELETE" in name):
                setattr(cls, name, None)  # no longer a rule
        return cls

    schedules_first = only("schedules", (("POST /api/schedules/{schedule_id}/run", 202),
                                         ("PATCH /api/schedules/{schedule_id}", 200)))
    orders_first = only("orders", (("PATCH /api/orders/{order_id}", 200),))
    started = time.monotonic()
    plan = ([(schedules_first, SCENARIOS // 3)] * 2 + [(orders_first, SCENARIOS // 3)] * 2
            + [(Workflow, SCENARIOS)] * ROUNDS)

    def all_reached() -> bool:
        return all(codes & set(running.seen.get(op, {})) for op, codes in REACHED.items())

    for round_, (workflow, scenarios) in enumerate(plan):
        if workflow is Workflow and round_ >= 6 and (
                all_reached() or time.monotonic() - started > SECONDS):
            break  # a later full round runs only while something is not reached yet
        if workflow is not Workflow and all(
                running.seen.get(op, {}).get(status) for op, status in workflow.reached):
            continue  # reached: on to the next
        try:
            seed(round_)(workflow).run(settings=settings(
                max_examples=scenarios, stateful_step_count=STEPS, deadline=None,
                database=None, phases=[Phase.generate],
                suppress_health_check=list(HealthCheck)))
        except FlakyStrategyDefinition:
            # A live server answers a replayed prefix differently (a 429 now,
            # a job finished meanwhile): Hypothesis stops; start another round
            running.flaky_rounds += 1
        except InvalidDefinition:
            # a restricted round (no DELETE) can run out of transitions the
            # engine allows before its steps do: that round is over
            if workflow is Workflow:
                raise
            running.flaky_rounds += 1
    running.seconds = time.monotonic() - started
    # what was reached with real ids (shown with -s; the rounds go on while an
    # operation is missing, but a limit's 429 can still leave one unreached:
    # not asserted, so that luck never fails the suite)
    print(f"\nstateful: {running.steps} calls in {running.seconds:.0f} s, "
          f"{running.flaky_rounds} rounds stopped early")
    for op, codes in REACHED.items():
        seen = dict(sorted(running.seen.get(op, {}).items()))
        print(f"  {op}: {seen}{'' if codes & set(seen) else '  (not reached with a real id)'}")
    assert not running.findings, "\n".join(running.findings)
    # the run did reach the operations on things that exist, not only 404s
    reached = [op for op, codes in REACHED.items() if codes & set(running.seen.get(op, {}))]
    assert len(reached) >= len(REACHED) // 2, reached


schema = schemathesis.pytest.from_fixture("api_schema")


@schema.parametrize()
@settings(max_examples=STATELESS_EXAMPLES, deadline=None, derandomize=True, database=None,
          suppress_health_check=list(HealthCheck))
def test_every_operation_conforms_to_the_document_under_the_real_limits(case, running):
    response = case.call(headers={"Authorization": f"Bearer {running.token}"}, timeout=30)
    running.saw(case.operation.label, response.status_code, stateful=False)
    case.validate_response(response, checks=CHECKS)
