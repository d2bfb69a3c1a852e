"""Claims, leases, cancel, retry, expiry and the sweeper, in-process against
a real database (the fault suite repeats the important ones with real processes)."""
from __future__ import annotations

import datetime as dt
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest
import sqlalchemy as sa

from tasks import reports as task
from tasks.generators.csv_report import write_csv
from tasks.sweeper import sweep
from webapp.errors import Conflict
from webapp.extensions import db
from webapp.models import JobStatus, ReportFormat, ReportJob, utcnow
from webapp.orders.services import ItemInput, create_order
from webapp.reports import lifecycle, services
from webapp.worker_beats import beat, forget, worker_alive


@pytest.fixture
def job(app, sent, user):
    order = create_order(user, "ACME", [ItemInput(f"P{i}", 1, Decimal("1.00")) for i in range(3)])
    job, _ = services.request_order_report(user, order.id, ReportFormat.CSV)
    return job


def _set(job_id: int, **values) -> None:
    table = ReportJob.__table__
    with db.engine.begin() as conn:
        conn.execute(sa.update(table).where(table.c.id == job_id).values(**values))
    db.session.expire_all()


def _get(job_id: int) -> ReportJob:
    db.session.expire_all()
    return db.session.get(ReportJob, job_id)


def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_a_live_claim_is_not_taken_by_a_second_delivery(job):
    assert lifecycle.claim(job.id) == "claimed"
    _set(job.id, claimed_by=f"{lifecycle.HOST}:1")  # pid 1 is alive and is not us
    assert lifecycle.claim(job.id) == "skipped"
    assert _get(job.id).attempts == 1


def test_a_claim_held_by_a_dead_process_is_taken_over_at_once(job):
    assert lifecycle.claim(job.id) == "claimed"
    _set(job.id, claimed_by=f"{lifecycle.HOST}:{_dead_pid()}")
    assert lifecycle.claim(job.id) == "claimed"
    again = _get(job.id)
    assert again.attempts == 2 and again.claimed_by == lifecycle.identity()
    assert [e.event for e in again.events] == ["requested", "started", "restarted"]


def test_a_claim_whose_lease_expired_is_taken_over_even_from_another_host(app, job):
    assert lifecycle.claim(job.id) == "claimed"
    old = utcnow() - dt.timedelta(seconds=app.config["REPORT_LEASE_SECONDS"] + 1)
    _set(job.id, claimed_by="elsewhere:123", heartbeat_at=old)
    assert lifecycle.claim(job.id) == "claimed"


def test_a_job_out_of_attempts_ends_failed_worker_lost(job):
    _set(job.id, status="PROCESSING", attempts=3, claimed_by=f"{lifecycle.HOST}:{_dead_pid()}",
         heartbeat_at=utcnow())
    assert lifecycle.claim(job.id) == "failed"
    failed = _get(job.id)
    assert failed.status is JobStatus.FAILED
    assert failed.error == lifecycle.worker_lost_reason(3) and "worker lost" in failed.error


def test_sweeper_requeues_a_processing_job_whose_lease_expired(app, job, sent):
    lifecycle.claim(job.id)
    _set(job.id, heartbeat_at=utcnow() - dt.timedelta(minutes=5))
    counts = sweep()
    assert counts["requeued"] == 1
    swept = _get(job.id)
    assert swept.status is JobStatus.PENDING and swept.claimed_by is None
    assert sent[-1] == job.id
    assert swept.events[-1].event == "requeued"


def test_sweeper_fails_a_dead_job_past_the_hard_time_limit(app, job, sent):
    lifecycle.claim(job.id)
    long_ago = utcnow() - dt.timedelta(seconds=app.config["REPORT_HARD_TIME_LIMIT"] + 60)
    _set(job.id, heartbeat_at=long_ago, started_at=long_ago)
    assert sweep()["failed"] == 1
    assert _get(job.id).error.startswith("Took longer than 35 minutes")


def test_sweeper_leaves_live_jobs_alone_and_resends_forgotten_pending_ones(app, job, sent):
    assert sweep()["resent"] == 0  # just enqueued: not forgotten yet
    _set(job.id, enqueued_at=utcnow() - dt.timedelta(seconds=app.config["SWEEP_PENDING_AFTER"] + 1))
    assert sweep()["resent"] == 1 and sent.count(job.id) == 2
    lifecycle.claim(job.id)
    _set(job.id, claimed_by=f"{lifecycle.HOST}:1")  # running in another live process
    assert sweep() == {"requeued": 0, "failed": 0, "resent": 0, "expired": 0}


def test_expired_reports_lose_their_file_and_answer_410(app, job, client):
    assert task.run_job(job.id) == "completed"
    done = _get(job.id)
    path = Path(app.config["REPORTS_DIR"]) / done.file_name
    assert done.expires_at - done.finished_at == dt.timedelta(days=7)
    assert "available until" in client.get(f"/reports/{job.id}/status").get_data(as_text=True)
    assert sweep(now=done.expires_at + dt.timedelta(seconds=1))["expired"] == 1
    expired = _get(job.id)
    assert expired.status is JobStatus.EXPIRED and not path.exists()
    resp = client.get(f"/api/reports/{job.id}/download")
    assert resp.status_code == 410 and "expired" in resp.get_json()["detail"]
    assert "EXPIRED" in client.get(f"/reports/{job.id}/status").get_data(as_text=True)


def test_cancel_a_pending_job_then_retry_it_as_a_new_attempt(job, client, sent):
    resp = client.post(f"/api/reports/{job.id}/cancel")
    assert resp.status_code == 200 and resp.get_json()["status"] == "CANCELLED"
    assert client.post(f"/api/reports/{job.id}/cancel").status_code == 409
    assert task.run_job(job.id) == "skipped"  # its message, delivered later, does nothing
    retry = client.post(f"/api/reports/{job.id}/retry")
    assert retry.status_code == 202
    new = retry.get_json()
    assert new["id"] != job.id and new["status"] == "PENDING" and new["retry_of"] == job.id
    assert sent[-1] == new["id"]
    assert client.post(f"/api/reports/{new['id']}/retry").status_code == 409
    events = [e["event"] for e in client.get(f"/api/reports/{job.id}").get_json()["events"]]
    assert events == ["requested", "cancelled", "retried"]


def test_cancel_while_processing_stops_the_worker_and_removes_the_partial_file(
        app, job, user, use_generator):
    job_id = job.id

    def slow(rows, meta, path, progress=None):
        Path(path).write_text("partial")
        services.cancel_job(user, job_id)  # the user clicks Cancel
        progress(1)  # the next progress write notices
        raise AssertionError("should have stopped")

    original = task.PROGRESS_INTERVAL
    task.PROGRESS_INTERVAL = 0
    try:
        use_generator(ReportFormat.CSV, slow)
        assert task.run_job(job_id) == "aborted"
    finally:
        task.PROGRESS_INTERVAL = original
    assert _get(job_id).status is JobStatus.CANCELLED
    assert list(Path(app.config["REPORTS_DIR"]).iterdir()) == []


def test_retry_of_a_completed_job_is_a_conflict(job, user):
    task.run_job(job.id)
    with pytest.raises(Conflict):
        services.retry_job(user, job.id)


def test_transient_database_error_hands_the_job_back_for_a_later_attempt(job, use_generator):
    def flaky(rows, meta, path, progress=None):
        raise sa.exc.OperationalError("SELECT", {}, ConnectionError("server closed"))

    use_generator(ReportFormat.CSV, flaky)
    with pytest.raises(task.RetryLater):
        task.run_job(job.id)
    back = _get(job.id)
    assert back.status is JobStatus.PENDING and back.attempts == 1
    assert back.events[-1].event == "retrying"
    # the owner reads plain words; the driver's text stays in the log
    assert back.events[-1].detail == ("The database or the broker could not be reached; "
                                      "trying again.")
    assert "server closed" not in back.events[-1].detail
    use_generator(ReportFormat.CSV, write_csv)  # the database is back
    assert task.run_job(job.id) == "completed"
    assert _get(job.id).attempts == 2


def test_pages_say_when_no_worker_is_running(app, job, client):
    from webapp import worker_beats
    from webapp.models import WorkerBeat

    db.session.execute(sa.delete(WorkerBeat))  # whatever beat into this database before
    db.session.commit()
    worker_beats._cache.clear()
    html = client.get(f"/reports/{job.id}/status").get_data(as_text=True)
    assert "waiting for a worker" in html and not worker_alive()
    beat("test-worker@host")
    html = client.get(f"/reports/{job.id}/status").get_data(as_text=True)
    assert "waiting in the queue" in html and worker_alive()
    forget("test-worker@host")
    assert not worker_alive()


def test_healthz_reports_each_part(app, client):
    resp = client.get("/healthz")
    body = resp.get_json()
    assert resp.status_code == 503 and body["worker"]["ok"] is False
    assert body["database"]["ok"] and body["broker"]["ok"]
    beat("test-worker@host")
    resp = client.get("/healthz")
    assert resp.status_code == 200 and resp.get_json()["status"] == "ok"


def test_the_worker_host_and_pid_are_shown_to_admins_only(app, job, user, client):
    from tests.conftest import logged_in_client, make_user
    from webapp.enums import Role
    from webapp.models import Membership
    from webapp.reports import representation

    task.run_job(job.id)
    started = next(e for e in _get(job.id).events if e.event == "started")
    assert started.worker == lifecycle.identity() and lifecycle.identity() not in started.detail
    page = client.get(f"/reports/{job.id}").get_data(as_text=True)
    api = client.get(f"/api/reports/{job.id}").get_json()
    assert lifecycle.identity() not in page and lifecycle.identity() not in str(api)
    assert all("worker" not in e for e in api["events"])

    # a site admin who is a member of the workspace (an operator helping out)
    admin_user = make_user("root@example.com", site_admin=True)
    db.session.add(Membership(workspace_id=job.workspace_id, user_id=admin_user.id,
                              role=Role.VIEWER))
    db.session.commit()
    admin = logged_in_client(app, admin_user)
    assert lifecycle.identity() in admin.get(f"/reports/{job.id}").get_data(as_text=True)
    other = admin.get(f"/api/reports/{job.id}")  # the token opens the admin's own workspace
    assert other.status_code == 404
    with app.test_request_context("/"):
        events = representation.job_out(_get(job.id), admin=True).model_dump()["events"]
    assert lifecycle.identity() in [e["worker"] for e in events]
