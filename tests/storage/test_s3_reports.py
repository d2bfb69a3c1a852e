"""Report files in a real S3 store (SeaweedFS, tests/s3.py), through the app:
the task uploads the finished file under its final key, the download keeps
every check and then redirects to a presigned URL (or streams it with
REPORTS_S3_DOWNLOAD=proxy), delete and expiry remove the object, a store
that does not answer is retried and then named in the job's reason, and
/healthz reports the store."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path

import boto3
import pytest
import requests

from tasks.reports import run_job
from tasks.sweeper import sweep
from tests.conftest import SESSION, _migrate_fresh, build_app, logged_in_client, make_user
from webapp.extensions import db
from webapp.models import JobStatus, OrderStatus, ReportFormat, ReportJob, utcnow
from webapp.orders.services import ItemInput, create_order
from webapp.reports import services


@pytest.fixture(params=["redirect", "proxy"])
def s3_app(request, tmp_path, redis_url, s3_server):
    bucket = s3_server.bucket()
    app = build_app(f"sqlite:///{tmp_path / 'db.sqlite3'}", tmp_path / "scratch",
                    f"unit-{SESSION}", redis_url, REPORTS_STORAGE=f"s3://{bucket}/files",
                    S3_ENDPOINT_URL=s3_server.endpoint_url, REPORTS_S3_DOWNLOAD=request.param)
    _migrate_fresh(app)
    app.bucket = bucket
    with app.app_context():
        yield app
        db.session.remove()


def _keys(app, s3_server) -> list[str]:
    client = boto3.client("s3", endpoint_url=s3_server.endpoint_url)
    return sorted(o["Key"] for o in client.list_objects_v2(Bucket=app.bucket).get("Contents", []))


def _completed_job(app, monkeypatch, fmt=ReportFormat.CSV):
    from webapp.reports import lifecycle

    monkeypatch.setattr(lifecycle, "_publish", lambda job_id: None)
    user = make_user("s3@example.com")
    order = create_order(user, "Café Lumière", [ItemInput("Tea", 3, Decimal("4.50"))])
    order.status = OrderStatus.COMPLETED
    db.session.commit()
    job, _ = services.request_order_report(user, order.id, fmt)
    assert run_job(job.id) == "completed"
    db.session.expire_all()
    return user, db.session.get(ReportJob, job.id)


def test_the_file_is_uploaded_and_downloaded_through_the_store(s3_app, s3_server, monkeypatch):
    user, job = _completed_job(s3_app, monkeypatch)
    assert _keys(s3_app, s3_server) == [f"files/{job.file_name}"]
    # nothing left in the worker's scratch folder
    assert list(Path(s3_app.config["REPORTS_DIR"]).iterdir()) == []
    client = logged_in_client(s3_app, user)
    resp = client.get(f"/reports/{job.id}/download")
    if s3_app.config["REPORTS_S3_DOWNLOAD"] == "proxy":
        assert resp.status_code == 200
        body, headers = resp.get_data(), resp.headers
    else:
        assert resp.status_code == 302
        fetched = requests.get(resp.headers["Location"], timeout=10)  # no credentials
        assert fetched.status_code == 200
        body, headers = fetched.content, fetched.headers
    assert body.decode("utf-8").splitlines()[1].split(",")[3] == "Café Lumière"
    assert len(body) == job.size
    assert headers["Content-Disposition"].startswith("attachment; filename=")
    assert f"order-{job.order_id}-" in headers["Content-Disposition"]
    assert headers["Content-Type"].startswith("text/csv")


def test_delete_and_expiry_remove_the_object(s3_app, s3_server, monkeypatch):
    user, job = _completed_job(s3_app, monkeypatch)
    services.delete_job(user, job.id)
    assert _keys(s3_app, s3_server) == []
    order = create_order(user, "ACME", [ItemInput("Tea", 1, Decimal("1.00"))])
    again, _ = services.request_order_report(user, order.id, ReportFormat.PDF)
    assert run_job(again.id) == "completed"
    assert len(_keys(s3_app, s3_server)) == 1
    db.session.expire_all()
    db.session.get(ReportJob, again.id).expires_at = utcnow() - dt.timedelta(seconds=1)
    db.session.commit()
    assert sweep()["expired"] == 1
    assert _keys(s3_app, s3_server) == []
    client = logged_in_client(s3_app, user)
    assert client.get(f"/api/reports/{again.id}/download").status_code == 410


def test_a_missing_object_answers_410_not_a_broken_link(s3_app, s3_server, monkeypatch):
    user, job = _completed_job(s3_app, monkeypatch)
    boto3.client("s3", endpoint_url=s3_server.endpoint_url).delete_object(
        Bucket=s3_app.bucket, Key=f"files/{job.file_name}")
    client = logged_in_client(s3_app, user)
    assert client.get(f"/api/reports/{job.id}/download").status_code == 410


def test_a_store_that_does_not_answer_is_retried_then_named_in_the_reason(
        tmp_path, redis_url, monkeypatch):
    from tests.harness import free_port
    from webapp.reports import lifecycle

    app = build_app(f"sqlite:///{tmp_path / 'db.sqlite3'}", tmp_path / "scratch",
                    f"unit-{SESSION}", redis_url, REPORTS_STORAGE="s3://nowhere/files",
                    S3_ENDPOINT_URL=f"http://127.0.0.1:{free_port()}", REPORT_MAX_ATTEMPTS=2)
    _migrate_fresh(app)
    with app.app_context():
        monkeypatch.setattr(lifecycle, "_publish", lambda job_id: None)
        user = make_user("down@example.com")
        order = create_order(user, "ACME", [ItemInput("Tea", 1, Decimal("1.00"))])
        job, _ = services.request_order_report(user, order.id, ReportFormat.CSV)
        from tasks.reports import RetryLater

        with pytest.raises(RetryLater):  # handed back: the store may come back
            run_job(job.id)
        db.session.expire_all()
        assert db.session.get(ReportJob, job.id).status is JobStatus.PENDING
        assert run_job(job.id) == "failed"  # the last attempt
        db.session.expire_all()
        failed = db.session.get(ReportJob, job.id)
        assert failed.error == ("The file store kept failing; gave up after 2 attempts "
                                "(StorageError).")
        assert list((tmp_path / "scratch").iterdir()) == []  # no partial file kept
        health = app.test_client().get("/healthz")
        assert health.status_code == 503 and health.get_json()["storage"]["ok"] is False
        db.session.remove()


def test_healthz_reports_the_store(s3_app):
    body = s3_app.test_client().get("/healthz").get_json()
    assert body["storage"] == {"ok": True, "kind": "s3"}


def test_a_download_while_the_store_is_down_is_a_503_that_says_so_not_a_500(
        tmp_path, redis_url):
    """The report stays COMPLETED; the API answers problem+json with Retry-After,
    the page a readable 503."""
    from tests.harness import free_port

    app = build_app(f"sqlite:///{tmp_path / 'db.sqlite3'}", tmp_path / "scratch",
                    f"unit-{SESSION}", redis_url, REPORTS_STORAGE="s3://nowhere/files",
                    S3_ENDPOINT_URL=f"http://127.0.0.1:{free_port()}",
                    REPORTS_S3_DOWNLOAD="proxy")
    _migrate_fresh(app)
    with app.app_context():
        user = make_user("store-down@example.com")
        order = create_order(user, "ACME", [ItemInput("Tea", 1, Decimal("1.00"))])
        job, _ = services.request_order_report(user, order.id, ReportFormat.CSV)
        row = db.session.get(ReportJob, job.id)
        row.status, row.file_name, row.size = JobStatus.COMPLETED, "gone-away.csv", 10
        db.session.commit()
        client = logged_in_client(app, user)
        api = client.get(f"/api/reports/{job.id}/download")
        assert api.status_code == 503, api.get_data(as_text=True)[:300]
        assert api.mimetype == "application/problem+json"
        assert api.headers["Retry-After"] == "5"
        assert "file store is not reachable" in api.get_json()["detail"]
        page = client.get(f"/reports/{job.id}/download")
        assert page.status_code == 503
        assert "file store is not reachable" in page.get_data(as_text=True)
        db.session.expire_all()
        assert db.session.get(ReportJob, job.id).status is JobStatus.COMPLETED
        db.session.remove()
