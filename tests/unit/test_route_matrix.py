"""Who may open or do what, on every route: generated from app.url_map and one
table, EXPECTED, of what each route is about and the least role that may use
each of its methods (webapp/workspaces/roles.py says what each role may do;
the services ask it). Every route and method is tried as the owner, an admin,
a member and a viewer of one workspace, as a person of another workspace, and
as nobody (logged out):

- a member whose role is enough never gets 403 or 404 (any other answer will
  do: this is the authorization matrix, not a functional test, so 400, 409 or
  422 for a form that is not quite right are fine);
- a member whose role is too low gets 403; from the API an RFC 9457 problem
  whose detail names the role ("Viewers cannot …");
- a person of another workspace gets 404 for every URL (or body) naming an
  object of the workspace, pages and API alike, and is never refused their own;
- nobody gets the log-in page (pages) or 401 (API), except on public routes;
- an API token with the read scope gets 403 on every API call that changes
  something, whatever its person's role.

A route missing from EXPECTED, an entry whose route is gone, or a route whose
methods or URL arguments differ from its entry fails, naming the endpoint: a
new route needs its line here before the suite passes."""
from __future__ import annotations

import datetime as dt
import io
import itertools
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal

import pytest
from PIL import Image

from tasks.reports import run_job
from tests.conftest import logged_in_client, make_user
from webapp.auth import reset
from webapp.auth import services as auth_services
from webapp.auth.current import Actor, as_actor
from webapp.customers.services import CustomerInput, create_customer
from webapp.enums import JobStatus, ReportFormat, ReportKind, Role
from webapp.extensions import db
from webapp.models import ApiToken, Membership, User, Workspace
from webapp.orders.services import ItemInput, create_order
from webapp.reports import lifecycle
from webapp.reports import services as reports
from webapp.reports.params import ReportParams
from webapp.schedules import services as schedules
from webapp.security import WORKSPACE as SESSION_WORKSPACE
from webapp.security import session_fields
from webapp.workspaces import services as workspaces

OWNER, ADMIN, MEMBER, VIEWER = Role.OWNER, Role.ADMIN, Role.MEMBER, Role.VIEWER
ANY = None  # any member may (a read, or something of their own)

# What a route's URL (or body) is about, which decides what a person of another
# workspace and nobody get:
OBJECT = "object"  # an object of the workspace: 404 to everyone else
WORKSPACE = "workspace"  # the current workspace: elsewhere, one's own
PERSON = "person"  # the person's own account: anyone logged in
PUBLIC = "public"  # no log-in needed (links from e-mails, log-in, the API's description)


@dataclass(frozen=True)
class Route:
    methods: dict[str, Role | None]  # each method tried -> the least role that may
    scope: str = WORKSPACE
    args: dict[str, str] = field(default_factory=dict)  # URL argument -> World filler
    body: dict | Callable | None = None  # form (pages) or JSON (/api), or (world, who) -> it
    query: dict | Callable | None = None
    skip: str | None = None  # listed, not tried: why
    unavailable_ok: bool = False  # 503 is an honest answer here (say why beside the entry)


def _order_form(world, who) -> dict:
    return {"customer": "Matrix customer", "order_date": dt.date.today().isoformat(),
            "items-0-product": "Tea", "items-0-quantity": "1", "items-0-unit_price": "2.50"}


def _schedule_form(world, who) -> dict:
    return {"name": f"Matrix {world.next()}", "kind": "summary", "range": "last_7_days",
            "format": "csv", "frequency": "daily", "time": "07:00", "timezone": "UTC"}


def _schedule_json(world, who) -> dict:
    return {"name": f"Matrix {world.next()}", "cron": "0 7 * * 1", "timezone": "UTC",
            "report": {"kind": "summary", "format": "csv", "range": "last_7_days"}}


def _customer_form(world, who) -> dict:
    return {"name": f"Matrix customer {world.next()}", "city": "Berlin", "country": "DE"}


ORDER_JSON = {"customer": "Matrix customer",
              "items": [{"product": "Tea", "quantity": 1, "unit_price": "2.50"}]}
ONE_ORDER = {"order_id": "order"}
ONE_CUSTOMER = {"customer_id": "customer"}  # without orders: a delete may go through
DONE_JOB = {"job_id": "done_job"}
SCHEDULE = {"schedule_id": "schedule"}
LINK_SKIP = ("a recipient's consent link (a signed token of a schedule's address, made when "
             "the schedule mails someone new): public, acts on the token alone; "
             "tests/unit/test_abuse.py and tests/integration/test_consent_and_abuse.py "
             "cover them")

EXPECTED: dict[str, Route] = {
    "index": Route({"GET": ANY}),
    # 503 without a worker, which unit tests do not run
    "health.healthz": Route({"GET": ANY}, PUBLIC, unavailable_ok=True),
    # --- orders
    "orders.index": Route({"GET": ANY}),
    "orders.new": Route({"GET": ANY, "POST": MEMBER}, body=_order_form),
    "orders.item_rows": Route({"POST": ANY}, body={"add_item": "1"}),  # re-renders the rows
    "orders.show": Route({"GET": ANY}, OBJECT, ONE_ORDER),
    "orders.edit": Route({"GET": ANY, "POST": MEMBER}, OBJECT, ONE_ORDER, body=_order_form),
    "orders.set_status": Route({"POST": MEMBER}, OBJECT, ONE_ORDER,
                               body={"status": "completed"}),
    "orders.delete": Route({"GET": ANY, "POST": MEMBER}, OBJECT, ONE_ORDER),
    # --- customers
    "customers.index": Route({"GET": ANY}),
    "customers.new": Route({"GET": ANY, "POST": MEMBER}, body=_customer_form),
    "customers.show": Route({"GET": ANY}, OBJECT, ONE_CUSTOMER),
    "customers.edit": Route({"GET": ANY, "POST": MEMBER}, OBJECT, ONE_CUSTOMER,
                            body=_customer_form),
    "customers.delete": Route({"GET": ANY, "POST": MEMBER}, OBJECT, ONE_CUSTOMER),
    # the picker's: suggestions (of the current workspace only), and making one in place
    "customers.suggest": Route({"GET": ANY}, query={"q": "Matrix", "create": "1"}),
    "customers.quick_create": Route({"POST": MEMBER}, body=lambda w, who: {
        "name": f"Quick {w.next()}"}),
    # --- reports
    "reports.index": Route({"GET": ANY}),
    "reports.live": Route({"GET": ANY}, query=lambda w, who: {"job": f"{w.done_job()}:PENDING"}),
    "reports.request_summary": Route({"POST": MEMBER}, body={
        "date_from": "2026-01-01", "date_to": "2026-01-31", "format": "csv"}),
    "reports.request_order": Route({"POST": MEMBER}, OBJECT, ONE_ORDER, body={"format": "csv"}),
    "reports.request_export": Route({"POST": MEMBER}, body={"format": "csv", "q": ""}),
    "reports.show": Route({"GET": ANY}, OBJECT, DONE_JOB),
    "reports.status": Route({"GET": ANY}, OBJECT, DONE_JOB),
    "reports.download": Route({"GET": ANY}, OBJECT, DONE_JOB),
    "reports.confirm_delete": Route({"GET": ANY}, OBJECT, DONE_JOB),
    "reports.cancel": Route({"POST": MEMBER}, OBJECT, {"job_id": "pending_job"}),
    "reports.retry": Route({"POST": MEMBER}, OBJECT, {"job_id": "failed_job"}),
    "reports.delete": Route({"POST": MEMBER}, OBJECT, {"job_id": "pending_job"}),
    # --- dashboard, notices
    "dashboard.index": Route({"GET": ANY}),
    "dashboard.request_report": Route({"POST": MEMBER}, body={"format": "csv"}),
    "notices.index": Route({"GET": ANY}),
    # --- schedules
    "schedules.index": Route({"GET": ANY}),
    "schedules.new": Route({"GET": ANY}),
    "schedules.create": Route({"POST": MEMBER}, body=_schedule_form),
    "schedules.show": Route({"GET": ANY}, OBJECT, SCHEDULE),
    "schedules.edit": Route({"GET": ANY}, OBJECT, SCHEDULE),
    "schedules.update": Route({"POST": MEMBER}, OBJECT, SCHEDULE, body=_schedule_form),
    "schedules.pause": Route({"POST": MEMBER}, OBJECT, SCHEDULE),
    "schedules.resume": Route({"POST": MEMBER}, OBJECT, SCHEDULE),
    "schedules.rotate_secret": Route({"POST": MEMBER}, OBJECT, SCHEDULE),
    "schedules.run_now": Route({"POST": MEMBER}, OBJECT, SCHEDULE),
    "schedules.confirm_delete": Route({"GET": ANY}, OBJECT, SCHEDULE),
    "schedules.delete": Route({"POST": MEMBER}, OBJECT, SCHEDULE),
    # --- the team: members, invitations, settings, workspaces
    "workspaces.team": Route({"GET": ANY}),
    "workspaces.invite": Route({"POST": ADMIN}, body=lambda w, who: {
        "email": f"invited-{w.next()}@example.com", "role": "member"}),
    "workspaces.resend": Route({"POST": ADMIN}, OBJECT, {"invitation_id": "invitation"}),
    "workspaces.revoke": Route({"POST": ADMIN}, OBJECT, {"invitation_id": "invitation"}),
    "workspaces.change_role": Route({"POST": ADMIN}, OBJECT, {"user_id": "member"},
                                    body={"role": "viewer"}),
    "workspaces.remove": Route({"POST": ADMIN}, OBJECT, {"user_id": "member"}),
    "workspaces.transfer": Route({"POST": OWNER}, OBJECT, {"user_id": "member"}),
    # leaving is anyone's (the last owner is told to hand over first: 409)
    "workspaces.leave": Route({"POST": ANY}),
    # the workspace to switch to is this one: another's person is told it does not exist
    "workspaces.switch": Route({"POST": ANY}, OBJECT,
                               body=lambda w, who: {"workspace_id": str(w.workspace_id)}),
    "workspaces.create": Route({"POST": ANY}, PERSON, body={"name": "Another workspace"}),
    "workspaces.settings": Route({"GET": ANY}),
    "workspaces.save_settings": Route({"POST": ADMIN}, body={
        "name": "Matrix workspace", "currency": "USD", "default_timezone": "UTC",
        "order_prefix": "SO-", "document_title": "Order confirmation"}),
    "workspaces.logo": Route({"GET": ANY}),
    "workspaces.save_logo": Route({"POST": ADMIN}, body={"remove": "1"}),
    # a wrong name: refused for the role first (403), then for the name (422)
    "workspaces.delete": Route({"POST": OWNER}, body={"confirm_name": "not its name"}),
    "audit.index": Route({"GET": ADMIN}),
    "audit.export": Route({"POST": ADMIN}, body={"action": "signed_in"}),
    "invitations.invitation": Route({"GET": ANY, "POST": ANY}, PUBLIC,
                                    {"token": "invitation_link"}),
    # --- log-in, sign-up, the account
    "auth.login": Route({"GET": ANY, "POST": ANY}, PUBLIC),
    "auth.two_factor": Route({"GET": ANY, "POST": ANY}, PUBLIC),
    "auth.signup": Route({"GET": ANY, "POST": ANY}, PUBLIC),
    # no sign-up e-mail was sent, so the secret is not one: its 404 page
    "auth.finish_signup": Route({"GET": ANY, "POST": ANY}, PUBLIC, {"secret": "signup_secret"}),
    "auth.forgot_password": Route({"GET": ANY, "POST": ANY}, PUBLIC),
    "auth.reset_password": Route({"GET": ANY, "POST": ANY}, PUBLIC, {"token": "reset_token"}),
    "auth.logout": Route({"POST": ANY}, PERSON),
    "auth.account": Route({"GET": ANY}, PERSON),
    "auth.change_password": Route({"POST": ANY}, PERSON),
    "auth.preferences": Route({"POST": ANY}, PERSON),
    "auth.end_sessions": Route({"POST": ANY}, PERSON),
    # a token for the current workspace; one that can write needs a member
    "auth.create_token": Route({"POST": MEMBER}, PERSON, body={"name": "m", "scope": "write"}),
    "auth.revoke_token": Route({"POST": ANY}, PERSON, {"token_id": "own_token"}),
    "auth.send_verification": Route({"POST": ANY}, PERSON),
    "auth.verify_email": Route({"GET": ANY}, PERSON, {"token": "verify_token"}),
    "auth.two_factor_begin": Route({"POST": ANY}, PERSON),
    "auth.two_factor_setup": Route({"GET": ANY, "POST": ANY}, PERSON),
    "auth.recovery_codes": Route({"POST": ANY}, PERSON),
    "auth.two_factor_off": Route({"POST": ANY}, PERSON),
    # --- the links in e-mails to a schedule's recipients
    "recipients.ask": Route({"GET": ANY}, PUBLIC, {"token": "-"}, skip=LINK_SKIP),
    "recipients.confirm": Route({"POST": ANY}, PUBLIC, {"token": "-"}, skip=LINK_SKIP),
    "recipients.never": Route({"POST": ANY}, PUBLIC, {"token": "-"}, skip=LINK_SKIP),
    "recipients.unsubscribe_page": Route({"GET": ANY}, PUBLIC, {"token": "-"}, skip=LINK_SKIP),
    "recipients.unsubscribe": Route({"POST": ANY}, PUBLIC, {"token": "-"}, skip=LINK_SKIP),
    # --- the API
    "api.openapi": Route({"GET": ANY}, PUBLIC),
    "api.me": Route({"GET": ANY}),
    "api.list_audit": Route({"GET": ADMIN}),
    "api.list_orders": Route({"GET": ANY}),
    "api.create_order": Route({"POST": MEMBER}, body=ORDER_JSON),
    "api.get_order": Route({"GET": ANY}, OBJECT, ONE_ORDER),
    "api.update_order": Route({"PATCH": MEMBER}, OBJECT, ONE_ORDER, body={"customer": "C"}),
    "api.delete_order": Route({"DELETE": MEMBER}, OBJECT, ONE_ORDER),
    # an upsert: a reference another workspace uses makes a new order in one's own
    "api.put_order_by_ref": Route({"PUT": MEMBER}, WORKSPACE, {"ref": "order_ref"},
                                  body=ORDER_JSON),
    "api.list_customers": Route({"GET": ANY}),
    "api.create_customer": Route({"POST": MEMBER}, body=lambda w, who: {
        "name": f"API customer {w.next()}"}),
    "api.get_customer": Route({"GET": ANY}, OBJECT, ONE_CUSTOMER),
    "api.update_customer": Route({"PATCH": MEMBER}, OBJECT, ONE_CUSTOMER,
                                 body={"city": "Hamburg"}),
    "api.delete_customer": Route({"DELETE": MEMBER}, OBJECT, ONE_CUSTOMER),
    "api.list_reports": Route({"GET": ANY}),
    # the body names an order of the workspace
    "api.create_report": Route({"POST": MEMBER}, OBJECT, body=lambda w, who: {
        "kind": "order", "order_id": w.order(who), "format": "csv"}),
    "api.get_report": Route({"GET": ANY}, OBJECT, DONE_JOB),
    "api.download_report": Route({"GET": ANY}, OBJECT, DONE_JOB),
    "api.cancel_report": Route({"POST": MEMBER}, OBJECT, {"job_id": "pending_job"}),
    "api.retry_report": Route({"POST": MEMBER}, OBJECT, {"job_id": "failed_job"}),
    "api.delete_report": Route({"DELETE": MEMBER}, OBJECT, {"job_id": "pending_job"}),
    "api.list_schedules": Route({"GET": ANY}),
    "api.create_schedule": Route({"POST": MEMBER}, body=_schedule_json),
    "api.get_schedule": Route({"GET": ANY}, OBJECT, SCHEDULE),
    "api.update_schedule": Route({"PATCH": MEMBER}, OBJECT, SCHEDULE, body={"paused": True}),
    "api.delete_schedule": Route({"DELETE": MEMBER}, OBJECT, SCHEDULE),
    "api.run_schedule": Route({"POST": MEMBER}, OBJECT, SCHEDULE),
    "api.list_schedule_runs": Route({"GET": ANY}, OBJECT, SCHEDULE),
}

IGNORED_METHODS = {"HEAD", "OPTIONS"}


def _routes(app) -> list[tuple[str, Route]]:
    """(endpoint, its entry) for every rule of the app but static files; fails
    naming each route without an entry, each entry without a route, and each
    route whose methods or URL arguments its entry does not match."""
    problems = []
    found = []
    rules = [r for r in app.url_map.iter_rules() if r.endpoint != "static"]
    for rule in sorted(rules, key=lambda r: (r.endpoint, r.rule)):
        route = EXPECTED.get(rule.endpoint)
        if route is None:
            problems.append(f"{rule.endpoint} ({rule.rule}) has no entry in EXPECTED: say who "
                            "may use it")
            continue
        methods = set(rule.methods) - IGNORED_METHODS
        if methods != set(route.methods):
            problems.append(f"{rule.endpoint} answers {sorted(methods)}, its entry says "
                            f"{sorted(route.methods)}")
        if set(rule.arguments) != set(route.args):
            problems.append(f"{rule.endpoint} takes {sorted(rule.arguments)}, its entry fills "
                            f"{sorted(route.args)}")
        found.append((rule.endpoint, route))
    gone = sorted(EXPECTED.keys() - {r.endpoint for r in rules})
    problems += [f"{endpoint} is in EXPECTED but the app has no such route" for endpoint in gone]
    if problems:
        pytest.fail("\n".join(problems), pytrace=False)
    return found


@dataclass
class Who:
    name: str
    role: Role | None  # in the workspace; None: another workspace's person, or nobody
    user: User | None
    client: object
    token: ApiToken | None = None  # the API token the client sends

    @property
    def logged_in(self) -> bool:
        return self.user is not None


def _png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (2, 2), "white").save(out, "PNG")
    return out.getvalue()


class World:
    """One workspace with an owner, an admin, a member and a viewer (each also
    has a workspace of their own, as every person does), a person of another
    workspace, and makers of the objects the routes name. After each request
    the roles, tokens and logo are put back, so a request that changes who is
    who (a transfer of ownership, leaving) does not change the next one's answer."""

    def __init__(self, app):
        self.app = app
        self.counter = itertools.count(1)
        self.owner = make_user("owner@example.com", verified=True)
        self.here = as_actor(self.owner)
        self.workspace_id = self.here.workspace_id
        self.roles: dict[int, Role] = {self.owner.id: OWNER}
        self.people: dict[str, Who] = {}
        self.urls = app.url_map.bind("localhost")
        self._done_job: int | None = None
        for role in Role:
            user = self.owner if role is OWNER else self._join(f"{role.value}@example.com",
                                                               role)
            self.people[role.value] = Who(role.value, role, user,
                                          logged_in_client(app, user))
            self._give_token(self.people[role.value])
        stranger = make_user("stranger@example.com", verified=True)
        create_order(stranger, "Stranger's customer", [ItemInput("Cake", 1, Decimal("5.00"))])
        self.people["stranger"] = Who("stranger", None, stranger,
                                      logged_in_client(app, stranger))
        self.people["nobody"] = Who("nobody", None, None, app.test_client())
        self.restore()

    def next(self) -> int:
        return next(self.counter)

    def _join(self, email: str, role: Role) -> User:
        user = make_user(email, verified=True)
        db.session.add(Membership(workspace_id=self.workspace_id, user_id=user.id, role=role))
        db.session.commit()
        self.roles[user.id] = role
        return user

    def _give_token(self, who: Who) -> None:
        """A write token for the workspace. Made as a member: a viewer's is one
        made before they were demoted, so the role, not the scope, refuses."""
        membership = db.session.get(Membership, (self.workspace_id, who.user.id))
        membership.role = min(who.role, MEMBER, key=lambda r: r.rank)
        db.session.commit()
        maker = Actor(who.user, self.here.workspace, membership.role, via="system")
        who.token, secret = auth_services.create_token(maker, "matrix", "write")
        membership.role = who.role
        db.session.commit()
        who.client.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {secret}"

    def restore(self) -> None:
        db.session.expire_all()
        for user_id, role in self.roles.items():
            membership = db.session.get(Membership, (self.workspace_id, user_id))
            if membership is None:  # they left
                db.session.add(Membership(workspace_id=self.workspace_id, user_id=user_id,
                                          role=role))
            else:
                membership.role = role
        others = db.session.scalars(db.select(Membership).where(
            Membership.workspace_id == self.workspace_id, Membership.role == OWNER,
            Membership.user_id.not_in(self.roles)))
        for membership in others:  # made owner by a transfer
            membership.role = MEMBER
        workspace = db.session.get(Workspace, self.workspace_id)
        if workspace.logo is None:
            workspace.logo, workspace.logo_type = _png(), "image/png"
        db.session.commit()
        for who in self.people.values():
            if who.token is not None and who.token.revoked_at is not None:  # they left
                self._give_token(who)

    # --- what the URLs name: made afresh for each request, so a delete or a
    # cancel by one role leaves the next one something to act on

    def fill(self, what: str, who: Who):
        return getattr(self, what)(who)

    def order(self, who: Who) -> int:
        return create_order(self.here, "Matrix customer",
                            [ItemInput("Tea", 1, Decimal("2.50"))]).id

    def order_ref(self, who: Who) -> str:
        ref = f"MATRIX-{self.next()}"
        create_order(self.here, "Matrix customer", [ItemInput("Tea", 1, Decimal("2.50"))],
                     external_ref=ref)
        return ref

    def customer(self, who: Who) -> int:
        return create_customer(self.here, CustomerInput(name=f"Matrix {self.next()}")).id

    def done_job(self, who: Who | None = None) -> int:
        """A completed report with its file (made once: reading it changes nothing)."""
        if self._done_job is None:
            job, _ = reports.request_order_report(self.here, self.order(who), ReportFormat.CSV)
            assert run_job(job.id) == "completed"
            self._done_job = job.id
        return self._done_job

    def _job(self, status: JobStatus) -> int:
        day = dt.date(2026, 1, 1)
        params = ReportParams.summary(day, day, f"c{uuid.uuid4().hex[:8]}")
        job = lifecycle.new_job(self.workspace_id, ReportFormat.CSV, params, uuid.uuid4().hex,
                                created_by=self.owner.id)
        job.status = status
        db.session.commit()
        return job.id

    def pending_job(self, who: Who) -> int:
        return self._job(JobStatus.PENDING)

    def failed_job(self, who: Who) -> int:
        return self._job(JobStatus.FAILED)

    def schedule(self, who: Who) -> int:
        spec = schedules.ScheduleSpec(name=f"Matrix {self.next()}", kind=ReportKind.SUMMARY,
                                      format=ReportFormat.CSV, cron="0 7 * * 1",
                                      timezone="UTC", range="last_7_days")
        return schedules.create(self.here, spec)[0].id

    def member(self, who: Who) -> int:
        user = make_user(f"target-{self.next()}@example.com", verified=True)
        db.session.add(Membership(workspace_id=self.workspace_id, user_id=user.id,
                                  role=MEMBER))
        db.session.commit()
        return user.id

    def invitation(self, who: Who) -> int:
        return workspaces.invite(self.here, f"open-{self.next()}@example.com",
                                 MEMBER).invitation.id

    def invitation_link(self, who: Who) -> str:
        sent = workspaces.invite(self.here, f"link-{self.next()}@example.com", MEMBER)
        return sent.link.rsplit("/", 1)[1]

    def own_token(self, who: Who) -> int:
        return auth_services.create_token(who.user or self.owner, "to revoke", "read")[0].id

    def verify_token(self, who: Who) -> str:
        user = who.user or self.owner
        return auth_services._verifier().dumps([user.id, user.email])

    def reset_token(self, who: Who) -> str:
        return reset.token_for(who.user or self.owner)

    def signup_secret(self, who: Who) -> str:
        return "not-a-sign-up-secret"

    # --- one request

    def send(self, who: Who, endpoint: str, method: str, route: Route):
        def resolve(value):
            return value(self, who) if callable(value) else value

        path = self.urls.build(endpoint, {arg: self.fill(what, who)
                                          for arg, what in route.args.items()}, method=method)
        body = resolve(route.body) if method != "GET" else None
        kwargs = {"query_string": resolve(route.query)}
        if endpoint.startswith("api."):
            if body is not None:
                kwargs["json"] = body
        elif method != "GET":
            kwargs["data"] = body or {}
        if who.logged_in:
            db.session.refresh(who.user)  # a log-out before ended its sessions
            with who.client.session_transaction() as session:
                session["_user_id"], session["_fresh"] = str(who.user.id), True
                session.update(session_fields(who.user))
                if who.role is not None:
                    session[SESSION_WORKSPACE] = self.workspace_id
        response = who.client.open(path, method=method, **kwargs)
        self.restore()
        return response


def _asked_to_log_in(response) -> bool:
    # webapp/security.py's redirect for a page that needs a session
    return response.status_code == 302 and "/login?next=" in response.headers.get("Location", "")


def _verdict(who: Who, endpoint: str, method: str, route: Route, response) -> str | None:
    """What is wrong with the answer, or None."""
    status, api = response.status_code, endpoint.startswith("api.")
    said = f"{method} {endpoint} as {who.name}: {status}"
    if status >= 500 and not (status == 503 and route.unavailable_ok):
        return f"{said}, a server error"
    if who.name == "nobody":
        if route.scope == PUBLIC:
            if status in (401, 403) or _asked_to_log_in(response):
                return f"{said}: a public route asked for a log-in"
            return None
        if (status == 401) if api else _asked_to_log_in(response):
            return None
        return f"{said}: expected {'401' if api else 'the log-in page'}"
    if status == 401:
        return f"{said}: a logged-in person was not recognised"
    if route.scope == PUBLIC:
        return f"{said}: refused on a public route" if status == 403 else None
    if who.role is None:  # a person of another workspace, in their own
        if route.scope == OBJECT:
            return None if status == 404 else f"{said}: expected 404 (another workspace's)"
        return f"{said}: refused their own workspace's" if status == 403 else None
    least = route.methods[method]
    if least is None or who.role.rank <= least.rank:
        if status in (403, 404):
            return f"{said}: a {who.role.value} may ({least.value if least else 'anyone'} " \
                   f"or above)"
        return None
    if status != 403:
        return f"{said}: expected 403 ({least.value} or above only)"
    if api:
        detail = (response.get_json(silent=True) or {}).get("detail", "")
        if response.mimetype != "application/problem+json" or \
                not detail.startswith(f"{who.role.label}s cannot"):
            return f"{said}: the problem does not name the role ({response.mimetype}, {detail!r})"
    return None


@pytest.fixture
def world(app, sent):
    # Many reports and schedules are asked for in one workspace here: the quotas
    # have their own tests (test_open_jobs_cap.py, test_schedules.py).
    app.config.update(REPORT_MAX_OPEN_JOBS=10_000, SCHEDULES_MAX_PER_USER=10_000)
    return World(app)


def test_every_route_has_an_entry_in_the_table(app):
    assert _routes(app)


@pytest.mark.parametrize("who", ["owner", "admin", "member", "viewer", "stranger", "nobody"])
def test_every_route_answers_each_role_as_the_roles_table_says(app, world, who):
    person = world.people[who]
    failures = []
    for endpoint, route in _routes(app):
        if route.skip:
            continue
        for method in route.methods:
            response = world.send(person, endpoint, method, route)
            problem = _verdict(person, endpoint, method, route, response)
            if problem:
                failures.append(problem)
    assert not failures, "\n".join(failures)


@pytest.mark.parametrize("role", [r.value for r in Role])
def test_a_read_only_token_changes_nothing_through_the_api(app, world, role):
    person = world.people[role]
    maker = Actor(person.user, world.here.workspace, person.role, via="system")
    _token, secret = auth_services.create_token(maker, "reader", "read")
    person.client.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {secret}"
    person.token = None  # restore() must not swap it back for the write one
    failures = []
    for endpoint, route in _routes(app):
        if not endpoint.startswith("api."):
            continue
        for method in set(route.methods) - {"GET"}:
            response = world.send(person, endpoint, method, route)
            detail = (response.get_json(silent=True) or {}).get("detail", "")
            if response.status_code != 403 or "read-only" not in detail:
                failures.append(f"{method} {endpoint} with a read token of a {role}: "
                                f"{response.status_code} {detail!r}")
    assert not failures, "\n".join(failures)
