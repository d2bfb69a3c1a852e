"""The audit trail's CSV export is a report job like any other (same lifecycle,
same store, same download), of the entries the audit page's filters select,
and only for those who may read the trail."""
from __future__ import annotations

import csv
import datetime as dt
import io
from decimal import Decimal
from pathlib import Path

import pytest
import sqlalchemy as sa

from tasks.reports import run_job
from tests.conftest import logged_in_client, make_user
from webapp import audit
from webapp.auth.current import as_actor
from webapp.auth.services import create_token
from webapp.enums import JobStatus, Role
from webapp.errors import Forbidden, JobNotFound
from webapp.extensions import db
from webapp.models import AuditEntry, Membership, ReportJob
from webapp.orders.services import ItemInput, create_order, delete_order
from webapp.reports import services as reports


def _csv_of(app, job_id: int) -> list[dict]:
    job = db.session.get(ReportJob, job_id)
    db.session.refresh(job)
    assert job.status is JobStatus.COMPLETED, job.error
    text = (Path(app.config["REPORTS_DIR"]) / job.file_name).read_text(encoding="utf-8")
    return list(csv.DictReader(io.StringIO(text, newline="")))


def _member(workspace_id: int, email: str, role: Role):
    person = make_user(email)
    db.session.add(Membership(workspace_id=workspace_id, user_id=person.id, role=role))
    db.session.commit()
    return as_actor(person).at(workspace_id)


def test_the_export_holds_the_filtered_entries_newest_first(app, user, sent):
    owner = as_actor(user)
    first = create_order(owner, "=HYPERLINK(\"x\")", [ItemInput("Tea", 1, Decimal("1.00"))])
    second = create_order(owner, "Beta", [ItemInput("Tea", 1, Decimal("1.00"))])
    delete_order(owner, first.id)
    job, created = reports.request_audit_export(owner, action="order.created")
    assert created and job.kind.value == "audit" and job.format.value == "csv"
    assert run_job(job.id) == "completed"
    rows = _csv_of(app, job.id)
    assert [(r["action"], r["target"], r["person"], r["via"]) for r in rows] == [
        ("order.created", f"order {second.id}", user.email, "system"),
        ("order.created", f"order {first.id}", user.email, "system")]
    stored = db.session.scalars(sa.select(AuditEntry).where(AuditEntry.action == "order.created")
                                .order_by(AuditEntry.id.desc())).all()
    assert [int(r["entry_id"]) for r in rows] == [e.id for e in stored]
    assert all(r["at"].endswith("Z") for r in rows)  # the asker's zone is UTC
    # the page's own filter and the export select the same entries
    assert [e.id for e in audit.entries(owner, action="order.created").items] == [
        int(r["entry_id"]) for r in rows]
    # the request itself is in the trail, with what was asked
    requested = db.session.scalar(sa.select(AuditEntry).where(
        AuditEntry.action == "report.requested"))
    assert requested.target == f"report {job.id}" and requested.detail == "audit csv"


def test_dates_are_the_askers_days_and_the_file_says_so(app, user, sent):
    user.timezone = "Pacific/Auckland"
    db.session.commit()
    owner = as_actor(user)
    # 11:30 UTC on Dec 1 is 00:30 on Dec 2 in Auckland (UTC+13 in summer)
    for at in (dt.datetime(2026, 12, 1, 10, 30, tzinfo=dt.UTC),
               dt.datetime(2026, 12, 1, 11, 30, tzinfo=dt.UTC)):
        audit.record(owner, "settings.changed", "workspace", "name", at=at)
    db.session.commit()
    job, _ = reports.request_audit_export(owner, action="settings.changed",
                                          date_from=dt.date(2026, 12, 2),
                                          date_to=dt.date(2026, 12, 2))
    assert run_job(job.id) == "completed"
    rows = _csv_of(app, job.id)
    assert [r["at"] for r in rows] == ["2026-12-02T00:30:00+13:00"]


def test_formula_text_in_an_entry_is_guarded(app, user, sent):
    owner = as_actor(user)
    audit.record(owner, "settings.changed", "=2+3", "@SUM(A1)")
    db.session.commit()
    job, _ = reports.request_audit_export(owner, action="settings.changed")
    assert run_job(job.id) == "completed"
    (row,) = _csv_of(app, job.id)
    assert (row["target"], row["detail"]) == ("'=2+3", "'@SUM(A1)")


def test_only_those_who_read_the_trail_ask_for_or_see_its_export(app, user, sent):
    owner = as_actor(user)
    member = _member(owner.workspace_id, "member@example.com", Role.MEMBER)
    viewer = _member(owner.workspace_id, "viewer@example.com", Role.VIEWER)
    admin = _member(owner.workspace_id, "admin@example.com", Role.ADMIN)
    for who in (member, viewer):
        with pytest.raises(Forbidden):
            reports.request_audit_export(who)
    job, _ = reports.request_audit_export(admin)
    assert run_job(job.id) == "completed"
    db.session.expire_all()  # the job was finished by the task's own statements
    for who in (member, viewer):
        with pytest.raises(JobNotFound):
            reports.get_job(who, job.id)
        with pytest.raises(JobNotFound):
            reports.get_download(who, job.id)
        assert job.id not in [j.id for j in reports.list_jobs(who).items]
        assert reports.jobs_by_ids(who, [job.id]) == []
    assert [j.id for j in reports.list_jobs(owner).items] == [job.id]
    assert reports.get_download(owner, job.id).name.startswith("audit-log-")


def test_the_api_asks_for_it_as_a_report_of_kind_audit(app, user, sent):
    client = logged_in_client(app, user)
    asked = client.post("/api/reports", json={"kind": "audit", "format": "csv",
                                              "action": "token.created"})
    assert asked.status_code == 202, asked.json
    assert asked.json["kind"] == "audit"
    assert run_job(asked.json["id"]) == "completed"
    download = client.get(f"/api/reports/{asked.json['id']}/download")
    assert download.status_code == 200 and download.mimetype == "text/csv"
    lines = download.get_data(as_text=True).splitlines()
    assert lines[0] == "entry_id,at,person,action,target,detail,via"
    assert len(lines) == 2 and ",token.created," in lines[1]
    refused = client.post("/api/reports", json={"kind": "audit", "format": "pdf"})
    assert refused.status_code == 400
    assert refused.headers["Content-Type"].startswith("application/problem+json")


def test_a_members_token_is_refused_with_the_reason(app, user, sent):
    owner = as_actor(user)
    member = _member(owner.workspace_id, "m@example.com", Role.MEMBER)
    client = app.test_client()
    token = create_token(member, "tests", scope="write")[1]  # a token of the shared workspace
    client.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {token}"
    refused = client.post("/api/reports", json={"kind": "audit", "format": "csv"})
    assert refused.status_code == 403
    assert "audit log" in refused.json["detail"]


def test_the_audit_page_exports_what_it_shows(app, user, sent):
    client = logged_in_client(app, user)
    create_order(as_actor(user), "ACME", [ItemInput("Tea", 1, Decimal("1.00"))])
    page = client.get("/team/audit/?action=order.created")
    assert b"Export 1 entry as CSV" in page.data
    assert b'name="action" value="order.created"' in page.data
    posted = client.post("/team/audit/export", data={"action": "order.created"})
    assert posted.status_code == 303
    job = db.session.scalar(sa.select(ReportJob))
    assert posted.headers["Location"].endswith(f"/reports/{job.id}")
    assert job.params["action"] == "order.created"
    assert run_job(job.id) == "completed"
    assert [r["action"] for r in _csv_of(app, job.id)] == ["order.created"]
