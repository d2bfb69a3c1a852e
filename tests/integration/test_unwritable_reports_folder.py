"""A worker that cannot write its reports folder: the job ends FAILED with a
reason a user understands, and no file is left or served."""
from __future__ import annotations

import pytest

from tests.conftest import (
    SESSION,
    _migrate_fresh,
    build_app,
    logged_in_client,
    make_user,
    wait_for,
)
from webapp.extensions import db
from webapp.models import ReportJob

pytestmark = pytest.mark.integration


def test_report_folder_that_cannot_be_created_fails_the_job_with_a_reason(
        tmp_path, redis_url, worker_factory):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the reports folder should be")
    reports = blocker / "reports"
    db_url = f"sqlite:///{tmp_path / 'db.sqlite3'}"
    # the web side writes nowhere; only the worker's folder is broken
    app = build_app(db_url, tmp_path / "web-reports", f"it-unwritable-{SESSION}", redis_url)
    _migrate_fresh(app)
    worker_factory(db_url, reports, "unwritable")
    with app.app_context():
        client = logged_in_client(app, make_user("bob@example.com"))
        order = client.post("/api/orders", json={"customer": "A", "items": [
            {"product": "Tea", "quantity": 1, "unit_price": "1.00"}]}).get_json()
        job = client.post("/api/reports", json={"kind": "order", "order_id": order["id"],
                                                "format": "csv"}).get_json()

        def final():
            db.session.rollback()
            j = client.get(f"/api/reports/{job['id']}").get_json()
            return j["status"] in ("COMPLETED", "FAILED") and j

        result = wait_for(final, timeout=60, what="the job to end")
        assert result["status"] == "FAILED"
        assert result["error"] == "Could not write the report file (Not a directory)."
        assert client.get(f"/api/reports/{job['id']}/download").status_code == 409
        assert db.session.get(ReportJob, job["id"]).file_name is None
        db.session.remove()
    assert blocker.is_file() and not reports.exists()
