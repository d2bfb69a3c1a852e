"""The task body, run in-process against a real database (no Celery here:
integration tests cover the worker). Generators are swapped to force failures."""
from __future__ import annotations

import csv
from decimal import Decimal
from pathlib import Path

import pytest

from tasks.generators.csv_report import write_csv
from tasks.reports import run_job
from webapp.extensions import db
from webapp.models import JobStatus, ReportFormat, ReportJob
from webapp.orders.services import ItemInput, create_order
from webapp.reports import services


@pytest.fixture
def job(app, sent, user):
    order = create_order(user, "ACME", [ItemInput(f"P{i}", 1, Decimal("1.00")) for i in range(5)])
    job, _ = services.request_order_report(user, order.id, ReportFormat.CSV)
    return job


def _reload(job_id: int) -> ReportJob:
    db.session.expire_all()
    return db.session.get(ReportJob, job_id)


def _files(app) -> list[str]:
    return sorted(p.name for p in Path(app.config["REPORTS_DIR"]).iterdir())


def test_run_completes_the_job_with_file_size_and_events(app, job):
    assert run_job(job.id) == "completed"
    done = _reload(job.id)
    assert done.status is JobStatus.COMPLETED and done.attempts == 1
    assert done.rows_total == 5 and done.rows_done == 5 and done.progress == 100
    assert _files(app) == [done.file_name]
    assert done.size == (Path(app.config["REPORTS_DIR"]) / done.file_name).stat().st_size
    with open(Path(app.config["REPORTS_DIR"]) / done.file_name, newline="", encoding="utf-8") as f:
        assert len(list(csv.reader(f))) == 6


def test_generator_that_raises_midway_ends_failed_with_a_reason_and_no_file(app, job,
                                                                           use_generator):
    def broken(rows, meta, path, progress=None):
        with open(path, "w") as f:
            for n, row in enumerate(rows):
                f.write(str(row))
                if n == 2:
                    raise ZeroDivisionError("boom")

    use_generator(ReportFormat.CSV, broken)
    assert run_job(job.id) == "failed"
    failed = _reload(job.id)
    assert failed.status is JobStatus.FAILED
    assert failed.error == ("Unexpected error while generating the report (ZeroDivisionError); "
                            "see the worker log.")
    assert failed.file_name is None and failed.finished_at is not None
    assert _files(app) == []  # the partial .tmp was removed
    assert [e.event for e in failed.events] == ["requested", "started", "failed"]


def test_disk_errors_are_reported_in_words(app, job, use_generator):
    def full_disk(rows, meta, path, progress=None):
        raise OSError(28, "No space left on device")

    use_generator(ReportFormat.CSV, full_disk)
    run_job(job.id)
    assert _reload(job.id).error == "Could not write the report file (No space left on device)."


def test_second_delivery_of_a_finished_job_is_skipped(app, job):
    run_job(job.id)
    first = _reload(job.id)
    finished, name = first.finished_at, first.file_name
    assert run_job(job.id) == "skipped"
    again = _reload(job.id)
    assert (again.finished_at, again.file_name, again.attempts) == (finished, name, 1)
    assert _files(app) == [name]


def test_job_deleted_while_running_leaves_no_file(app, job, user, use_generator):
    job_id = job.id

    def delete_midway(rows, meta, path, progress=None):
        services.delete_job(user, job_id)  # as the user would, from another request
        return write_csv(rows, meta, path, progress)

    use_generator(ReportFormat.CSV, delete_midway)
    assert run_job(job_id) == "aborted"
    assert _files(app) == []
    assert _reload(job_id).status is JobStatus.CANCELLED


def test_progress_is_recorded_while_processing(app, sent, monkeypatch, user, use_generator):
    import tasks.reports as task_module

    monkeypatch.setattr(task_module, "PROGRESS_INTERVAL", 0)
    order = create_order(user, "Big", [ItemInput(f"P{i}", 1, Decimal("1.00")) for i in range(500)])
    job, _ = services.request_order_report(user, order.id, ReportFormat.CSV)
    seen = []

    def watching(rows, meta, path, progress=None):
        def spy(done):
            progress(done)
            with db.engine.connect() as conn:
                t = ReportJob.__table__
                seen.append(conn.execute(db.select(t.c.status, t.c.rows_done, t.c.rows_total)
                                         .where(t.c.id == job.id)).one())
        return write_csv(rows, meta, path, spy)

    use_generator(ReportFormat.CSV, watching)
    run_job(job.id)
    assert seen and all(s.status == "PROCESSING" and s.rows_total == 500 for s in seen)
    assert seen[-1].rows_done == 500


def test_a_pdf_over_the_row_limit_fails_at_once_pointing_to_csv(app, user, sent):
    app.config["REPORT_PDF_MAX_ROWS"] = 4
    order = create_order(user, "Big", [ItemInput(f"P{i}", 1, Decimal("1.00")) for i in range(5)])
    job, _ = services.request_order_report(user, order.id, ReportFormat.PDF)
    assert run_job(job.id) == "failed"
    failed = _reload(job.id)
    # one order has no dates or customer to narrow: the CSV is the way out
    assert failed.error == "This report has 5 line items; PDFs stop at 4. Ask for the CSV."
    assert failed.rows_total == 5  # kept: a retry would fail the same way, none is offered
    assert _files(app) == []


def test_a_failed_completion_write_leaves_no_file_for_the_next_attempt(app, job, monkeypatch):
    import sqlalchemy as sa

    import tasks.reports as task
    from webapp.reports import lifecycle

    real = lifecycle.complete

    def database_gone_at_the_end(*args, **kwargs):
        raise sa.exc.OperationalError("UPDATE", {}, ConnectionError("server closed"))

    monkeypatch.setattr(lifecycle, "complete", database_gone_at_the_end)
    with pytest.raises(task.RetryLater):
        run_job(job.id)
    assert _files(app) == []  # the file written before the failed write is gone
    monkeypatch.setattr(lifecycle, "complete", real)
    assert run_job(job.id) == "completed"
    assert len(_files(app)) == 1
