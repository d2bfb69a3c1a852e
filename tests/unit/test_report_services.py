"""Report requests: recorded, committed before enqueue, deduplicated, deleted."""
from __future__ import annotations

import datetime as dt
import threading
from decimal import Decimal

import pytest
import sqlalchemy as sa

from webapp.errors import InvalidInput, JobNotFound, OrderNotFound, ReportNotReady
from webapp.extensions import db
from webapp.models import JobStatus, ReportFormat, ReportJob, User
from webapp.orders.services import ItemInput, create_order
from webapp.reports import services


@pytest.fixture
def order(app, user):
    return create_order(user, "ACME", [ItemInput("Tea", 2, Decimal("3.50"))])


def test_request_records_a_pending_job_and_enqueues_its_id(order, sent, user):
    job, created = services.request_order_report(user, order.id, ReportFormat.PDF)
    assert created and job.status is JobStatus.PENDING
    assert sent == [job.id]
    assert [e.event for e in job.events] == ["requested"]


def test_job_row_is_committed_before_the_task_is_enqueued(app, order, monkeypatch, user):
    seen = []

    def enqueue(job_id):
        # a separate connection, like the worker's: the row must already be there
        with db.engine.connect() as conn:
            seen.append(conn.scalar(sa.select(ReportJob.__table__.c.status)
                                    .where(ReportJob.__table__.c.id == job_id)))
        return True

    monkeypatch.setattr(services, "enqueue", enqueue)
    services.request_order_report(user, order.id, ReportFormat.CSV)
    assert seen == ["PENDING"]


def test_same_report_while_pending_returns_the_existing_job(order, sent, user):
    first, created1 = services.request_order_report(user, order.id, ReportFormat.CSV)
    second, created2 = services.request_order_report(user, order.id, ReportFormat.CSV)
    other_format, created3 = services.request_order_report(user, order.id, ReportFormat.PDF)
    assert (created1, created2, created3) == (True, False, True)
    assert second.id == first.id and other_format.id != first.id
    assert sent == [first.id, other_format.id]


def test_same_report_after_the_first_finished_makes_a_new_job(order, sent, user):
    first, _ = services.request_order_report(user, order.id, ReportFormat.CSV)
    first.status = JobStatus.COMPLETED
    db.session.commit()
    second, created = services.request_order_report(user, order.id, ReportFormat.CSV)
    assert created and second.id != first.id


def test_summary_customer_matches_case_insensitively_for_dedupe(order, sent, user):
    # a name in any case or accent, and the record's id, all mean the one record
    day = dt.date(2026, 11, 1)
    a, _ = services.request_summary_report(user, day, day, "ACME", ReportFormat.CSV)
    b, created = services.request_summary_report(user, day, day, "acme", ReportFormat.CSV)
    c, created_too = services.request_summary_report(user, day, day, order.customer_id,
                                                     ReportFormat.CSV)
    assert not created and not created_too and a.id == b.id == c.id
    assert a.params["customer_id"] == order.customer_id and a.params["customer"] == "ACME"
    everyone, created = services.request_summary_report(user, day, day, None,
                                                        ReportFormat.CSV)
    assert created and everyone.id != a.id


def test_a_summary_customer_that_means_no_record_is_refused(order, sent, user):
    day = dt.date(2026, 11, 1)
    with pytest.raises(InvalidInput, match="did you mean “ACME”"):
        services.request_summary_report(user, day, day, "ACNE", ReportFormat.CSV)
    with pytest.raises(InvalidInput, match="does not exist"):
        services.request_summary_report(user, day, day, order.customer_id + 1,
                                        ReportFormat.CSV)
    assert sent == []


def test_two_concurrent_requests_make_one_job(app, order, sent, user):
    """Two requests at the same instant: the per-user lock serialises them, so
    the second sees the first's job and returns it."""
    order_id, user_id = order.id, user.id
    barrier = threading.Barrier(2)
    results = []

    def request():
        with app.app_context():
            owner = db.session.get(User, user_id)
            barrier.wait(timeout=10)
            job, created = services.request_order_report(owner, order_id, ReportFormat.PDF)
            results.append((job.id, created))
            db.session.remove()

    threads = [threading.Thread(target=request) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(20)
    assert len(results) == 2
    assert {job_id for job_id, _ in results} == {results[0][0]}
    assert sorted(created for _, created in results) == [False, True]
    assert db.session.scalar(sa.select(sa.func.count()).select_from(ReportJob)) == 1
    assert len(sent) == 1


def test_without_the_lock_the_unique_index_still_makes_one_job(app, order, sent, user,
                                                               monkeypatch):
    """Second line of defence: both threads pass the 'is there one already?'
    check at the same time (the lock is taken away); the partial unique index
    lets one insert win and the other returns it."""
    monkeypatch.setattr(services, "_serialise_requests_of", lambda owner: None)
    # read here: the fixtures' objects belong to this thread's session
    order_id, user_id = order.id, user.id
    barrier = threading.Barrier(2)
    results, raced = [], []
    real_active = services._active_job

    def slow_active(key):
        found = real_active(key)
        if found is None:
            barrier.wait(timeout=10)  # first pass only: both saw no active job
            raced.append(True)
        return found

    services_active = services._active_job
    services._active_job = slow_active
    try:
        def request():
            with app.app_context():
                owner = db.session.get(User, user_id)
                job, created = services.request_order_report(owner, order_id, ReportFormat.PDF)
                results.append((job.id, created))
                db.session.remove()

        threads = [threading.Thread(target=request) for _ in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(20)
    finally:
        services._active_job = services_active
    assert len(raced) == 2 and len(results) == 2
    assert {job_id for job_id, _ in results} == {results[0][0]}
    assert sorted(created for _, created in results) == [False, True]
    assert db.session.scalar(sa.select(sa.func.count()).select_from(ReportJob)) == 1
    assert len(sent) == 1


def test_unknown_order_is_reported_as_not_found(app, sent, user):
    with pytest.raises(OrderNotFound):
        services.request_order_report(user, 999, ReportFormat.CSV)
    with pytest.raises(OrderNotFound):
        services.request_order_report(user, 2**40, ReportFormat.CSV)
    assert sent == []


def test_summary_with_start_after_end_is_invalid(app, sent, user):
    with pytest.raises(InvalidInput):
        services.request_summary_report(user, dt.date(2026, 2, 1), dt.date(2026, 1, 1), None,
                                        ReportFormat.CSV)


def test_download_of_an_unfinished_job_is_a_conflict(order, sent, user):
    job, _ = services.request_order_report(user, order.id, ReportFormat.CSV)
    with pytest.raises(ReportNotReady):
        services.get_download(user, job.id)
    with pytest.raises(JobNotFound):
        services.get_download(user, job.id + 1)


def test_download_names_are_readable(app, order, sent, user):
    job, _ = services.request_order_report(user, order.id, ReportFormat.PDF)
    assert services.download_name(job) == (
        f"order-{order.id}-{job.created_at:%Y%m%d-%H%M}.pdf")
    create_order(user, "Café Ürün", [ItemInput("Tea", 1, Decimal("1.00"))])
    summary, _ = services.request_summary_report(user,
        dt.date(2026, 11, 1), dt.date(2026, 11, 28), "Café Ürün", ReportFormat.CSV)
    assert services.download_name(summary) == (
        "completed-orders-cafe-urun-2026-11-01-to-2026-11-28.csv")


def test_delete_removes_the_job_and_its_file(app, order, sent, user):
    job, _ = services.request_order_report(user, order.id, ReportFormat.CSV)
    path = services.reports_dir() / f"{job.id}-abc.csv"
    path.write_text("x")
    job.status, job.file_name = JobStatus.COMPLETED, path.name
    db.session.commit()
    services.delete_job(user, job.id)
    assert not path.exists()
    with pytest.raises(JobNotFound):
        services.get_job(user, job.id)
