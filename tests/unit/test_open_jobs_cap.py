"""The cap on reports in progress per user holds when requests arrive at once
(it used to be check-then-insert: 30 simultaneous requests all saw room)."""
from __future__ import annotations

import threading

import sqlalchemy as sa

from tests.conftest import logged_in_client, make_user
from webapp.extensions import db
from webapp.models import ACTIVE_STATUSES, ReportJob

CAP = 5


def _fire_at_once(clients) -> list[int]:
    """Each client asks for a different summary (different dates, so none is a
    duplicate of another), all released by one barrier."""
    barrier = threading.Barrier(len(clients))
    codes: list[int | None] = [None] * len(clients)

    def request(n: int) -> None:
        barrier.wait(timeout=30)
        resp = clients[n].post("/api/reports", json={
            "kind": "summary", "format": "csv", "date_from": "2026-01-01",
            "date_to": f"2026-01-{n % 30 + 1:02d}"})
        codes[n] = resp.status_code

    threads = [threading.Thread(target=request, args=(n,)) for n in range(len(clients))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    return codes


def _open_jobs(user_id: int) -> int:
    db.session.rollback()
    return db.session.scalar(sa.select(sa.func.count()).select_from(ReportJob).where(
        ReportJob.workspace_id == user_id, ReportJob.status.in_(ACTIVE_STATUSES)))


def test_thirty_simultaneous_requests_get_exactly_the_cap(app, sent, user):
    app.config["REPORT_MAX_OPEN_JOBS"] = CAP
    codes = _fire_at_once([logged_in_client(app, user) for _ in range(30)])
    assert sorted(codes) == [202] * CAP + [429] * (30 - CAP)
    assert _open_jobs(user.id) == CAP
    assert len(sent) == CAP


def test_the_cap_is_per_user_under_concurrency(app, sent, user):
    app.config["REPORT_MAX_OPEN_JOBS"] = CAP
    other = make_user("bob@example.com")
    clients = [logged_in_client(app, u) for u in (user, other) for _ in range(10)]
    codes = _fire_at_once(clients)
    assert sorted(codes[:10]) == [202] * CAP + [429] * (10 - CAP)
    assert sorted(codes[10:]) == [202] * CAP + [429] * (10 - CAP)
    assert _open_jobs(user.id) == CAP and _open_jobs(other.id) == CAP
